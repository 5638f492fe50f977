"""Consumers' meter readings against a real database: checks against usual use, one a day, kept for the bill."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    CisError,
    MalformedAccountNumber,
    MalformedReading,
    NoMeterOnAccount,
    ReadingBeforePrevious,
    ReadingImplausible,
    UnknownAccount,
    UnknownChannel,
)
from cis.models import Account, AuditLog, Meter, Reading
from cis.readings import ReadingReceipt, SubmitReading, submit_reading
from tests import factories

NOW = factories.NOW  # 20 November 2026, 15:30 in India
TODAY = dt.date(2026, 11, 20)
LAST_READ = dt.date(2026, 11, 5)  # the meter reader came 15 days ago
CALLER = "+919811122233"


def _metered(
    session: Session, account_no: str, *, daily_units: int = 8, last_kwh: int = 20_000, months: int = 12
) -> tuple[Account, Meter]:
    """An account whose meter reader has read it monthly for a year, the last time 15 days ago."""
    acc = factories.account(session, account_no=account_no)
    m = factories.meter(session, acc)
    factories.monthly_readings(
        session, acc, m, last_read_on=LAST_READ, last_kwh=last_kwh, daily_units=daily_units, months=months
    )
    session.commit()
    return acc, m


def _consumer_readings(session_factory: Callable[[], Session], account_id: int) -> list[Reading]:
    with session_factory() as fresh:
        return list(
            fresh.scalars(
                select(Reading).where(Reading.account_id == account_id, Reading.kind == "consumer").order_by(Reading.id)
            )
        )


def _audit(session_factory: Callable[[], Session], account_no: str) -> list[AuditLog]:
    with session_factory() as fresh:
        return list(
            fresh.scalars(
                select(AuditLog)
                .where(AuditLog.entity == "account", AuditLog.entity_id == account_no)
                .order_by(AuditLog.id)
            )
        )


def _submit(
    uow: UnitOfWork,
    account_no: str,
    kwh: int,
    *,
    channel: str = "ivr",
    channel_request_id: str | None = None,
    mobile: str | None = CALLER,
) -> ReadingReceipt:
    return submit_reading(uow, SubmitReading(account_no, kwh, channel, channel_request_id, mobile), now=NOW)


def test_a_plausible_reading_is_kept_for_the_next_bill_with_an_audit_row(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc, m = _metered(session, "4900000001")

    receipt = _submit(uow, "4900000001", 20_120, channel_request_id="CA-1:reading")

    assert receipt == ReadingReceipt(
        kwh=20_120, units_since_last=120, last_kwh=20_000, last_read_on=LAST_READ, usual_daily_units=Decimal("8.0")
    )
    [row] = _consumer_readings(session_factory, acc.id)
    assert (row.meter_id, row.read_on, row.kwh, row.source) == (m.id, TODAY, 20_120, "ivr")
    assert (row.channel_request_id, row.created_at) == ("CA-1:reading", NOW)
    [audit] = _audit(session_factory, "4900000001")
    assert (audit.action, audit.actor, audit.at) == ("reading.submitted", "channel:ivr", NOW)
    assert audit.detail["kwh"] == 20_120
    assert audit.detail["mobile"] == CALLER
    assert audit.detail["meter"] == m.number


def test_the_reading_is_dated_by_the_calendar_in_india(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc, _ = _metered(session, "4900000002")
    half_past_midnight_ist = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC)

    submit_reading(uow, SubmitReading("4900000002", 20_130, "sms"), now=half_past_midnight_ist)

    [row] = _consumer_readings(session_factory, acc.id)
    assert row.read_on == dt.date(2026, 11, 21)
    assert row.source == "sms"


def test_a_reading_below_the_last_one_is_refused_and_nothing_is_written(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc, _ = _metered(session, "4900000003")

    with pytest.raises(ReadingBeforePrevious) as raised:
        _submit(uow, "4900000003", 19_990)

    assert (raised.value.previous, raised.value.current) == (20_000, 19_990)
    assert _consumer_readings(session_factory, acc.id) == []
    assert _audit(session_factory, "4900000003") == []


def test_a_reading_implying_more_than_four_times_the_usual_use_is_refused_with_both_figures(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc, _ = _metered(session, "4900000004")

    with pytest.raises(ReadingImplausible) as raised:
        _submit(uow, "4900000004", 20_000 + 15 * 33)  # 33 units a day against a usual 8

    assert raised.value.usual_daily_units == Decimal("8.0")
    assert raised.value.implied_daily_units == Decimal("33.0")
    assert raised.value.kwh == 20_495
    assert _consumer_readings(session_factory, acc.id) == []


def test_exactly_four_times_the_usual_use_is_accepted(uow: UnitOfWork, session: Session) -> None:
    _metered(session, "4900000005")

    receipt = _submit(uow, "4900000005", 20_000 + 15 * 32)

    assert receipt.units_since_last == 480


def test_a_register_rolling_over_past_999999_is_accepted_when_the_use_is_plausible(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc, _ = _metered(session, "4900000006", last_kwh=999_900)

    receipt = _submit(uow, "4900000006", 20)

    assert (receipt.kwh, receipt.units_since_last, receipt.last_kwh) == (20, 120, 999_900)
    assert receipt.usual_daily_units == Decimal("8.0")
    assert [r.kwh for r in _consumer_readings(session_factory, acc.id)] == [20]


def test_a_lower_reading_that_would_be_an_implausible_roll_over_is_refused_as_below_the_last(
    uow: UnitOfWork, session: Session
) -> None:
    _metered(session, "4900000007", last_kwh=999_900)

    with pytest.raises(ReadingBeforePrevious):
        _submit(uow, "4900000007", 5_000)  # 5,100 units in 15 days


def test_a_tiny_consumer_may_report_up_to_four_times_a_floor_of_three_units_a_day(
    uow: UnitOfWork, session: Session
) -> None:
    _metered(session, "4900000008", daily_units=1)

    receipt = _submit(uow, "4900000008", 20_000 + 15 * 12)
    assert (receipt.units_since_last, receipt.usual_daily_units) == (180, Decimal("1.0"))

    with pytest.raises(ReadingImplausible) as raised:
        _submit(uow, "4900000008", 20_000 + 15 * 13)
    assert raised.value.usual_daily_units == Decimal("1.0")


def test_without_history_the_assessment_norm_of_the_load_stands_for_usual_use(
    uow: UnitOfWork, session: Session
) -> None:
    # One opening reading only: a 2 kW urban domestic connection is assumed to use 2 x 24 x 0.15 = 7.2 a day.
    _metered(session, "4900000009", months=0)

    receipt = _submit(uow, "4900000009", 20_000 + 432)  # 28.8 a day, the limit
    assert (receipt.units_since_last, receipt.usual_daily_units) == (432, None)

    with pytest.raises(ReadingImplausible) as raised:
        _submit(uow, "4900000009", 20_000 + 450)
    assert raised.value.usual_daily_units == Decimal("7.2")


def test_without_reading_history_the_usual_use_comes_from_the_last_years_actual_bills(
    uow: UnitOfWork, session: Session
) -> None:
    acc, _ = _metered(session, "4900000010", months=0)
    for cycle in ("2026-08", "2026-09", "2026-10"):
        factories.priced_bill(session, acc, cycle=cycle, units=300)
    factories.priced_bill(session, acc, cycle="2026-07", units=3_000, basis="estimated")
    session.commit()

    receipt = _submit(uow, "4900000010", 20_150)

    assert receipt.usual_daily_units == Decimal("10.0")


def test_the_first_reading_of_a_meter_is_accepted_as_is(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4900000011")
    factories.meter(session, acc, installed_on=dt.date(2026, 11, 1))
    session.commit()

    receipt = _submit(uow, "4900000011", 37)

    assert receipt == ReadingReceipt(37, None, None, None, None)
    assert [r.kwh for r in _consumer_readings(session_factory, acc.id)] == [37]


def test_only_the_current_meters_actual_and_consumer_readings_count_as_the_last(
    uow: UnitOfWork, session: Session
) -> None:
    acc = factories.account(session, account_no="4900000012")
    old = factories.meter(session, acc, installed_on=dt.date(2015, 4, 1), removed_on=dt.date(2026, 10, 1))
    factories.reading(session, acc, old, read_on=dt.date(2026, 9, 30), kwh=55_000)
    new = factories.meter(session, acc, installed_on=dt.date(2026, 10, 1))
    factories.reading(session, acc, new, read_on=dt.date(2026, 10, 1), kwh=3)
    factories.reading(session, acc, new, read_on=dt.date(2026, 11, 5), kwh=283)
    factories.reading(session, acc, new, read_on=dt.date(2026, 11, 10), kwh=900, kind="estimated", source="system")
    session.commit()

    receipt = _submit(uow, "4900000012", 400)

    assert (receipt.last_kwh, receipt.last_read_on, receipt.units_since_last) == (283, LAST_READ, 117)
    assert receipt.usual_daily_units == Decimal("8.0")


def test_a_second_reading_the_same_day_replaces_the_first(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc, _ = _metered(session, "4900000013")
    _submit(uow, "4900000013", 20_210, channel="sms", channel_request_id="SM-1")

    # A slip of the finger put right: the second is compared with the meter reader's, not the first.
    receipt = _submit(uow, "4900000013", 20_120, channel="ivr", channel_request_id="CA-2:reading")

    assert (receipt.units_since_last, receipt.last_kwh) == (120, 20_000)
    [row] = _consumer_readings(session_factory, acc.id)
    assert (row.kwh, row.source, row.channel_request_id) == (20_120, "ivr", "CA-2:reading")
    audit = _audit(session_factory, "4900000013")
    assert [(a.action, a.detail["replaced_kwh"]) for a in audit] == [
        ("reading.submitted", None),
        ("reading.replaced", 20_210),
    ]


def test_the_same_channel_request_twice_gives_the_first_receipt_and_changes_nothing(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc, _ = _metered(session, "4900000014")
    first = _submit(uow, "4900000014", 20_120, channel="ussd", channel_request_id="ATUid_1:7")

    again = _submit(uow, "4900000014", 20_120, channel="ussd", channel_request_id="ATUid_1:7")

    assert again == first
    assert len(_consumer_readings(session_factory, acc.id)) == 1
    assert len(_audit(session_factory, "4900000014")) == 1


def test_a_caller_id_that_is_no_mobile_does_not_lose_the_reading(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc, _ = _metered(session, "4900000015")

    _submit(uow, "4900000015", 20_100, mobile="anonymous")

    assert len(_consumer_readings(session_factory, acc.id)) == 1
    assert _audit(session_factory, "4900000015")[0].detail["mobile"] is None


@pytest.mark.parametrize(
    ("account_no", "kwh", "channel", "error"),
    [
        pytest.param("4900000020", 20_100, "fax", UnknownChannel, id="unknown-channel"),
        pytest.param("49000", 20_100, "ivr", MalformedAccountNumber, id="malformed-account"),
        pytest.param("4900000029", 20_100, "ivr", UnknownAccount, id="unknown-account"),
        pytest.param("4900000020", -1, "ivr", MalformedReading, id="negative"),
        pytest.param("4900000020", 1_000_000, "ivr", MalformedReading, id="seven-digits"),
        pytest.param("4900000021", 20_100, "ivr", AccountClosed, id="permanently-disconnected"),
        pytest.param("4900000022", 20_100, "ivr", NoMeterOnAccount, id="no-meter"),
    ],
)
def test_a_reading_that_cannot_be_taken_is_refused_before_anything_is_written(
    uow: UnitOfWork,
    session: Session,
    session_factory: Callable[[], Session],
    account_no: str,
    kwh: int,
    channel: str,
    error: type[CisError],
) -> None:
    _metered(session, "4900000020")
    closed = factories.account(session, account_no="4900000021", status="perm_disconnected")
    factories.meter(session, closed)
    factories.account(session, account_no="4900000022")
    session.commit()

    with pytest.raises(error):
        _submit(uow, account_no, kwh, channel=channel)

    with session_factory() as fresh:
        assert fresh.scalars(select(Reading).where(Reading.kind == "consumer")).all() == []
        assert fresh.scalars(select(AuditLog).where(AuditLog.entity_id.like("49000000%"))).all() == []
