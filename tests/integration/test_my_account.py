"""What a signed-in consumer reads of an account, on PostgreSQL and SQLite: bills itemised as stored, history, use."""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from cis import my_account, tariffs
from cis.bill_explain import explain_bill
from cis.billing import bill_run, revise_bill
from cis.db import UnitOfWork, make_session_factory
from cis.models import Bill, Meter, Payment, Reading, TariffSchedule
from cis.my_account import AccountNotFound, BillNotFound, SlabLine
from cis.seed import seed
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database

NOW = factories.NOW


def _lines_add_up(doc: my_account.BillDocument) -> None:
    lines = dict(doc.charge_lines())
    assert sum(paise for name, paise in doc.charge_lines() if name != "total") == lines["total"] == doc.amount_paise
    if doc.slabs is not None:
        assert sum(s.amount_paise for s in doc.slabs) == doc.energy_paise
        assert sum(s.units for s in doc.slabs) == doc.units


# ------------------------------------------------------------------------------------------------
# Bills put in place as the billing run would have (factories), on both databases, rolled back


def test_the_current_bill_is_itemised_slab_by_slab_with_arrears_and_surcharge(
    uow: UnitOfWork, session: Session
) -> None:
    acc = factories.account(session, mobiles=("+919876543210",))
    m = factories.meter(session, acc, number="GEN00042")
    factories.priced_bill(session, acc, cycle="2026-09", units=210, status="paid")
    factories.priced_bill(
        session, acc, cycle="2026-10", units=240, basis="estimated", arrears_paise=50_000, lps_paise=625
    )
    session.commit()

    doc = my_account.current_bill(uow, acc.id)

    assert doc is not None
    assert (doc.cycle, doc.units, doc.basis, doc.meter_no) == ("2026-10", 240, "estimated", m.number)
    assert doc.slabs == (SlabLine(0, 150, 150, 550, 82_500), SlabLine(151, 300, 90, 600, 54_000))
    assert doc.charge_lines() == [
        ("energy", 136_500),
        ("fixed", 22_000),  # 2 kW at ₹110
        ("duty", 7_925),  # 5% of energy and fixed
        ("rounding", -25),  # ₹1,664.25 billed as ₹1,664
        ("arrears", 50_000),
        ("lps", 625),
        ("total", 166_400 + 50_000 + 625),
    ]
    assert doc.due_date == dt.date(2026, 10, 31)
    # After the due date one month's surcharge (1.25%) of the amount is added.
    assert doc.amount_after_due_paise == 217_025 + (217_025 * 125 + 5_000) // 10_000
    assert doc.account.name == "Ramesh Verma"
    assert doc.account.address.startswith("House 1, Block K")
    _lines_add_up(doc)


def test_the_minimum_charge_of_the_stored_schedule_shows_apart_from_the_rounding(
    uow: UnitOfWork, session: Session
) -> None:
    data = copy.deepcopy(tariffs.schedule_file_data()["schedules"][-1])
    data["code"] = f"TEST-{secrets.token_hex(4)}"
    data["categories"]["LMV-2"]["min_paise_per_kw"] = 60_000  # ₹600 a kW: above 20 units' energy and fixed
    stored = TariffSchedule(
        code=data["code"], effective_from=dt.date(2026, 4, 1), source="test", data=data, loaded_at=NOW
    )
    session.add(stored)
    acc = factories.account(session, category="LMV-2")
    bill = factories.priced_bill(session, acc, cycle="2026-10", units=20)
    charges = tariffs.calculate(
        tariffs.parse_schedules({"schedules": [data]})[0].categories["LMV-2"], load_kw=Decimal(2), units=20, days=30
    )
    bill.tariff_schedule_id = stored.id
    bill.energy_paise, bill.fixed_paise, bill.duty_paise = charges.energy_paise, charges.fixed_paise, charges.duty_paise
    bill.other_paise = charges.minimum_topup_paise + charges.rounding_paise
    bill.amount_paise = charges.total_paise
    session.commit()

    doc = my_account.current_bill(uow, acc.id)

    assert doc is not None
    assert doc.schedule_code == data["code"]
    assert doc.slabs == (SlabLine(0, 300, 20, 750, 15_000),)
    assert charges.minimum_topup_paise > 0
    assert (doc.minimum_paise, doc.rounding_paise) == (charges.minimum_topup_paise, charges.rounding_paise)
    assert [name for name, _ in doc.charge_lines()] == ["energy", "fixed", "minimum", "duty", "total"]  # no rounding
    _lines_add_up(doc)


