"""What an outage alert call says: an outbox row's template and payload turned into turn items to speak.

The outage fan-out writes voice rows with the same templates and payloads as the SMS (`outage.breakdown`,
`outage.shutdown`, ...). A call carries only the template and the few payload values speech needs (ISO dates
and times, see `call_params`); the ALERT flow turns them into items here, in the caller's language order.
Times are spoken in India's time: an aware ISO datetime is converted, a naive one is taken as already Indian.
The area (a feeder's English name) is not spoken: the copy says "your area" (आपके क्षेत्र). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from ivr.turns import Clock, Date, Item, Lang, Say

IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")  # India keeps no daylight saving
# The payload values speech reads, by template; anything else stays out of the call's parameters.
SPOKEN_FIELDS: dict[str, tuple[str, ...]] = {
    "outage.breakdown": ("since", "etr"),
    "outage.breakdown_no_etr": ("since",),
    "outage.shutdown": ("starts_at", "ends_at", "date"),
    "outage.shutdown_started": ("ends_at", "etr"),
    "outage.etr": ("etr",),
    "outage.restored": ("time",),
    "outage.cancelled": ("starts_at", "date"),
    "outage.withdrawn": (),
}


class NotAVoiceAlert(ValueError):
    """The template has no spoken form (SMS only, e.g. `outage.check`), or its payload lacks a time it needs."""


def alert_items(template: str, payload: Mapping[str, Any], *, lang: Lang = "hi") -> list[Item]:
    """The items an alert call speaks for an outbox row's template and payload (between the greeting and the
    "press 1 to hear again"). Raises NotAVoiceAlert for a template without a voice form or a missing time."""
    build = _BUILDERS.get(template)
    if build is None:
        raise NotAVoiceAlert(f"no voice alert for template {template!r}")
    return build(payload, lang == "hi")


def call_params(template: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters an alert call carries: the template and only the payload values it speaks.

    Small on purpose (they travel in an Asterisk channel variable or Twilio's answer URL), and checked now:
    raises NotAVoiceAlert when `alert_items` could not speak them.
    """
    fields = SPOKEN_FIELDS.get(template)
    if fields is None:
        raise NotAVoiceAlert(f"no voice alert for template {template!r}")
    kept = {name: payload[name] for name in fields if payload.get(name) is not None}
    alert_items(template, kept)
    return {"template": template, "payload": kept}


# --- dates and times -----------------------------------------------------------------------------------------


