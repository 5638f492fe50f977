"""Engines, sessions and the unit of work that every use case runs in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, Join, Table, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


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
    return create_engine(url, pool_pre_ping=True, **kwargs)


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

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
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

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


def insert_ignore(dialect: str, table: Any, index_elements: list[str] | None = None) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL or SQLite (on the unique index of `index_elements`,
    or any): the unique key, not the caller, decides what is written once."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=index_elements)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=index_elements)
