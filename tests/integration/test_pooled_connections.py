"""Pooled PostgreSQL connections: read-only units of work keep their prepared statements, and a connection the
server dropped while it sat in the pool is replaced before anyone uses it (cis/db.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.exc import OperationalError

from cis import db
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.models import Account
from tests.conftest import own_postgres_database

ACCOUNT_BY_ID = select(Account.account_no).where(Account.id == bindparam("id"))


@pytest.fixture(scope="module")
def pg_own(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "wt_pool") as engine:
        yield engine


@pytest.fixture
def one_connection(pg_own: Engine) -> Iterator[Engine]:
    """An engine of one pooled connection on the module's database, as the web app makes them."""
    engine = make_engine(pg_own.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _prepared(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT statement FROM pg_prepared_statements")))


def test_reads_in_a_read_only_unit_of_work_are_prepared_once_and_kept(one_connection: Engine) -> None:
    factory = make_session_factory(one_connection)
    for _ in range(8):  # psycopg prepares a statement on its 5th use
        with UnitOfWork(factory).reading() as uow:
            assert uow.session.execute(ACCOUNT_BY_ID, {"id": 1}).first() is None
    assert any("FROM account" in statement for statement in _prepared(one_connection))


def test_reads_in_a_unit_of_work_that_rolls_back_are_never_prepared(one_connection: Engine) -> None:
    # Why `reading()` exists: psycopg forgets its prepared statements at every ROLLBACK (DEALLOCATE ALL), and a
    # unit of work that is left without a commit rolls back.
    factory = make_session_factory(one_connection)
    for _ in range(8):
        with UnitOfWork(factory) as uow:
            uow.session.execute(ACCOUNT_BY_ID, {"id": 1}).first()
    assert not any("FROM account" in statement for statement in _prepared(one_connection))


def test_a_unit_of_work_that_writes_still_rolls_back_what_it_did_not_commit(one_connection: Engine) -> None:
    factory = make_session_factory(one_connection)
    with UnitOfWork(factory) as uow:
        uow.session.execute(text("CREATE TEMP TABLE scratch (n int)"))
        uow.session.execute(text("INSERT INTO scratch VALUES (1)"))
    with one_connection.connect() as conn:
        assert conn.scalar(text("SELECT to_regclass('pg_temp.scratch')")) is None


def test_a_connection_dropped_while_idle_in_the_pool_is_replaced_before_use(
    one_connection: Engine, pg_own: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = make_session_factory(one_connection)
    with UnitOfWork(factory).reading() as uow:
        first = uow.session.scalar(text("SELECT pg_backend_pid()"))
    with pg_own.connect() as admin:  # the server ends it (a restart, an idle timeout) while it sits in the pool
        assert admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}) is True
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # it has been idle "long enough" at once
    with UnitOfWork(factory).reading() as uow:
        second = uow.session.scalar(text("SELECT pg_backend_pid()"))
    assert second is not None
    assert second != first


def test_a_connection_in_steady_use_is_handed_out_without_a_ping(
    one_connection: Engine, pg_own: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Within PING_AFTER_IDLE_S of its last use a connection is not pinged: a drop shows on the next statement,
    # which fails (the web edge answers 503), and the pool then opens a new connection for the one after.
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    factory = make_session_factory(one_connection)
    with UnitOfWork(factory).reading() as uow:
        first = uow.session.scalar(text("SELECT pg_backend_pid()"))
    with pg_own.connect() as admin:
        admin.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    with pytest.raises(OperationalError, match=r"terminat|closed|server"), UnitOfWork(factory).reading() as uow:
        uow.session.scalar(text("SELECT 1"))
    with UnitOfWork(factory).reading() as uow:
        assert uow.session.scalar(text("SELECT pg_backend_pid()")) != first
