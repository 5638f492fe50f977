"""The IVR and USSD menus as data: the inbound consumer menu and the outbound alert call.

Every node names its prompts by catalog key; values (amounts, dates, numbers) are items the renderers
speak or show. Where Hindi and English word order differ, a node builds each language's sequence.
Queries name what the runner must fetch or do; `ivr.services` answers them through `cis`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from ivr.alerts import alert_items
from ivr.engine import AGENT_QUEUE, Fetch, Finish, Flow, Go, InputSpec, Menu, Query, Retry, State, Transition
from ivr.turns import Amount, Clock, Date, Digits, Item, Number, Say, Transfer, item_from_json

COMPLAINT_CATEGORIES = {
    "1": "no_supply",
    "2": "voltage",
    "3": "meter",
    "4": "billing",
    "5": "dangerous_line",
    "6": "theft",
}
MAX_ACCOUNTS_OFFERED = 5
# Silence after a number read digit by digit, so the words after it (Hindi "ek baar ...") are not heard as digits.
PAUSE = Say("common.pause")
ENTRY = InputSpec(max_digits=12, timeout_ms=10000, terminator="#")


def S(*keys: str) -> list[Item]:
    return [Say(k) for k in keys]


def _hi(s: State) -> bool:
    return bool(s["lang"] == "hi")


def _on_screen(s: State) -> bool:
    """A channel that shows text (USSD) rather than speaking it: the call started without the spoken welcome."""
    return not s["params"].get("greet", True)


def _toggle_language(s: State) -> None:
    s["lang"] = "en" if s["lang"] == "hi" else "hi"


def _served(s: State, what: str) -> None:
    if what not in s["served"]:
        s["served"].append(what)


def _request_id(s: State, what: str) -> str:
    """A key that is the same when a webhook retries the same request, and new for the next request."""
    s["seq"] += 1
    return f"{s['call_ref']}:{what}{s['seq']}"


def _transfer() -> Finish:
    return Finish(S("common.transfer"), Transfer(AGENT_QUEUE))


def _common(s: State, keys: str) -> Transition:
    """The keys every information screen takes: 8 main menu, 0 agent."""
    if keys == "8":
        return Go("main")
    if keys == "0":
        return _transfer()
    return Retry(S("common.invalid"))


def _datetime_items(s: State, value: str, today: str | None = None) -> list[Item]:
    """A date and time (India's), without the date when it is `today` (an ISO date): "since 2:30 PM"."""
    moment = dt.datetime.fromisoformat(value)
    day = moment.date()
    if moment.hour < 4:
        # 00:15 on the 21st is "the night of the 20th" to a Hindi listener (रात बारह बजकर पंद्रह मिनट).
        day -= dt.timedelta(days=1)
    clock = Clock(moment.hour, moment.minute)
    return [clock] if today is not None and day.isoformat() == today else [Date(day), clock]


# --- welcome, identification, outage notice ------------------------------------------------------------


def _start(s: State) -> Transition:
    if s["params"].get("greet", True):
        return Go("welcome")
    # Screens (USSD) skip the spoken welcome: the first screen carries the title (see _title) and the main
    # menu the language option.
    return Go("identify")


def _title(s: State) -> list[Item]:
    """The service's name atop a session's first screen (voice has said it in the welcome)."""
    return S("welcome.greeting") if _on_screen(s) else []


def _welcome_choose(s: State, keys: str) -> Transition:
    if keys == "9":
        _toggle_language(s)
    return Go("identify")


def _identify_query(s: State) -> Query:
    return Query("identify", {"caller": s["caller"]})


def _identify_answer(s: State, result: Mapping[str, Any]) -> Transition:
    accounts = list(result.get("accounts", []))[:MAX_ACCOUNTS_OFFERED]
    s["data"]["accounts"] = accounts
    s["data"]["identified_by_caller"] = len(accounts) == 1
    if len(accounts) == 1:
        s["account"] = accounts[0]
        return Go("account_ready")
    if accounts:
        return Go("choose_account", _title(s))
    return Go("ask_account", _title(s))


def _choose_account_say(s: State) -> list[Item]:
    items: list[Item] = S("identify.several")
    for n, account_no in enumerate(s["data"]["accounts"], start=1):
        items += [Say("identify.ending_in"), Digits(account_no[-4:]), Say("identify.account_for"), Number(n)]
        if _hi(s):
            items.append(Say("common.press"))
    return [*items, Say("identify.other_account")]


def _choose_account_choose(s: State, keys: str) -> Transition:
    accounts = s["data"]["accounts"]
    if keys == "0":
        return Go("ask_account")
    if keys.isdigit() and 1 <= int(keys) <= len(accounts):
        s["account"] = accounts[int(keys) - 1]
        return Go("account_ready")
    return Retry(S("common.invalid"))


def _ask_account_choose(s: State, keys: str) -> Transition:
    if keys == "0":
        return _transfer()
    if len(keys) != 10 or not keys.isdigit():
        return Retry(S("account.malformed"))
    s["data"]["candidate"] = keys
    return Go("check_account")


def _check_account_answer(s: State, result: Mapping[str, Any]) -> Transition:
    error = result.get("error")
    if error == "closed":
        return Finish(S("account.closed", "common.transfer"), Transfer(AGENT_QUEUE))
    if error:
        return Retry(S("account.not_found" if error == "unknown" else "account.malformed"), "ask_account")
    s["account"] = result["account_no"]
    return Go("account_ready")


def _claim_notice(s: State, result: Mapping[str, Any]) -> list[Item]:
    """Compensation waiting for the caller's claim: said once, before the main menu, with the key to claim it."""
    owed = int(result.get("claimable_paise") or 0)
    if owed <= 0:
        s["data"].pop("claimable", None)
        return []
    s["data"]["claimable"] = owed
    return [Say("claim.notice"), Amount(owed), Say("claim.press")]


def _paid_notice(result: Mapping[str, Any]) -> list[Item]:
    """A payment received in the last hour, said before the menu: the caller need not ask whether it arrived."""
    paid = int(result.get("paid_recently_paise") or 0)
    return [Say("pay.received"), Amount(paid), Say("pay.received_end")] if paid > 0 else []


def _outage_answer(s: State, result: Mapping[str, Any]) -> Transition:
    outage = result.get("outage")
    claim = [*_paid_notice(result), *_claim_notice(s, result)]
    # A caller known by caller ID meets the main menu first; on a screen it carries the title, unless an
    # outage notice heads it (a USSD screen has room for one headline).
    first = s["data"].get("identified_by_caller") and s["path"].count("account_ready") == 1
    if not outage:
        return Go("main", [*(_title(s) if first else []), *claim])
    _served(s, "outage")
    return Go("main", [*_outage_notice(s, outage), *claim])


def _claim_answer(s: State, result: Mapping[str, Any]) -> Transition:
    s["data"].pop("claimable", None)
    if result.get("error"):
        return Go("main", S("claim.nothing"))
    _served(s, "claim")
    return Go("main", S("claim.done"))


# --- main menu ----------------------------------------------------------------------------------------------


def _main_choose(s: State, keys: str) -> Transition:
    targets = {"1": "bill", "2": "pay", "3": "complaint", "4": "status_enter", "5": "reading_enter"}
    if keys in targets:
        return Go(targets[keys])
    if keys == "0":
        return _transfer()
    if keys == "9":
        _toggle_language(s)
        return Go("main")
    if keys == "6" and s["data"].get("claimable"):
        return Go("claim")
    return Retry(S("common.invalid"))


# --- bill ---------------------------------------------------------------------------------------------------


def _bill_answer(s: State, result: Mapping[str, Any]) -> Transition:
    _served(s, "bill")
    if not result.get("bill"):
        return Go("main", S("bill.none"))
    s["data"]["bill"] = dict(result["bill"])
    return Go("bill_info")


def _bill_say(s: State) -> list[Item]:
    bill = s["data"]["bill"]
    hi = _hi(s)
    items: list[Item] = []
    if bill["amount_due_paise"] > 0:
        due = [Amount(bill["amount_due_paise"])]
        by = [Date(dt.date.fromisoformat(bill["due_date"]))]
        items += [Say("bill.amount_due"), *due, Say("common.is")] if hi else [Say("bill.amount_due"), *due]
        if bill.get("overdue"):
            items += [Say("bill.was_due"), *by, Say("bill.overdue")]
        else:
            items += [Say("bill.due_date"), *by, Say("common.is")] if hi else [Say("bill.due_date"), *by]
    else:
        items += S("bill.nothing_due")
    items += [Say("bill.units"), Number(bill["units"]), Say("common.units")]
    if hi:
        items.append(Say("common.is"))
    last = bill.get("last_payment")
    if last:
        paid = [Amount(last["amount_paise"])]
        on = [Date(dt.date.fromisoformat(last["paid_on"]))]
        if hi:
            items += [Say("bill.last_payment"), *paid, *on, Say("bill.received_on")]
        else:
            items += [Say("bill.last_payment"), *paid, Say("bill.received_on"), *on]
    return [*items, Say("bill.options")]


def _bill_choose(s: State, keys: str) -> Transition:
    if keys == "1":
        return Go("explain")
    if keys == "2":
        return Go("pay")
    return _common(s, keys)


def _units(s: State, key: str, units: int, *, past: bool = False) -> list[Item]:
    items: list[Item] = [Say(key), Number(units), Say("common.units")]
    if _hi(s):
        items.append(Say("common.was" if past else "common.is"))
    return items


def _explain_answer(s: State, result: Mapping[str, Any]) -> Transition:
    if not result.get("explanation"):
        return Go("main", S("bill.none"))
    s["data"]["explanation"] = dict(result["explanation"])
    return Go("explain_info")


def _explain_say(s: State) -> list[Item]:
    e = s["data"]["explanation"]
    items = _units(s, "explain.this_bill", e["units"])
    if e.get("units_same_month_last_year") is not None:
        items += _units(s, "explain.last_year", e["units_same_month_last_year"], past=True)
    if e.get("units_last_bill") is not None:
        items += _units(s, "explain.last_bill", e["units_last_bill"], past=True)
    if e.get("slab"):
        slab = e["slab"]
        items += [Say("explain.slab"), Number(slab["index"]), Say("explain.slab_rate"), Amount(slab["rate_paise"])]
        items += [Say("common.per_unit")]
        if _hi(s):
            items.append(Say("common.is"))
    if e.get("arrears_paise", 0) > 0:
        items += [Say("explain.arrears"), Amount(e["arrears_paise"])]
        if _hi(s):
            items.append(Say("explain.included"))
    if e.get("lps_paise", 0) > 0:
        items += [Say("explain.late_fee"), Amount(e["lps_paise"]), Say("explain.added")]
    items.append(Say(f"explain.{e['basis']}"))
    return [*items, Say("common.next")]


# --- pay ------------------------------------------------------------------------------------------------


def _pay_due_answer(s: State, result: Mapping[str, Any]) -> Transition:
    if result.get("amount_due_paise", 0) <= 0:
        _served(s, "pay")
        return Go("main", S("bill.nothing_due"))
    s["data"]["pay"] = {"amount_due_paise": result["amount_due_paise"], "due_date": result["due_date"]}
    return Go("pay_offer")


def _pay_offer_say(s: State) -> list[Item]:
    """The amount and its due date, then the offer of a payment link by SMS."""
    pay = s["data"]["pay"]
    due: Item = Amount(pay["amount_due_paise"])
    by: Item = Date(dt.date.fromisoformat(pay["due_date"]))
    items: list[Item]
    if _hi(s):
        items = [Say("bill.amount_due"), due, Say("common.is"), Say("bill.due_date"), by, Say("common.is")]
    else:
        items = [Say("bill.amount_due"), due, Say("bill.due_date"), by]
    return [*items, Say("pay.offer")]


def _pay_offer_choose(s: State, keys: str) -> Transition:
    if keys == "1":
        return Go("pay_link")
    return _common(s, keys)


def _pay_query(s: State) -> Query:
    return Query("pay", {"account_no": s["account"], "mobile": s["caller"], "request_id": _request_id(s, "p")})


def _pay_answer(s: State, result: Mapping[str, Any]) -> Transition:
    _served(s, "pay")
    if result.get("error") == "no_mobile":
        return Go("main", S("pay.no_mobile"))
    if result.get("amount_due_paise", 0) <= 0:
        return Go("main", S("bill.nothing_due"))
    return Go("main", S("pay.sent"))


# --- complaints -----------------------------------------------------------------------------------------------


def _complaint_choose(s: State, keys: str) -> Transition:
    if keys in COMPLAINT_CATEGORIES:
        s["data"]["category"] = COMPLAINT_CATEGORIES[keys]
        return Go("complaint_register")
    if keys == "8":
        return Go("main")
    return Retry(S("common.invalid"))


def _complaint_query(s: State) -> Query:
    return Query(
        "complaint",
        {
            "account_no": s["account"],
            "category": s["data"]["category"],
            "mobile": s["caller"],
            "request_id": _request_id(s, "c"),
        },
    )


def _complaint_answer(s: State, result: Mapping[str, Any]) -> Transition:
    _served(s, "complaint")
    s["data"]["complaint"] = result["number"]
    s["data"]["complaint_due"] = result.get("due")  # when it is due to be resolved, India's time
    # The account already had an open complaint of this kind: the caller hears that one's number (no new SMS).
    s["data"]["complaint_already"] = bool(result.get("already_open"))
    # A no-supply complaint on a feeder under a known outage is linked to it: the caller hears its restoration.
    s["data"]["complaint_outage"] = result.get("outage")
    return Go("complaint_done")


def _outage_notice(s: State, outage: Mapping[str, Any]) -> list[Item]:
    """The outage on the caller's feeder as the welcome announces it: kind, since when, until when (no date
    for today: what a caller hears first, and what a USSD screen has room for)."""
    today = outage.get("today")
    since = _datetime_items(s, outage["since"], today)
    items: list[Item] = [Say(f"outage.{outage['kind']}")]
    items += [*since, Say("outage.since")] if _hi(s) else [Say("outage.since"), *since]
    if outage.get("delayed"):
        items.append(Say("outage.restore_delayed"))
    elif outage.get("restore_by"):
        by = _datetime_items(s, outage["restore_by"], today)
        items += [*by, Say("outage.restore_by")] if _hi(s) else [Say("outage.restore_by"), *by]
    else:
        items.append(Say("outage.restore_unknown"))
    return items


def _complaint_done_say(s: State) -> list[Item]:
    number = Digits(s["data"]["complaint"])
    if s["data"].get("complaint_already"):
        items: list[Item] = [*S("complaint.already"), number, PAUSE]
        if not _on_screen(s):
            items += [Say("complaint.again"), number, PAUSE]
    else:
        items = [*S("complaint.registered"), number, PAUSE]
        if not _on_screen(s):  # heard once may be missed; a screen shows it for as long as it is needed
            items += [Say("complaint.again"), number, PAUSE]
        items.append(Say("complaint.sms_sent"))
    outage = s["data"].get("complaint_outage")
    if outage:
        # Linked to a known outage: its restoration is when the complaint is resolved.
        items += [Say("complaint.outage_linked"), *_outage_notice(s, outage)]
    elif s["data"].get("complaint_due"):
        due = _datetime_items(s, s["data"]["complaint_due"])
        items += [Say("complaint.due_by"), *due, Say("common.is")] if _hi(s) else [Say("complaint.due_by"), *due]
    return [*items, Say("common.next")]


def _status_choose(s: State, keys: str) -> Transition:
    if keys == "0":
        return Go("main")
    if not keys.isdigit():
        return Retry(S("common.invalid"))
    s["data"]["status_number"] = keys
    return Go("status_check")


def _status_answer(s: State, result: Mapping[str, Any]) -> Transition:
    if result.get("error"):
        return Retry(S("status.not_found"), "status_enter")
    _served(s, "status")
    s["data"]["status"] = dict(result["status"])
    return Go("status_info")


def _status_say(s: State) -> list[Item]:
    st = s["data"]["status"]
    items: list[Item] = [Say("status.number"), Digits(st["number"]), PAUSE, Say(f"status.{st['status']}")]
    if st["status"] == "open":
        due = _datetime_items(s, st["sla_due_at"])
        items += [Say("status.due_by"), *due] + ([Say("common.is")] if _hi(s) else [])
        if st.get("escalated"):
            items.append(Say("status.escalated"))
    return [*items, Say("common.next")]


# --- meter reading -----------------------------------------------------------------------------------------


def _reading_choose(s: State, keys: str) -> Transition:
    if keys == "0":
        return Go("main")
    if not keys.isdigit() or len(keys) > 6:
        return Retry(S("common.invalid"))
    s["data"]["kwh"] = int(keys)
    return Go("reading_submit")


def _reading_query(s: State) -> Query:
    return Query("reading", {"account_no": s["account"], "kwh": s["data"]["kwh"], "request_id": _request_id(s, "r")})


def _reading_answer(s: State, result: Mapping[str, Any]) -> Transition:
    error = result.get("error")
    if error == "below_last":
        last: list[Item] = [Say("reading.below_last"), Number(result["last_kwh"]), Say("common.units")]
        return Retry([*last, Say("common.was")] if _hi(s) else last, "reading_enter")
    if error == "implausible":
        return Retry(S("reading.implausible"), "reading_enter")
    if error:
        return Go("main", S("reading.not_accepted"))
    _served(s, "reading")
    saved: list[Item] = [Say("reading.saved"), Number(result["kwh"]), Say("common.units")]
    return Go("main", [*saved, Say("common.is")] if _hi(s) else saved)


def _account_query(name: str) -> Any:
    def query(s: State) -> Query:
        return Query(name, {"account_no": s["account"]})

    return query


INBOUND = Flow(
    name="inbound",
    start=_start,
    too_many_tries=S("common.too_many_tries"),
    no_input=S("common.no_input"),
    transfer=S("common.transfer"),
    nodes={
        "welcome": Menu(
            say=lambda s: S("welcome.greeting", "welcome.other_language"),
            choose=_welcome_choose,
            input=InputSpec(max_digits=1, timeout_ms=3000),
            on_timeout=lambda s: Go("identify"),
        ),
        "identify": Fetch(_identify_query, _identify_answer),
        "choose_account": Menu(_choose_account_say, _choose_account_choose),
        # Ten digits end the entry by themselves; three tries in all, then the agent.
        "ask_account": Menu(lambda s: S("account.enter"), _ask_account_choose, InputSpec(10, 10000, "#", retries=2)),
        "check_account": Fetch(
            lambda s: Query("check_account", {"account_no": s["data"]["candidate"]}), _check_account_answer
        ),
        "account_ready": Fetch(_account_query("outage"), _outage_answer),
        "main": Menu(lambda s: S("menu.main", "welcome.other_language"), _main_choose),
        "bill": Fetch(_account_query("bill"), _bill_answer),
        "bill_info": Menu(_bill_say, _bill_choose),
        "explain": Fetch(_account_query("explain"), _explain_answer),
        "explain_info": Menu(_explain_say, _common),
        "pay": Fetch(_account_query("pay_due"), _pay_due_answer),
        "pay_offer": Menu(_pay_offer_say, _pay_offer_choose),
        "pay_link": Fetch(_pay_query, _pay_answer),
        "complaint": Menu(lambda s: S("complaint.choose"), _complaint_choose),
        "complaint_register": Fetch(_complaint_query, _complaint_answer),
        "complaint_done": Menu(_complaint_done_say, _common),
        "status_enter": Menu(lambda s: S("status.enter"), _status_choose, ENTRY),
        "status_check": Fetch(lambda s: Query("status", {"number": s["data"]["status_number"]}), _status_answer),
        "claim": Fetch(lambda s: Query("claim", {"account_no": s["account"]}), _claim_answer),
        "status_info": Menu(_status_say, _common),
        "reading_enter": Menu(lambda s: S("reading.enter"), _reading_choose, InputSpec(7, 10000, "#")),
        "reading_submit": Fetch(_reading_query, _reading_answer),
    },
)


# --- outbound alert call ----------------------------------------------------------------------------------

MAX_ALERT_PLAYS = 3


def _alert_items(s: State) -> Sequence[Item]:
    """An outbox alert (`template` and `payload`, see `ivr.alerts`), or items given as they are (`urjamitra call`)."""
    params = s["params"]
    if params.get("template"):
        return alert_items(str(params["template"]), params.get("payload") or {}, lang=s["lang"])
    return [item_from_json(i) for i in params.get("items", [])]


def _alert_choose(s: State, keys: str) -> Transition:
    s["data"]["plays"] = s["data"].get("plays", 1) + 1
    if keys == "1" and s["data"]["plays"] <= MAX_ALERT_PLAYS:
        return Go("alert")
    return Finish(S("common.goodbye"))


def _alert_start(s: State) -> Transition:
    _served(s, "alert")
    return Go("alert")


ALERT = Flow(
    name="alert",
    start=_alert_start,
    too_many_tries=S("common.goodbye"),
    no_input=(),
    nodes={
        "alert": Menu(
            say=lambda s: [Say("alert.generic"), *_alert_items(s), Say("alert.repeat")],
            choose=_alert_choose,
            input=InputSpec(max_digits=1, timeout_ms=5000),
            on_timeout=lambda s: Finish(S("common.goodbye")),
        ),
    },
)

# --- outbound closure call ------------------------------------------------------------------------------------
# A resolved complaint of a consumer who prefers calls: "is it fixed? 1 yes, 2 no" (cis.escalation).


def _closure_start(s: State) -> Transition:
    _served(s, "closure")
    return Go("closure")


def _closure_say(s: State) -> list[Item]:
    number = str(s["params"].get("number", ""))
    return [Say("alert.closure.intro"), Digits(number), PAUSE, Say("alert.closure.resolved"), Say("alert.closure.ask")]


def _closure_choose(s: State, keys: str) -> Transition:
    if keys not in ("1", "2"):
        return Retry(S("common.invalid"))
    s["data"]["closure_answer"] = int(keys)
    return Go("closure_answer")


def _closure_query(s: State) -> Query:
    return Query("closure", {"number": str(s["params"].get("number", "")), "answer": s["data"]["closure_answer"]})


def _closure_answer(s: State, result: Mapping[str, Any]) -> Transition:
    if result.get("error"):
        return Finish(S("alert.closure.not_waiting", "common.goodbye"))
    return Finish(S("alert.closure.thanks" if result.get("closed") else "alert.closure.reopened", "common.goodbye"))


CLOSURE = Flow(
    name="closure",
    start=_closure_start,
    too_many_tries=S("common.goodbye"),
    no_input=(),
    nodes={
        "closure": Menu(
            say=_closure_say,
            choose=_closure_choose,
            input=InputSpec(max_digits=1, timeout_ms=6000, retries=2),
        ),
        "closure_answer": Fetch(_closure_query, _closure_answer),
    },
)

FLOWS: dict[str, Flow] = {f.name: f for f in (INBOUND, ALERT, CLOSURE)}