def test_slabs_that_do_not_add_up_to_the_stored_energy_charge_are_not_shown(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    factories.bill(session, acc, cycle="2026-10", amount_paise=172_700, units=240)  # energy = the whole amount
    session.commit()

    doc = my_account.current_bill(uow, acc.id)

    assert doc is not None
    assert doc.slabs is None
    assert doc.energy_paise == 172_700
    _lines_add_up(doc)


def test_a_consumer_without_bills_has_no_current_bill_and_empty_histories(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    session.commit()

    assert my_account.current_bill(uow, acc.id) is None
    page = my_account.my_account(uow, acc.id)
    assert (page.current_bill, page.bills, page.payments, page.consumption) == (None, [], [], [])
    assert my_account.why_is_my_bill_high(uow, acc.id) is None


def test_another_accounts_bill_is_not_found(uow: UnitOfWork, session: Session) -> None:
    mine = factories.account(session)
    theirs = factories.account(session)
    their_bill = factories.priced_bill(session, theirs, cycle="2026-10", units=100)
    session.commit()

    with pytest.raises(BillNotFound):
        my_account.bill_document(uow, mine.id, their_bill.id)
    assert my_account.bill_document(uow, theirs.id, their_bill.id).units == 100
    with pytest.raises(AccountNotFound):
        my_account.account_overview(uow, 987_654_321)
    with pytest.raises(AccountNotFound):
        my_account.why_is_my_bill_high(uow, 987_654_321)


def test_bill_history_shows_two_years_newest_first_and_a_revision_in_place_of_its_original(
    uow: UnitOfWork, session: Session
) -> None:
    acc = factories.account(session)
    cycles = [f"{2024 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in range(1, 35)]  # 2024-01 .. 2026-10
    for cycle in cycles:
        factories.priced_bill(session, acc, cycle=cycle, units=100, status="paid")
    old = factories.priced_bill(session, acc, cycle="2026-11", units=900, basis="assessed", status="superseded")
    new = factories.priced_bill(session, acc, cycle="2026-11", units=120, version=2)
    session.commit()

    history = my_account.bill_history(uow, acc.id)

    assert len(history) == 24
    assert [row.cycle for row in history[:3]] == ["2026-11", "2026-10", "2026-09"]
    assert history[-1].cycle == "2024-12"
    assert (history[0].bill_id, history[0].version, history[0].units) == (new.id, 2, 120)
    versions = my_account.bill_versions(uow, acc.id, "2026-11")
    assert [(v.bill_id, v.status) for v in versions] == [(new.id, "issued"), (old.id, "superseded")]
    # The superseded version can still be opened (a revision shows both), and owes nothing.
    assert my_account.bill_document(uow, acc.id, old.id).outstanding_paise == 0


def test_consumption_covers_twelve_cycles_oldest_first_with_gaps(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    for month, units in ((1, 110), (2, 120), (5, 150), (10, 200)):
        factories.priced_bill(session, acc, cycle=f"2026-{month:02d}", units=units)
    factories.priced_bill(session, acc, cycle="2025-10", units=999)  # 13 cycles back: outside the chart
    session.commit()

    rows = my_account.consumption_history(uow, acc.id)

    assert [r.cycle for r in rows] == [f"2025-{m}" for m in ("11", "12")] + [f"2026-{m:02d}" for m in range(1, 11)]
    assert [r.units for r in rows] == [None, None, 110, 120, None, None, 150, None, None, None, None, 200]
    assert rows[-1].days == 30
    assert rows[-1].per_day == Decimal("6.7")
    assert my_account.my_account(uow, acc.id).consumption == rows


def test_payment_history_lists_money_received_newest_first(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    b = factories.priced_bill(session, acc, cycle="2026-10", units=240)
    first = factories.payment(session, acc, amount_paise=100_000, paid_at=NOW - dt.timedelta(days=40), ref="R1")
    second = factories.payment(session, acc, amount_paise=166_400, paid_at=NOW - dt.timedelta(days=2), ref="R2")
    second.bill_id = b.id
    session.add(
        Payment(
            account_id=acc.id,
            amount_paise=5_000,
            channel="upi",
            status="failed",
            paid_at=None,
            created_at=NOW,
        )
    )
    other = factories.account(session)
    factories.payment(session, other, amount_paise=1, paid_at=NOW, ref="R3")
    session.commit()

    rows = my_account.payment_history(uow, acc.id)

    assert [(r.payment_id, r.amount_paise, r.receipt, r.cycle) for r in rows] == [
        (second.id, 166_400, "R2", "2026-10"),
        (first.id, 100_000, "R1", None),
    ]


def test_what_was_paid_since_the_bill_counts_against_it(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    b = factories.priced_bill(session, acc, cycle="2026-10", units=240)
    factories.payment(session, acc, amount_paise=50_000, paid_at=b.issued_at + dt.timedelta(days=3))
    factories.payment(session, acc, amount_paise=70_000, paid_at=b.issued_at - dt.timedelta(days=3))
    session.commit()

    doc = my_account.current_bill(uow, acc.id)

    assert doc is not None
    assert (doc.paid_paise, doc.outstanding_paise) == (50_000, b.amount_paise - 50_000)


@pytest.mark.parametrize(
    ("after", "before", "revised"),
    [
        (2, 1, False),  # a few payments: all of them are on the page
        (30, 0, False),  # more since the bill than the page lists: counted by the database
        (20, 10, False),  # the page's oldest payment predates the bill: counted from the page's payments
        (3, 2, True),  # a revised bill: what was paid since its cycle's first bill
    ],
)
def test_my_account_counts_everything_paid_since_the_bill_however_many_payments(
    uow: UnitOfWork, session: Session, after: int, before: int, revised: bool
) -> None:
    # "my account" counts what was paid since the bill from the payments it lists when they hold them all, else
    # asks the database: both must say what the bill's own page says.
    acc = factories.account(session)
    first = factories.priced_bill(session, acc, cycle="2026-10", units=240)
    issued = first.issued_at
    if revised:
        first.status = "superseded"
        session.flush()
        factories.priced_bill(session, acc, cycle="2026-10", units=200, version=2)
        issued = first.issued_at  # the cycle's first bill: a revision does not forget what was paid
    for i in range(after):
        factories.payment(session, acc, amount_paise=1_000 + i, paid_at=issued + dt.timedelta(hours=i + 1))
    for i in range(before):
        factories.payment(session, acc, amount_paise=50_000, paid_at=issued - dt.timedelta(days=i + 1))
    session.commit()

    page = my_account.my_account(uow, acc.id)
    alone = my_account.current_bill(uow, acc.id)

    assert page.current_bill is not None
    assert alone is not None
    expected = sum(1_000 + i for i in range(after))
    assert page.current_bill.paid_paise == alone.paid_paise == expected
    assert page.current_bill.version == (2 if revised else 1)


def test_the_overview_masks_every_mobile(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, mobiles=("+919876543210", "+918765432109"))
    factories.meter(session, acc, number="OLD001", installed_on=dt.date(2015, 4, 1), removed_on=dt.date(2024, 1, 1))
    factories.meter(session, acc, number="NEW002", installed_on=dt.date(2024, 1, 1))
    session.commit()

    overview = my_account.account_overview(uow, acc.id)

    assert [m.masked for m in overview.mobiles] == ["+91*******210", "+91*******109"]
    assert all("9876543210" not in repr(m) for m in overview.mobiles)
    assert (overview.category, overview.category_description) == ("LMV-1U", "Domestic, urban, metered")
    assert overview.sanctioned_load_kw == Decimal("2.00")
    assert overview.meter_no == "NEW002"
    assert overview.feeder_name.startswith("Test F-")
    assert overview.sub_division.startswith("Sub-division")


def test_an_old_bill_names_the_meter_in_service_then(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    factories.meter(session, acc, number="OLD001", installed_on=dt.date(2015, 4, 1), removed_on=dt.date(2026, 1, 1))
    factories.meter(session, acc, number="NEW002", installed_on=dt.date(2026, 1, 1))
    old = factories.priced_bill(session, acc, cycle="2025-10", units=100)
    new = factories.priced_bill(session, acc, cycle="2026-10", units=100)
    session.commit()

    assert my_account.bill_document(uow, acc.id, old.id).meter_no == "OLD001"
    assert my_account.bill_document(uow, acc.id, new.id).meter_no == "NEW002"


def test_why_is_my_bill_high_is_the_ivrs_explanation(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    factories.priced_bill(session, acc, cycle="2026-09", units=210)
    factories.priced_bill(session, acc, cycle="2026-10", units=420)
    session.commit()

    assert my_account.why_is_my_bill_high(uow, acc.id) == explain_bill(uow, acc.account_no)


def test_the_my_account_page_explains_the_bill_as_the_ivr_does_from_the_bills_it_read(
    uow: UnitOfWork, session: Session
) -> None:
    """Last year's month, a revised previous month (its version in force counts) and a gap: the same facts."""
    acc = factories.account(session)
    factories.priced_bill(session, acc, cycle="2025-10", units=180, status="paid")
    for month in range(11, 13):
        factories.priced_bill(session, acc, cycle=f"2025-{month:02d}", units=150, status="paid")
    for month in range(1, 9):  # 2026-09 is missing: no previous bill
        factories.priced_bill(session, acc, cycle=f"2026-{month:02d}", units=160, status="paid")
    factories.priced_bill(session, acc, cycle="2026-10", units=420, basis="estimated", arrears_paise=9_000)
    session.commit()

    page = my_account.my_account(uow, acc.id)
    assert page.explanation == my_account.why_is_my_bill_high(uow, acc.id)
    assert page.explanation is not None
    assert (page.explanation.units_last_bill, page.explanation.units_same_month_last_year) == (None, 180)
    assert page.explanation.slab is not None

    factories.priced_bill(session, acc, cycle="2026-09", units=300, status="superseded")
    factories.priced_bill(session, acc, cycle="2026-09", units=250, version=2, status="paid")
    session.commit()
    page = my_account.my_account(uow, acc.id)
    assert page.explanation == my_account.why_is_my_bill_high(uow, acc.id)
    assert page.explanation is not None
    assert page.explanation.units_last_bill == 250


# ------------------------------------------------------------------------------------------------
# Bills the billing run and the demo seed wrote, in a database of this module's own (they commit)


@pytest.fixture(scope="module")
def pg_own_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_my_account") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_own_engine")


def test_bills_of_the_billing_run_are_itemised_to_the_paisa(engine: Engine) -> None:
    """Two cycles billed by the run: actual then unpaid with arrears and surcharge; the lines are what it stored."""
    with Session(engine) as session:
        acc = factories.account(session, category="LMV-1U")
        meter = Meter(
            account_id=acc.id, number=f"M{uuid.uuid4().hex[:8]}", make="Genus", installed_on=dt.date(2015, 4, 1)
        )
        session.add(meter)
        session.flush()
        for day, kwh in ((dt.date(2026, 8, 14), 4000), (dt.date(2026, 9, 15), 4_410), (dt.date(2026, 10, 13), 4_700)):
            session.add(
                Reading(
                    account_id=acc.id,
                    meter_id=meter.id,
                    read_on=day,
                    kwh=kwh,
                    kind="actual",
                    source="handheld",
                    created_at=NOW,
                )
            )
        session.commit()
        account_id = acc.id
        account_no = acc.account_no
    bill_run(engine, "2026-08", now=dt.datetime(2026, 9, 2, 6, tzinfo=dt.UTC))
    bill_run(engine, "2026-09", now=dt.datetime(2026, 10, 2, 6, tzinfo=dt.UTC))
    bill_run(engine, "2026-10", now=dt.datetime(2026, 11, 3, 6, tzinfo=dt.UTC))  # nothing paid: arrears, LPS
    uow = UnitOfWork(make_session_factory(engine))
    my_account.my_account(uow, account_id)  # the stored schedule is parsed once per process
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql)

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = my_account.my_account(uow, account_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The page is a handful of indexed reads, however long the account's history (see cis.my_account): the
    # account, its mobiles and meters, its bills, its payments (which hold what was paid since the bill).
    assert len([sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]) == 4

    doc = page.current_bill
    assert doc is not None
    assert (doc.cycle, doc.basis, doc.previous_kwh, doc.current_kwh, doc.units) == (
        "2026-10",
        "actual",
        4_410,
        4_700,
        290,
    )
    assert doc.period_days == 28  # pro-rated slabs: 150 units become 140 over 28 days
    assert doc.slabs is not None
    assert doc.slabs[0] == SlabLine(0, 140, 140, 550, 77_000)
    assert doc.arrears_paise > 0
    assert doc.lps_paise > 0
    assert doc.schedule_code == "UPERC-2022-23"
    _lines_add_up(doc)
    assert [b.cycle for b in page.bills] == ["2026-10", "2026-09", "2026-08"]
    for row in page.bills:
        _lines_add_up(my_account.bill_document(uow, account_id, row.bill_id))

    revise_bill(uow, account_no, "2026-10", reason="meter re-read", actor="staff:sdo", current_kwh=4_650, now=NOW)
    revised = my_account.current_bill(uow, account_id)
    assert revised is not None
    assert (revised.version, revised.units, revised.supersedes_id) == (2, 240, doc.bill_id)
    _lines_add_up(revised)


def test_seeded_bills_are_itemised_and_add_up_to_their_stored_totals(engine: Engine) -> None:
    """Every seeded account's current bill, and every bill of a few: the demo seed charges whole months."""
    seed(engine, 150, seed=5, as_of=dt.date(2026, 11, 20))
    uow = UnitOfWork(make_session_factory(engine))
    with Session(engine) as session:
        billed = list(session.scalars(select(Bill.account_id).distinct().order_by(Bill.account_id)))
        some = session.execute(select(Bill.id, Bill.account_id).where(Bill.account_id.in_(billed[::30]))).all()
    assert len(billed) > 100

    for account_id in billed:
        doc = my_account.my_account(uow, account_id).current_bill
        assert doc is not None
        assert doc.slabs is not None
        _lines_add_up(doc)
    for bill_id, account_id in some:
        doc = my_account.bill_document(uow, account_id, bill_id)
        assert doc.slabs is not None
        _lines_add_up(doc)
