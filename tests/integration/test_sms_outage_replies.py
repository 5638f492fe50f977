"""SMS during and after an outage, through the inbound service: COMP NOSUPPLY told the ETR, ROSTER, and 1/2."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork, make_session_factory
from cis.models import Account, Complaint, OutageCheck, OutageEvent, OutageRevision, Outbox, RosterSubscription
from outage import queries
from outage.events import Actor, Breakdown, publish_breakdown, restore
from outage.fanout import fan_out
from outage.feedback import ask_restoration_checks
from sms.dispatch import variables_for
from sms.service import Reply, handle_inbound
from sms.templates import load_templates, render
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database

NOW = factories.NOW  # 15:30 in India
DESK = Actor("staff:desk-test")
TEMPLATES = load_templates()
STRANGER = "+919999988888"


@pytest.fixture(autouse=True)
def _no_reply_from_the_fallback(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every reply here comes from its command's path, not from the catch-all that logs and sends HELP."""
    yield
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture(scope="module")
def pg_outage_sms_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_outage_sms") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_outage_sms_engine")


@pytest.fixture
def factory(engine: Engine) -> Callable[[], Session]:
    return make_session_factory(engine)


@pytest.fixture
def uow(factory: Callable[[], Session]) -> UnitOfWork:
    return UnitOfWork(factory)


@pytest.fixture
def sms(factory: Callable[[], Session]) -> Callable[..., Reply]:
    counter = iter(range(1, 1_000))

    def send(mobile: str, text: str, message_id: str | None = None, now: dt.datetime = NOW) -> Reply:
        mid = message_id or f"SM{next(counter):04d}"
        return handle_inbound(factory, mobile=mobile, text=text, message_id=mid, now=now)

    return send


@dataclass(frozen=True)
class Feeder:
    id: int
    area: str
    accounts: tuple[str, ...]  # account numbers, the n-th on mobile(n)
    pair: tuple[str, str]  # two accounts on one mobile, PAIR_MOBILE


PAIR_MOBILE = "+919812345678"


def mobile(n: int) -> str:
    return f"+9198100{n:05d}"


@pytest.fixture
def feeder(factory: Callable[[], Session]) -> Feeder:
    """Eight consumers on one feeder, each with a mobile, and a mobile holding two accounts on it."""
    with factory() as s:
        dtr = factories.network(s)
        accounts = [factories.account(s, dtr=dtr, mobiles=(mobile(n),)).account_no for n in range(8)]
        pair = tuple(factories.account(s, dtr=dtr, mobiles=(PAIR_MOBILE,)).account_no for _ in range(2))
        found = factories.feeder_of(s, factories.account(s, dtr=dtr))
        result = Feeder(found.id, found.name, tuple(accounts), (pair[0], pair[1]))
        s.commit()
    return result


def _sent_text(row: Outbox) -> str:
    """An outbox row as the consumer reads it, rendered as the dispatcher does."""
    template = TEMPLATES[row.template]
    return render(template, variables_for(template, row.payload), allowed_urls=(), allowed_numbers=(), now=NOW).text


# --- COMP NOSUPPLY during an outage ----------------------------------------------------------------------


def test_comp_nosupply_during_a_breakdown_is_told_the_etr_in_one_sms(
    feeder: Feeder, uow: UnitOfWork, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    since, etr = NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=2)  # 5:30 PM in India
    report = Breakdown(since=since, cause="Cable fault", feeder_ids=(feeder.id,), expected_restore_at=etr)
    event_id = publish_breakdown(uow, report, actor=DESK, now=since).event_id

    reply = sms(mobile(0), "COMP NOSUPPLY since an hour", message_id="SMcomp1")
    again = sms(mobile(0), "COMP NOSUPPLY since an hour", message_id="SMcomp1")

    assert reply.template_key == "complaint.ack_outage"
    assert reply.already_queued  # the acknowledgement in the outbox is this reply: one SMS, not two
    with factory() as s:
        complaint = s.scalars(select(Complaint).where(Complaint.channel_request_id == "SMcomp1")).one()
        assert complaint.outage_event_id == event_id
        assert complaint.sla_due_at == etr
        (ack,) = s.scalars(select(Outbox).where(Outbox.recipient == mobile(0))).all()
    assert reply.text == _sent_text(ack)
    assert reply.text == (
        f"Complaint {complaint.number} noted: power in {feeder.area} is off due to a "
        "breakdown, expected back by 20 Nov 2026, 5:30 PM. -Urja Mitra"
    )
    assert reply.segments == 1
    assert (again.template_key, again.text, again.already_queued) == (reply.template_key, reply.text, True)


