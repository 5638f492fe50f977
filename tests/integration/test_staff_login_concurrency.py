"""Sign-ins arriving at once, on real threads against PostgreSQL and a SQLite file: the lock-out counts every try."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from cis.db import make_session_factory
from cis.models import LoginAttempt
from cis.staff_auth import WerkzeugHasher
from tests.conftest import emptied_engine, own_postgres_database
from tests.integration.test_staff_login import Clock, add_staff, form_token, staff_app

PASSWORD = "demo1912"
# A hash that takes a few milliseconds, so that the tries overlap as they would with scrypt in production.
_SLOW = "pbkdf2:sha256:60000"
_SLOW_HASH = generate_password_hash(PASSWORD, method=_SLOW)


@pytest.fixture(scope="module")
def pg_login_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_logins") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_login_engine")


@pytest.fixture
def factory(engine: Engine) -> Callable[[], Session]:
    return make_session_factory(engine)


def _at_once(clients: list[FlaskClient], forms: list[dict[str, str]]) -> list[int]:
    """POST each form to /login from its own client on its own thread, all released together; the statuses."""
    gate = threading.Barrier(len(clients))
    statuses: list[int] = [0] * len(clients)

    def run(i: int) -> None:
        gate.wait()
        statuses[i] = clients[i].post("/login", data=forms[i]).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


def _evaluated(factory: Callable[[], Session]) -> Counter[str]:
    """Tries whose password was checked (each leaves one login_attempt row), by username."""
    with factory() as s:
        return Counter(
            dict(s.execute(select(LoginAttempt.username, func.count()).group_by(LoginAttempt.username)).all())
        )


def test_thirty_wrong_passwords_at_once_check_only_five(factory: Callable[[], Session]) -> None:
    with factory() as s:
        add_staff(s, "desk.kn1", password_hash=_SLOW_HASH)
        s.commit()
    app = staff_app(factory, Clock(), hasher=WerkzeugHasher(_SLOW))
    clients = [app.test_client() for _ in range(30)]
    forms = [
        {"username": "desk.kn1", "password": f"guess{n}", "csrf_token": form_token(c)} for n, c in enumerate(clients)
    ]

    statuses = _at_once(clients, forms)

    assert Counter(statuses) == {401: 5, 429: 25}
    assert _evaluated(factory) == {"desk.kn1": 5}
    # The right password is refused too while the lock holds.
    assert clients[0].post("/login", data={**forms[0], "password": PASSWORD}).status_code == 429


def test_forty_tries_at_once_from_one_address_check_only_twenty(factory: Callable[[], Session]) -> None:
    app = staff_app(factory, Clock(), hasher=WerkzeugHasher(_SLOW))
    clients = [app.test_client() for _ in range(40)]
    forms = [{"username": f"guess{n}", "password": "wrong", "csrf_token": form_token(c)} for n, c in enumerate(clients)]

    statuses = _at_once(clients, forms)

    assert Counter(statuses) == {401: 20, 429: 20}
    assert sum(_evaluated(factory).values()) == 20
