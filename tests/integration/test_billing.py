"""The billing run and bill revisions, on a PostgreSQL database of their own and on SQLite."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cis import tariffs
from cis.accounts import account_summary
from cis.billing import BillingError, MalformedCycle, UnknownBill, UnknownSubDivision, bill_run, revise_bill
from cis.calculator import quote
from cis.db import UnitOfWork, make_session_factory
from cis.errors import UnknownAccount
from cis.models import (
    Account,
    AuditLog,
    Bill,
    DistributionTransformer,
    Feeder,
    Meter,
    Outbox,
    Reading,
    SubDivision,
    Substation,
    TariffSchedule,
)
from cis.preferences import AlertChoice, save_alert_settings
from cis.seed import reset
from tests import factories
from tests.conftest import own_postgres_database

NOW = dt.datetime(2026, 11, 3, 6, 30, tzinfo=dt.UTC)  # bills for October are issued on 3 November


@pytest.fixture(scope="module")
def pg_billing_engine(postgres_url: str) -> Iterator[Engine]:
    """A database of this module's own: the billing run commits, as it does in production."""
    with own_postgres_database(postgres_url, "urja_billing") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    if request.param == "postgres":
        pg: Engine = request.getfixturevalue("pg_billing_engine")
        reset(pg)
        return pg
    lite: Engine = request.getfixturevalue("sqlite_engine")
    return lite


def _account(engine: Engine, **kwargs: object) -> tuple[int, str]:
    with Session(engine) as session:
        acc = factories.account(session, **kwargs)  # type: ignore[arg-type]
        session.add(
            Meter(
                account_id=acc.id,
                number=f"M{acc.id}-{uuid.uuid4().hex[:6]}",
                make="Genus",
                installed_on=dt.date(2015, 4, 1),
                status="ok",
            )
        )
        session.commit()
        return acc.id, acc.account_no


def _history(
    engine: Engine,
    account_id: int,
    *,
    units: tuple[int, ...] = (300,),
    last_kwh: int = 5000,
    amount_paise: int = 0,
    paid: bool = True,
) -> None:
    """Earlier actual bills, the last one for 2026-09 ending on 2026-09-15 at `last_kwh`."""
    with Session(engine) as session:
        end = dt.date(2026, 9, 15)
        kwh = last_kwh - sum(units)
        months = len(units)
        for n, used in enumerate(units):
            start_month = 9 - months + n
            period_start = dt.date(2026, start_month, 15)
            period_end = dt.date(2026, start_month + 1, 15) if n < months - 1 else end
            session.add(
                Bill(
                    account_id=account_id,
                    cycle=f"2026-{start_month + 1:02d}" if n < months - 1 else "2026-09",
                    version=1,
                    period_start=period_start - dt.timedelta(days=0),
                    period_end=period_end,
                    previous_kwh=kwh,
                    current_kwh=kwh + used,
                    units=used,
                    basis="actual",
                    category="LMV-1U",
                    load_kw=Decimal("2.00"),
                    energy_paise=0,
                    fixed_paise=0,
                    duty_paise=0,
                    other_paise=0,
                    arrears_paise=0,
                    lps_paise=0,
                    amount_paise=amount_paise if n == months - 1 else 0,
                    due_date=period_end + dt.timedelta(days=16),
                    status="paid" if paid else "issued",
                    issued_at=dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time(4), tzinfo=dt.UTC),
                )
            )
            kwh += used
        session.commit()


def _reading(engine: Engine, account_id: int, kwh: int, day: dt.date = dt.date(2026, 10, 15)) -> None:
    with Session(engine) as session:
        meter_id = session.scalar(select(Meter.id).where(Meter.account_id == account_id))
        session.add(
            Reading(
                account_id=account_id,
                meter_id=meter_id,
                read_on=day,
                kwh=kwh,
                kind="actual",
                source="handheld",
                created_at=NOW,
            )
        )
        session.commit()


