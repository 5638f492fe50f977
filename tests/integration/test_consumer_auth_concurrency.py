"""Portal tries arriving at once, on real threads against PostgreSQL and a SQLite file: the limits hold."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cis import consumer_auth as ca
from cis.db import UnitOfWork, make_session_factory
from cis.errors import NoPendingOtp, TooManyOtpRequests, TooManySignInTries, WrongAccountPassword, WrongOtp
from cis.models import LoginAttempt, OtpChallenge, Outbox
from cis.numbers import bill_no_for_id
from cis.passwords import WerkzeugHasher
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database

NOW = factories.NOW
ACCOUNT = "4930000001"
MOBILE = "+919876548113"
PASSWORD = "Kidwai Nagar 208011"
# A hash that takes a few milliseconds, so that the tries overlap as they would with scrypt in production.
SLOW = WerkzeugHasher("pbkdf2:sha256:60000")


@pytest.fixture(scope="module")
def pg_portal_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_portal") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_portal_engine")


@pytest.fixture
def factory(engine: Engine) -> Callable[[], Session]:
    return make_session_factory(engine)


@pytest.fixture
def bill_no(factory: Callable[[], Session]) -> str:
    with factory() as session:
        acc = factories.account(session, account_no=ACCOUNT, mobiles=(MOBILE,))
        number = bill_no_for_id(factories.bill(session, acc).id)
        session.commit()
    return number


def _at_once(count: int, attempt: Callable[[int], object]) -> list[str]:
    """Run `attempt(i)` for i < count on threads released together; what each answered (an error's name)."""
    gate = threading.Barrier(count)
    answers = [""] * count

    def run(i: int) -> None:
        gate.wait()
        try:
            attempt(i)
            answers[i] = "ok"
        except Exception as exc:  # the answer is what is tallied
            answers[i] = type(exc).__name__

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


def _code(factory: Callable[[], Session]) -> str:
    with factory() as s:
        return str(s.scalars(select(Outbox.payload).order_by(Outbox.id.desc())).first()["otp"])  # type: ignore[index]


def test_thirty_wrong_passwords_at_once_check_only_five(factory: Callable[[], Session], bill_no: str) -> None:
    step = ca.start_registration(UnitOfWork(factory), ACCOUNT, bill_no, remote_addr="192.0.2.1", now=NOW)
    ca.finish_registration(UnitOfWork(factory), step.ticket, _code(factory), PASSWORD, now=NOW, hasher=SLOW)

    answers = _at_once(
        30,
        lambda i: ca.sign_in_password(
            UnitOfWork(factory), ACCOUNT, f"guess {i}", remote_addr=f"198.51.100.{i}", now=NOW, hasher=SLOW
        ),
    )

    assert Counter(answers) == {WrongAccountPassword.__name__: 5, TooManySignInTries.__name__: 25}
    with factory() as s:
        checked = s.scalar(select(func.count()).where(LoginAttempt.username == f"account:{ACCOUNT}"))
    assert checked == 5
    with pytest.raises(TooManySignInTries):  # the right password waits too
        ca.sign_in_password(UnitOfWork(factory), ACCOUNT, PASSWORD, remote_addr="192.0.2.1", now=NOW, hasher=SLOW)


def test_thirty_wrong_codes_at_once_are_five_tries(factory: Callable[[], Session], bill_no: str) -> None:
    step = ca.start_registration(UnitOfWork(factory), ACCOUNT, bill_no, remote_addr="192.0.2.1", now=NOW)
    code = _code(factory)
    wrong = [f"{(int(code) + 1 + n) % 1_000_000:06d}" for n in range(30)]

    answers = _at_once(
        30,
        lambda i: ca.finish_registration(UnitOfWork(factory), step.ticket, wrong[i], PASSWORD, now=NOW, hasher=SLOW),
    )

    assert Counter(answers) == {WrongOtp.__name__: 5, NoPendingOtp.__name__: 25}
    with factory() as s:
        assert s.scalars(select(OtpChallenge.attempts)).one() == 5


def test_ten_sign_in_codes_asked_at_once_send_three(factory: Callable[[], Session], bill_no: str) -> None:
    answers = _at_once(10, lambda i: ca.sign_in_otp(UnitOfWork(factory), MOBILE, now=NOW))

    assert Counter(answers) == {"ok": 3, TooManyOtpRequests.__name__: 7}
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Outbox)) == 3
