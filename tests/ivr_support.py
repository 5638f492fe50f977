"""A small discom for IVR tests: consumers reached by caller ID, by account number, with bills, an outage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ivr.dialog import Dialog
from ivr.services import CisBackend
from tests import factories
from tests.factories import NOW


@dataclass(frozen=True)
class World:
    single: str  # one account on its caller's mobile; bills, a payment, meter readings
    single_mobile: str
    pair: tuple[str, str]  # two accounts on one mobile
    pair_mobile: str
    outage: str  # an account on a feeder with a breakdown
    outage_mobile: str
    closed: str  # permanently disconnected
    no_bill: str  # a new connection, never billed
    stranger_mobile: str  # a mobile no account knows
    last_kwh: int


def build_world(session: Session) -> World:
    """Put the IVR's test consumers in place (committed by the caller)."""
    base = 7_100_000_000
    single = factories.account(session, account_no=str(base + 1), mobiles=("+919876543210",))
    m = factories.meter(session, single)
    factories.monthly_readings(session, single, m, last_read_on=dt.date(2026, 10, 15), last_kwh=12_000, daily_units=8)
    factories.priced_bill(session, single, cycle="2025-10", units=210)
    factories.priced_bill(session, single, cycle="2026-09", units=230, status="paid")
    factories.priced_bill(session, single, cycle="2026-10", units=245, basis="estimated", arrears_paise=50_000)
    factories.payment(session, single, amount_paise=150_000, paid_at=dt.datetime(2026, 10, 1, 11, 0, tzinfo=dt.UTC))

    first = factories.account(session, account_no=str(base + 2), mobiles=("+919812345678",))
    second = factories.account(session, account_no=str(base + 3), mobiles=("+919812345678",))
    factories.bill(session, first)
    factories.bill(session, second)

    outage = factories.account(session, account_no=str(base + 4), mobiles=("+919700000001",))
    factories.bill(session, outage)
    factories.interruption(
        session,
        factories.feeder_of(session, outage),
        kind="breakdown",
        started_at=NOW - dt.timedelta(hours=1),  # 14:30 IST
        expected_restore_at=NOW + dt.timedelta(hours=2, minutes=30),  # 18:00 IST
    )
    closed = factories.account(session, account_no=str(base + 5), status="perm_disconnected")
    no_bill = factories.account(session, account_no=str(base + 6))
    session.flush()
    return World(
        single=single.account_no,
        single_mobile="+919876543210",
        pair=(first.account_no, second.account_no),
        pair_mobile="+919812345678",
        outage=outage.account_no,
        outage_mobile="+919700000001",
        closed=closed.account_no,
        no_bill=no_bill.account_no,
        stranger_mobile="+919999988888",
        last_kwh=12_000,
    )


def dialog_on(session_factory: Callable[[], Session], *, now: dt.datetime = NOW) -> Dialog:
    return Dialog(CisBackend(session_factory, portal_url="https://portal.example.test", now=lambda: now))