def _bills(engine: Engine, account_id: int) -> list[Bill]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(Bill).where(Bill.account_id == account_id, Bill.cycle == "2026-10").order_by(Bill.version)
            )
        )


def test_an_actual_reading_gives_an_actual_bill_with_the_calculators_charges(engine: Engine) -> None:
    account_id, _ = _account(engine, mobiles=("+919876543210",))
    _history(engine, account_id)
    _reading(engine, account_id, 5250)
    report = bill_run(engine, "2026-10", now=NOW)
    (bill,) = _bills(engine, account_id)
    expected = quote("LMV-1U", "2.00", units=250, days=30, on=dt.date(2026, 10, 31))
    assert report.billed == 1
    assert report.actual == 1
    assert (bill.basis, bill.units, bill.previous_kwh, bill.current_kwh) == ("actual", 250, 5000, 5250)
    assert bill.energy_paise == expected.charges.energy_paise
    assert bill.fixed_paise == expected.charges.fixed_paise
    assert bill.duty_paise == expected.charges.duty_paise
    assert bill.amount_paise == expected.charges.total_paise
    assert bill.due_date == dt.date(2026, 11, 18)


def test_a_cycle_billed_twice_has_one_bill_per_account_and_one_sms(engine: Engine) -> None:
    account_id, account_no = _account(engine, mobiles=("+919876543210",))
    _history(engine, account_id)
    _reading(engine, account_id, 5250)
    first = bill_run(engine, "2026-10", now=NOW)
    second = bill_run(engine, "2026-10", now=NOW + dt.timedelta(hours=2))
    assert (first.billed, second.billed, second.already_billed) == (1, 0, 1)
    assert len(_bills(engine, account_id)) == 1
    with Session(engine) as session:
        sms = session.scalars(select(Outbox).where(Outbox.account_id == account_id)).all()
    assert len(sms) == 1
    assert sms[0].template == "bill.issued"
    assert sms[0].recipient == "+919876543210"
    assert sms[0].payload["account_no"] == account_no


def test_no_reading_gives_an_estimate_from_the_last_three_actual_bills(engine: Engine) -> None:
    account_id, _ = _account(engine)
    _history(engine, account_id, units=(300, 330, 270))  # 900 units over 91 days
    report = bill_run(engine, "2026-10", now=NOW)
    (bill,) = _bills(engine, account_id)
    days = (dt.date(2026, 10, 31) - dt.date(2026, 9, 15)).days
    with Session(engine) as session:
        history_days = sum(
            (b.period_end - b.period_start).days
            for b in session.scalars(select(Bill).where(Bill.account_id == account_id, Bill.cycle != "2026-10"))
        )
    assert report.estimated == 1
    assert bill.basis == "estimated"
    assert bill.units == round(900 / history_days * days)
    assert bill.current_kwh == 5000 + bill.units


def test_a_defective_meter_gives_an_assessed_bill(engine: Engine) -> None:
    with_history, _ = _account(engine)
    without_history, _ = _account(engine)
    _history(engine, with_history, units=(300, 300, 300))
    with Session(engine) as session:
        for account_id in (with_history, without_history):
            session.execute(Meter.__table__.update().where(Meter.account_id == account_id).values(status="burnt"))
        session.commit()
    report = bill_run(engine, "2026-10", now=NOW)
    (assessed,) = _bills(engine, with_history)
    (by_load,) = _bills(engine, without_history)
    assert report.assessed == 2
    assert assessed.basis == by_load.basis == "assessed"
    assert assessed.current_kwh == 5000  # the register is not trusted: no reading is invented
    # No history: sanctioned load x days x 24 h x load factor (2 kW x 30 d x 24 h x 0.15).
    assert by_load.units == round(2 * 30 * 24 * 0.15)


