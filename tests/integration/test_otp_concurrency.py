"""OTP guesses arriving at once, on real threads against PostgreSQL and a SQLite file: five tries, never more."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork, make_session_factory
from cis.errors import NoPendingOtp, TooManyOtpRequests, WrongOtp
from cis.models import OtpChallenge, Outbox
from cis.otp import confirm_link_otp, request_link_otp
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database

NOW = factories.NOW
ACCOUNT = "4930000001"
ON_RECORD = "+919876543210"
NEW = "+919811122233"


@pytest.fixture(scope="module")
def pg_otp_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_otp") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_otp_engine")


@pytest.fixture
def factory(engine: Engine) -> Callable[[], Session]:
    with make_session_factory(engine)() as session:
        factories.account(session, account_no=ACCOUNT, mobiles=(ON_RECORD,))
        session.commit()
    return make_session_factory(engine)


def _at_once(count: int, attempt: Callable[[int], str]) -> list[str]:
    """Run `attempt(i)` for i < count on threads released together; what each answered (an error's name)."""
    gate = threading.Barrier(count)
    answers = [""] * count

    def run(i: int) -> None:
        gate.wait()
        try:
            answers[i] = attempt(i)
        except Exception as exc:  # the answer is what is tallied
            answers[i] = type(exc).__name__

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


def test_thirty_wrong_codes_at_once_are_five_tries(factory: Callable[[], Session]) -> None:
    request_link_otp(UnitOfWork(factory), ACCOUNT, NEW, via="sms", now=NOW, request_id="SM0")
    with factory() as s:
        code = str(s.scalars(select(Outbox.payload)).one()["otp"])
    wrong = [f"{(int(code) + 1 + n) % 1_000_000:06d}" for n in range(30)]

    answers = _at_once(
        30,
        lambda i: confirm_link_otp(UnitOfWork(factory), NEW, wrong[i], via="sms", now=NOW, request_id=f"sms:SM{i + 1}"),
    )

    assert Counter(answers) == {WrongOtp.__name__: 5, NoPendingOtp.__name__: 25}
    with factory() as s:
        assert s.scalars(select(OtpChallenge.attempts)).one() == 5
    # The challenge is dead: even the right code is refused now.
    with pytest.raises(NoPendingOtp):
        confirm_link_otp(UnitOfWork(factory), NEW, code, via="sms", now=NOW)


def test_ten_code_requests_at_once_send_three(factory: Callable[[], Session]) -> None:
    answers = _at_once(
        10,
        lambda i: (
            request_link_otp(UnitOfWork(factory), ACCOUNT, NEW, via="sms", now=NOW, request_id=f"SM{i}").sent_to_ending
        ),
    )

    assert Counter(answers) == {"3210": 3, TooManyOtpRequests.__name__: 7}
    with factory() as s:
        assert len(s.scalars(select(OtpChallenge.id)).all()) == 3
        assert len(s.scalars(select(Outbox.id)).all()) == 3


def test_one_mobile_asking_for_four_accounts_at_once_gets_three_codes(factory: Callable[[], Session]) -> None:
    others = [f"493000000{n}" for n in (2, 3, 4)]
    with factory() as s:
        for n, number in enumerate(others):
            factories.account(s, account_no=number, mobiles=(f"+9198765432{n + 20}",))
        s.commit()
    numbers = [ACCOUNT, *others] * 3

    answers = _at_once(
        len(numbers),
        lambda i: (
            request_link_otp(UnitOfWork(factory), numbers[i], NEW, via="sms", now=NOW, request_id=f"SM{i}").account_no
        ),
    )

    assert Counter(a == TooManyOtpRequests.__name__ for a in answers) == {False: 3, True: 9}
    with factory() as s:
        assert len(s.scalars(select(Outbox.id)).all()) == 3
