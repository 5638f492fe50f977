"""Rostering: saving a schedule, laying out a day's slots in IST, closing them, and the daily schedule SMS."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.interruptions import active_interruption
from cis.models import (
    Account,
    AccountMobile,
    AuditLog,
    Feeder,
    FeederInterruption,
    OutageEvent,
    OutageRevision,
    Outbox,
    RosterFeeder,
    RosterSchedule,
    RosterSubscription,
    SmsOptOut,
)
from cis.preferences import AlertChoice, save_alert_settings
from outage.errors import InvalidRoster, NotInScope, UnknownRoster
from outage.events import Actor, feeders_of
from outage.roster import (
    RosterPlan,
    close_roster_slots,
    create_roster,
    end_roster,
    list_rosters,
    parse_slots,
    queue_roster_sms,
    roster_day,
    slots_for_sms,
    subscribe,
    unsubscribe,
)
from sms.dispatch import variables_for
from sms.templates import load_templates, render
from tests import factories

IST = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 11, 20, 12, 30, tzinfo=dt.UTC)  # 18:00 IST, the evening before
DAY = dt.date(2026, 11, 21)
MOBILE = "+919876543210"


def ist(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=IST).astimezone(dt.UTC)


def _division(session: Session, feeder: Feeder) -> int:
    return feeders_of(session, [feeder.id], None)[0][2]


def _roster(
    uow: UnitOfWork,
    session: Session,
    feeders: list[Feeder],
    slots: str = "13:00-15:00, 02:00-05:00",
    *,
    valid_to: dt.date | None = None,
) -> int:
    actor = Actor("desk.east", _division(session, feeders[0]))
    plan = RosterPlan("Rural group A", tuple(f.id for f in feeders), slots, dt.date(2026, 11, 1), valid_to)
    return create_roster(uow, plan, actor=actor, now=NOW)


@pytest.fixture
def rural(session: Session) -> tuple[Account, Feeder]:
    acc = factories.account(session, kind="rural", mobiles=(MOBILE,))
    feeder = factories.feeder_of(session, acc)
    session.commit()
    return acc, feeder


# --- saving a roster ----------------------------------------------------------------------------------------


def test_a_roster_is_saved_with_its_slots_in_order_and_an_audit_row(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    _, feeder = rural
    roster_id = _roster(uow, session, [feeder])

    schedule = session.get(RosterSchedule, roster_id)
    assert schedule is not None
    assert (schedule.name, schedule.off_slots, schedule.active) == ("Rural group A", "02:00-05:00,13:00-15:00", True)
    assert schedule.division_id == _division(session, feeder)
    assert session.scalars(select(RosterFeeder.feeder_id).where(RosterFeeder.roster_id == roster_id)).all() == [
        feeder.id
    ]
    audit = session.scalars(
        select(AuditLog).where(AuditLog.entity == "roster_schedule", AuditLog.entity_id == str(roster_id))
    ).one()
    assert (audit.action, audit.actor, audit.detail["off_slots"]) == (
        "roster.created",
        "desk.east",
        "02:00-05:00,13:00-15:00",
    )
    [view] = list_rosters(session, schedule.division_id)
    assert (view.id, view.feeders, view.slots_text) == (
        roster_id,
        ((feeder.id, feeder.name),),
        "2:00-5:00 AM, 1:00-3:00 PM",
    )


@pytest.mark.parametrize(
    ("slots", "problem"),
    [
        ("", "give at least one off slot"),
        ("2am-5am", "'2am-5am' is not a slot like 02:00-05:00"),
        ("25:00-26:00", "'25:00-26:00' is not a time of day"),
        ("10:60-11:00", "'10:60-11:00' is not a time of day"),
        ("24:30-24:45", "is not a time of day"),
        ("05:00-02:00", "'05:00-02:00' ends before it starts; split a slot over midnight at 24:00"),
        ("22:00-02:00", "ends before it starts"),
        ("02:00-05:00,04:00-06:00", "slots 02:00-05:00 and 04:00-06:00 overlap"),
        ("00:00-01:00,02:00-03:00,04:00-05:00,06:00-07:00,08:00-09:00,10:00-11:00,12:00-13:00", "at most 6"),
    ],
)
def test_slots_a_day_cannot_hold_are_refused(slots: str, problem: str) -> None:
    with pytest.raises(InvalidRoster, match=problem):
        parse_slots(slots)


def test_a_slot_may_run_to_midnight_and_slots_may_touch() -> None:
    assert parse_slots("22:00-24:00, 20:00-22:00,0:00-2:30") == ((0, 150), (1200, 1320), (1320, 1440))


@pytest.mark.parametrize(
    ("slots", "text"),
    [
        ("02:00-05:00,13:00-15:00", "2:00-5:00 AM, 1:00-3:00 PM"),
        ("10:00-13:00", "10:00 AM-1:00 PM"),
        ("22:00-24:00", "10:00 PM-12:00 AM"),
        ("00:00-02:30", "12:00-2:30 AM"),
        ("02:00-05:00,13:00-15:00,18:00-19:00", "2-5 AM, 1-3 PM, 6-7 PM"),
        ("02:00-05:00,11:00-13:00,15:00-16:00,18:00-19:00", "2-5AM,11AM-1PM,3-4PM,6-7PM"),
        ("01:00-02:30,03:00-04:30,05:00-06:30,07:00-08:30", "1-2:30AM,3-4:30AM +2 more"),
        ("00:30-01:30,02:30-03:30,04:30-05:30,06:30-07:30", "12:30-1:30AM +3 more"),
    ],
)
def test_slots_are_told_in_thirty_characters_or_fewer(slots: str, text: str) -> None:
    told = slots_for_sms(parse_slots(slots))

    assert told == text
    assert len(told) <= 30


def test_create_roster_refuses_what_it_cannot_keep(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    _, feeder = rural
    elsewhere = factories.feeder_of(session, factories.account(session))
    session.commit()
    desk = Actor("desk.east", _division(session, feeder))

    def plan(**changes: object) -> RosterPlan:
        fields: dict[str, object] = {
            "name": "Rural group A",
            "feeder_ids": (feeder.id,),
            "off_slots": "02:00-05:00",
            "valid_from": dt.date(2026, 11, 1),
            "valid_to": None,
        }
        fields.update(changes)
        return RosterPlan(**fields)  # type: ignore[arg-type]

    for changes, problem in [
        ({"name": "   "}, "give the roster a name"),
        ({"name": "x" * 81}, "the name is over 80 characters"),
        ({"off_slots": "05:00-02:00"}, "ends before it starts"),
        ({"valid_to": dt.date(2026, 10, 31)}, "it must end on or after the day it starts"),
        ({"feeder_ids": ()}, "choose at least one feeder"),
        ({"feeder_ids": (feeder.id, 999_999_999)}, "no feeder 999999999 is on record"),
    ]:
        with pytest.raises(InvalidRoster, match=problem):
            create_roster(uow, plan(**changes), actor=desk, now=NOW)
    with pytest.raises(NotInScope, match=f"Feeder {elsewhere.name} is outside your division"):
        create_roster(uow, plan(feeder_ids=(feeder.id, elsewhere.id)), actor=desk, now=NOW)
    with pytest.raises(InvalidRoster, match="one roster covers feeders of one division"):
        create_roster(uow, plan(feeder_ids=(feeder.id, elsewhere.id)), actor=Actor("discom.desk"), now=NOW)

    first = create_roster(uow, plan(valid_to=dt.date(2026, 11, 30)), actor=desk, now=NOW)
    with pytest.raises(InvalidRoster, match=f"feeder {feeder.name} is already on roster {first}"):
        create_roster(uow, plan(valid_from=dt.date(2026, 11, 30)), actor=desk, now=NOW)
    # The days after the first one ends are free.
    create_roster(uow, plan(valid_from=dt.date(2026, 12, 1)), actor=desk, now=NOW)
    assert session.scalar(select(func.count()).select_from(RosterSchedule)) == 2


# --- the day's slots ----------------------------------------------------------------------------------------


def test_a_days_slots_become_roster_events_at_their_ist_times_once(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    _, feeder = rural
    roster_id = _roster(uow, session, [feeder], "02:00-05:00,13:00-15:00,22:00-24:00")

    assert roster_day(uow, DAY, now=NOW) == 3
    assert roster_day(uow, DAY, now=NOW + dt.timedelta(minutes=5)) == 0

    events = session.scalars(select(OutageEvent).where(OutageEvent.roster_id == roster_id).order_by("starts_at")).all()
    # Stored in UTC: 02:00 IST on the 21st is 20:30 UTC on the 20th; 24:00 IST is 18:30 UTC.
    assert [(e.starts_at, e.expected_restore_at) for e in events] == [
        (dt.datetime(2026, 11, 20, 20, 30, tzinfo=dt.UTC), dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC)),
        (dt.datetime(2026, 11, 21, 7, 30, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)),
        (dt.datetime(2026, 11, 21, 16, 30, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, 18, 30, tzinfo=dt.UTC)),
    ]
    assert {(e.kind, e.status, e.cause) for e in events} == {("roster", "published", "Roster: Rural group A")}
    revisions = session.execute(
        select(OutageRevision.action, OutageRevision.notify).where(OutageRevision.event_id.in_([e.id for e in events]))
    ).all()
    assert revisions == [("published", False)] * 3  # told by the daily schedule SMS, not per slot
    interruptions = session.scalars(
        select(FeederInterruption).where(FeederInterruption.event_id.in_([e.id for e in events]))
    ).all()
    assert {(i.feeder_id, i.kind, i.consumers) for i in interruptions} == {(feeder.id, "roster", 1)}
    assert len(interruptions) == 3


def test_a_caller_in_a_slot_hears_it_is_scheduled(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    acc, feeder = rural
    _roster(uow, session, [feeder])
    roster_day(uow, DAY, now=NOW)

    notice = active_interruption(uow, acc.account_no, now=ist(2026, 11, 21, 14, 0))

    assert notice is not None
    assert (notice.kind, notice.expected_restore_at) == ("roster", ist(2026, 11, 21, 15, 0))


def test_a_slot_past_its_end_is_not_announced_before_it_is_closed(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    acc, feeder = rural
    _roster(uow, session, [feeder])
    roster_day(uow, DAY, now=NOW)

    assert active_interruption(uow, acc.account_no, now=ist(2026, 11, 21, 12, 0)) is None


def test_no_slots_outside_the_rosters_days_or_after_it_ends(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    _, feeder = rural
    roster_id = _roster(uow, session, [feeder], valid_to=DAY)

    assert roster_day(uow, dt.date(2026, 10, 31), now=NOW) == 0
    assert roster_day(uow, DAY + dt.timedelta(days=1), now=NOW) == 0
    assert roster_day(uow, DAY, now=NOW) == 2

    # Ending it calls off the slots not begun (quietly); it ends once.
    ended_at = ist(2026, 11, 21, 4, 0)
    assert end_roster(uow, roster_id, actor=Actor("desk.east"), now=ended_at) is True
    assert end_roster(uow, roster_id, actor=Actor("desk.east"), now=ended_at) is False
    events = session.scalars(select(OutageEvent).where(OutageEvent.roster_id == roster_id).order_by("starts_at")).all()
    assert [e.status for e in events] == ["published", "cancelled"]
    cancelled = session.scalars(select(FeederInterruption).where(FeederInterruption.event_id == events[1].id)).one()
    assert cancelled.cancelled_at == ended_at
    assert roster_day(uow, DAY, now=NOW) == 0
    with pytest.raises(UnknownRoster):
        end_roster(uow, 999_999_999, actor=Actor("desk.east"), now=NOW)
    with pytest.raises(NotInScope):
        end_roster(uow, roster_id, actor=Actor("desk.west", _division(session, feeder) + 1), now=NOW)


def test_slots_close_themselves_at_their_planned_end(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    _, feeder = rural
    roster_id = _roster(uow, session, [feeder])
    roster_day(uow, DAY, now=NOW)

    assert close_roster_slots(uow, now=ist(2026, 11, 21, 4, 59)) == 0
    assert close_roster_slots(uow, now=ist(2026, 11, 21, 6, 0)) == 1
    assert close_roster_slots(uow, now=ist(2026, 11, 21, 6, 5)) == 0

    first, second = session.scalars(
        select(OutageEvent).where(OutageEvent.roster_id == roster_id).order_by("starts_at")
    ).all()
    assert (first.status, first.restored_at) == ("restored", ist(2026, 11, 21, 5, 0))
    assert second.status == "published"
    interruption = session.scalars(select(FeederInterruption).where(FeederInterruption.event_id == first.id)).one()
    assert interruption.restored_at == ist(2026, 11, 21, 5, 0)
    assert session.execute(
        select(OutageRevision.action, OutageRevision.notify)
        .where(OutageRevision.event_id == first.id)
        .order_by(OutageRevision.number)
    ).all() == [("published", False), ("restored", False)]


# --- the daily schedule SMS ---------------------------------------------------------------------------------


def test_each_subscriber_gets_the_days_schedule_once(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    acc, feeder = rural
    dtr_id = acc.dt_id
    stopped = factories.account(session, mobiles=("+919811111111",))
    opted_out = factories.account(session, opt_out=True)
    elsewhere = factories.account(session)  # on a feeder of no roster
    for other in (stopped, opted_out):
        other.dt_id = dtr_id
    session.add(SmsOptOut(e164="+919811111111", opted_out_at=NOW, via="sms"))
    session.commit()
    _roster(uow, session, [feeder])
    assert subscribe(uow, acc.id, MOBILE, now=NOW) is True
    assert subscribe(uow, acc.id, "98765 43210", now=NOW) is False  # the same mobile, written differently
    assert subscribe(uow, acc.id, "+919822222222", now=NOW) is True  # a second phone of the household
    subscribe(uow, stopped.id, "+919811111111", now=NOW)
    subscribe(uow, opted_out.id, "+919833333333", now=NOW)
    subscribe(uow, elsewhere.id, "+919844444444", now=NOW)

    assert queue_roster_sms(uow, DAY, now=NOW) == 2
    assert queue_roster_sms(uow, DAY, now=NOW + dt.timedelta(hours=1)) == 0

    rows = session.scalars(select(Outbox).where(Outbox.template == "outage.roster").order_by(Outbox.recipient)).all()
    assert [r.recipient for r in rows] == ["+919822222222", MOBILE]
    row = rows[1]
    roster_id = session.scalars(select(RosterSchedule.id)).one()
    assert row.dedupe_key == f"roster:{roster_id}:2026-11-21:{acc.id}:{MOBILE}"
    assert (row.channel, row.account_id, row.status, row.priority) == ("sms", acc.id, "pending", 5)
    assert row.expires_at == dt.datetime(2026, 11, 21, 18, 30, tzinfo=dt.UTC)  # midnight IST
    template = load_templates()["outage.roster"]
    sms = render(template, variables_for(template, row.payload), allowed_urls=(), allowed_numbers=())
    assert sms.text == (
        f"Supply schedule for {feeder.name} on 21 Nov 2026: power will be off 2:00-5:00 AM, 1:00-3:00 PM. "
        "Please plan your use. -Urja Mitra"
    )

    # The next day is a day of its own; an unsubscribed mobile gets nothing more.
    assert unsubscribe(uow, acc.id, "+919822222222", now=NOW) is True
    assert unsubscribe(uow, acc.id, "+919822222222", now=NOW) is False
    assert queue_roster_sms(uow, DAY + dt.timedelta(days=1), now=NOW) == 1
    assert session.scalar(select(func.count()).select_from(RosterSubscription)) == 4


def test_a_long_feeder_name_is_cut_to_thirty_characters(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    acc, feeder = rural
    feeder.name = "11 kV Bithoor Road Rural Pumping Feeder No. 2"
    session.commit()
    _roster(uow, session, [feeder])
    subscribe(uow, acc.id, MOBILE, now=NOW)

    queue_roster_sms(uow, DAY, now=NOW)

    payload = session.scalars(select(Outbox.payload).where(Outbox.template == "outage.roster")).one()
    assert payload["area"] == "11 kV Bithoor Road Rural Pumpi"
    assert payload["date"] == "2026-11-21"


def test_no_schedule_is_queued_once_its_day_is_over(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    acc, feeder = rural
    _roster(uow, session, [feeder])
    subscribe(uow, acc.id, MOBILE, now=NOW)

    assert queue_roster_sms(uow, DAY, now=ist(2026, 11, 22, 0, 0)) == 0


def _roster_texts(session: Session) -> list[str]:
    template = load_templates()["outage.roster"]
    session.expire_all()
    rows = session.scalars(select(Outbox).where(Outbox.template == "outage.roster")).all()
    return [
        render(template, variables_for(template, row.payload), allowed_urls=(), allowed_numbers=()).text for row in rows
    ]


def test_todays_schedule_queued_in_the_night_lists_only_the_slots_not_over_by_8_am(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    acc, feeder = rural
    _roster(uow, session, [feeder], "01:00-04:00, 07:00-09:00, 13:00-15:00")
    subscribe(uow, acc.id, MOBILE, now=NOW)

    # 00:05 IST: the SMS waits for 08:00, when 01:00-04:00 is long over and 07:00-09:00 still under way.
    assert queue_roster_sms(uow, DAY, now=ist(2026, 11, 21, 0, 5)) == 1

    assert _roster_texts(session) == [
        f"Supply schedule for {feeder.name} on 21 Nov 2026: power will be off 7:00-9:00 AM, 1:00-3:00 PM. "
        "Please plan your use. -Urja Mitra"
    ]


def test_the_evening_before_the_schedule_lists_every_slot_and_a_day_with_none_left_gets_none(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    acc, feeder = rural
    _roster(uow, session, [feeder], "01:00-04:00")
    subscribe(uow, acc.id, MOBILE, now=NOW)

    assert queue_roster_sms(uow, DAY, now=ist(2026, 11, 21, 0, 5)) == 0  # it would go at 08:00, after the slot
    assert queue_roster_sms(uow, DAY, now=NOW) == 1  # 18:00 the evening before: it goes now
    assert _roster_texts(session) == [
        f"Supply schedule for {feeder.name} on 21 Nov 2026: power will be off 1:00-4:00 AM. "
        "Please plan your use. -Urja Mitra"
    ]


def test_an_account_that_switched_roster_sms_off_gets_no_schedule_while_others_still_do(
    uow: UnitOfWork, session: Session, rural: tuple[Account, Feeder]
) -> None:
    acc, feeder = rural
    neighbour = factories.account(session, mobiles=("+919822222222",))
    neighbour.dt_id = acc.dt_id
    session.commit()
    _roster(uow, session, [feeder])
    subscribe(uow, acc.id, MOBILE, now=NOW)
    subscribe(uow, neighbour.id, "+919822222222", now=NOW)
    mobile_id = session.scalars(select(AccountMobile.id).where(AccountMobile.account_id == acc.id)).one()
    # Off for the whole account; the mobile stays subscribed, so switching it on again brings the SMS back.
    save_alert_settings(uow, acc.id, AlertChoice(True, False, True, "sms", frozenset({mobile_id})), now=NOW)

    assert queue_roster_sms(uow, DAY, now=NOW) == 1
    rows = session.scalars(select(Outbox.recipient).where(Outbox.template == "outage.roster")).all()
    assert rows == ["+919822222222"]

    save_alert_settings(uow, acc.id, AlertChoice(True, True, True, "sms", frozenset({mobile_id})), now=NOW)
    assert queue_roster_sms(uow, DAY, now=NOW) == 1  # the switched-on account's, once