def test_unpaid_amount_is_carried_as_arrears_with_the_late_payment_surcharge(engine: Engine) -> None:
    unpaid, _ = _account(engine)
    part_paid, _ = _account(engine)
    for account_id in (unpaid, part_paid):
        _history(engine, account_id, amount_paise=150_000, paid=False)
        _reading(engine, account_id, 5250)
    with Session(engine) as session:
        acc = session.get(Account, part_paid)
        assert acc is not None
        factories.payment(session, acc, amount_paise=100_000, paid_at=dt.datetime(2026, 9, 25, tzinfo=dt.UTC))
        session.commit()
    bill_run(engine, "2026-10", now=NOW)
    (carried,) = _bills(engine, unpaid)
    (partly,) = _bills(engine, part_paid)
    rate = tariffs.schedule_on(tariffs.load_schedules(), dt.date(2026, 10, 31)).lps_basis_points_per_month
    assert carried.arrears_paise == 150_000
    assert carried.lps_paise == (150_000 * rate + 5_000) // 10_000
    assert partly.arrears_paise == 50_000
    assert carried.amount_paise == carried.arrears_paise + carried.lps_paise + (
        carried.energy_paise + carried.fixed_paise + carried.duty_paise + carried.other_paise
    )


def test_a_bill_paid_by_link_before_its_due_date_carries_no_arrears_or_surcharge(engine: Engine) -> None:
    from cis.payments import GatewayPayment, open_intent, post_gateway_payment

    paid_on_time, account_no = _account(engine, mobiles=("+919876599001",))
    _history(engine, paid_on_time, amount_paise=150_000, paid=False)
    _reading(engine, paid_on_time, 5250)
    uow = UnitOfWork(make_session_factory(engine))
    before_due = dt.datetime(2026, 9, 25, 10, tzinfo=dt.UTC)  # the 2026-09 bill is due on 1 October
    token = open_intent(uow, account_no, channel="sms", now=before_due).token
    post_gateway_payment(uow, GatewayPayment("sandbox", "pay_OnTime000001", token, None, 150_000, "upi", before_due))

    bill_run(engine, "2026-10", now=NOW)

    (october,) = _bills(engine, paid_on_time)
    assert (october.arrears_paise, october.lps_paise) == (0, 0)


def test_a_reading_going_backwards_holds_that_account_and_bills_the_rest(engine: Engine) -> None:
    bad, _ = _account(engine)
    good, _ = _account(engine)
    for account_id in (bad, good):
        _history(engine, account_id)
    _reading(engine, bad, 4000)
    _reading(engine, good, 5100)
    report = bill_run(engine, "2026-10", now=NOW)
    assert report.held == 1
    assert report.billed == 1
    assert _bills(engine, bad) == []
    assert len(_bills(engine, good)) == 1


