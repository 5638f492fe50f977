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
from cis.models import Account, AuditLog, Complaint, OutageCheck, OutageEvent, OutageRevision, Outbox
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


def account_no_of(feeder: Restored, e164: str) -> str:
    return next(feeder.account_nos[a] for a, m in feeder.mobiles.items() if m == e164)


def complaints_of(engine: Engine, account_no: str) -> list[Complaint]:
    with make_session_factory(engine)() as s:
        return list(
            s.scalars(
                select(Complaint)
                .join(Account, Account.id == Complaint.account_id)
                .where(Account.account_no == account_no)
                .order_by(Complaint.id)
            )
        )


def test_a_1_records_that_power_is_back_and_changes_nothing_else(engine: Engine, uow: UnitOfWork) -> None:
    feeder, mobiles = asked_one(engine, uow)

    told = answer_check(uow, mobiles[0], 1, now=LATER, message_id="SMa1")

    assert told == CheckAnswer(
        feeder.event_id, feeder.area, 1, reopened=False, live=False, account_no=account_no_of(feeder, mobiles[0])
    )
    answered = [(c.e164, c.answer, c.answered_at) for c in checks(engine, feeder.event_id) if c.answer is not None]
    assert answered == [(mobiles[0], 1, LATER)]
    assert [a for a, _, _ in revisions(engine, feeder.event_id)] == ["published", "restored"]
    assert complaints_of(engine, account_no_of(feeder, mobiles[0])) == []


def test_one_2_logs_a_no_supply_complaint_for_that_consumer_and_tells_nobody_else(
    engine: Engine, uow: UnitOfWork
) -> None:
    feeder, mobiles = asked_one(engine, uow)
    account_no = account_no_of(feeder, mobiles[0])

    told = answer_check(uow, mobiles[0], 2, now=LATER, message_id="SMb1")

    assert told is not None
    assert (told.reopened, told.live, told.account_no) == (False, False, account_no)
    assert told.complaint is not None
    assert (told.complaint.created, told.complaint.outage) == (True, None)
    (complaint,) = complaints_of(engine, account_no)
    assert (complaint.number, complaint.category, complaint.channel, complaint.mobile, complaint.status) == (
        told.complaint.number,
        "no_supply",
        "sms",
        mobiles[0],
        "open",
    )
    assert complaint.outage_event_id is None
    assert [a for a, _, _ in revisions(engine, feeder.event_id)] == ["published", "restored"]
    with make_session_factory(engine)() as s:
        event = s.get(OutageEvent, feeder.event_id)
        assert event is not None
        assert event.status == "restored"
        acks = s.scalars(select(Outbox.recipient).where(Outbox.template == "complaint.ack")).all()
        assert acks == [mobiles[0]]
    for other in set(feeder.account_nos.values()) - {account_no}:  # nobody else hears supply is off
        assert active_interruption(uow, other, LATER) is None


def test_enough_2s_from_the_sample_reopen_the_event_once_and_link_their_complaints(
    engine: Engine, uow: UnitOfWork
) -> None:
    feeder, mobiles = asked_one(engine, uow)
    answers = [
        answer_check(uow, e164, 2, now=LATER + dt.timedelta(minutes=n), message_id=f"SMr{n}", reopen_after=3)
        for n, e164 in enumerate(mobiles[:4])
    ]

    assert [(a.reopened, a.live) for a in answers if a is not None] == [
        (False, False),
        (False, False),
        (True, True),
        (False, True),
    ]
    assert revisions(engine, feeder.event_id) == [
        ("published", DESK.name, None),
        ("restored", DESK.name, None),
        ("reopened", "consumer:check", "consumer reports supply still off"),
    ]
    linked = [c for e164 in mobiles[:4] for c in complaints_of(engine, account_no_of(feeder, e164))]
    assert [c.outage_event_id for c in linked] == [feeder.event_id] * 4
    with make_session_factory(engine)() as s:
        event = s.get(OutageEvent, feeder.event_id)
        assert event is not None
        assert (event.status, event.restored_at) == ("published", None)
        assert feeder.event_id in [row.id for row in queries.live_events(s, None)]  # the desk sees it live again
    never_asked = next(n for a, n in feeder.account_nos.items() if feeder.mobiles[a] not in mobiles)
    notice = active_interruption(uow, never_asked, LATER)
    assert notice is not None
    assert notice.kind == "breakdown"
    # Restored again: the complaints of those who said it was still off are resolved with it.
    restore(uow, feeder.event_id, actor=DESK, now=LATER + dt.timedelta(hours=1))
    resolved = [c for e164 in mobiles[:4] for c in complaints_of(engine, account_no_of(feeder, e164))]
    assert {c.status for c in resolved} == {"resolved"}


def test_a_sample_smaller_than_the_setting_reopens_when_all_of_it_says_2(engine: Engine, uow: UnitOfWork) -> None:
    _feeder, mobiles = asked_one(engine, uow, consumers=2)

    first, second = (
        answer_check(uow, e164, 2, now=LATER, message_id=f"SMs{n}", reopen_after=3) for n, e164 in enumerate(mobiles)
    )

    assert len(mobiles) == 2
    assert first is not None
    assert second is not None
    assert (first.reopened, second.reopened, second.live) == (False, True, True)


def test_the_same_message_delivered_twice_is_one_answer(engine: Engine, uow: UnitOfWork) -> None:
    feeder, mobiles = asked_one(engine, uow)

    first = answer_check(uow, mobiles[0], 2, now=LATER, message_id="SMc1", reopen_after=1)
    again = answer_check(uow, mobiles[0], 2, now=LATER + dt.timedelta(seconds=40), message_id="SMc1", reopen_after=1)

    assert first is not None
    assert again is not None
    assert first.reopened
    assert (again.event_id, again.area, again.answer, again.reopened, again.live) == (
        feeder.event_id,
        feeder.area,
        2,
        False,
        True,
    )
    assert first.complaint is not None
    assert again.complaint is not None
    assert (again.complaint.number, again.complaint.created) == (first.complaint.number, False)
    assert [c.answered_at for c in checks(engine, feeder.event_id) if c.answer is not None] == [LATER]
    assert len(complaints_of(engine, account_no_of(feeder, mobiles[0]))) == 1
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
