"""Fixtures shared by every test package: the real PostgreSQL and Redis servers, and SQLite for smoke runs.

`bin/test` starts or finds the servers and exports URJA_TEST_POSTGRES_URL (a database of this run's
own) and URJA_TEST_REDIS_URL. Tests that need them fail loudly when they are missing: nothing here
skips silently.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cis.db import UnitOfWork, make_engine
from cis.migrate import upgrade

# Properties are about values, not speed (speed lives in bench/): no per-example deadline, so a busy
# CI machine cannot fail a correct property.
settings.register_profile("urja", deadline=None)
settings.load_profile("urja")


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: run the suite with bin/test, which starts PostgreSQL and Redis",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return _required("URJA_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _required("URJA_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """The run's PostgreSQL database, migrated once."""
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test that wants one (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "urjamitra.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_session_factory(pg_engine: Engine) -> Iterator[Callable[[], Session]]:
    """Sessions inside one outer transaction that is rolled back after the test.

    A use case's commit only releases a savepoint, so every test sees its own writes and leaves none.
    """
    connection = pg_engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
    yield factory
    outer.rollback()
    connection.close()


@pytest.fixture(params=["postgres", "sqlite"])
def session_factory(request: pytest.FixtureRequest) -> Callable[[], Session]:
    """The use cases' tests run on the real PostgreSQL server and, as a smoke set, on SQLite."""
    if request.param == "postgres":
        factory: Callable[[], Session] = request.getfixturevalue("pg_session_factory")
        return factory
    engine: Engine = request.getfixturevalue("sqlite_engine")
    return sessionmaker(bind=engine, expire_on_commit=False)


@pytest.fixture
def uow(session_factory: Callable[[], Session]) -> UnitOfWork:
    return UnitOfWork(session_factory)


@pytest.fixture
def session(session_factory: Callable[[], Session]) -> Iterator[Session]:
    """A session for arranging data and for checking what a use case committed."""
    with session_factory() as s:
        yield s


@contextmanager
def own_postgres_database(postgres_url: str, prefix: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database of a test module's own, for work that commits (seed, billing runs)."""
    admin_url = os.environ.get("URJA_TEST_POSTGRES_ADMIN_URL") or postgres_url.rsplit("/", 1)[0] + "/postgres"
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(admin_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def emptied_engine(request: pytest.FixtureRequest, pg_fixture: str) -> Engine:
    """For code that commits, per backend parameter: the module's own PostgreSQL database (the fixture named
    `pg_fixture`) emptied, or a fresh SQLite file."""
    if request.param == "postgres":
        from cis.seed import reset

        pg: Engine = request.getfixturevalue(pg_fixture)
        reset(pg)
        return pg
    lite: Engine = request.getfixturevalue("sqlite_engine")
    return lite


@pytest.fixture
def queue(redis_url: str) -> Iterator[str]:
    """A Celery queue of this test's own on the suite's Redis database, removed afterwards."""
    import redis

    name = f"test-{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)
    client.close()
