"""Read-check-write use cases under concurrency, on real threads against PostgreSQL and a SQLite file.

They lock what they read with SELECT ... FOR UPDATE; SQLite ignores that clause, so there cis.db takes the
database's write lock at the locking read instead. Either way the second of two clicks sees the first's work.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork, make_session_factory
from cis.models import AuditLog, OutageEvent, OutageRevision
from cis.optout import opt_in, opt_out
from outage.events import Actor, Breakdown, publish_breakdown, restore
from outage.suspects import detect_suspected
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database

NOW = factories.NOW
DESK = Actor("staff:desk-test")
MOBILE = "+919876543210"


@pytest.fixture(scope="module")
def pg_locking_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_locking") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_locking_engine")


@pytest.fixture
def factory(engine: Engine) -> Callable[[], Session]:
    return make_session_factory(engine)


def _at_once(count: int, attempt: Callable[[], object]) -> list[str]:
    """Run `attempt` on `count` threads released together; what each answered (a result, or an error's name)."""
    gate = threading.Barrier(count)
    answers = [""] * count

    def run(i: int) -> None:
        gate.wait()
        try:
            answers[i] = repr(attempt())
        except Exception as exc:  # the answer is what is tallied
            answers[i] = type(exc).__name__

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


def test_ten_starts_at_once_opt_a_mobile_in_once(factory: Callable[[], Session]) -> None:
    opt_out(UnitOfWork(factory), MOBILE, via="sms", message_ref="SM0", now=NOW)

    answers = _at_once(10, lambda: opt_in(UnitOfWork(factory), MOBILE, via="sms", message_ref="SM1", now=NOW))

    assert Counter(answers) == {"True": 1, "False": 9}
    with factory() as s:
        assert s.scalar(select(func.count()).where(AuditLog.action == "sms.opted_in")) == 1


def test_ten_restores_of_one_breakdown_at_once_restore_it_once(factory: Callable[[], Session]) -> None:
    with factory() as s:
        feeder_id = factories.feeder_of(s, factories.account(s, mobiles=(MOBILE,))).id
        s.commit()
    broke = NOW - dt.timedelta(hours=2)
    published = publish_breakdown(
        UnitOfWork(factory),
        Breakdown(since=broke, cause="Conductor snapped", feeder_ids=(feeder_id,)),
        actor=DESK,
        now=broke,
    )

    answers = _at_once(10, lambda: restore(UnitOfWork(factory), published.event_id, actor=DESK, now=NOW).number)

    assert Counter(answers) == {"2": 1, "EventClosed": 9}
    with factory() as s:
        assert s.scalars(select(OutageRevision.action).order_by(OutageRevision.number)).all() == [
            "published",
            "restored",
        ]


def test_ten_desks_publishing_a_breakdown_on_one_feeder_at_once_make_one(factory: Callable[[], Session]) -> None:
    with factory() as s:
        feeder_id = factories.feeder_of(s, factories.account(s, mobiles=(MOBILE,))).id
        s.commit()
    broke = NOW - dt.timedelta(hours=1)
    report = Breakdown(since=broke, cause="Conductor snapped", feeder_ids=(feeder_id,))

    answers = _at_once(10, lambda: publish_breakdown(UnitOfWork(factory), report, actor=DESK, now=NOW).number)

    assert Counter(answers) == {"1": 1, "OverlappingOutage": 9}
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(OutageEvent)) == 1


def test_ten_sweeps_at_once_raise_one_suspected_breakdown(factory: Callable[[], Session]) -> None:
    with factory() as s:
        dtr = factories.network(s)
        accounts = [
            factories.account(s, dtr=dtr, mobiles=(f"+9198392{n:05d}",), account_no=f"48000000{n:02d}").account_no
            for n in range(3)
        ]
        s.commit()
    for n, account_no in enumerate(accounts):
        register_complaint(
            UnitOfWork(factory),
            RegisterComplaint(channel="sms", category="no_supply", account_no=account_no, channel_request_id=f"s{n}"),
            now=NOW + dt.timedelta(minutes=n),
        )

    answers = _at_once(10, lambda: len(detect_suspected(UnitOfWork(factory), now=NOW + dt.timedelta(minutes=5))))

    assert Counter(answers) == {"1": 1, "0": 9}
    with factory() as s:
        assert s.scalars(select(OutageEvent.status)).all() == ["suspected"]
