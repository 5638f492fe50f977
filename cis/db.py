"""Engines, sessions and the unit of work that every use case runs in."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, Join, Table, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

# A pooled PostgreSQL connection that has sat unused this long is pinged before it is handed out (see
# `_ping_after_idle`); one in steady use is not.
PING_AFTER_IDLE_S = 5.0


@dataclass(frozen=True)
class Timeouts:
    """How long a request may wait on the database, so that nothing waits forever (the web app and webhooks).

    `connect_s`: to open a connection; `statement_s`: one statement, lock waits included (PostgreSQL's
    statement_timeout; SQLite's busy timeout), None for no limit; `pool_s`: for a free connection of the pool.
    Batch work (seeding, the billing run, the outage fan-out) legitimately runs long: give it no Timeouts.
    """

    connect_s: int = 5
    statement_s: int | None = 10
    pool_s: int = 5


def make_engine(url: str, *, timeouts: Timeouts | None = None, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout, as a server would behave.

    With `timeouts`, a statement running (or waiting for a lock) longer than `statement_s` is cancelled and a
    connection or a pool slot not had within its limit raises: SQLAlchemy's OperationalError or TimeoutError,
    which the web edge answers with 503.
    """
    if url.startswith("sqlite"):
        busy = 30 if timeouts is None or timeouts.statement_s is None else timeouts.statement_s
        in_memory = ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite+pysqlite:")
        if timeouts is not None and not in_memory:  # an in-memory database has one connection, no queue
            kwargs.setdefault("pool_timeout", timeouts.pool_s)
        engine = create_engine(url, connect_args={"timeout": busy, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        event.listen(engine, "before_execute", _for_update_takes_the_write_lock)
        return engine
    if timeouts is not None and url.startswith("postgresql"):
        connect_args: dict[str, Any] = {"connect_timeout": max(2, timeouts.connect_s)}  # libpq's minimum is 2
        if timeouts.statement_s:
            connect_args["options"] = f"-c statement_timeout={timeouts.statement_s * 1000}"
        kwargs.setdefault("connect_args", connect_args)
        kwargs.setdefault("pool_timeout", timeouts.pool_s)
    engine = create_engine(url, **kwargs)
    if url.startswith("postgresql"):
        _ping_after_idle(engine)
    return engine


def _ping_after_idle(engine: Engine) -> None:
    """Hand out no pooled connection that the server has dropped (a restart, an idle timeout), without a round
    trip for every checkout.

    SQLAlchemy's `pool_pre_ping` sends `SELECT 1` at every checkout, and with psycopg outside autocommit that
    also opens the transaction (BEGIN): two round trips more for every unit of work, the cost of a small query
    each. A connection that was checked in less than PING_AFTER_IDLE_S ago is handed out as it is: if the
    server went away meanwhile, the statement fails, SQLAlchemy sees the disconnect and recycles the pool
    (every connection checked out before it), and the web edge answers that one request with 503 and
    Retry-After. One idle for longer is pinged in autocommit (no transaction opened, nothing to roll back); a
    ping that fails makes the pool open a new connection, as `pool_pre_ping` does.
    """
    errors = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "checkin")
    def _idle_from(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            record.info["urja_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("urja_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            try:
                dbapi_connection.execute("SELECT 1")
            finally:
                dbapi_connection.autocommit = autocommit
        except errors as exc:
            raise DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


def _for_update_takes_the_write_lock(conn: Connection, statement: Any, *_args: Any) -> None:
    """SELECT ... FOR UPDATE on SQLite: take the database's write lock first, for the rest of the transaction.

    SQLite drops FOR UPDATE, and Python's sqlite3 runs a SELECT outside the transaction that a later write
    opens, so a read-check-write there could act on what another writer had just changed (two OTP tries
    counted as one, two requests both under a rate limit). Holding the write lock from the locking read on,
    no one else writes until this transaction ends and what it reads is the newest, as FOR UPDATE promises.
    """
    if getattr(statement, "_for_update_arg", None) is None:
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is None or dbapi.in_transaction:  # a write of this transaction holds the lock already
        return
    table = next((t for t in map(_leftmost_table, statement.get_final_froms()) if t is not None), None)
    if table is not None:
        # A write that matches no row still opens a write transaction, which is all that is wanted here.
        conn.exec_driver_sql(f'DELETE FROM "{table.name}" WHERE 0')


def _leftmost_table(clause: Any) -> Table | None:
    while isinstance(clause, Join):
        clause = clause.left
    return clause if isinstance(clause, Table) else None


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


class UnitOfWork:
    """One transaction around a use case: `with uow:` ... `uow.commit()`; leaving uncommitted rolls back."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None
        self._read_only = False

    def reading(self) -> UnitOfWork:
        """`with uow.reading():` for a use case that only reads; see `reads_only`. Never write inside it."""
        self._read_only = True
        return self

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        if self._read_only:
            reads_only(self._session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self._session = None
            self._read_only = False

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


def reads_only(session: Session) -> Session:
    """Make `session`, new and not yet used, run each statement by itself on PostgreSQL (autocommit): for the
    reads that every page and call makes (who is signed in, "my account", a bill).

    PostgreSQL's READ COMMITTED gives every statement of a transaction a snapshot of its own anyway, so such a
    session reads exactly what one transaction would, and saves two round trips (BEGIN, ROLLBACK). It also keeps
    psycopg's prepared statements: every ROLLBACK makes psycopg forget them and send DEALLOCATE ALL, so a unit
    of work that reads and rolls back never gets past preparing, and the server plans every query again. A write
    in such a session would commit at once: use it only where nothing is written, or where each write is meant
    to stand by itself. SQLite keeps its one transaction (one snapshot; no round trips to save), and so does a
    session bound to a connection that is in a transaction already.
    """
    bind = session.get_bind()
    # A session bound to a connection (a test's outer transaction, a batch's) reads inside that transaction.
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session


def insert_ignore(dialect: str, table: Any, index_elements: list[str] | None = None) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL or SQLite (on the unique index of `index_elements`,
    or any): the unique key, not the caller, decides what is written once."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=index_elements)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=index_elements)
