"""Call records against a real database: one row per provider call, a webhook call's state, closing, the MIS day."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from cis.calls import CallState, call_summary, close_call, load_call, open_call, save_call
from cis.db import UnitOfWork, make_session_factory
from cis.errors import MalformedAccountNumber, UnknownAccount, UnknownCall, UnknownChannel
from cis.models import IvrCall
from tests import factories

NOW = factories.NOW
REGISTERED = "+919876543210"
IST_MIDNIGHT = dt.datetime(2026, 3, 9, 18, 30, tzinfo=dt.UTC)  # 10 March 2026 begins, in India


def _call(session_factory: Callable[[], Session], call_id: int) -> IvrCall:
    with session_factory() as fresh:
        row = fresh.get(IvrCall, call_id)
        assert row is not None, f"call {call_id} was not committed"
        return row


# --- opening ------------------------------------------------------------------------------------


def test_an_inbound_call_is_recorded_with_the_caller_in_e164_and_its_start(
    uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    call_id = open_call(uow, channel="asterisk", call_ref="1763632800.42", caller="09876543210", now=NOW)

    row = _call(session_factory, call_id)
    assert (row.channel, row.call_ref, row.direction) == ("asterisk", "1763632800.42", "inbound")
    assert row.caller == REGISTERED
    assert row.started_at == NOW
    assert row.path == []
    assert (row.ended_at, row.duration_s, row.outcome, row.state, row.account_id) == (None, None, None, None, None)


def test_the_same_provider_call_opened_twice_is_one_record(
    uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    first = open_call(uow, channel="twilio", call_ref="CA" + "1" * 32, caller=REGISTERED, now=NOW)
    again = open_call(
        uow, channel="twilio", call_ref="CA" + "1" * 32, caller=REGISTERED, now=NOW + dt.timedelta(seconds=5)
    )

    assert again == first
    with session_factory() as fresh:
        assert fresh.scalar(select(func.count()).select_from(IvrCall).where(IvrCall.call_ref == "CA" + "1" * 32)) == 1
        assert _call(session_factory, first).started_at == NOW


def test_the_same_reference_on_another_channel_is_another_call(uow: UnitOfWork) -> None:
    on_asterisk = open_call(uow, channel="asterisk", call_ref="abc-1", caller=REGISTERED, now=NOW)
    on_ussd = open_call(uow, channel="ussd", call_ref="abc-1", caller=REGISTERED, now=NOW)

    assert on_asterisk != on_ussd


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        pytest.param("anonymous", "anonymous", id="withheld"),
        pytest.param("05122345678", "05122345678", id="kanpur-landline"),
        pytest.param("", "unknown", id="empty"),
        pytest.param(None, "unknown", id="none"),
        pytest.param("x" * 40, "x" * 32, id="cut-to-32"),
    ],
)
def test_a_caller_id_that_is_no_mobile_is_kept_as_given(
    uow: UnitOfWork, session_factory: Callable[[], Session], given: str | None, stored: str
) -> None:
    call_id = open_call(uow, channel="asterisk", call_ref=f"ref-{stored[:8]}", caller=given, now=NOW)

    assert _call(session_factory, call_id).caller == stored


def test_an_outbound_call_is_recorded_as_outbound(uow: UnitOfWork, session_factory: Callable[[], Session]) -> None:
    call_id = open_call(uow, channel="asterisk", call_ref="out-1", caller=REGISTERED, direction="outbound", now=NOW)

    assert _call(session_factory, call_id).direction == "outbound"


def test_a_channel_that_is_not_an_ivr_channel_is_refused(uow: UnitOfWork) -> None:
    with pytest.raises(UnknownChannel):
        open_call(uow, channel="sms", call_ref="x", caller=REGISTERED, now=NOW)


# --- a webhook call's state ---------------------------------------------------------------------


def test_a_call_never_opened_loads_as_none(uow: UnitOfWork) -> None:
    assert load_call(uow, "twilio", "CA-never") is None


def test_saved_state_path_account_and_language_are_committed_and_load_back(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4700000001", mobiles=(REGISTERED,))
    session.commit()
    call_id = open_call(uow, channel="twilio", call_ref="CA-state", caller=REGISTERED, now=NOW)

    save_call(
        uow,
        call_id,
        state={"node": "bill.menu", "account_no": "4700000001"},
        path=["welcome", "lang", "bill.menu"],
        account_no="4700000001",
        lang="hi",
    )

    assert load_call(uow, "twilio", "CA-state") == CallState(
        id=call_id, state={"node": "bill.menu", "account_no": "4700000001"}, ended=False
    )
    row = _call(session_factory, call_id)
    assert row.path == ["welcome", "lang", "bill.menu"]
    assert (row.account_id, row.lang) == (acc.id, "hi")


def test_saving_a_call_not_on_record_raises_unknown_call(uow: UnitOfWork) -> None:
    with pytest.raises(UnknownCall):
        save_call(uow, 987_654_321, state={}, path=[])


def test_saving_with_an_account_not_on_record_raises_unknown_account_and_keeps_the_old_state(
    uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    call_id = open_call(uow, channel="twilio", call_ref="CA-unknown-acc", caller=REGISTERED, now=NOW)
    save_call(uow, call_id, state={"node": "welcome"}, path=["welcome"])

    with pytest.raises(UnknownAccount):
        save_call(uow, call_id, state={"node": "bill"}, path=["welcome", "bill"], account_no="4799999999")
    with pytest.raises(MalformedAccountNumber):
        save_call(uow, call_id, state={"node": "bill"}, path=["welcome", "bill"], account_no="12345")

    assert _call(session_factory, call_id).state == {"node": "welcome"}


# --- closing ------------------------------------------------------------------------------------


def test_closing_records_outcome_end_and_duration_and_clears_the_state(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4700000002")
    session.commit()
    call_id = open_call(uow, channel="twilio", call_ref="CA-close", caller=REGISTERED, now=NOW)
    save_call(uow, call_id, state={"node": "bill.amount"}, path=["welcome", "bill.amount"])

    closed = close_call(
        uow,
        call_id,
        path=["welcome", "bill.amount", "goodbye"],
        outcome="bill",
        account_no="4700000002",
        lang="en",
        now=NOW + dt.timedelta(seconds=94, milliseconds=600),
    )

    assert closed is True
    row = _call(session_factory, call_id)
    assert row.outcome == "bill"
    assert row.ended_at == NOW + dt.timedelta(seconds=94, milliseconds=600)
    assert row.duration_s == 95
    assert row.state is None
    assert row.path == ["welcome", "bill.amount", "goodbye"]
    assert (row.account_id, row.lang) == (acc.id, "en")
    state = load_call(uow, "twilio", "CA-close")
    assert state is not None
    assert (state.state, state.ended) == (None, True)


def test_closing_twice_keeps_the_first_close(uow: UnitOfWork, session_factory: Callable[[], Session]) -> None:
    call_id = open_call(uow, channel="asterisk", call_ref="close-twice", caller=REGISTERED, now=NOW)
    close_call(uow, call_id, path=["welcome", "complaint"], outcome="complaint", now=NOW + dt.timedelta(seconds=60))

    again = close_call(uow, call_id, path=["welcome"], outcome="hangup", now=NOW + dt.timedelta(seconds=90))

    assert again is False
    row = _call(session_factory, call_id)
    assert (row.outcome, row.duration_s, row.path) == ("complaint", 60, ["welcome", "complaint"])


def test_a_late_save_after_the_close_does_not_bring_the_state_back(
    uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    call_id = open_call(uow, channel="twilio", call_ref="CA-late", caller=REGISTERED, now=NOW)
    close_call(uow, call_id, path=["welcome"], outcome="hangup", now=NOW + dt.timedelta(seconds=3))

    save_call(uow, call_id, state={"node": "menu"}, path=["welcome", "menu"])

    row = _call(session_factory, call_id)
    assert (row.state, row.path, row.outcome) == (None, ["welcome"], "hangup")


# --- the MIS day --------------------------------------------------------------------------------


def test_the_days_summary_counts_calls_by_outcome_with_average_duration_and_caller_id_share(
    uow: UnitOfWork, session: Session
) -> None:
    acc = factories.account(session, mobiles=(REGISTERED,))
    day_start = IST_MIDNIGHT
    factories.call(session, started_at=day_start, acc=acc, caller=REGISTERED, outcome="bill", duration_s=60)
    factories.call(session, started_at=day_start + dt.timedelta(hours=3), acc=acc, outcome="bill", duration_s=90)
    factories.call(
        session,
        started_at=day_start + dt.timedelta(hours=5),
        acc=acc,
        caller="+919811122233",
        outcome="complaint",
        duration_s=121,
    )
    factories.call(session, started_at=day_start + dt.timedelta(hours=6), caller="anonymous", duration_s=10)
    factories.call(session, started_at=day_start + dt.timedelta(hours=23, minutes=59))  # still on the line
    # Outside the day in India, or not inbound: not counted.
    factories.call(session, started_at=day_start - dt.timedelta(seconds=1), outcome="bill", duration_s=30)
    factories.call(session, started_at=day_start + dt.timedelta(days=1), outcome="bill", duration_s=30)
    factories.call(session, started_at=day_start, direction="outbound", outcome="outage", duration_s=40)
    session.commit()

    summary = call_summary(uow, dt.date(2026, 3, 10))

    assert summary == {
        "day": "2026-03-10",
        "calls": 5,
        "by_outcome": {"bill": 2, "complaint": 1, "in_progress": 1, "none": 1},
        "by_service": {"bill": 2, "complaint": 1},
        "system_faults": 0,
        "faults_by_kind": {},
        "average_duration_s": 70.2,
        "with_account": 3,
        "identified_by_caller_id": 2,
        "caller_id_share": 0.4,
    }


def test_a_day_without_calls_summarises_to_zeros(uow: UnitOfWork) -> None:
    assert call_summary(uow, dt.date(2026, 3, 11)) == {
        "day": "2026-03-11",
        "calls": 0,
        "by_outcome": {},
        "by_service": {},
        "system_faults": 0,
        "faults_by_kind": {},
        "average_duration_s": None,
        "with_account": 0,
        "identified_by_caller_id": 0,
        "caller_id_share": 0.0,
    }


# --- the same call's webhooks racing on PostgreSQL ----------------------------------------------


def test_eight_simultaneous_webhooks_of_one_call_open_one_record(pg_engine: Engine) -> None:
    factory = make_session_factory(pg_engine)
    ref = f"CA{secrets.token_hex(16)}"
    start = threading.Barrier(8)

    def open_(_: int) -> int:
        start.wait(timeout=30)
        return open_call(UnitOfWork(factory), channel="twilio", call_ref=ref, caller=REGISTERED, now=NOW)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(open_, range(8)))

        assert len(set(ids)) == 1
        with factory() as fresh:
            assert fresh.scalars(select(IvrCall.id).where(IvrCall.call_ref == ref)).all() == [ids[0]]
    finally:
        with factory() as s:
            s.execute(delete(IvrCall).where(IvrCall.call_ref == ref))
            s.commit()