@pytest.mark.parametrize("etr", [None, NOW - dt.timedelta(minutes=30)], ids=["no-etr", "etr-past"])
def test_an_outage_without_an_etr_ahead_says_so_instead_of_a_time(
    feeder: Feeder, uow: UnitOfWork, factory: Callable[[], Session], sms: Callable[..., Reply], etr: dt.datetime | None
) -> None:
    since = NOW - dt.timedelta(hours=2)
    report = Breakdown(since=since, cause="Cable fault", feeder_ids=(feeder.id,), expected_restore_at=etr)
    publish_breakdown(uow, report, actor=DESK, now=since)

    outage = sms(STRANGER, f"OUTAGE {feeder.accounts[3]}")
    comp = sms(mobile(3), "COMP NOSUPPLY")

    if etr is None:
        assert outage.template_key == "reply.outage_no_etr"
        assert outage.text == (
            f"Power in {feeder.area} is off due to a fault. Our team is at work; restoration time not known yet. "
            "-Urja Mitra"
        )
    else:
        assert outage.template_key == "reply.outage_delayed"
        assert outage.text == (
            f"Power in {feeder.area} is off due to a fault. Restoration is taking longer than expected; our team is "
            "at work. -Urja Mitra"
        )
    assert comp.template_key == "complaint.ack_outage_no_etr"
    assert comp.already_queued
    with factory() as s:
        (ack,) = s.scalars(select(Outbox).where(Outbox.recipient == mobile(3))).all()
    assert ack.template == "complaint.ack_outage_no_etr"
    assert comp.text == _sent_text(ack)  # the reply is the acknowledgement queued, word for word
    assert comp.text.endswith(
        f"power in {feeder.area} is off due to a breakdown; restoration time not known yet. -Urja Mitra"
    )
    for reply in (outage, comp):
        assert "earliest possible" not in reply.text
        assert reply.segments == 1


def test_comp_nosupply_with_no_outage_on_the_feeder_gets_the_usual_acknowledgement(
    feeder: Feeder, sms: Callable[..., Reply]
) -> None:
    reply = sms(mobile(1), "COMP NOSUPPLY")

    assert reply.template_key == "complaint.ack"
    assert reply.already_queued


# --- ROSTER ------------------------------------------------------------------------------------------------


def _subscribed(factory: Callable[[], Session]) -> list[tuple[str, str]]:
    with factory() as s:
        rows = s.execute(
            select(Account.account_no, RosterSubscription.e164)
            .join(Account, Account.id == RosterSubscription.account_id)
            .order_by(RosterSubscription.id)
        ).all()
    return [(a, m) for a, m in rows]


