"""Restoration checks against a real database: who is asked "is power back?", and what a 1 or a 2 does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from cis.db import UnitOfWork, make_session_factory
from cis.interruptions import active_interruption
from cis.models import Account, AuditLog, OutageCheck, OutageEvent, OutageRevision, Outbox
from outage import queries
from outage.events import Actor, Breakdown, publish_breakdown, restore
from outage.fanout import fan_out
from outage.feedback import CheckAnswer, answer_check, ask_restoration_checks, sample_size
from sms.dispatch import variables_for
from sms.templates import load_templates, render
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database

NOW = factories.NOW  # 15:30 in India
DESK = Actor("staff:desk-test")
BROKE = NOW - dt.timedelta(hours=3)
RESTORED = NOW - dt.timedelta(minutes=30)
ASKED = NOW + dt.timedelta(minutes=15)  # the default delay after asking
LATER = ASKED + dt.timedelta(minutes=10)  # when consumers answer


@pytest.fixture(scope="module")
def pg_feedback_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_feedback") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_feedback_engine")


@pytest.fixture
def factory(engine: Engine) -> Callable[[], Session]:
    return make_session_factory(engine)


@pytest.fixture
def uow(factory: Callable[[], Session]) -> UnitOfWork:
    return UnitOfWork(factory)


@dataclass(frozen=True)
class Restored:
    event_id: int
    revision: int  # the restoration's revision number
    area: str
    mobiles: dict[int, str]  # account id -> the mobile its alerts go to
    account_nos: dict[int, str]


def mobile(n: int) -> str:
    return f"+9198100{n:05d}"


def restored_feeder(
    engine: Engine, uow: UnitOfWork, consumers: int, *, first: int = 0, landline_only: int = 0
) -> Restored:
    """A feeder with `consumers` accounts on SMS (and `landline_only` reached by a call), a breakdown on it
    published and restored, and the restoration fanned out into the outbox."""
    with make_session_factory(engine)() as s:
        dtr = factories.network(s)
        feeder = factories.feeder_of(s, factories.account(s, dtr=dtr, mobiles=(mobile(first),)))
        for n in range(first + 1, first + consumers):
            factories.account(s, dtr=dtr, mobiles=(mobile(n),))
        for _ in range(landline_only):
            factories.account(s, dtr=dtr).landline = "+915122345678"
        area, feeder_id = feeder.name, feeder.id
        s.commit()
    published = publish_breakdown(
        uow, Breakdown(since=BROKE, cause="Conductor snapped", feeder_ids=(feeder_id,)), actor=DESK, now=BROKE
    )
    fan_out(engine, published.revision_id, now=BROKE)
    ref = restore(uow, published.event_id, actor=DESK, now=RESTORED)
    fan_out(engine, ref.revision_id, now=RESTORED)
    with make_session_factory(engine)() as s:
        prefix = f"outage:{ref.event_id}:{ref.number}:"
        told = s.execute(
            select(Outbox.account_id, Outbox.recipient).where(
                Outbox.dedupe_key.like(prefix + "%"), Outbox.channel == "sms"
            )
        ).all()
        numbers = dict(s.execute(select(Account.id, Account.account_no)).all())
    assert len(told) == consumers
    return Restored(ref.event_id, ref.number, area, {a: m for a, m in told}, {a: numbers[a] for a, _ in told})


def checks(engine: Engine, event_id: int) -> list[OutageCheck]:
    with make_session_factory(engine)() as s:
        return list(s.scalars(select(OutageCheck).where(OutageCheck.event_id == event_id).order_by(OutageCheck.id)))


def questions(engine: Engine) -> list[Outbox]:
    with make_session_factory(engine)() as s:
        return list(s.scalars(select(Outbox).where(Outbox.template == "outage.check").order_by(Outbox.id)))


def revisions(engine: Engine, event_id: int) -> list[tuple[str, str, str | None]]:
    with make_session_factory(engine)() as s:
        rows = s.execute(
            select(OutageRevision.action, OutageRevision.author, OutageRevision.note)
            .where(OutageRevision.event_id == event_id)
            .order_by(OutageRevision.number)
        ).all()
    return [(a, b, c) for a, b, c in rows]


# --- who is asked ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("told", "share", "at_most", "at_least", "asked"),
    [
        (1000, 0.02, 200, 5, 20),
        (1_000_000, 0.02, 200, 5, 200),
        (40, 0.02, 200, 5, 5),
        (3, 0.02, 200, 5, 3),
        (0, 0.02, 200, 5, 0),
        (101, 0.1, 200, 5, 11),  # rounded up: a share of 10.1 consumers asks 11
    ],
)
def test_the_sample_is_a_share_of_those_told_within_its_bounds(
    told: int, share: float, at_most: int, at_least: int, asked: int
) -> None:
    assert sample_size(told, share=share, at_most=at_most, at_least=at_least) == asked


def test_a_restoration_asks_a_sample_of_those_told_by_sms_once_each(engine: Engine, uow: UnitOfWork) -> None:
    feeder = restored_feeder(engine, uow, 40)

    added = ask_restoration_checks(uow, feeder.event_id, feeder.revision, now=NOW, share=0.25)

    assert added == 10
    asked = checks(engine, feeder.event_id)
    assert len(asked) == 10
    assert len({c.account_id for c in asked}) == 10
    for check in asked:
        assert check.e164 == feeder.mobiles[check.account_id]
        assert (check.revision, check.asked_at, check.answer) == (feeder.revision, ASKED, None)
    sent = questions(engine)
    assert sorted((q.account_id, q.recipient) for q in sent) == sorted((c.account_id, c.e164) for c in asked)
    template = load_templates()["outage.check"]
    for question in sent:
        assert question.dedupe_key == f"outage-check:{feeder.event_id}:{question.account_id}"
        assert (question.channel, question.status, question.priority) == ("sms", "pending", 0)
        assert question.not_before == ASKED
        assert question.payload == {"area": feeder.area}
        text = render(
            template, variables_for(template, question.payload), allowed_urls=(), allowed_numbers=(), now=ASKED
        ).text
        assert (
            text
            == f"Is power back at your premises in {feeder.area}? Reply 1 if yes, 2 if it is still off. -Urja Mitra"
        )


def test_asking_again_asks_nobody_twice(engine: Engine, uow: UnitOfWork) -> None:
    feeder = restored_feeder(engine, uow, 40)
    ask_restoration_checks(uow, feeder.event_id, feeder.revision, now=NOW, share=0.25)
    first = [(c.account_id, c.e164) for c in checks(engine, feeder.event_id)]

    again = ask_restoration_checks(uow, feeder.event_id, feeder.revision, now=NOW + dt.timedelta(minutes=5), share=0.25)

    assert again == 0
    assert [(c.account_id, c.e164) for c in checks(engine, feeder.event_id)] == first
    assert len(questions(engine)) == 10


def test_at_least_and_at_most_bound_the_sample(engine: Engine, uow: UnitOfWork) -> None:
    small = restored_feeder(engine, uow, 12)
    large = restored_feeder(engine, uow, 30, first=100)

    assert ask_restoration_checks(uow, small.event_id, small.revision, now=NOW) == 5  # 2% of 12, but at least 5
    assert ask_restoration_checks(uow, large.event_id, large.revision, now=NOW, share=1.0, at_most=7) == 7


def test_only_consumers_whose_restoration_sms_went_are_asked(engine: Engine, uow: UnitOfWork) -> None:
    feeder = restored_feeder(engine, uow, 8, landline_only=3)
    failed = sorted(feeder.mobiles)[:2]
    with make_session_factory(engine)() as s:
        s.execute(
            update(Outbox)
            .where(
                Outbox.account_id.in_(failed), Outbox.dedupe_key.like(f"outage:{feeder.event_id}:{feeder.revision}:%")
            )
            .values(status="failed")
        )
        s.commit()

    added = ask_restoration_checks(uow, feeder.event_id, feeder.revision, now=NOW, share=1.0, at_least=0)

    assert added == 6
    assert {c.account_id for c in checks(engine, feeder.event_id)} == set(feeder.mobiles) - set(failed)
    assert all(q.recipient.startswith("+91981") for q in questions(engine))  # no landline is asked to reply


def test_an_event_no_longer_restored_is_not_asked_about(engine: Engine, uow: UnitOfWork) -> None:
    feeder = restored_feeder(engine, uow, 10)
    ask_restoration_checks(uow, feeder.event_id, feeder.revision, now=NOW, at_least=1)
    (check,) = checks(engine, feeder.event_id)
    answer_check(uow, check.e164, 2, now=LATER, message_id="SMq1")  # reopened

    assert ask_restoration_checks(uow, feeder.event_id, feeder.revision, now=LATER, at_least=5) == 0
    assert ask_restoration_checks(uow, feeder.event_id, feeder.revision - 1, now=LATER, at_least=5) == 0
    assert len(checks(engine, feeder.event_id)) == 1


# --- what an answer does -----------------------------------------------------------------------------------


def asked_one(engine: Engine, uow: UnitOfWork, consumers: int = 10, at_least: int = 5) -> tuple[Restored, list[str]]:
    feeder = restored_feeder(engine, uow, consumers)
    ask_restoration_checks(uow, feeder.event_id, feeder.revision, now=NOW, at_least=at_least)
    return feeder, [c.e164 for c in checks(engine, feeder.event_id)]


def test_a_1_records_that_power_is_back_and_changes_nothing_else(engine: Engine, uow: UnitOfWork) -> None:
    feeder, mobiles = asked_one(engine, uow)

    told = answer_check(uow, mobiles[0], 1, now=LATER, message_id="SMa1")

    assert told == CheckAnswer(feeder.event_id, feeder.area, 1, reopened=False, live=False)
    answered = [(c.e164, c.answer, c.answered_at) for c in checks(engine, feeder.event_id) if c.answer is not None]
    assert answered == [(mobiles[0], 1, LATER)]
    assert [a for a, _, _ in revisions(engine, feeder.event_id)] == ["published", "restored"]


def test_a_2_puts_the_event_back_on_the_desk_once_however_many_say_it(engine: Engine, uow: UnitOfWork) -> None:
    feeder, mobiles = asked_one(engine, uow)

    first = answer_check(uow, mobiles[0], 2, now=LATER, message_id="SMb1")
    second = answer_check(uow, mobiles[1], 2, now=LATER + dt.timedelta(minutes=1), message_id="SMb2")

    assert first == CheckAnswer(feeder.event_id, feeder.area, 2, reopened=True, live=True)
    assert second == CheckAnswer(feeder.event_id, feeder.area, 2, reopened=False, live=True)
    assert revisions(engine, feeder.event_id) == [
        ("published", DESK.name, None),
        ("restored", DESK.name, None),
        ("reopened", "consumer:check", "consumer reports supply still off"),
    ]
    with make_session_factory(engine)() as s:
        event = s.get(OutageEvent, feeder.event_id)
        assert event is not None
        assert (event.status, event.restored_at) == ("published", None)
        assert feeder.event_id in [row.id for row in queries.live_events(s, None)]  # the desk sees it live again
    account_no = next(iter(feeder.account_nos.values()))
    notice = active_interruption(uow, account_no, LATER)
    assert notice is not None
    assert notice.kind == "breakdown"


def test_the_same_message_delivered_twice_is_one_answer(engine: Engine, uow: UnitOfWork) -> None:
    feeder, mobiles = asked_one(engine, uow)

    first = answer_check(uow, mobiles[0], 2, now=LATER, message_id="SMc1")
    again = answer_check(uow, mobiles[0], 2, now=LATER + dt.timedelta(seconds=40), message_id="SMc1")

    assert first is not None
    assert first.reopened
    assert again == CheckAnswer(feeder.event_id, feeder.area, 2, reopened=False, live=True)
    assert [c.answered_at for c in checks(engine, feeder.event_id) if c.answer is not None] == [LATER]
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).where(AuditLog.action == "outage.check_answered")) == 1
    assert [a for a, _, _ in revisions(engine, feeder.event_id)].count("reopened") == 1


def test_a_check_is_answered_once(engine: Engine, uow: UnitOfWork) -> None:
    _, mobiles = asked_one(engine, uow)

    assert answer_check(uow, mobiles[0], 1, now=LATER, message_id="SMd1") is not None
    assert answer_check(uow, mobiles[0], 2, now=LATER, message_id="SMd2") is None


@pytest.mark.parametrize(
    "when",
    [NOW, ASKED + dt.timedelta(hours=24, minutes=1)],
    ids=["before-it-was-sent", "a-day-later"],
)
def test_an_answer_outside_the_checks_window_answers_nothing(
    engine: Engine, uow: UnitOfWork, when: dt.datetime
) -> None:
    _, mobiles = asked_one(engine, uow)

    assert answer_check(uow, mobiles[0], 2, now=when, message_id="SMe1") is None


def test_a_mobile_never_asked_answers_nothing(engine: Engine, uow: UnitOfWork) -> None:
    asked_one(engine, uow)

    assert answer_check(uow, "+919999911111", 2, now=LATER, message_id="SMf1") is None


def test_a_mobile_asked_twice_answers_the_latest_check(engine: Engine, uow: UnitOfWork) -> None:
    # One mobile on an account on each of two feeders, both restored; the second asked later.
    older = restored_feeder(engine, uow, 5, first=200)
    ask_restoration_checks(uow, older.event_id, older.revision, now=NOW - dt.timedelta(hours=1))
    newer = restored_feeder(engine, uow, 5, first=300)
    with make_session_factory(engine)() as s:
        s.execute(update(OutageCheck).where(OutageCheck.event_id == older.event_id).values(e164=mobile(999)))
        s.commit()
    ask_restoration_checks(uow, newer.event_id, newer.revision, now=NOW)
    with make_session_factory(engine)() as s:
        s.execute(update(OutageCheck).where(OutageCheck.event_id == newer.event_id).values(e164=mobile(999)))
        s.commit()

    told = answer_check(uow, mobile(999), 1, now=LATER, message_id="SMg1")

    assert told is not None
    assert told.event_id == newer.event_id
