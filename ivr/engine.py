"""The dialog engine: flows as data, advanced by a pure `step(flow, state, resume) -> (state, Turn | Query)`.

A flow is a table of named nodes. A `Menu` says something and waits for keys (its input spec says how
many, how long, which key ends the entry, how many tries); its `choose` maps the keys to a transition.
A `Fetch` asks the runner for data (a `Query`) and maps the answer to a transition. Transitions go to
another node (optionally saying something first), retry a menu after a polite error, or finish the
call with a last Turn (hang up, or transfer to the agents).

The state is a JSON object, so a FastAGI connection keeps it in memory and a webhook keeps it in the
call record between requests. `step` never does I/O: a `Query` goes back to the runner, which answers
it and calls `step` again with an `Answer`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ivr.turns import Action, Gather, Hangup, Item, Lang, Transfer, Turn, item_from_json, item_to_json

State = dict[str, Any]
MAX_PATH = 60  # nodes kept in a call's path (the MIS needs the shape of a call, not a full log)
AGENT_QUEUE = "1912"


class EngineError(RuntimeError):
    """A flow is malformed or was resumed with the wrong kind of input."""


# --- what the runner sends in --------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """A new call or session."""

    channel: str
    call_ref: str
    caller: str | None
    lang: Lang = "hi"
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Input:
    """Keys the caller pressed; '' when nothing came before the timeout."""

    digits: str


@dataclass(frozen=True)
class Answer:
    """The runner's answer to the last Query."""

    result: Mapping[str, Any]


Resume = Start | Input | Answer


@dataclass(frozen=True)
class Query:
    """Data the flow needs from the outside (an account, a bill, a complaint to register)."""

    name: str
    args: Mapping[str, Any]


# --- transitions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Go:
    """Enter `node`, saying `say` first."""

    node: str
    say: Sequence[Item] = ()


@dataclass(frozen=True)
class Retry:
    """A failed try: say `say`, then ask menu `node` (default: the menu just asked) again."""

    say: Sequence[Item]
    node: str | None = None


@dataclass(frozen=True)
class Finish:
    """The last Turn of the call."""

    say: Sequence[Item]
    action: Action = field(default_factory=Hangup)


Transition = Go | Retry | Finish


# --- nodes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    max_digits: int = 1
    timeout_ms: int = 6000
    terminator: str | None = None
    retries: int = 3


@dataclass(frozen=True)
class Menu:
    """Say `say(state)` and wait for keys; `choose(state, keys)` decides. `*` repeats, '' is no input."""

    say: Callable[[State], Sequence[Item]]
    choose: Callable[[State, str], Transition]
    input: InputSpec = InputSpec()
    # What a timeout means here; by default a failed try ("we did not receive your choice").
    on_timeout: Callable[[State], Transition] | None = None


@dataclass(frozen=True)
class Fetch:
    query: Callable[[State], Query]
    answer: Callable[[State, Mapping[str, Any]], Transition]


Node = Menu | Fetch


@dataclass(frozen=True)
class Flow:
    name: str
    start: Callable[[State], Transition]
    nodes: Mapping[str, Node]
    too_many_tries: Sequence[Item] = ()
    no_input: Sequence[Item] = ()
    transfer: Sequence[Item] = ()


# --- the step ---------------------------------------------------------------------------------------------


def new_state(flow: Flow, start: Start) -> State:
    return {
        "flow": flow.name,
        "channel": start.channel,
        "call_ref": start.call_ref,
        "caller": start.caller,
        "lang": start.lang,
        "params": dict(start.params),
        "account": None,
        "node": None,
        "asking": None,
        "tries": 0,
        "preface": [],
        "said": None,
        "path": [],
        "served": [],
        "outcome": None,
        "seq": 0,
        "stray": None,  # a terminator still to come after an entry that ended by its length
        "data": {},
    }


