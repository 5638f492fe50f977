"""The demo seed on the real PostgreSQL server (a database of its own) and on SQLite."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, inspect, select, text

from cis.accounts import account_summary, find_accounts_by_mobile
from cis.complaints import complaint_status
from cis.db import UnitOfWork, make_session_factory
from cis.models import (
    Account,
    AccountMobile,
    Bill,
    Circle,
    Complaint,
    Consumer,
    DistributionTransformer,
    Division,
    Feeder,
    Payment,
    Reading,
    RosterFeeder,
    RosterSchedule,
    RosterSubscription,
    Staff,
    SubDivision,
    Substation,
    Zone,
)
from cis.phones import normalise_mobile
from cis.seed import ROSTER_SUBSCRIPTIONS, SeedError, reset, seed
from tests.conftest import own_postgres_database

AS_OF = dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def seed_engine(postgres_url: str) -> Iterator[Engine]:
    """A database created for this module, since the seed commits and rebuilds indexes."""
    with own_postgres_database(postgres_url, "urja_seed") as engine:
        yield engine


def _fingerprint(engine: Engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table, order in (
            ("account", "id"),
            ("consumer", "id"),
            ("account_mobile", "id"),
            ("reading", "id"),
            ("bill", "id"),
            ("payment", "id"),
            ("complaint", "id"),
        ):
            cols = {
                "account": "account_no, category, sanctioned_load_kw, status, address, dt_id",
                "consumer": "name, name_hi, email",
                "account_mobile": "account_id, e164",
                "reading": "account_id, read_on, kwh, kind",
                "bill": "account_id, cycle, units, amount_paise, arrears_paise, status",
                "payment": "bill_id, amount_paise, channel, paid_at",
                "complaint": "number, account_id, mobile, category, status, created_at",
            }[table]
            for row in conn.exec_driver_sql(f"SELECT {cols} FROM {table} ORDER BY {order}"):
                digest.update(repr(tuple(str(v) for v in row)).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def seeded(seed_engine: Engine) -> Engine:
    report = seed(seed_engine, 3000, seed=7, as_of=AS_OF)
    assert report.consumers == 3000
    return seed_engine


def test_seed_builds_a_discom_with_a_year_of_history(seeded: Engine) -> None:
    with seeded.connect() as conn:
        accounts = conn.scalar(select(func.count()).select_from(Account))
        cycles = conn.scalars(select(Bill.cycle).distinct().order_by(Bill.cycle)).all()
        categories = set(conn.scalars(select(Account.category).distinct()))
        statuses = set(conn.scalars(select(Account.status).distinct()))
        kinds = set(conn.scalars(select(Reading.kind).distinct()))
        complaint_states = set(conn.scalars(select(Complaint.status).distinct()))
        roles = set(conn.scalars(select(Staff.role).distinct()))
    assert accounts == 3000
    assert cycles[0] == "2025-11"
    assert cycles[-1] == "2026-10"
    assert len(cycles) == 12
    assert {"LMV-1U", "LMV-1R", "LMV-1L", "LMV-2", "LMV-5"} <= categories
    assert statuses == {"active", "temp_disconnected", "perm_disconnected"}
    assert {"actual", "estimated", "assessed"} <= kinds
    assert {"open", "resolved", "closed"} <= complaint_states
    assert {"agent", "je", "sdo", "ee", "se", "outage_desk", "cashier", "admin"} == roles


def test_seed_bills_add_up_and_follow_the_readings(seeded: Engine) -> None:
    with seeded.connect() as conn:
        wrong_total = conn.scalar(
            text(
                "SELECT COUNT(*) FROM bill WHERE amount_paise <> energy_paise + fixed_paise + duty_paise "
                "+ other_paise + arrears_paise + lps_paise OR amount_paise % 100 <> 0 "
                "OR units <> (current_kwh - previous_kwh + 1000000) % 1000000 "  # 6-digit registers roll over
                "OR units <= 0 OR current_kwh >= 1000000"
            )
        )
        unmatched = conn.scalar(
            text(
                "SELECT COUNT(*) FROM bill b JOIN reading r ON r.account_id = b.account_id "
                "AND r.read_on = b.period_end WHERE r.kwh <> b.current_kwh"
            )
        )
        paid_without_payment = conn.scalar(
            text(
                "SELECT COUNT(*) FROM bill b LEFT JOIN payment p ON p.bill_id = b.id "
                "WHERE (b.status = 'paid') <> (p.id IS NOT NULL)"
            )
        )
        arrears = conn.scalar(text("SELECT COUNT(*) FROM bill WHERE arrears_paise > 0"))
    assert wrong_total == 0
    assert unmatched == 0
    assert paid_without_payment == 0
    assert arrears > 0  # some consumers stopped paying, and their arrears carry forward


def test_seed_mobiles_are_valid_and_some_hold_several_accounts(seeded: Engine) -> None:
    with seeded.connect() as conn:
        mobiles = conn.scalars(select(AccountMobile.e164)).all()
        shared = conn.execute(
            select(AccountMobile.e164).group_by(AccountMobile.e164).having(func.count() > 1).limit(1)
        ).scalar()
    assert len(mobiles) > 2500
    assert all(normalise_mobile(m) == m for m in mobiles)
    assert shared is not None
    found = find_accounts_by_mobile(UnitOfWork(make_session_factory(seeded)), shared[3:])
    assert len(found) >= 2


def test_seeded_accounts_and_complaints_answer_the_use_cases(seeded: Engine) -> None:
    uow = UnitOfWork(make_session_factory(seeded))
    with seeded.connect() as conn:
        account_no = conn.scalar(select(Account.account_no).where(Account.status == "active").limit(1))
        number = conn.scalar(select(Complaint.number).limit(1))
    summary = account_summary(uow, account_no)
    assert summary.latest_bill is not None
    assert summary.latest_bill.cycle == "2026-10"
    assert complaint_status(uow, number).number == number


def test_seed_restores_every_key_and_index(seeded: Engine) -> None:
    inspector = inspect(seeded)
    assert {fk["name"] for fk in inspector.get_foreign_keys("bill")} == {
        "fk_bill_account_id_account",
        "fk_bill_supersedes_id_bill",
        "fk_bill_tariff_schedule_id_tariff_schedule",
    }
    assert "uq_account_account_no" in {u["name"] for u in inspector.get_unique_constraints("account")}
    assert "ix_reading_account_id_read_on" in {i["name"] for i in inspector.get_indexes("reading")}
    with seeded.connect() as conn:  # sequences continue after the seeded ids
        next_id = conn.scalar(text("SELECT nextval(pg_get_serial_sequence('account', 'id'))"))
    assert next_id == 3001


def test_seed_analyses_each_loaded_table_before_the_last_phase_queries_it(seeded: Engine) -> None:
    with seeded.connect() as conn:
        analysed = dict(conn.execute(text("SELECT relname, last_analyze FROM pg_stat_user_tables")).all())
        subscribed_at = conn.scalar(select(func.min(RosterSubscription.created_at)))
    assert subscribed_at is not None
    assert all(analysed[t] is not None for t in analysed if t != "alembic_version"), analysed
    for table in ("consumer", "account_mobile", "meter", "reading", "bill", "payment"):
        assert analysed[table] < subscribed_at, table  # the roster subscriptions were planned with statistics


def test_seed_refuses_a_database_that_has_accounts(seeded: Engine) -> None:
    with pytest.raises(SeedError, match="reset"):
        seed(seeded, 10, seed=7, as_of=AS_OF)


def test_seed_is_deterministic_for_a_seed_and_differs_across_seeds(seed_engine: Engine, seeded: Engine) -> None:
    first = _fingerprint(seeded)
    reset(seed_engine)
    seed(seed_engine, 3000, seed=7, as_of=AS_OF)
    assert _fingerprint(seed_engine) == first
    reset(seed_engine)
    seed(seed_engine, 3000, seed=8, as_of=AS_OF)
    assert _fingerprint(seed_engine) != first


def test_seed_on_sqlite_gives_the_same_data_as_on_postgresql(seed_engine: Engine, sqlite_engine: Engine) -> None:
    reset(seed_engine)
    seed(seed_engine, 400, seed=3, as_of=AS_OF)
    seed(sqlite_engine, 400, seed=3, as_of=AS_OF)
    with seed_engine.connect() as pg, sqlite_engine.connect() as lite:
        query = select(Bill.account_id, Bill.cycle, Bill.units, Bill.amount_paise).order_by(Bill.id)
        assert pg.execute(query).all() == lite.execute(query).all()
        query = select(Payment.id, Payment.amount_paise).order_by(Payment.id)
        assert pg.execute(query).all() == lite.execute(query).all()
        query = select(Complaint.number, Complaint.account_id, Complaint.mobile, Complaint.category).order_by(
            Complaint.id
        )
        assert pg.execute(query).all() == lite.execute(query).all()


# --- the seed's statements on tables loaded a moment before, without statistics ---------------------------

FRESH_ACCOUNTS = 10_000


def _fresh_network(engine: Engine) -> set[tuple[int, str]]:
    """Accounts and mobiles on four feeders (two rural, on a roster), loaded in bulk as the seed loads them and
    never analysed; returns the roster subscriptions the seed owes them: (account, its first mobile)."""
    tables = ("account", "account_mobile", "distribution_transformer", "roster_feeder")
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in tables:  # nothing may analyse them behind the test's back
                conn.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        conn.execute(insert(Zone), [{"id": 1, "code": "Z1", "name": "Zone"}])
        conn.execute(insert(Circle), [{"id": 1, "zone_id": 1, "code": "C1", "name": "Circle"}])
        conn.execute(insert(Division), [{"id": 1, "circle_id": 1, "code": "D1", "name": "Division"}])
        conn.execute(insert(SubDivision), [{"id": 1, "division_id": 1, "code": "SD1", "name": "Sub-division"}])
        conn.execute(insert(Substation), [{"id": 1, "sub_division_id": 1, "code": "SS1", "name": "Substation"}])
        kinds = {1: "urban", 2: "rural", 3: "urban", 4: "rural"}
        conn.execute(
            insert(Feeder),
            [{"id": f, "substation_id": 1, "code": f"F{f}", "name": f"F-{f}", "kind": k} for f, k in kinds.items()],
        )
        dts = FRESH_ACCOUNTS // 80
        conn.execute(
            insert(DistributionTransformer),
            [
                {"id": d, "feeder_id": 1 + d % 4, "code": f"DT{d}", "name": f"DT {d}", "capacity_kva": 100}
                for d in range(1, dts + 1)
            ],
        )
        conn.execute(
            insert(Consumer),
            [{"id": a, "name": f"Consumer {a}", "preferred_language": "hi"} for a in range(1, FRESH_ACCOUNTS + 1)],
        )
        conn.execute(
            insert(Account),
            [
                {
                    "id": a,
                    "account_no": f"{4_000_000_000 + a}",
                    "consumer_id": a,
                    "dt_id": 1 + (a - 1) * dts // FRESH_ACCOUNTS,
                    "category": "LMV-1R",
                    "sanctioned_load_kw": 1,
                    "supply_type": "LT-1PH",
                    "status": "active",
                    "address": "Village",
                    "connected_on": dt.date(2015, 4, 1),
                    "sms_opt_out": False,
                }
                for a in range(1, FRESH_ACCOUNTS + 1)
            ],
        )
        # Every account but one in five has a mobile; one in three of those added a second, later.
        mobiles = [(a, f"+9198{a:08d}") for a in range(1, FRESH_ACCOUNTS + 1) if a % 5]
        mobiles += [(a, f"+9197{a:08d}") for a in range(1, FRESH_ACCOUNTS + 1) if a % 5 and a % 3 == 0]
        conn.execute(
            insert(AccountMobile),
            [
                {"id": i, "account_id": a, "e164": e164, "verified": True, "added_via": "office", "added_at": now}
                for i, (a, e164) in enumerate(mobiles, start=1)
            ],
        )
        conn.execute(
            insert(RosterSchedule),
            [
                {
                    "id": 1,
                    "name": "Rural feeders, daily",
                    "division_id": 1,
                    "off_slots": "01:00-04:00",
                    "valid_from": dt.date(2026, 10, 1),
                    "active": True,
                    "created_by": "test",
                    "created_at": now,
                }
            ],
        )
        conn.execute(insert(RosterFeeder), [{"roster_id": 1, "feeder_id": 2}, {"roster_id": 1, "feeder_id": 4}])
        if engine.dialect.name == "postgresql":
            analysed = conn.scalar(text("SELECT COUNT(*) FROM pg_stats WHERE tablename = ANY(:t)"), {"t": list(tables)})
            assert analysed == 0  # else the test would not show the plan PostgreSQL picks on fresh tables
    rural_dts = {d for d in range(1, dts + 1) if (1 + d % 4) in (2, 4)}
    first: dict[int, str] = {}
    for a, e164 in mobiles:
        first.setdefault(a, e164)
    return {(a, e164) for a, e164 in first.items() if a % 10 == 3 and 1 + (a - 1) * dts // FRESH_ACCOUNTS in rural_dts}


def _rows_handled(plan: dict[str, Any]) -> int:
    """Rows every node of an EXPLAIN ANALYZE plan produced or read and threw away, over all its loops."""
    loops = int(plan.get("Actual Loops", 1))
    own = sum(
        int(plan.get(key, 0))
        for key in (
            "Actual Rows",
            "Rows Removed by Filter",
            "Rows Removed by Join Filter",
            "Rows Removed by Index Recheck",
        )
    )
    return own * loops + sum(_rows_handled(child) for child in plan.get("Plans", []))


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_fresh") as engine:
        yield engine


def test_roster_subscriptions_on_unanalysed_tables_do_work_in_proportion_to_the_rows(fresh_postgres: Engine) -> None:
    """On PostgreSQL, the seed's roster statement reads each row a bounded number of times whatever the
    planner knows: counted in rows from EXPLAIN ANALYZE, not in seconds."""
    expected = _fresh_network(fresh_postgres)
    now = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    with fresh_postgres.connect() as conn:
        rows_in_tables = int(
            conn.scalar(text("SELECT (SELECT COUNT(*) FROM account) + (SELECT COUNT(*) FROM account_mobile)")) or 0
        )
        plan = conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + ROSTER_SUBSCRIPTIONS), {"now": now}).scalar_one()
        handled = _rows_handled(plan[0]["Plan"])
        subscribed = {(a, m) for a, m in conn.execute(select(RosterSubscription.account_id, RosterSubscription.e164))}
        conn.rollback()
    assert subscribed == expected
    # A lookup per account that walks the table would handle millions of rows here (hundreds of times the table).
    assert handled < 10 * rows_in_tables, f"{handled:,} rows handled for {rows_in_tables:,} in the tables"


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_seed_subscribes_the_first_mobile_of_one_account_in_ten_on_rostered_feeders(
    backend: str, request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue("fresh_postgres" if backend == "postgres" else "sqlite_engine")
    expected = _fresh_network(engine)
    now = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(text(ROSTER_SUBSCRIPTIONS), {"now": now})
    with engine.connect() as conn:
        rows = conn.execute(
            select(RosterSubscription.account_id, RosterSubscription.e164).order_by(RosterSubscription.id)
        ).all()
    assert len(expected) > 100
    assert {(a, m) for a, m in rows} == expected
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # ids follow the accounts, whatever the plan
