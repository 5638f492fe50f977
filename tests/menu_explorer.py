"""Walk every branch of the menus with made-up answers, collecting every Turn a caller can meet."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ivr.engine import Answer, Input, Query, Start, State, step
from ivr.menus import FLOWS
from ivr.turns import Turn

OUTAGE = {"kind": "breakdown", "since": "2026-11-20T14:30:00", "restore_by": "2026-11-20T18:00:00"}
BILL = {
    "amount_due_paise": 172_750,
    "due_date": "2026-12-05",
    "units": 245,
    "last_payment": {"amount_paise": 150_000, "paid_on": "2026-10-30"},
}
EXPLANATION = {
    "units": 245,
    "units_same_month_last_year": 210,
    "units_last_bill": 230,
    "slab": {"index": 2, "rate_paise": 650},
    "arrears_paise": 50_000,
    "lps_paise": 1_250,
    "basis": "estimated",
}
# Each query's possible answers; the walk follows every one.
ANSWERS: dict[str, list[dict[str, Any]]] = {
    "identify": [{"accounts": ["7100000001"]}, {"accounts": []}, {"accounts": ["7100000002", "7100000003"]}],
    "check_account": [{"account_no": "7100000001"}, {"error": "unknown"}, {"error": "closed"}],
    "outage": [
        {"outage": None},
        {"outage": None, "claimable_paise": 25_000},
        {"outage": None, "paid_recently_paise": 172_750},
        {"outage": OUTAGE, "claimable_paise": 15_000},
        {"outage": OUTAGE},
        {"outage": {**OUTAGE, "kind": "shutdown", "restore_by": None}},
        {"outage": {**OUTAGE, "kind": "roster"}},
        {"outage": {**OUTAGE, "delayed": True}},
    ],
    "bill": [
        {"bill": BILL},
        {"bill": None},
        {"bill": {**BILL, "amount_due_paise": 0, "last_payment": None}},
        {"bill": {**BILL, "overdue": True}},
    ],
    "explain": [
        {"explanation": EXPLANATION},
        {"explanation": {**EXPLANATION, "basis": "actual", "slab": None}},
        {"explanation": {**EXPLANATION, "basis": "assessed"}},
    ],
    "pay_due": [{"amount_due_paise": 172_750, "due_date": "2026-11-20"}, {"amount_due_paise": 0}],
    "pay": [{"amount_due_paise": 172_750}, {"amount_due_paise": 0}, {"error": "no_mobile"}],
    "complaint": [
        {"number": "10000017", "created": True, "due": "2026-11-20T18:30:00"},
        {"number": "10000017", "created": True, "due": "2026-11-20T18:00:00", "outage": OUTAGE},
        {"number": "10000017", "created": False, "already_open": True, "due": "2026-11-20T18:30:00"},
    ],
    "closure": [{"closed": True}, {"closed": False}, {"error": "not_waiting"}],
    "claim": [{"amount_paise": 25_000}, {"error": "nothing"}],
    "status": [
        {"status": {"number": "10000017", "status": "open", "sla_due_at": "2026-11-20T18:00:00", "escalated": True}},
        {"status": {"number": "10000017", "status": "resolved", "sla_due_at": "2026-11-20T18:00:00"}},
        {"status": {"number": "10000017", "status": "closed", "sla_due_at": "2026-11-20T18:00:00"}},
        {"error": "unknown"},
    ],
    "reading": [
        {"kwh": 12_300},
        {"error": "below_last", "last_kwh": 12_000},
        {"error": "implausible"},
        {"error": "not_accepted"},
    ],
}
KEYS = ["", "*", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "7100000001", "12"]


def _signature(state: State) -> str:
    shape = {k: state[k] for k in ("node", "lang", "tries")}
    shape["screen"] = not state["params"].get("greet", True)  # screens (USSD) say some things differently
    shape["data"] = sorted(state["data"])
    return json.dumps(shape, sort_keys=True)


def _settle(
    state: State, out: Turn | Query, answers: Mapping[str, list[dict[str, Any]]] = ANSWERS
) -> Iterator[tuple[State, Turn]]:
    if isinstance(out, Turn):
        yield state, out
        return
    for answer in answers[out.name]:
        yield from _settle(*step(FLOWS, state, Answer(answer)), answers)


@dataclass(frozen=True)
class Exploration:
    turns: list[Turn]  # every distinct Turn a caller can meet
    nodes: set[str]  # every node visited


def explore(starts: Mapping[str, Start], answers: Mapping[str, list[dict[str, Any]]] = ANSWERS) -> Exploration:
    """Every distinct Turn reachable from the given starts (breadth first, each state shape once), the
    queries answered with each of `answers` in turn."""
    turns: list[Turn] = []
    nodes: set[str] = set()
    seen: set[str] = set()
    queue: deque[tuple[State, Turn]] = deque()
    for start in starts.values():
        for state, turn in _settle(*step(FLOWS, None, start), answers):
            queue.append((state, turn))
    seen_turns: set[str] = set()
    while queue:
        state, turn = queue.popleft()
        if repr(turn) not in seen_turns:
            seen_turns.add(repr(turn))
            turns.append(turn)
        nodes.update(state["path"])
        sig = _signature(state)
        if turn.final or sig in seen:
            continue
        seen.add(sig)
        for keys in KEYS:
            queue.extend(_settle(*step(FLOWS, state, Input(keys)), answers))
    return Exploration(turns, nodes)


# The outage alerts the fan-out puts in the outbox for a call, with the times each one speaks.
ALERTS = {
    "outage.breakdown": {"since": "2026-11-20T09:00:00+00:00", "etr": "2026-11-20T12:30:00+00:00"},
    "outage.shutdown": {"starts_at": "2026-11-22T04:30:00+00:00", "ends_at": "2026-11-22T08:30:00+00:00"},
    "outage.shutdown_started": {"ends_at": "2026-11-22T08:30:00+00:00"},
    "outage.etr": {"etr": "2026-11-20T14:00:00+00:00"},
    "outage.restored": {"time": "2026-11-20T13:10:00+00:00"},
    "outage.cancelled": {"date": "2026-11-22", "starts_at": "2026-11-22T04:30:00+00:00"},
    "outage.withdrawn": {},
    "outage.breakdown_no_etr": {"since": "2026-11-20T09:00:00+00:00"},
}

STARTS = {
    "ivr": Start("asterisk", "c1", "+919876543210"),
    "ivr_en": Start("asterisk", "c2", "+919876543210", lang="en"),
    "ussd": Start("ussd", "s1", "+919876543210", lang="en", params={"greet": False}),
    "ussd_hi": Start("ussd", "s2", "+919876543210", lang="hi", params={"greet": False}),
    "alert": Start("asterisk", "o1", "+919876543210", params={"flow": "alert", "items": [{"say": "outage.breakdown"}]}),
    # A resolved complaint's closure question, asked of a consumer who prefers calls.
    "closure": Start(
        "asterisk",
        "o-closure",
        "+919876543210",
        params={"flow": "closure", "number": "10000017", "account": "7100000001"},
    ),
    **{
        f"alert_{template}": Start(
            "asterisk", f"o-{template}", "+919876543210", params={"flow": "alert", "template": template, "payload": p}
        )
        for template, p in ALERTS.items()
    },
}


@cache
def every_turn() -> Exploration:
    """The walk from every start, made once per test run."""
    return explore(STARTS)