def test_opted_out_and_unreachable_consumers_get_no_bill_sms(engine: Engine) -> None:
    opted_out, _ = _account(engine, mobiles=("+919811111111",), opt_out=True)
    no_mobile, _ = _account(engine)
    for account_id in (opted_out, no_mobile):
        _history(engine, account_id)
    report = bill_run(engine, "2026-10", now=NOW)
    assert report.billed == 2
    assert report.sms_queued == 0
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_a_run_for_one_sub_division_bills_only_its_accounts(engine: Engine) -> None:
    inside, _ = _account(engine)
    outside, _ = _account(engine)
    for account_id in (inside, outside):
        _history(engine, account_id)
    with Session(engine) as session:
        code = session.execute(
            select(SubDivision.code)
            .join(Substation, Substation.sub_division_id == SubDivision.id)
            .join(Feeder, Feeder.substation_id == Substation.id)
            .join(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
            .join(Account, Account.dt_id == DistributionTransformer.id)
            .where(Account.id == inside)
        ).scalar_one()
    report = bill_run(engine, "2026-10", sub_division=code, now=NOW)
    assert report.billed == 1
    assert len(_bills(engine, inside)) == 1
    assert _bills(engine, outside) == []
    with pytest.raises(UnknownSubDivision):
        bill_run(engine, "2026-10", sub_division="no-such-place", now=NOW)


@pytest.mark.parametrize("cycle", ["2026-13", "October", "2026-1", "", "2026-10-01"])
def test_a_malformed_cycle_is_refused(engine: Engine, cycle: str) -> None:
    with pytest.raises(MalformedCycle):
        bill_run(engine, cycle, now=NOW)


def test_a_revision_keeps_the_old_bill_and_recomputes_what_is_due(engine: Engine) -> None:
    account_id, account_no = _account(engine)
    _history(engine, account_id)
    _reading(engine, account_id, 5400)  # misread: 400 units
    bill_run(engine, "2026-10", now=NOW)
    uow = UnitOfWork(make_session_factory(engine))
    revised = revise_bill(
        uow,
        account_no,
        "2026-10",
        reason="Reading misread; photo shows 05250",
        actor="staff:7",
        current_kwh=5250,
        now=NOW + dt.timedelta(days=2),
    )
    old, new = _bills(engine, account_id)
    expected = quote("LMV-1U", "2.00", units=250, days=30, on=dt.date(2026, 10, 31))
    assert (old.version, old.status, old.units) == (1, "superseded", 400)
    assert (new.version, new.status, new.units, new.supersedes_id) == (2, "issued", 250, old.id)
    assert new.revision_reason == "Reading misread; photo shows 05250"
    assert new.amount_paise == expected.charges.total_paise == revised.amount_paise
    assert revised.old_amount_paise == old.amount_paise > new.amount_paise
    assert account_summary(uow, account_no).amount_due_paise == new.amount_paise
    with Session(engine) as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.action == "bill.revised")).all()
    assert len(rows) == 1
    assert rows[0].actor == "staff:7"
    assert rows[0].detail["old_amount_paise"] == old.amount_paise


def _revised_sms(engine: Engine) -> list[tuple[str, str]]:
    """The revision SMS in the outbox, as (recipient, the text the consumer reads)."""
    from sms.dispatch import variables_for
    from sms.templates import load_templates, render

    template = load_templates()["bill.revised"]
    with Session(engine) as session:
        rows = session.scalars(select(Outbox).where(Outbox.template == "bill.revised")).all()
    shown = []
    for row in rows:
        variables = variables_for(template, row.payload, {"portal_url": "https://urja.example.in"})
        sms = render(template, variables, allowed_urls=("https://urja.example.in",), allowed_numbers=(), now=NOW)
        assert sms.segments == 1
        shown.append((row.recipient, sms.text))
    return shown


def test_a_revision_tells_the_consumer_the_new_amount_by_sms(engine: Engine) -> None:
    account_id, account_no = _account(engine, mobiles=("+919876543210",))
    _history(engine, account_id)
    _reading(engine, account_id, 5400)
    bill_run(engine, "2026-10", now=NOW)
    old_amount = _bills(engine, account_id)[0].amount_paise

    revised = revise_bill(
        UnitOfWork(make_session_factory(engine)),
        account_no,
        "2026-10",
        reason="Reading misread",
        actor="staff:7",
        current_kwh=5250,
        now=NOW + dt.timedelta(days=2),
    )

    new = _bills(engine, account_id)[1]
    assert revised.sms_to == "+919876543210"
    rupees = f"{new.amount_paise // 100:,}.{new.amount_paise % 100:02d}"
    was = f"{old_amount // 100:,}.{old_amount % 100:02d}"
    assert _revised_sms(engine) == [
        (
            "+919876543210",
            f"A/c {account_no}: bill for Oct 2026 revised to Rs {rupees} (was Rs {was}), due by "
            f"{new.due_date.day} {new.due_date:%b %Y}. Pay at https://urja.example.in -Urja Mitra",
        )
    ]


def test_a_revision_of_an_account_that_opted_out_sends_nothing(engine: Engine) -> None:
    account_id, account_no = _account(engine, mobiles=("+919876543210",), opt_out=True)
    _history(engine, account_id)
    _reading(engine, account_id, 5400)
    bill_run(engine, "2026-10", now=NOW)

    revised = revise_bill(
        UnitOfWork(make_session_factory(engine)), account_no, "2026-10", reason="Recheck", actor="staff:7", units=100
    )

    assert revised.sms_to is None
    assert _revised_sms(engine) == []


