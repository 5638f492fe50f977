"""The AGI wire protocol without I/O: replies, the agi_* block, and a call played as AGI commands.

Asterisk's AGI is line based. It opens with a block of `agi_name: value` lines ended by an empty line;
then the script sends one command per line (`STREAM FILE urjamitra/hi/menu/main "0123456789*#"`) and
Asterisk answers each with `200 result=<n> [(<data>)] [endpos=<n>]`, or 510 (invalid command), 511
(dead channel), a multi-line 520 (usage), or a bare `HANGUP` line when the caller has gone.

Everything here is pure: the transports (the FastAGI server, the AGI script) move lines and run the
dialog, and drive the two generators below:

- `play_turn(turn, config)` yields the AGI commands of one Turn, is sent each reply, and returns the
  digits the caller entered;
- `call_flow(env, config)` yields a whole call's effects: AGI commands (sent an `AgiReply`) and the
  dialog's `StartCall`/`ResumeCall`/`FinishCall` (sent their results, or thrown their exceptions). It
  holds the call's policy in one place: answer, play each turn, apologise and offer the agent when
  anything fails, and always finish a started call, saying whether the caller hung up.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl, urlsplit

from cis.errors import MalformedMobile
from cis.phones import mask_mobile, normalise_mobile
from ivr.speech import spoken_keys
from ivr.turns import Gather, Hangup, Lang, Transfer, Turn

ANY_KEY: Final = "0123456789*#"
SORRY_KEY: Final = "common.sorry_error"
# Commands the protocol knows, longest first so `parse_command` matches `WAIT FOR DIGIT` before `WAIT`.
COMMAND_VERBS: Final = (
    "WAIT FOR DIGIT",
    "CHANNEL STATUS",
    "SET VARIABLE",
    "GET VARIABLE",
    "STREAM FILE",
    "GET OPTION",
    "GET DATA",
    "ANSWER",
    "HANGUP",
    "VERBOSE",
    "NOOP",
    "EXEC",
)
MAX_ENV_LINES: Final = 200
MAX_REPLY_LINES: Final = 200
# Which dialog a request's script name starts: `agi://host:4573/ivr` is an inbound call.
ROUTES: Final[Mapping[str, str]] = {
    "": "inbound",
    "ivr": "inbound",
    "inbound": "inbound",
    "alert": "alert",
    "closure": "closure",
}


class AgiError(Exception):
    """Asterisk refused a command or the channel went away; `line` is what Asterisk sent."""

    def __init__(self, message: str, line: str = "") -> None:
        super().__init__(message)
        self.line = line


class AgiHangup(AgiError):
    """The caller is gone: a bare `HANGUP` line, or the connection closed."""


class AgiDeadChannel(AgiHangup):
    """511: the command was sent to a channel that has already hung up."""


class AgiChannelFailed(AgiHangup):
    """`result=-1` to a digit command, or to a probe after a playback failed: the channel hung up or failed."""


class AgiNoReply(AgiError):
    """Asterisk sent no reply to a command within its time (the command's own time plus a margin): the line is
    held open but nobody answers it. The call is ended and recorded as a system fault, never as an abandonment."""


class PromptMissing(AgiError):
    """STREAM FILE answered `200 result=-1` on a live channel: the sound file is missing or unreadable."""

    def __init__(self, sound: str) -> None:
        super().__init__(f"the sound file {sound} is missing or unreadable", "200 result=-1")
        self.sound = sound


class AgiInvalidCommand(AgiError):
    """510: Asterisk does not know the command."""


class AgiUsageError(AgiError):
    """520: the command's arguments were wrong; `usage` is the proper usage Asterisk sent back."""

    def __init__(self, message: str, line: str = "", usage: str = "") -> None:
        super().__init__(message, line)
        self.usage = usage


class AgiProtocolError(AgiError):
    """A line that is not an AGI reply at all."""


@dataclass(frozen=True)
class AgiReply:
    """A `200` reply: `result` as sent (a number, or the digits of GET DATA), optional `(data)` and `endpos`."""

    code: int
    result: str
    data: str | None = None
    endpos: int | None = None

    @property
    def value(self) -> int:
        """The result as a number (`-1` for failure, an ASCII code for a key, 0 for none)."""
        try:
            return int(self.result)
        except ValueError:
            raise AgiProtocolError(f"result is not a number: {self.result!r}") from None

    @property
    def key(self) -> str:
        """The key a STREAM FILE, WAIT FOR DIGIT or GET OPTION reply carries, '' for none.

        Raises AgiChannelFailed for `result=-1`: the caller hung up during the command, or (STREAM FILE) the
        file could not be played; `play` tells the two apart.
        """
        value = self.value
        if value < 0:
            raise AgiChannelFailed("the channel failed during the command", f"200 result={self.result}")
        if value > 127:
            raise AgiProtocolError(f"result is not a key: {value}", f"200 result={self.result}")
        return chr(value) if value else ""


_REPLY = re.compile(r"200 result=(?P<result>\S*)(?: \((?P<data>.*)\))?(?P<pairs>(?: [A-Za-z_]+=\S*)*)")


def parse_reply(text: str) -> AgiReply:
    """Parse one reply (a 520 usage reply spans several lines, joined by newlines) or raise its AgiError."""
    text = text.strip("\r\n")
    first = text.split("\n", 1)[0].rstrip("\r ")
    if first == "HANGUP":
        raise AgiHangup("the caller hung up", first)
    code = first[:3]
    if code == "510":
        raise AgiInvalidCommand("Asterisk does not know the command", first)
    if code == "511":
        raise AgiDeadChannel("the channel is dead", first)
    if code == "520":
        lines = [line.rstrip("\r") for line in text.split("\n")]
        usage = "\n".join(lines[1:-1]) if len(lines) > 2 else ""
        raise AgiUsageError("wrong usage of the command", first, usage)
    match = _REPLY.fullmatch(first)
    if not match:
        raise AgiProtocolError("not an AGI reply", first)
    pairs = dict(pair.split("=", 1) for pair in match["pairs"].split())
    endpos = pairs.get("endpos")
    return AgiReply(
        code=200,
        result=match["result"],
        data=match["data"],
        endpos=int(endpos) if endpos and endpos.isdigit() else None,
    )


class ReplyReader:
    """Assembles replies from lines as they arrive: most are one line, a 520 runs to `520 End of proper usage.`."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def feed(self, line: str) -> AgiReply | None:
        """The reply once `line` completes one (or its AgiError raised), else None."""
        line = line.rstrip("\r\n")
        if line == "HANGUP":
            self._lines = []
            return parse_reply(line)
        if self._lines:
            self._lines.append(line)
            if line.startswith(self._lines[0][:3] + " "):
                text, self._lines = "\n".join(self._lines), []
                return parse_reply(text)
            if len(self._lines) > MAX_REPLY_LINES:
                self._lines = []
                raise AgiProtocolError("a multi-line reply that does not end", line)
            return None
        if re.match(r"\d{3}-", line):
            self._lines = [line]
            return None
        return parse_reply(line)


def read_reply(readline: Callable[[], str]) -> AgiReply:
    """Read one reply with a blocking `readline` ('' at the end of input means the caller is gone)."""
    reader = ReplyReader()
    while True:
        line = readline()
        if not line:
            raise AgiHangup("the connection closed")
        reply = reader.feed(line)
        if reply is not None:
            return reply


def parse_env(lines: Iterable[str]) -> dict[str, str]:
    """The `agi_*` block as a dict, read up to the first empty line; lines without a colon are skipped."""
    env: dict[str, str] = {}
    for count, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        if not line.strip():
            break
        if count >= MAX_ENV_LINES:
            raise AgiProtocolError("the agi_ block does not end", line)
        name, colon, value = line.partition(":")
        if colon:
            env[name.strip()] = value.strip()
    return env


def read_env(readline: Callable[[], str]) -> dict[str, str]:
    """Read the `agi_*` block with a blocking `readline`."""
    lines: list[str] = []
    while True:
        line = readline()
        if not line:
            raise AgiHangup("the connection closed before the agi_ block ended")
        if not line.strip():
            return parse_env(lines)
        lines.append(line)
        if len(lines) > MAX_ENV_LINES:
            raise AgiProtocolError("the agi_ block does not end", line)


@dataclass(frozen=True)
class AgiRequest:
    """What the agi_ block says about the call, in the dialog's terms."""

    route: str
    flow: str | None  # None: no dialog serves this route
    params: dict[str, Any]
    call_ref: str
    caller: str
    called: str
    channel: str
    outbound_ref: str | None = None  # our own reference of a call we placed (`ref=` in the URL)
    problem: str | None = None  # what was wrong with the request, e.g. params that do not decode


def parse_request(env: Mapping[str, str]) -> AgiRequest:
    """Route a call by the script name of `agi_request` (`agi://host:4573/alert?ref=7&params=...` > "alert").

    Calls we place carry what the AMI dialer set on the channel, passed on by the dialplan as
    `AGI(agi://host:4573/${URJA_FLOW}?ref=${URJA_CALL_REF}&params=${URJA_PARAMS})`: `params` is
    base64url JSON (`ivr.outbound.encode_params`) and is decoded here; other `name=value` pairs of the
    query, and AGI arguments `name=value`, become params as they are. The AGI script form
    (`AGI(urjamitra-agi,alert,ref=7)`) has no URL: its first argument without `=` names the route.
    Params that do not decode are named in `problem`, for the call flow to apologise.
    """
    request = env.get("agi_request", "")
    pairs: list[tuple[str, str]] = []
    route: str | None = None
    if "://" in request:
        url = urlsplit(request)
        route = url.path.strip("/")
        pairs += parse_qsl(url.query)
    for name in sorted((n for n in env if n.startswith("agi_arg_")), key=_arg_number):
        key, eq, value = env[name].partition("=")
        if eq:
            pairs.append((key, value))
        elif route is None:
            route = env[name]
    params: dict[str, Any] = {}
    outbound_ref: str | None = None
    problem: str | None = None
    for key, value in pairs:
        if key == "ref":
            outbound_ref = value
        elif key == "params":
            try:
                params.update(decode_params(value))
            except AgiProtocolError as exc:
                problem = str(exc)
        else:
            params[key] = value
    route = (route or "ivr").lower()
    called = env.get("agi_dnid", "")
    if called in ("", "unknown"):
        called = env.get("agi_extension", "")
    return AgiRequest(
        route=route,
        flow=ROUTES.get(route),
        params=params,
        call_ref=env.get("agi_uniqueid", ""),
        caller=env.get("agi_callerid", ""),
        called=called,
        channel=env.get("agi_channel", ""),
        outbound_ref=outbound_ref,
        problem=problem,
    )


def decode_params(text: str) -> dict[str, Any]:
    """Call parameters as the outbound dialer encodes them: unpadded base64url of a JSON object ('' is {})."""
    if not text:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise AgiProtocolError(f"call parameters do not decode: {exc}") from None
    if not isinstance(data, dict):
        raise AgiProtocolError("call parameters must be a JSON object")
    return data


def mask_caller(raw: str) -> str:
    """A caller ID fit for a log line: the E.164 number masked, or the trunk's text masked the same way."""
    try:
        return mask_mobile(normalise_mobile(raw))
    except MalformedMobile:
        return mask_mobile(raw) if any(c.isdigit() for c in raw) else raw


def _arg_number(name: str) -> int:
    suffix = name.removeprefix("agi_arg_")
    return int(suffix) if suffix.isdigit() else 0


# --- commands ------------------------------------------------------------------------------------


def quote(arg: str, *, always: bool = False) -> str:
    """One command argument as Asterisk's parser reads it back: bare when plain, else in double quotes."""
    if "\n" in arg or "\r" in arg:
        raise ValueError(f"an AGI argument cannot hold a line break: {arg!r}")
    if arg and not always and not any(c.isspace() or c in '"\\' for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_args(line: str) -> list[str]:
    """Split a command line into arguments as Asterisk does: whitespace separates, quotes group, backslash escapes."""
    args: list[str] = []
    current: list[str] = []
    in_arg = quoted = escaped = False
    for c in line.strip():
        if escaped:
            current.append(c)
            escaped = False
        elif c == "\\":
            escaped = in_arg = True
        elif c == '"':
            quoted = not quoted
            in_arg = True
        elif c.isspace() and not quoted:
            if in_arg:
                args.append("".join(current))
                current, in_arg = [], False
        else:
            current.append(c)
            in_arg = True
    if in_arg:
        args.append("".join(current))
    return args


def parse_command(line: str) -> tuple[str, list[str]]:
    """A command line as (verb, arguments): `STREAM FILE x "12"` > ("STREAM FILE", ["x", "12"])."""
    words = split_args(line)
    upper = [w.upper() for w in words]
    for verb in COMMAND_VERBS:
        size = verb.count(" ") + 1
        if upper[:size] == verb.split():
            return verb, words[size:]
    return (upper[0] if upper else ""), words[1:]


def stream_file(sound: str, escape_digits: str) -> str:
    return f"STREAM FILE {quote(sound)} {quote(escape_digits, always=True)}"


def wait_for_digit(timeout_ms: int) -> str:
    return f"WAIT FOR DIGIT {timeout_ms}"


def set_variable(name: str, value: str) -> str:
    return f"SET VARIABLE {quote(name)} {quote(value, always=True)}"


def exec_app(app: str, options: str) -> str:
    return f"EXEC {quote(app)} {quote(options)}"


# Asks whether the channel still lives: `200 result=<state>` (6: up) when it does; on a hung-up channel Asterisk
# has already sent a `HANGUP` line and answers 511, since CHANNEL STATUS is not permitted on a dead channel.
CHANNEL_STATUS: Final = "CHANNEL STATUS"


@dataclass(frozen=True)
class AgiConfig:
    """How turns become commands, and how long each command may take.

    `sounds_prefix` is the sounds folder under Asterisk's sounds directory (or an absolute path):
    a prompt plays as `{sounds_prefix}/{lang}/{stem}`. A Transfer turn runs `EXEC {transfer_app}
    {transfer_target}` with `{queue}` filled in (`Queue 1912`, or `Dial PJSIP/{queue}@agents`);
    `agent_queue` is where the apology after a failure sends the caller.

    Reply times (`reply_timeout`): every command gets its own time plus `reply_margin_s`: a prompt its length
    (`prompt_seconds`, learnt from the sound files, else `max_prompt_s`), WAIT FOR DIGIT its timeout, EXEC (the
    agents' queue, then the conversation) `exec_timeout_s`.
    """

    sounds_prefix: str = "urjamitra"
    agent_queue: str = "1912"
    transfer_app: str = "Queue"
    transfer_target: str = "{queue}"
    reply_margin_s: float = 10.0
    max_prompt_s: float = 60.0
    exec_timeout_s: float = 4 * 3600.0
    prompt_seconds: Mapping[str, float] = field(default_factory=dict)  # sound (as played) > its length

    def sound(self, lang: Lang, key: str) -> str:
        """The file Asterisk plays for a catalog key: `bill.amount_due` > `urjamitra/hi/bill/amount_due`."""
        stem = key.replace(".", "/")
        return "/".join(part for part in (self.sounds_prefix.rstrip("/"), lang, stem) if part)

    def transfer(self, queue: str) -> str:
        return exec_app(self.transfer_app, self.transfer_target.format(queue=queue))

    def reply_timeout(self, command: str) -> float:
        """Seconds to wait for Asterisk's reply to `command` before the line is taken for dead."""
        verb, args = parse_command(command)
        own = 0.0
        if verb == "STREAM FILE" and args:
            own = self.prompt_seconds.get(args[0], self.max_prompt_s)
        elif verb == "WAIT FOR DIGIT" and args:
            own = _milliseconds(args[0], self.max_prompt_s)
        elif verb == "GET DATA" and args:
            # The prompt, then up to the timeout for each digit.
            digits = int(args[2]) if len(args) > 2 and args[2].isdigit() else 1
            each = _milliseconds(args[1], 5.0) if len(args) > 1 else 5.0
            own = self.prompt_seconds.get(args[0], self.max_prompt_s) + each * (digits + 1)
        elif verb == "EXEC":
            own = self.exec_timeout_s
        return own + self.reply_margin_s


def _milliseconds(text: str, otherwise: float) -> float:
    """A command's timeout argument in seconds; `otherwise` for -1 (wait for ever) or anything unreadable."""
    value = int(text) if text.isdigit() else -1
    return value / 1000 if value >= 0 else otherwise


Player = Generator[str, AgiReply, str]


def turn_sounds(turn: Turn, config: AgiConfig) -> list[str]:
    """The files that speak a turn's items, in order."""
    return [config.sound(turn.lang, key) for item in turn.items for key in spoken_keys(item, turn.lang)]


def play(sound: str, escape_digits: str) -> Player:
    """STREAM FILE one sound; returns the key that interrupted it, or '' when it played to the end.

    `200 result=-1` means the caller hung up during it (Asterisk then sends a `HANGUP` line) or the file could
    not be opened (the channel lives on, and so does the AGI). A CHANNEL STATUS probe tells them apart: a hang-up
    raises AgiHangup (from the `HANGUP` line or the 511); a live channel raises PromptMissing.
    """
    reply = yield stream_file(sound, escape_digits)
    if reply.value >= 0:
        return reply.key
    status = yield CHANNEL_STATUS
    if status.value < 0:
        raise AgiChannelFailed("the channel failed during the prompt", f"200 result={reply.result}")
    raise PromptMissing(sound)


def say(turn: Turn, config: AgiConfig, escape_digits: str, missing: list[str] | None = None) -> Player:
    """Play the turn's prompts; returns the key that interrupted them, or '' when they played to the end.

    A prompt that cannot be played raises PromptMissing, unless `missing` is given: then the sound is added to
    it and the next prompt plays (a final turn's goodbye or transfer notice is worth no more than that).
    """
    for sound in turn_sounds(turn, config):
        try:
            key = yield from play(sound, escape_digits)
        except PromptMissing:
            if missing is None:
                raise
            missing.append(sound)
            continue
        if key:
            return key
    return ""


def collect(gather: Gather, first: str = "") -> Player:
    """Collect digits after `first` (a barge-in key, or '' to wait for one) with WAIT FOR DIGIT.

    Ends at `max_digits`, at the terminator (not returned), or when no key comes within the timeout.
    """
    digits = ""
    key = first
    while True:
        if not key:
            reply = yield wait_for_digit(gather.timeout_ms)
            key = reply.key
            if not key:
                return digits
        if key == gather.terminator:
            return digits
        digits += key
        if len(digits) >= gather.max_digits:
            return digits
        key = ""


# The channel variable naming the call's record when the caller is handed to the agents' queue: Asterisk's AMI
# AgentConnect event carries it (manager.conf `channelvars`), so the agent who answers sees the caller's 360.
CALL_ID_VARIABLE = "URJA_CALL_ID"


def end(action: Hangup | Transfer, config: AgiConfig, call_id: int | None = None) -> Generator[str, AgiReply, None]:
    """The final turn's last command: hang up, or hand the caller to the agents (first naming the call's record
    in the channel variable URJA_CALL_ID, for the screen-pop)."""
    if isinstance(action, Transfer):
        if call_id is not None:
            yield set_variable(CALL_ID_VARIABLE, str(call_id))
        yield config.transfer(action.queue)
    else:
        yield "HANGUP"


def play_turn(turn: Turn, config: AgiConfig, missing: list[str] | None = None) -> Player:
    """One turn: its prompts, then its action; returns the digits gathered ('' for a final turn).

    A Gather turn plays every prompt with all keys as escape digits, since Asterisk throws away a key
    pressed while no command runs; a key stops the remaining prompts and starts the entry. A prompt it cannot
    play raises PromptMissing (a question heard in part cannot be answered); a final turn skips it into `missing`.
    """
    action = turn.action
    if isinstance(action, Gather):
        first = yield from say(turn, config, ANY_KEY)
        return (yield from collect(action, first))
    yield from say(turn, config, "", missing)
    yield from end(action, config)
    return ""


def silent_reply(command: str) -> AgiReply:
    """What Asterisk answers when the caller listens and presses nothing."""
    verb, _ = parse_command(command)
    if verb == "STREAM FILE":
        return AgiReply(200, "0", endpos=8000)
    if verb in ("HANGUP", "SET VARIABLE"):
        return AgiReply(200, "1")
    if verb == "CHANNEL STATUS":
        return AgiReply(200, "6")
    return AgiReply(200, "0")


def agi_commands(turn: Turn, sounds_prefix: str = "urjamitra", config: AgiConfig | None = None) -> list[str]:
    """The AGI commands of one turn when the caller presses nothing (what golden files pin)."""
    config = config or AgiConfig(sounds_prefix=sounds_prefix)
    player = play_turn(turn, config)
    commands: list[str] = []
    try:
        command = next(player)
        while True:
            commands.append(command)
            command = player.send(silent_reply(command))
    except StopIteration:
        return commands


# --- a whole call --------------------------------------------------------------------------------


class DialogPort(Protocol):
    """What a transport needs of `ivr.dialog`: blocking calls that may hit the database."""

    def start(
        self,
        *,
        channel: str,
        call_ref: str,
        caller: str,
        called: str,
        flow: str,
        params: dict[str, Any] | None,
    ) -> tuple[Any, Turn]: ...

    def resume(self, call: Any, digits: str) -> Turn: ...

    def finish(
        self,
        call: Any,
        *,
        hung_up: bool,
        duration_s: int | None = None,
        fault: str | None = None,
        transferred: bool = False,
    ) -> None: ...


@dataclass(frozen=True)
class StartCall:
    """Effect: `dialog.start(**kwargs)`; send back `(call, turn)`."""

    channel: str
    call_ref: str
    caller: str
    called: str
    flow: str
    params: dict[str, Any] | None
    outbound_ref: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `dialog.start`; `outbound_ref` only for calls we placed that carry one."""
        kwargs: dict[str, Any] = {
            "channel": self.channel,
            "call_ref": self.call_ref,
            "caller": self.caller,
            "called": self.called,
            "flow": self.flow,
            "params": self.params,
        }
        if self.outbound_ref is not None:
            kwargs["outbound_ref"] = self.outbound_ref
        return kwargs


@dataclass(frozen=True)
class ResumeCall:
    """Effect: `dialog.resume(call, digits)`; send back the next turn."""

    call: Any
    digits: str


@dataclass(frozen=True)
class FinishCall:
    """Effect: `dialog.finish(call, hung_up=..., duration_s=..., fault=..., transferred=...)` (the transport knows
    the duration). `fault` names what went wrong on our side (a missing prompt, no reply from Asterisk);
    `transferred` says the transport itself handed the caller to the agents (after an apology)."""

    call: Any
    hung_up: bool
    fault: str | None = None
    transferred: bool = False

    def kwargs(self) -> dict[str, Any]:
        return {"hung_up": self.hung_up, "fault": self.fault, "transferred": self.transferred}


Effect = str | StartCall | ResumeCall | FinishCall


@dataclass
class CallOutcome:
    """How a call went, for the transport's log line."""

    request: AgiRequest
    turns: int = 0
    started: bool = False
    hung_up: bool = False
    transferred: bool = False
    apologised: bool = False
    errors: list[BaseException] = field(default_factory=list)
    missing_sounds: list[str] = field(default_factory=list)  # prompts Asterisk could not play

    @property
    def rejected(self) -> bool:
        """No dialog serves the request's route: the call was left to the dialplan."""
        return self.request.flow is None

    @property
    def how(self) -> str:
        """How the call ended, in a word or two for a log line."""
        if self.rejected:
            return "rejected"
        if self.timed_out:
            return "no reply from Asterisk"
        return "hung up" if self.hung_up else "transferred" if self.transferred else "completed"

    @property
    def timed_out(self) -> bool:
        return any(isinstance(e, AgiNoReply) for e in self.errors)

    @property
    def fault(self) -> str | None:
        """What went wrong on our side, for the call record (None: nothing did): the system faults the MIS counts
        apart from the callers' own choices."""
        if self.missing_sounds:
            return "missing prompt: " + ", ".join(dict.fromkeys(self.missing_sounds))
        for exc in self.errors:
            return f"{type(exc).__name__}: {exc}"
        return None


def call_flow(
    env: Mapping[str, str], config: AgiConfig, channel: str = "asterisk"
) -> Generator[Effect, Any, CallOutcome]:
    """A whole call as effects; see the module docstring. Never raises for a failure inside the call.

    A prompt Asterisk cannot play is no hang-up: in a turn that asks for keys the caller hears the apology and
    goes to the agents; in a final turn it is skipped. Asterisk not replying in time ends the call at once (no
    apology: nobody answers the line). Both are recorded as the call's fault.
    """
    request = parse_request(env)
    outcome = CallOutcome(request)
    if request.flow is None:
        return outcome
    lang: Lang = "hi"
    call: Any = None
    try:
        if request.flow == "inbound":
            answer: AgiReply = yield "ANSWER"
            if answer.value < 0:
                raise AgiChannelFailed("ANSWER failed", f"200 result={answer.result}")
        if request.problem:
            raise AgiProtocolError(request.problem, env.get("agi_request", ""))
        call, turn = yield StartCall(
            channel=channel,
            call_ref=request.call_ref,
            caller=request.caller,
            called=request.called,
            flow=request.flow,
            params=request.params or None,
            outbound_ref=request.outbound_ref,
        )
        outcome.started = True
        while True:
            outcome.turns += 1
            lang = turn.lang
            action = turn.action
            if isinstance(action, Gather):
                digits = yield from play_turn(turn, config)
                turn = yield ResumeCall(call, digits)
                continue
            yield from say(turn, config, "", outcome.missing_sounds)
            outcome.transferred = isinstance(action, Transfer)
            with suppress(AgiHangup):  # the caller left the line or the queue after the IVR had said everything
                yield from end(action, config, getattr(call, "record_id", None))
            break
    except AgiHangup:
        outcome.hung_up = True
    except AgiNoReply as exc:
        outcome.errors.append(exc)
    except PromptMissing as exc:  # the caller cannot answer a question heard in part: the agents can
        outcome.missing_sounds.append(exc.sound)
        outcome.hung_up = yield from _apologise(lang, config, outcome, call)
    except Exception as exc:  # the dialog failed or Asterisk refused a command: no dead air, offer the agent
        outcome.errors.append(exc)
        outcome.hung_up = yield from _apologise(lang, config, outcome, call)
    if outcome.started:
        try:
            yield FinishCall(call, outcome.hung_up, outcome.fault, outcome.transferred)
        except Exception as exc:
            outcome.errors.append(exc)
    return outcome


def _apologise(lang: Lang, config: AgiConfig, outcome: CallOutcome, call: Any = None) -> Generator[str, AgiReply, bool]:
    """Say sorry and transfer to the agents; returns whether the caller turned out to be gone.

    A missing apology is skipped: the caller still reaches the agents."""
    try:
        try:
            yield from play(config.sound(lang, SORRY_KEY), "")
        except PromptMissing as exc:
            outcome.missing_sounds.append(exc.sound)
        outcome.apologised = True
        call_id = getattr(call, "record_id", None)
        if call_id is not None:
            yield set_variable(CALL_ID_VARIABLE, str(call_id))
        yield config.transfer(config.agent_queue)
        outcome.transferred = True
    except AgiHangup:
        return not outcome.apologised
    except AgiError as exc:
        outcome.errors.append(exc)
    return False


def run_call(
    env: Mapping[str, str],
    config: AgiConfig,
    send: Callable[[str], AgiReply],
    dialog: DialogPort,
    channel: str = "asterisk",
    clock: Callable[[], float] = time.monotonic,
) -> CallOutcome:
    """Drive `call_flow` with blocking I/O: `send` writes a command and reads its reply (raising AgiError)."""
    began = clock()
    flow = call_flow(env, config, channel)
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            effect = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            outcome: CallOutcome = stop.value
            return outcome
        value, error = None, None
        try:
            value = perform(effect, send, dialog, round(clock() - began))
        except Exception as exc:
            error = exc


def perform(effect: Effect, send: Callable[[str], AgiReply], dialog: DialogPort, duration_s: int | None = None) -> Any:
    """Carry out one effect of `call_flow` with blocking calls; `duration_s` is the call's length so far."""
    if isinstance(effect, str):
        return send(effect)
    if isinstance(effect, StartCall):
        return dialog.start(**effect.kwargs())
    if isinstance(effect, ResumeCall):
        return dialog.resume(effect.call, effect.digits)
    dialog.finish(effect.call, duration_s=duration_s, **effect.kwargs())
    return None
