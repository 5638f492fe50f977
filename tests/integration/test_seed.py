"""The demo seed on the real PostgreSQL server (a database of its own) and on SQLite."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from cis.accounts import account_summary, find_accounts_by_mobile
from cis.complaints import complaint_status
from cis.db import UnitOfWork, make_session_factory
from cis.models import Account, AccountMobile, Bill, Complaint, Payment, Reading, Staff
from cis.phones import normalise_mobile
from cis.seed import SeedError, reset, seed
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
    assert {"agent", "je", "sdo", "ee", "se", "outage_desk", "admin"} == roles


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
