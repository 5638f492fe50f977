"""The dialog's backend on the CIS: answers the menus' queries with `cis` use cases and keeps call records.

Every answer is a JSON object (the dialog state is JSON); times are given in India's local time, as a
caller hears them. Errors a caller can put right come back as `{"error": ...}`, so the menu can re-ask;
anything else raises, and the dialog apologises and transfers the caller to an agent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cis import (
    accounts,
    bill_explain,
    calls,
    compensation,
    complaints,
    escalation,
    interruptions,
    payment_info,
    payments,
    readings,
)
from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    MalformedAccountNumber,
    MalformedReading,
    NoMeterOnAccount,
    NoMobileForAccount,
    NothingDue,
    ReadingBeforePrevious,
    ReadingImplausible,
    UnknownAccount,
    UnknownComplaint,
)
from cis.phones import mobile_or_none
from ivr.engine import Query, State

IST = ZoneInfo("Asia/Kolkata")
CHANNEL_OF_TRANSPORT = {"asterisk": "ivr", "twilio": "ivr", "ussd": "ussd"}


def _local(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(IST).replace(tzinfo=None, second=0, microsecond=0).isoformat()


def _outage(notice: interruptions.InterruptionNotice | None, now: dt.datetime) -> dict[str, Any] | None:
    """An interruption as the menus speak it: kind, since and restore-by in India's time, whether it is late."""
    if notice is None:
        return None
    restore_by = notice.expected_restore_at
    if restore_by is not None and restore_by.tzinfo is None:
        restore_by = restore_by.replace(tzinfo=dt.UTC)
    return {
        "kind": notice.kind,
        "since": _local(notice.started_at),
        "restore_by": _local(restore_by),
        "today": (_local(now) or "")[:10],  # India's date now: a time today is said without the date
        # A restoration time already past is not promised again.
        "delayed": restore_by is not None and restore_by < now,
    }


PAID_RECENTLY = dt.timedelta(hours=1)  # a payment this recent is acknowledged before the main menu