def _moment(value: Any) -> dt.datetime | None:
    """An ISO datetime as India's wall-clock time; None for anything else (absent, a display string)."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(IST)
    return moment.replace(tzinfo=None)


def _first_moment(payload: Mapping[str, Any], *names: str) -> dt.datetime | None:
    for name in names:
        moment = _moment(payload.get(name))
        if moment is not None:
            return moment
    return None


def _required(payload: Mapping[str, Any], *names: str) -> dt.datetime:
    moment = _first_moment(payload, *names)
    if moment is None:
        raise NotAVoiceAlert(f"the alert needs an ISO date and time in {' or '.join(names)}")
    return moment


def _day(moment: dt.datetime) -> dt.date:
    # 00:15 on the 21st is "the night of the 20th" to a Hindi listener (रात बारह बजकर पंद्रह मिनट).
    return moment.date() - dt.timedelta(days=1) if moment.hour < 4 else moment.date()


def _when(moment: dt.datetime) -> list[Item]:
    return [Date(_day(moment)), Clock(moment.hour, moment.minute)]


def _date(payload: Mapping[str, Any], name: str) -> dt.date | None:
    value = payload.get(name)
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


# --- the alerts ------------------------------------------------------------------------------------------------


def _breakdown(payload: Mapping[str, Any], hi: bool) -> list[Item]:
    since = _when(_required(payload, "since"))
    items: list[Item] = [Say("alert.outage.breakdown")]
    items += [*since, Say("outage.since")] if hi else [Say("outage.since"), *since]
    etr = _first_moment(payload, "etr")
    if etr is None:
        items.append(Say("outage.restore_unknown"))
    else:
        by = _when(etr)
        items += [*by, Say("outage.restore_by")] if hi else [Say("outage.restore_by"), *by]
    return [*items, Say("alert.outage.regret")]


def _shutdown(payload: Mapping[str, Any], hi: bool) -> list[Item]:
    start = _required(payload, "starts_at")
    end = _required(payload, "ends_at")
    on, from_, until = Say("alert.outage.on"), Say("alert.outage.from"), Say("alert.outage.until")
    first_day = _day(start)
    starts = [Clock(start.hour, start.minute)]
    # The end's date is said only when the work runs into another day.
    ends = [Clock(end.hour, end.minute)] if _day(end) == first_day else _when(end)
    items: list[Item] = [Say("alert.outage.shutdown")]
    if hi:  # ... 22 नवंबर को सुबह दस बजे से दोपहर दो बजे तक बंद रहेगी।
        items += [Date(first_day), on, *starts, from_, *ends, until]
    else:  # ... will be off on 22 November from ten in the morning until two in the afternoon.
        items += [on, Date(first_day), from_, *starts, until, *ends]
    return [*items, Say("alert.outage.plan")]


def _shutdown_started(payload: Mapping[str, Any], hi: bool) -> list[Item]:
    items: list[Item] = [Say("alert.outage.shutdown_started")]
    end = _first_moment(payload, "ends_at", "etr")
    if end is None:
        return [*items, Say("outage.restore_unknown")]
    by = _when(end)
    return items + ([*by, Say("outage.restore_by")] if hi else [Say("outage.restore_by"), *by])


def _etr(payload: Mapping[str, Any], hi: bool) -> list[Item]:
    # "अद्यतन सूचना: आपके क्षेत्र की बिजली आपूर्ति अब <when> तक बहाल होने की संभावना है।" in both orders.
    return [Say("alert.outage.etr"), *_when(_required(payload, "etr")), Say("alert.outage.expected")]


def _restored(payload: Mapping[str, Any], hi: bool) -> list[Item]:
    return [Say("alert.outage.restored"), *_when(_required(payload, "time")), Say("alert.outage.restored_at")]


def _cancelled(payload: Mapping[str, Any], hi: bool) -> list[Item]:
    start = _first_moment(payload, "starts_at")
    day = _day(start) if start is not None else _date(payload, "date")
    if day is None:
        raise NotAVoiceAlert("a cancelled shutdown needs its date (date or starts_at)")
    on, from_ = Say("alert.outage.on"), Say("alert.outage.from")
    at: list[Item] = [] if start is None else [Clock(start.hour, start.minute)]
    items: list[Item] = [Say("alert.outage.cancelled")]
    if hi:  # आपके क्षेत्र में 22 नवंबर को सुबह दस बजे से निर्धारित बिजली कटौती रद्द कर दी गई है।
        items += [Date(day), on, *at, *([from_] if at else [])]
    else:  # The shutdown planned in your area on 22 November from ten in the morning has been cancelled.
        items += [on, Date(day), *([from_] if at else []), *at]
    return [*items, Say("alert.outage.cancelled_end")]


def _withdrawn(payload: Mapping[str, Any], hi: bool) -> list[Item]:
    return [Say("alert.outage.withdrawn")]


_BUILDERS: dict[str, Callable[[Mapping[str, Any], bool], list[Item]]] = {
    "outage.breakdown": _breakdown,
    "outage.breakdown_no_etr": _breakdown,
    "outage.shutdown": _shutdown,
    "outage.shutdown_started": _shutdown_started,
    "outage.etr": _etr,
    "outage.restored": _restored,
    "outage.cancelled": _cancelled,
    "outage.withdrawn": _withdrawn,
}
TEMPLATES: tuple[str, ...] = tuple(_BUILDERS)
