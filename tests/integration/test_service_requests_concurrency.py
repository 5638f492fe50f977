"""Requests arriving at once, on real threads against PostgreSQL and a SQLite file: one revision per bill, one
application per proven code, one application of a kind per account, three codes an hour per mobile."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cis.db import UnitOfWork, make_session_factory
from cis.models import Outbox, ServiceRequest
from cis.otp import request_mobile_otp
from cis.service_requests import Application, Upload, apply, request_bill_revision
from tests import factories
from tests import support_files as files
from tests.conftest import emptied_engine, own_postgres_database

NOW = factories.NOW
APPLICANT = "+919811122233"


@pytest.fixture(scope="module")
def pg_requests_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_requests") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_requests_engine")


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


def test_eight_revisions_of_one_bill_at_once_are_one_request(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as s:
        acc = factories.account(s, mobiles=("+919876543210",))
        bill_id, account_id = factories.bill(s, acc).id, acc.id
        s.commit()

    answers = _at_once(
        8,
        lambda i: request_bill_revision(UnitOfWork(factory), account_id, bill_id, "other", f"Try {i}", now=NOW).number,
    )

    numbers = [a for a in answers if a.isdigit()]
    assert len(numbers) == 1
    assert Counter(answers)["RevisionAlreadyOpen"] == 7
    with factory() as s:
        assert s.scalars(select(ServiceRequest.number)).all() == numbers
        assert len(s.scalars(select(Outbox).where(Outbox.template == "request.bill_revision")).all()) == 1


def test_one_proven_code_sent_eight_times_at_once_files_one_application(engine: Engine, tmp_path: Path) -> None:
    factory = make_session_factory(engine)
    with factory() as s:
        sub_division = factories.sub_division_of(s, factories.account(s))
        s.commit()
    request_mobile_otp(UnitOfWork(factory), APPLICANT, via="portal", now=NOW, request_id="race")
    with factory() as s:
        code = str(s.scalars(select(Outbox.payload).where(Outbox.template == "otp.apply")).one()["otp"])
    application = Application(
        kind="new_connection",
        applicant_name="Sunita Devi",
        mobile=APPLICANT,
        otp_code=code,
        address="House 12, Shastri Nagar, Kanpur",
        category="LMV-1U",
        load_kw="2",
        area_class="metro",
        sub_division_id=sub_division,
        uploads=(Upload(files.png(), "id.png", "id_proof"), Upload(files.png(), "deed.png", "ownership_proof")),
    )

    answers = _at_once(8, lambda i: apply(UnitOfWork(factory), application, upload_dir=tmp_path, now=NOW).number)

    assert len([a for a in answers if a.isdigit()]) == 1, answers
    assert set(answers) - {a for a in answers if a.isdigit()} <= {"NoPendingOtp"}
    with factory() as s:
        assert len(s.scalars(select(ServiceRequest)).all()) == 1
    # Files written by the applications that lost are removed with them.
    stored = [p for p in tmp_path.iterdir() if len(p.name) == 64]
    assert len(stored) == 2


def test_eight_load_changes_of_one_account_at_once_are_one_application(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as s:
        account_id = factories.account(s).id
        s.commit()

    answers = _at_once(
        8,
        lambda i: (
            apply(UnitOfWork(factory), Application("load_change", account_id=account_id, load_kw="3"), now=NOW).number
        ),
    )

    assert len([a for a in answers if a.isdigit()]) == 1
    assert Counter(answers)["ApplicationAlreadyOpen"] == 7


def test_ten_code_requests_for_one_mobile_at_once_send_three(engine: Engine) -> None:
    factory = make_session_factory(engine)

    answers = _at_once(
        10,
        lambda i: (
            request_mobile_otp(
                UnitOfWork(factory), APPLICANT, via="portal", now=NOW, request_id=f"burst-{i}"
            ).sent_to_ending
        ),
    )

    assert Counter(answers) == {"2233": 3, "TooManyOtpRequests": 7}
    with make_session_factory(engine)() as s:
        assert len(s.scalars(select(Outbox).where(Outbox.template == "otp.apply")).all()) == 3
