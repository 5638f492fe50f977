"""A scratch PostgreSQL database for a benchmark: created, migrated, and dropped afterwards unless kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from cis.db import make_engine
from cis.migrate import upgrade

SERVER_SETTINGS = ("server_version", "shared_buffers", "max_wal_size", "fsync", "synchronous_commit")


@contextmanager
def scratch_database(url: str, prefix: str, *, keep: bool = False) -> Iterator[tuple[Engine, dict[str, str]]]:
    """(engine, server settings) for a new database on the server of `url`."""
    server = url.rsplit("/", 1)[0]
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        settings = {k: str(conn.exec_driver_sql(f"SHOW {k}").scalar()) for k in SERVER_SETTINGS}
    engine = make_engine(f"{server}/{name}")
    try:
        upgrade(engine)
        yield engine, settings
    finally:
        engine.dispose()
        if keep:
            print(f"kept database {name}")
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()