def test_roster_subscribes_the_mobile_and_roster_off_stops_it(
    feeder: Feeder, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    on = sms(mobile(2), "roster")

    assert on.template_key == "reply.roster_on"
    assert on.text == (
        f"You will get the daily supply schedule of {feeder.area} by SMS. To stop it, SMS ROSTER OFF. -Urja Mitra"
    )
    assert _subscribed(factory) == [(feeder.accounts[2], mobile(2))]
    assert sms(mobile(2), "ROSTER ON").template_key == "reply.roster_on"  # asked twice: still one subscription
    assert _subscribed(factory) == [(feeder.accounts[2], mobile(2))]

    off = sms(mobile(2), "Roster off")

    assert off.template_key == "reply.roster_off"
    assert off.text == (
        f"You will no longer get the daily supply schedule of {feeder.area}. To start again, SMS ROSTER. -Urja Mitra"
    )
    assert _subscribed(factory) == []


def test_roster_from_a_mobile_on_two_accounts_asks_which(
    feeder: Feeder, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    assert sms(PAIR_MOBILE, "ROSTER").template_key == "reply.choose_account"
    assert _subscribed(factory) == []

    assert sms(PAIR_MOBILE, f"ROSTER {feeder.pair[1]}").template_key == "reply.roster_on"
    assert _subscribed(factory) == [(feeder.pair[1], PAIR_MOBILE)]
    assert sms(PAIR_MOBILE, f"STOP ROSTER {feeder.pair[1]}").template_key == "reply.roster_off"
    assert _subscribed(factory) == []


def test_roster_from_an_unknown_mobile_needs_the_account_number(
    feeder: Feeder, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    assert sms(STRANGER, "ROSTER").template_key == "reply.not_registered"
    assert sms(STRANGER, "ROSTER 7199999999").template_key == "reply.unknown_account"

    assert sms(STRANGER, f"ROSTER {feeder.accounts[3]}").template_key == "reply.roster_on"
    assert _subscribed(factory) == [(feeder.accounts[3], STRANGER)]
    # The reply promised "To stop it, SMS ROSTER OFF": that alone stops it, without the account number.
    off = sms(STRANGER, "ROSTER OFF")
    assert (off.template_key, off.variables) == ("reply.roster_off", {"area": feeder.area})
    assert _subscribed(factory) == []


# --- "is power back? reply 1/2" ----------------------------------------------------------------------------

RESTORED = NOW - dt.timedelta(minutes=30)
ANSWERED = NOW + dt.timedelta(minutes=30)


def _restored_and_asked(engine: Engine, uow: UnitOfWork, feeder: Feeder) -> tuple[int, list[str]]:
    """A breakdown on the feeder, restored and fanned out, and five of its consumers asked whether power is back."""
    since = NOW - dt.timedelta(hours=3)
    published = publish_breakdown(
        uow, Breakdown(since=since, cause="Cable fault", feeder_ids=(feeder.id,)), actor=DESK, now=since
    )
    ref = restore(uow, published.event_id, actor=DESK, now=RESTORED)
    fan_out(engine, ref.revision_id, now=RESTORED)
    assert ask_restoration_checks(uow, ref.event_id, ref.number, now=NOW) == 5
    with make_session_factory(engine)() as s:
        asked = s.scalars(select(OutageCheck.e164).where(OutageCheck.event_id == ref.event_id)).all()
    # The sample is random; the mobile holding two accounts goes last, as the tests read one account per mobile.
    return ref.event_id, sorted(asked, key=lambda e164: e164 == PAIR_MOBILE)


def _reopenings(factory: Callable[[], Session], event_id: int) -> list[str]:
    with factory() as s:
        return list(
            s.scalars(
                select(OutageRevision.author).where(
                    OutageRevision.event_id == event_id, OutageRevision.action == "reopened"
                )
            )
        )


def _account_on(mobile_no: str, feeder: Feeder) -> str:
    return feeder.accounts[[mobile(n) for n in range(8)].index(mobile_no)]


def _complaint_number(factory: Callable[[], Session], account_no: str) -> str:
    with factory() as s:
        return s.scalars(
            select(Complaint.number)
            .join(Account, Account.id == Complaint.account_id)
            .where(Account.account_no == account_no)
        ).one()


def test_one_2_registers_that_consumers_no_supply_complaint_and_reopens_nothing(
    engine: Engine, uow: UnitOfWork, feeder: Feeder, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    event_id, asked = _restored_and_asked(engine, uow, feeder)
    account_no = _account_on(asked[0], feeder)

    reply = sms(asked[0], "2", now=ANSWERED)

    number = _complaint_number(factory, account_no)
    assert (reply.template_key, reply.already_queued) == ("complaint.ack", True)
    assert reply.text == (
        f"Dear consumer, complaint {number} for A/c {account_no} is registered. Expected resolution by "
        f"20 Nov 2026, 8:00 PM. Track: SMS STATUS {number} -Urja Mitra"
    )
    with factory() as s:
        event = s.get(OutageEvent, event_id)
        assert event is not None
        assert event.status == "restored"
        assert queries.live_events(s, None) == []
    assert _reopenings(factory, event_id) == []
    # Everyone else on the feeder is still told the supply is on.
    outage = sms(STRANGER, f"OUTAGE {_account_on(asked[1], feeder)}", now=ANSWERED)
    assert outage.template_key == "reply.no_outage"


def test_the_third_2_reopens_the_outage_and_the_desk_sees_it(
    engine: Engine, uow: UnitOfWork, feeder: Feeder, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    event_id, asked = _restored_and_asked(engine, uow, feeder)

    replies = [sms(e164, "2", now=ANSWERED + dt.timedelta(minutes=n)) for n, e164 in enumerate(asked[:3])]

    assert [r.template_key for r in replies] == ["complaint.ack", "complaint.ack", "complaint.ack_outage_no_etr"]
    account_no = _account_on(asked[2], feeder)
    number = _complaint_number(factory, account_no)
    assert replies[2].text == (
        f"Complaint {number} noted: power in {feeder.area} is off due to a breakdown; restoration time not known yet. "
        "-Urja Mitra"
    )
    with factory() as s:
        event = s.get(OutageEvent, event_id)
        assert event is not None
        assert event.status == "published"
        assert [row.id for row in queries.live_events(s, None)] == [event_id]
        linked = s.scalars(select(Complaint.outage_event_id).where(Complaint.category == "no_supply")).all()
        assert linked == [event_id] * 3
    assert _reopenings(factory, event_id) == ["consumer:check"]
    # Whoever asks now is told the supply is off, with no time promised until the desk gives one.
    outage = sms(STRANGER, f"OUTAGE {feeder.accounts[0]}", now=ANSWERED)
    assert outage.template_key == "reply.outage_no_etr"
    assert "Our team is at work; restoration time not known yet." in outage.text


def test_a_2_delivered_again_after_its_check_is_answered_reopens_nothing_more(
    engine: Engine, uow: UnitOfWork, feeder: Feeder, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    event_id, asked = _restored_and_asked(engine, uow, feeder)

    first = sms(asked[1], "2", message_id="SMrep", now=ANSWERED)
    repeated = sms(asked[1], " 2 ", now=ANSWERED + dt.timedelta(minutes=3))

    assert first.template_key == "complaint.ack"
    assert repeated.template_key == "reply.help"  # that mobile's check is answered: nothing is waiting
    assert _reopenings(factory, event_id) == []
    with factory() as s:
        assert len(s.scalars(select(Complaint)).all()) == 1


def test_a_1_is_thanked_and_leaves_the_outage_restored(
    engine: Engine, uow: UnitOfWork, feeder: Feeder, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    event_id, asked = _restored_and_asked(engine, uow, feeder)

    reply = sms(asked[0], "1", now=ANSWERED)

    assert reply.template_key == "reply.check_thanks"
    assert reply.text == f"Thank you for confirming that power is back in {feeder.area}. -Urja Mitra"
    with factory() as s:
        event = s.get(OutageEvent, event_id)
        assert event is not None
        assert event.status == "restored"
        answers = s.execute(select(OutageCheck.e164, OutageCheck.answer).where(OutageCheck.answer.is_not(None))).all()
    assert [(m, a) for m, a in answers] == [(asked[0], 1)]


def test_the_same_2_delivered_twice_gets_the_same_reply(
    engine: Engine, uow: UnitOfWork, feeder: Feeder, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    _event_id, asked = _restored_and_asked(engine, uow, feeder)

    first = sms(asked[0], "2", message_id="SMtwice", now=ANSWERED)
    again = sms(asked[0], "2", message_id="SMtwice", now=ANSWERED + dt.timedelta(seconds=30))

    assert (again.template_key, again.text) == (first.template_key, first.text)
    assert first.template_key == "complaint.ack"
    with factory() as s:
        assert len(s.scalars(select(Complaint)).all()) == 1
        assert len(s.scalars(select(Outbox).where(Outbox.template == "complaint.ack")).all()) == 1


def test_a_2_too_long_after_the_restoration_registers_a_complaint(
    engine: Engine, uow: UnitOfWork, feeder: Feeder, factory: Callable[[], Session], sms: Callable[..., Reply]
) -> None:
    event_id, asked = _restored_and_asked(engine, uow, feeder)

    reply = sms(asked[0], "2", now=RESTORED + dt.timedelta(hours=13))

    assert reply.template_key == "complaint.ack"
    assert _complaint_number(factory, _account_on(asked[0], feeder)) in reply.text
    assert _reopenings(factory, event_id) == []


@pytest.mark.parametrize("text", ["1", "2", "yes", "NO"])
def test_a_1_or_2_from_a_mobile_not_asked_gets_the_command_list(
    engine: Engine, uow: UnitOfWork, feeder: Feeder, sms: Callable[..., Reply], text: str
) -> None:
    _, asked = _restored_and_asked(engine, uow, feeder)
    never_asked = next(mobile(n) for n in range(8) if mobile(n) not in asked)

    assert sms(never_asked, text, now=ANSWERED).template_key == "reply.help"
    assert sms(STRANGER, text, now=ANSWERED).template_key == "reply.help"
