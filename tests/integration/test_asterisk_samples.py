"""The Asterisk samples in asterisk/ work as shipped: their pieces refer to each other (contexts, queues,
endpoints, music classes), to the settings' defaults, to routes the FastAGI server serves, and to sounds that
`urjamitra prompts build` renders (or Asterisk's own core sounds)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ivr.agi import ROUTES
from ivr.outbound import dial_string
from prompts.catalog import LANGS, catalog
from urjamitra.settings import Settings

ASTERISK = Path(__file__).parents[2] / "asterisk"
# Stock sounds of asterisk-core-sounds a sample may name besides our prompts (none is needed today).
CORE_SOUNDS = frozenset({"beep", "silence/1", "silence/2", "vm-goodbye", "pls-hold-while-try"})
QUEUE_SOUND_KEYS = (
    "periodic-announce",
    "announce",
    "queue-youarenext",
    "queue-thereare",
    "queue-callswaiting",
    "queue-holdtime",
    "queue-minutes",
    "queue-seconds",
    "queue-thankyou",
    "queue-reporthold",
)


@dataclass
class Section:
    name: str
    options: list[tuple[str, str]] = field(default_factory=list)
    template: bool = False
    inherits: tuple[str, ...] = ()

    def get(self, key: str) -> str | None:
        return next((v for k, v in self.options if k == key), None)

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.options if k == key]


def parse(name: str) -> list[Section]:
    """An Asterisk .conf file as its sections, in order (comments after an unescaped `;` dropped)."""
    sections: list[Section] = []
    for raw in (ASTERISK / name).read_text().splitlines():
        line = re.split(r"(?<!\\);", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if header:
            flags = tuple(f.strip() for f in (header[2] or "").split(",") if f.strip())
            sections.append(Section(header[1], template="!" in flags, inherits=tuple(f for f in flags if f != "!")))
            continue
        key, _, value = re.split(r"\s*(=>|=)\s*", line, maxsplit=1)
        assert sections, f"{name}: {line!r} outside a section"
        sections[-1].options.append((key.strip(), value.strip()))
    return sections


@dataclass
class Step:
    context: str
    exten: str
    label: str | None
    app: str
    args: str


def dialplan() -> tuple[dict[str, str], list[Step]]:
    """The globals and every priority of extensions.conf."""
    globals_: dict[str, str] = {}
    steps: list[Step] = []
    for section in parse("extensions.conf"):
        if section.name == "globals":
            globals_.update(section.options)
            continue
        exten = ""
        for key, value in section.options:
            if key == "exten":
                exten, rest = value.split(",", 1)
                _, _, rest = rest.partition(",") if not rest.startswith("n(") else ("", "", rest)
            else:
                assert key == "same", f"{section.name}: unexpected {key}"
                rest = value
            label_match = re.match(r"(?:n|\d+)?\((\w[\w-]*)\),", rest)
            label = label_match[1] if label_match else None
            body = rest[label_match.end() :] if label_match else re.sub(r"^(?:n|\d+),", "", rest)
            app_match = re.fullmatch(r"(\w+)\((.*)\)", body)
            assert app_match, f"{section.name}/{exten}: not an application call: {body!r}"
            steps.append(Step(section.name, exten, label, app_match[1], app_match[2]))
    return globals_, steps


def expand(text: str, globals_: dict[str, str]) -> str:
    return re.sub(r"\$\{(URJA_[A-Z_]+)\}", lambda m: globals_.get(m[1], m[0]), text)


def matches(pattern: str, exten: str) -> bool:
    if not pattern.startswith("_"):
        return pattern == exten
    rule = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}
    regex = "".join(rule.get(c, re.escape(c)) for c in pattern[1:])
    return re.fullmatch(regex, exten) is not None


def goto_targets(step: Step) -> list[tuple[str, str, str]]:
    """(context, exten, priority or label) of each branch of a Goto or GotoIf, in the step's own context."""
    if step.app == "Goto":
        branches = [step.args]
    elif step.app == "GotoIf":
        branches = [b for b in step.args.split("?", 1)[1].split(":") if b]
    else:
        return []
    out = []
    for branch in branches:
        parts = branch.split(",")
        context, exten, priority = ([step.context, step.exten, *parts] if len(parts) == 1 else [step.context, *parts])[
            -3:
        ]
        out.append((context, exten, priority))
    return out


@pytest.fixture(scope="module")
def plan() -> tuple[dict[str, str], list[Step]]:
    return dialplan()


def sound_is_known(sound: str) -> bool:
    prefix, _, rest = sound.partition("/")
    if prefix == Settings().agi_sounds:
        lang, _, stem = rest.partition("/")
        return lang in LANGS and catalog().by_stem(stem) is not None
    return sound in CORE_SOUNDS


