"""What a dialog says and then waits for, in words no transport owns: a Turn.

A Turn is a sequence of items to say (catalog prompts and values such as amounts, dates and digit
strings) followed by one action: gather digits, hang up, or transfer to the agents' queue. The
renderers (AGI, TwiML, USSD text) turn it into their own verbs; the engine never names them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

Lang = Literal["hi", "en"]


@dataclass(frozen=True)
class Say:
    """A prompt from the catalog, by key (`menu.main`)."""

    key: str


@dataclass(frozen=True)
class Amount:
    """Money in paise, spoken as rupees and paise."""

    paise: int


@dataclass(frozen=True)
class Number:
    """A whole number spoken in the Indian system (हज़ार, लाख, करोड़)."""

    value: int


@dataclass(frozen=True)
class Digits:
    """A string of digits read one by one (account and complaint numbers)."""

    digits: str


@dataclass(frozen=True)
class Date:
    """A calendar date, spoken with the month's name."""

    value: dt.date


@dataclass(frozen=True)
class Clock:
    """A time of day (24-hour), spoken as the hour and minutes."""

    hour: int
    minute: int


Item = Say | Amount | Number | Digits | Date | Clock


@dataclass(frozen=True)
class Gather:
    """Wait for up to `max_digits` keys; `terminator` ends the entry early; nothing in `timeout_ms` is a timeout."""

    max_digits: int = 1
    timeout_ms: int = 6000
    terminator: str | None = None


@dataclass(frozen=True)
class Hangup:
    """Say the items, then end the call or session."""


@dataclass(frozen=True)
class Transfer:
    """Say the items, then hand the caller to the agents' queue."""

    queue: str = "1912"


Action = Gather | Hangup | Transfer


@dataclass(frozen=True)
class Turn:
    lang: Lang
    items: tuple[Item, ...]
    action: Action

    @property
    def final(self) -> bool:
        return not isinstance(self.action, Gather)


def item_to_json(item: Item) -> dict[str, Any]:
    if isinstance(item, Say):
        return {"say": item.key}
    if isinstance(item, Amount):
        return {"amount": item.paise}
    if isinstance(item, Number):
        return {"number": item.value}
    if isinstance(item, Digits):
        return {"digits": item.digits}
    if isinstance(item, Date):
        return {"date": item.value.isoformat()}
    return {"clock": f"{item.hour:02d}:{item.minute:02d}"}


def item_from_json(data: dict[str, Any]) -> Item:
    if "say" in data:
        return Say(data["say"])
    if "amount" in data:
        return Amount(int(data["amount"]))
    if "number" in data:
        return Number(int(data["number"]))
    if "digits" in data:
        return Digits(str(data["digits"]))
    if "date" in data:
        return Date(dt.date.fromisoformat(data["date"]))
    if "clock" in data:
        hour, minute = data["clock"].split(":")
        return Clock(int(hour), int(minute))
    raise ValueError(f"not a turn item: {data!r}")


def turn_to_json(turn: Turn) -> dict[str, Any]:
    action: dict[str, Any]
    if isinstance(turn.action, Gather):
        a = turn.action
        action = {"gather": [a.max_digits, a.timeout_ms, a.terminator]}
    elif isinstance(turn.action, Transfer):
        action = {"transfer": turn.action.queue}
    else:
        action = {"hangup": True}
    return {"lang": turn.lang, "items": [item_to_json(i) for i in turn.items], **action}


def turn_from_json(data: dict[str, Any]) -> Turn:
    action: Action
    if "gather" in data:
        max_digits, timeout_ms, terminator = data["gather"]
        action = Gather(int(max_digits), int(timeout_ms), terminator)
    elif "transfer" in data:
        action = Transfer(str(data["transfer"]))
    else:
        action = Hangup()
    lang: Lang = "en" if data.get("lang") == "en" else "hi"
    return Turn(lang, tuple(item_from_json(i) for i in data["items"]), action)