def test_a_revision_needs_a_known_bill_and_a_reason(engine: Engine) -> None:
    account_id, account_no = _account(engine)
    _history(engine, account_id)
    uow = UnitOfWork(make_session_factory(engine))
    with pytest.raises(UnknownBill):
        revise_bill(uow, account_no, "2026-10", reason="x", actor="staff:1")
    with pytest.raises(UnknownAccount):
        revise_bill(uow, "9999999999", "2026-09", reason="x", actor="staff:1")
    with pytest.raises(BillingError, match="reason"):
        revise_bill(uow, account_no, "2026-09", reason="  ", actor="staff:1")


def test_bills_follow_the_stored_schedule_not_later_edits_of_the_data_file(engine: Engine) -> None:
    """A schedule once loaded is the record: the run bills by the stored copy, and new codes are added."""
    account_id, _ = _account(engine)
    _history(engine, account_id)
    _reading(engine, account_id, 5250)
    current = tariffs.schedule_on(tariffs.load_schedules(), dt.date(2026, 10, 31))
    with Session(engine) as session:
        from cis.billing import sync_schedules

        ids = sync_schedules(session, tariffs.load_schedules(), NOW)
        row = session.get(TariffSchedule, ids[current.code])
        assert row is not None
        data = {**row.data, "categories": {**row.data["categories"]}}
        data["categories"]["LMV-1U"] = {**data["categories"]["LMV-1U"], "fixed_paise_per_kw": 12_345}
        row.data = data
        session.commit()
        assert {s["code"] for s in tariffs.schedule_file_data()["schedules"]} == set(ids)
    bill_run(engine, "2026-10", now=NOW)
    (bill,) = _bills(engine, account_id)
    assert bill.fixed_paise == 2 * 12_345  # 2 kW at the stored rate, not the file's
    assert bill.tariff_schedule_id == ids[current.code]


def test_two_runs_of_one_cycle_at_once_still_make_one_bill_and_one_sms_per_account(
    pg_billing_engine: Engine,
) -> None:
    import threading

    engine = pg_billing_engine
    reset(engine)
    ids = []
    for n in range(30):
        account_id, _ = _account(engine, mobiles=(f"+9198{n:08d}",))
        _history(engine, account_id)
        _reading(engine, account_id, 5100 + n)
        ids.append(account_id)
    barrier = threading.Barrier(2)
    reports = []

    def run() -> None:
        barrier.wait()
        reports.append(bill_run(engine, "2026-10", now=NOW, batch=5, workers=1))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        per_account = dict(
            session.execute(
                select(Bill.account_id, func.count()).where(Bill.cycle == "2026-10").group_by(Bill.account_id)
            ).all()
        )
        sms = session.scalar(select(func.count()).select_from(Outbox))
    assert per_account == dict.fromkeys(ids, 1)
    assert sms == 30
    assert sum(r.billed + r.already_billed for r in reports) >= 30


def test_an_account_that_switched_bill_sms_off_gets_its_bill_but_no_sms_while_others_still_do(engine: Engine) -> None:
    quiet, quiet_no = _account(engine, mobiles=("+919811111111",))
    told, _ = _account(engine, mobiles=("+919822222222",))
    for account_id in (quiet, told):
        _history(engine, account_id)
    uow = UnitOfWork(make_session_factory(engine))
    save_alert_settings(uow, quiet, AlertChoice(True, True, False, "sms", frozenset()), now=NOW)

    report = bill_run(engine, "2026-10", now=NOW)

    assert (report.billed, report.sms_queued) == (2, 1)
    with Session(engine) as session:
        assert session.scalars(select(Outbox.recipient)).all() == ["+919822222222"]
    # A revision of the quiet account's bill is not told either.
    revised = revise_bill(uow, quiet_no, "2026-10", reason="Meter read wrongly", actor="staff:1", units=100, now=NOW)
    assert revised.sms_to is None