def test_every_goto_lands_on_a_context_extension_and_priority_that_exist(
    plan: tuple[dict[str, str], list[Step]],
) -> None:
    _, steps = plan
    for step in steps:
        for context, exten, priority in goto_targets(step):
            here = [s for s in steps if s.context == context and matches(s.exten, exten)]
            assert here, f"{step.context}/{step.exten}: {step.app}({step.args}) goes to {context},{exten}: not there"
            if not priority.isdigit():
                assert priority in {s.label for s in here}, f"{step.context}: no label {priority} in {context},{exten}"


def test_every_sound_played_is_a_built_prompt_or_a_core_sound(plan: tuple[dict[str, str], list[Step]]) -> None:
    globals_, steps = plan
    played = [expand(s.args, globals_).split(",")[0] for s in steps if s.app in ("Playback", "Background")]
    assert played  # the fallbacks say something
    for section in parse("queues.conf"):
        played += [v for key in QUEUE_SOUND_KEYS for v in section.all(key) if v]
    unknown = [sound for sound in played if not sound_is_known(sound)]
    assert unknown == []


def test_the_ivr_and_the_alert_calls_reach_routes_the_fastagi_server_serves(
    plan: tuple[dict[str, str], list[Step]],
) -> None:
    globals_, steps = plan
    settings = Settings()
    assert globals_["URJA_FASTAGI"] == f"agi://{settings.fastagi_bind}"
    agi = {s.context: expand(s.args, globals_) for s in steps if s.app == "AGI"}
    assert agi["urjamitra-in"] == f"agi://{settings.fastagi_bind}/ivr"
    assert ROUTES["ivr"] == "inbound"
    outbound = agi[settings.ami_context]  # the dialer's Originate lands here, at exten s
    assert outbound.startswith(f"agi://{settings.fastagi_bind}/${{URJA_FLOW}}?ref=${{URJA_CALL_REF}}&params=")
    assert ROUTES["alert"] == "alert"
    assert any(s.context == settings.ami_context and s.exten == "s" for s in steps)


def test_when_the_ivr_is_not_reached_the_caller_hears_an_apology_and_the_queue_never_silence(
    plan: tuple[dict[str, str], list[Step]],
) -> None:
    globals_, steps = plan
    inbound = [s for s in steps if s.context == "urjamitra-in" and s.exten == "_X."]
    after = inbound[[s.app for s in inbound].index("AGI") + 1 :]
    assert after[0].app == "GotoIf"
    down = [s for s in steps if s.context == goto_targets(after[0])[0][0]]
    assert [s.app for s in down[:4]] == ["Log", "Playback", "Queue", "Goto"]
    assert expand(down[2].args, globals_) == f"{Settings().agent_queue},,,,{Settings().agent_wait}"
    outbound = [s for s in steps if s.context == Settings().ami_context]
    assert any("AGISTATUS" in s.args for s in outbound if s.app == "GotoIf")
    assert outbound[-1].app == "Hangup"
    assert outbound[-1].args == "41"


def test_the_queue_exists_with_members_music_a_timeout_and_empty_rules() -> None:
    settings = Settings()
    queues = {s.name: s for s in parse("queues.conf")}
    queue = queues[settings.agent_queue]
    endpoints = {s.name for s in parse("pjsip.conf") if s.get("type") == "endpoint" or s.inherits}
    members = [m.split(",")[0] for m in queue.all("member")]
    assert members
    assert all(m.startswith("PJSIP/") and m.removeprefix("PJSIP/") in endpoints for m in members)
    music = {s.name for s in parse("musiconhold.conf")}
    assert queue.get("musicclass") in music
    assert int(queue.get("timeout") or 0) > 0
    assert queue.get("joinempty")
    assert queue.get("leavewhenempty")
    assert queue.get("announce-holdtime") == "no"  # Asterisk's English hold-time sounds are not used


def test_every_endpoint_context_and_the_trunk_the_dialer_names_exist(plan: tuple[dict[str, str], list[Step]]) -> None:
    _, steps = plan
    contexts = {s.context for s in steps}
    sections = parse("pjsip.conf")
    templates = {s.name: s for s in sections if s.template}
    by_type: dict[str, set[str]] = defaultdict(set)
    for section in sections:
        kind = section.get("type") or next((templates[t].get("type") for t in section.inherits if t in templates), None)
        if kind:
            by_type[kind].add(section.name)
        context = section.get("context") or next((templates[t].get("context") for t in section.inherits), None)
        if kind == "endpoint" and context:
            assert context in contexts, f"endpoint {section.name}: no context {context} in extensions.conf"
    settings = Settings()
    channel = dial_string(settings.ami_dial, "+919876543210", settings.ami_trunk)
    assert channel == "PJSIP/919876543210@trunk"
    assert settings.ami_trunk in by_type["endpoint"]
    assert settings.ami_trunk in by_type["aor"]


def test_the_manager_user_may_originate_and_hear_call_events() -> None:
    user = next(s for s in parse("manager.conf") if s.name == "urja")
    assert "originate" in (user.get("write") or "").split(",")
    assert "call" in (user.get("read") or "").split(",")
    general = next(s for s in parse("manager.conf") if s.name == "general")
    assert general.get("bindaddr") == "127.0.0.1"