def step(flows: Mapping[str, Flow], state: State | None, resume: Resume) -> tuple[State, Turn | Query]:
    """Advance a call by one input or answer. Pure: the given state is not modified."""
    if isinstance(resume, Start):
        flow = flows[str(resume.params.get("flow", "inbound"))]
        s = new_state(flow, resume)
        return _run(flow, s, flow.start(s))
    if state is None:
        raise EngineError("a call must start before it can be resumed")
    s = copy.deepcopy(state)
    flow = flows[s["flow"]]
    if s.get("outcome") is not None and s["node"] is None:
        raise EngineError("the call has already finished")
    node = flow.nodes[s["node"]]
    if isinstance(resume, Answer):
        if not isinstance(node, Fetch):
            raise EngineError(f"node {s['node']} did not ask a question")
        return _run(flow, s, node.answer(s, resume.result))
    if not isinstance(node, Menu):
        raise EngineError(f"node {s['node']} waits for an answer, not for keys")
    spec = node.input
    digits = resume.digits
    stray, s["stray"] = s.get("stray"), None
    if stray and (digits == stray or (digits == "" and spec.terminator == stray)):
        # The terminator of an entry that had already ended by its length (ten digits, then "#"): it
        # interrupted what came next, so that is said again; it is no choice and no failed try. (A
        # transport gathering with the same terminator hands it over as an empty entry.)
        return s, _gather_turn(s, [item_from_json(i) for i in s["said"]], spec)
    if stray and digits.startswith(stray):
        digits = digits[len(stray) :]
    if digits == "*":
        # Repeat exactly what was said; not a failed try.
        return s, _gather_turn(s, [item_from_json(i) for i in s["said"]], spec)
    if spec.terminator:
        # The terminator is optional: an entry ends at it whether the transport kept it ("1234#" typed on a
        # screen) or not; alone, it is an empty entry.
        entered, ended, _ = digits.partition(spec.terminator)
        if not ended and len(entered) >= spec.max_digits:
            s["stray"] = spec.terminator  # the caller may still press it, after the entry has ended
        digits = entered
    if digits == "":
        transition = node.on_timeout(s) if node.on_timeout else Retry(flow.no_input)
    else:
        transition = node.choose(s, digits)
    return _run(flow, s, transition)


def _run(flow: Flow, s: State, transition: Transition) -> tuple[State, Turn | Query]:
    for _ in range(50):
        if isinstance(transition, Finish):
            return _finish(s, transition)
        if isinstance(transition, Retry):
            target = transition.node or s["asking"]
            s["tries"] = s["tries"] + 1 if target == s["asking"] else 1
            spec = _menu(flow, target).input
            _add_preface(s, transition.say)
            if s["tries"] > spec.retries:
                return _finish(s, Finish([*flow.too_many_tries, *flow.transfer], Transfer(AGENT_QUEUE)))
            _enter(s, target)
        else:
            _add_preface(s, transition.say)
            _enter(s, transition.node)
        node = flow.nodes[s["node"]]
        if isinstance(node, Fetch):
            return s, node.query(s)
        if s["node"] != s["asking"]:
            s["tries"] = 0  # a new menu: its tries start afresh
        items = [*(item_from_json(i) for i in s["preface"]), *node.say(s)]
        s["preface"] = []
        s["asking"] = s["node"]
        s["said"] = [item_to_json(i) for i in items]
        return s, _gather_turn(s, items, node.input)
    raise EngineError(f"flow {flow.name} loops without asking anything")


def _menu(flow: Flow, name: str) -> Menu:
    node = flow.nodes[name]
    if not isinstance(node, Menu):
        raise EngineError(f"only a menu can be retried, not {name}")
    return node


def _enter(s: State, name: str) -> None:
    s["node"] = name
    if len(s["path"]) < MAX_PATH:
        s["path"].append(name)


def _add_preface(s: State, items: Sequence[Item]) -> None:
    s["preface"].extend(item_to_json(i) for i in items)


def _gather_turn(s: State, items: Sequence[Item], spec: InputSpec) -> Turn:
    return Turn(s["lang"], tuple(items), Gather(spec.max_digits, spec.timeout_ms, spec.terminator))


def _finish(s: State, finish: Finish) -> tuple[State, Turn]:
    items = [*(item_from_json(i) for i in s["preface"]), *finish.say]
    s["preface"] = []
    s["node"] = None
    # Every service the call used, in order; a transfer to the agents comes last ("bill+complaint+transfer").
    served = [*s["served"], "transfer"] if isinstance(finish.action, Transfer) else s["served"]
    s["outcome"] = "+".join(served) or "no_service"
    s["said"] = [item_to_json(i) for i in items]
    return s, Turn(s["lang"], tuple(items), finish.action)