class CisBackend:
    """Answers queries and records calls through `cis`; `now` is injectable for tests."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        *,
        portal_url: str = "http://127.0.0.1:8080",
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.portal_url = portal_url
        self.now = now or (lambda: dt.datetime.now(dt.UTC))

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    # --- queries -------------------------------------------------------------------------------------------

    def answer(self, query: Query, state: State) -> Mapping[str, Any]:
        handler = getattr(self, f"_q_{query.name}", None)
        if handler is None:
            raise LookupError(f"no answer for query {query.name!r}")
        result: Mapping[str, Any] = handler(state, **query.args)
        return result

    def _q_identify(self, state: State, caller: str | None) -> Mapping[str, Any]:
        mobile = mobile_or_none(caller)
        if mobile is None:  # 'unknown', a landline, a withheld number: ask for the account number
            return {"accounts": []}
        found = accounts.find_accounts_by_mobile(self._uow(), mobile)
        usable = [a.account_no for a in found if a.status != "perm_disconnected"]
        return {"accounts": usable}

    def _q_check_account(self, state: State, account_no: str) -> Mapping[str, Any]:
        try:
            ref = accounts.find_account(self._uow(), account_no)
        except MalformedAccountNumber:
            return {"error": "malformed"}
        except UnknownAccount:
            return {"error": "unknown"}
        if ref.status == "perm_disconnected":
            return {"error": "closed"}
        return {"account_no": ref.account_no}

    def _q_outage(self, state: State, account_no: str) -> Mapping[str, Any]:
        now = self.now()
        notice = interruptions.active_interruption(self._uow(), account_no, now)
        ref = accounts.find_account(self._uow(), account_no)
        # Compensation waiting for a claim is offered before the main menu (press 6), and a payment received in the
        # last hour is acknowledged there.
        return {
            "outage": _outage(notice, now),
            "claimable_paise": compensation.claimable_paise(self._uow(), ref.id),
            "paid_recently_paise": payments.paid_since(self._uow(), ref.id, now - PAID_RECENTLY),
        }

    def _q_pay_due(self, state: State, account_no: str) -> Mapping[str, Any]:
        summary = accounts.account_summary(self._uow(), account_no)
        if summary.latest_bill is None or summary.amount_due_paise <= 0:
            return {"amount_due_paise": 0}
        return {"amount_due_paise": summary.amount_due_paise, "due_date": summary.latest_bill.due_date.isoformat()}

    def _q_claim(self, state: State, account_no: str) -> Mapping[str, Any]:
        ref = accounts.find_account(self._uow(), account_no)
        try:
            total = compensation.claim(self._uow(), ref.id, via="ivr", now=self.now())
        except compensation.NothingToClaim:
            return {"error": "nothing"}
        return {"amount_paise": total}

    def _q_bill(self, state: State, account_no: str) -> Mapping[str, Any]:
        summary = accounts.account_summary(self._uow(), account_no)
        if summary.latest_bill is None:
            return {"bill": None}
        last = summary.last_payment
        return {
            "bill": {
                "amount_due_paise": summary.amount_due_paise,
                "due_date": summary.latest_bill.due_date.isoformat(),
                "overdue": summary.latest_bill.due_date < dt.datetime.fromisoformat(_local(self.now()) or "").date(),
                "units": summary.latest_bill.units,
                "cycle": summary.latest_bill.cycle,
                "last_payment": None
                if last is None
                else {"amount_paise": last.amount_paise, "paid_on": _local(last.paid_at)[:10]},  # type: ignore[index]
            }
        }

    def _q_explain(self, state: State, account_no: str) -> Mapping[str, Any]:
        e = bill_explain.explain_bill(self._uow(), account_no)
        if e is None:
            return {"explanation": None}
        return {
            "explanation": {
                "units": e.units,
                "units_same_month_last_year": e.units_same_month_last_year,
                "units_last_bill": e.units_last_bill,
                "slab": None if e.slab is None else {"index": e.slab.index, "rate_paise": e.slab.paise_per_unit},
                "arrears_paise": e.arrears_paise,
                "lps_paise": e.lps_paise,
                "basis": e.basis,
            }
        }

    def _q_pay(self, state: State, account_no: str, mobile: str | None, request_id: str) -> Mapping[str, Any]:
        try:
            receipt = payment_info.send_payment_info(
                self._uow(),
                account_no,
                mobile,
                channel=CHANNEL_OF_TRANSPORT.get(state["channel"], "ivr"),
                request_id=request_id,
                now=self.now(),
                portal_url=self.portal_url,
            )
        except NothingDue:
            return {"amount_due_paise": 0}
        except NoMobileForAccount:
            return {"error": "no_mobile"}
        return {"amount_due_paise": receipt.amount_due_paise, "due_date": receipt.due_date.isoformat()}

    def _q_complaint(
        self, state: State, account_no: str, category: str, mobile: str | None, request_id: str
    ) -> Mapping[str, Any]:
        cmd = complaints.RegisterComplaint(
            channel=CHANNEL_OF_TRANSPORT.get(state["channel"], "ivr"),
            category=category,
            account_no=account_no,
            mobile=mobile_or_none(mobile),
            channel_request_id=request_id,
        )
        now = self.now()
        receipt = complaints.register_complaint(self._uow(), cmd, now=now)
        # A no-supply complaint on a feeder under a published outage comes back linked to it.
        return {
            "number": receipt.number,
            "created": receipt.created,
            "due": _local(receipt.sla_due_at),
            "already_open": receipt.already_open,
            "outage": _outage(receipt.outage, now),
        }

    def _q_status(self, state: State, number: str) -> Mapping[str, Any]:
        try:
            st = complaints.complaint_status(self._uow(), number)
        except UnknownComplaint:
            return {"error": "unknown"}
        return {
            "status": {
                "number": st.number,
                "status": st.status if st.status in ("open", "resolved", "closed") else "open",
                "sla_due_at": _local(st.sla_due_at),
                "escalated": st.escalation_level != "je",
            }
        }

    def _q_closure(self, state: State, number: str, answer: int) -> Mapping[str, Any]:
        """The consumer's 1 or 2 on a closure call: the account the call was placed for must hold the complaint."""
        account_no = str(state.get("params", {}).get("account") or "")
        done = escalation.answer_by_call(self._uow(), number, account_no, answer, now=self.now())
        if done is None:
            return {"error": "not_waiting"}
        return {"closed": done.closed}

    def _q_reading(self, state: State, account_no: str, kwh: int, request_id: str) -> Mapping[str, Any]:
        cmd = readings.SubmitReading(
            account_no=account_no,
            kwh=kwh,
            channel=CHANNEL_OF_TRANSPORT.get(state["channel"], "ivr"),
            channel_request_id=request_id,
            mobile=mobile_or_none(state.get("caller")),
        )
        try:
            receipt = readings.submit_reading(self._uow(), cmd, now=self.now())
        except ReadingBeforePrevious as e:
            return {"error": "below_last", "last_kwh": e.previous}
        except ReadingImplausible:
            return {"error": "implausible"}
        except (NoMeterOnAccount, MalformedReading, AccountClosed):
            return {"error": "not_accepted"}
        return {"kwh": receipt.kwh, "units_since_last": receipt.units_since_last}

    # --- call records ---------------------------------------------------------------------------------------

    def open_call(
        self, *, channel: str, call_ref: str, caller: str | None, direction: str, outbound_ref: str | None = None
    ) -> int:
        return calls.open_call(
            self._uow(),
            channel=channel,
            call_ref=call_ref,
            caller=caller,
            direction=direction,
            now=self.now(),
            outbound_ref=outbound_ref,
        )

    def load_call(self, channel: str, call_ref: str) -> tuple[int, State | None, bool] | None:
        found = calls.load_call(self._uow(), channel, call_ref)
        return None if found is None else (found.id, found.state, found.ended)

    def save_call(self, call_id: int, state: State) -> None:
        calls.save_call(
            self._uow(),
            call_id,
            state=state,
            path=state.get("path", []),
            account_no=state.get("account"),
            lang=state.get("lang"),
        )

    def close_call(
        self,
        call_id: int,
        state: State,
        *,
        outcome: str,
        duration_s: int | None = None,
        fault: str | None = None,
    ) -> None:
        calls.close_call(
            self._uow(),
            call_id,
            path=state.get("path", []),
            outcome=outcome or None,
            account_no=state.get("account"),
            lang=state.get("lang"),
            now=self.now(),
            duration_s=duration_s,
            fault=fault,
        )
