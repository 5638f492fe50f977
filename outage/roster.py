"""Rostering: daily schedules of supply-off slots (IST) for groups of feeders, their daily events and schedule SMS.

A roster (`roster_schedule` + `roster_feeder`) says which feeders are off when, every day from `valid_from` to
`valid_to`. Each day, `roster_day` turns that day's slots into outage events of kind "roster" (so the IVR, SMS
OUTAGE and the public page tell a caller the supply is off on schedule), and `close_roster_slots` marks each
slot restored once its end has passed. Nobody gets an alert per slot: consumers who asked for it (SMS ROSTER)
get one schedule SMS a day from `queue_roster_sms`.

Suggested timers (the lead's beat schedule): in the evening, `roster_day(tomorrow)` and
`queue_roster_sms(tomorrow)` (the SMS is not urgent, so the dispatcher holds it to daytime hours: sent the
evening before, it arrives before a night slot; queued at night, it lists only the slots not over by 08:00);
every few minutes, `close_roster_slots`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, bindparam, case, cast, delete, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from cis import audit
from cis.db import UnitOfWork, insert_ignore
from cis.errors import UnknownAccount
from cis.models import (
    Account,
    DistributionTransformer,
    Feeder,
    FeederInterruption,
    OutageEvent,
    Outbox,
    RosterFeeder,
    RosterSchedule,
    RosterSubscription,
    SmsOptOut,
    SubDivision,
    Substation,
)
from cis.models.base import UtcDateTime
from cis.notify import OUTBOX_COLUMNS, daytime_from
from cis.phones import normalise_mobile
from outage.errors import InvalidOutage, InvalidRoster, NotInScope, UnknownRoster
from outage.events import Actor, add_revision, create_event, feeders_of

IST = ZoneInfo("Asia/Kolkata")
ROSTER_ACTOR = Actor("system:roster")
MAX_SLOTS = 6
MAX_NAME = 80
TEMPLATE = "outage.roster"
PRIORITY = 5  # not urgent: a schedule, held by the dispatcher to daytime hours
MAX_VARIABLE = 30  # DLT scrubbing refuses a template variable over 30 characters
DAY_MINUTES = 24 * 60
_SLOT = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")

Slot = tuple[int, int]  # minutes after midnight IST: start, end (end may be 1440, i.e. 24:00)


@dataclass(frozen=True)
class RosterPlan:
    """A roster as the desk enters it: `off_slots` like "02:00-05:00,13:00-15:00", IST, every day."""

    name: str
    feeder_ids: tuple[int, ...]
    off_slots: str
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass(frozen=True)
class RosterView:
    """A roster as the desk lists it."""

    id: int
    name: str
    division_id: int
    off_slots: str
    slots_text: str  # "2:00-5:00 AM, 1:00-3:00 PM"
    valid_from: dt.date
    valid_to: dt.date | None
    active: bool
    feeders: tuple[tuple[int, str], ...]  # (id, name)
    created_by: str
    created_at: dt.datetime


# --- slots: pure --------------------------------------------------------------------------------------------


def parse_slots(text: str) -> tuple[Slot, ...]:
    """The slots in "HH:MM-HH:MM,HH:MM-HH:MM" (IST), sorted; raises InvalidRoster when they cannot be a day's
    roster: a malformed slot, an end not after its start (a slot over midnight is two: "22:00-24:00,00:00-02:00"),
    overlapping slots, none, or more than six.
    """
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not parts:
        raise InvalidRoster("give at least one off slot, like 02:00-05:00")
    if len(parts) > MAX_SLOTS:
        raise InvalidRoster(f"at most {MAX_SLOTS} off slots a day")
    slots: list[Slot] = []
    for part in parts:
        found = _SLOT.fullmatch(part)
        if found is None:
            raise InvalidRoster(f"'{part}' is not a slot like 02:00-05:00")
        sh, sm, eh, em = (int(g) for g in found.groups())
        if sh > 23 or sm > 59 or em > 59 or eh > 24 or (eh == 24 and em != 0):
            raise InvalidRoster(f"'{part}' is not a time of day (00:00 to 24:00)")
        start, end = sh * 60 + sm, eh * 60 + em
        if end <= start:
            raise InvalidRoster(f"'{part}' ends before it starts; split a slot over midnight at 24:00")
        slots.append((start, end))
    slots.sort()
    for before, after in itertools.pairwise(slots):
        if after[0] < before[1]:
            raise InvalidRoster(f"slots {_hhmm(before)} and {_hhmm(after)} overlap")
    return tuple(slots)


def _hhmm(slot: Slot) -> str:
    return "-".join(f"{m // 60:02d}:{m % 60:02d}" for m in slot)


def slots_text(slots: tuple[Slot, ...]) -> str:
    """Slots as stored: "02:00-05:00,13:00-15:00"."""
    return ",".join(_hhmm(s) for s in slots)


def _clock(minutes: int, *, short: bool) -> tuple[str, str]:
    hour, minute = divmod(minutes % DAY_MINUTES, 60)
    twelve = hour % 12 or 12
    text = f"{twelve}" if short and minute == 0 else f"{twelve}:{minute:02d}"
    return text, "AM" if hour < 12 else "PM"


def _spoken(slot: Slot, *, short: bool, space: str) -> str:
    start, start_half = _clock(slot[0], short=short)
    end, end_half = _clock(slot[1], short=short)
    if start_half == end_half and slot[1] < DAY_MINUTES:
        return f"{start}-{end}{space}{end_half}"
    return f"{start}{space}{start_half}-{end}{space}{end_half}"


def slots_for_sms(slots: tuple[Slot, ...], limit: int = MAX_VARIABLE) -> str:
    """The slots as a consumer reads them, e.g. "2:00-5:00 AM, 1:00-3:00 PM", in at most `limit` characters.

    Shortened step by step when too long ("2-5 AM, 1-3 PM", then "2-5AM,1-3PM"); when even that is too long,
    as many slots as fit and "+N more".
    """
    for short, space, joiner in ((False, " ", ", "), (True, " ", ", "), (True, "", ",")):
        text = joiner.join(_spoken(s, short=short, space=space) for s in slots)
        if len(text) <= limit:
            return text
    pieces = [_spoken(s, short=True, space="") for s in slots]
    for shown in range(len(pieces) - 1, 0, -1):
        text = ",".join(pieces[:shown]) + f" +{len(pieces) - shown} more"
        if len(text) <= limit:
            return text
    return pieces[0][:limit]


def _slot_times(day: dt.date, slot: Slot) -> tuple[dt.datetime, dt.datetime]:
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=IST)
    return (
        (midnight + dt.timedelta(minutes=slot[0])).astimezone(dt.UTC),
        (midnight + dt.timedelta(minutes=slot[1])).astimezone(dt.UTC),
    )


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[IST midnight of `day`, IST midnight of the next day) in UTC."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=IST)
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


# --- the desk's use cases -----------------------------------------------------------------------------------


def create_roster(uow: UnitOfWork, plan: RosterPlan, *, actor: Actor, now: dt.datetime) -> int:
    """Save a roster for feeders of one division (the desk's own); returns its id. Its slots become events
    day by day (`roster_day`); nobody is told now.

    Raises InvalidRoster (no name, bad slots, no feeders or one not on record, feeders of several divisions,
    `valid_to` before `valid_from`, a feeder already on another active roster for some of those days) or
    NotInScope (a feeder outside the desk's division).
    """
    name = " ".join((plan.name or "").split())
    if not name:
        raise InvalidRoster("give the roster a name")
    if len(name) > MAX_NAME:
        raise InvalidRoster(f"the name is over {MAX_NAME} characters")
    slots = parse_slots(plan.off_slots)
    if plan.valid_to is not None and plan.valid_to < plan.valid_from:
        raise InvalidRoster("it must end on or after the day it starts")
    if not plan.feeder_ids:
        raise InvalidRoster("choose at least one feeder")
    with uow:
        session = uow.session
        try:
            feeders = feeders_of(session, plan.feeder_ids, None)
        except InvalidOutage as exc:
            raise InvalidRoster(exc.problem) from exc
        if actor.division_id is not None:
            outside = [n for _, n, d in feeders if d != actor.division_id]
            if outside:
                raise NotInScope(f"Feeder {outside[0]}")
        divisions = {d for _, _, d in feeders}
        if len(divisions) > 1:
            raise InvalidRoster("one roster covers feeders of one division; make one per division")
        clash_query = (
            select(Feeder.name, RosterSchedule.id, RosterSchedule.name)
            .join(RosterFeeder, RosterFeeder.feeder_id == Feeder.id)
            .join(RosterSchedule, RosterSchedule.id == RosterFeeder.roster_id)
            .where(
                Feeder.id.in_([f for f, _, _ in feeders]),
                RosterSchedule.active.is_(True),
                or_(RosterSchedule.valid_to.is_(None), RosterSchedule.valid_to >= plan.valid_from),
            )
            .order_by(Feeder.id)
            .limit(1)
        )
        if plan.valid_to is not None:
            clash_query = clash_query.where(RosterSchedule.valid_from <= plan.valid_to)
        clash = session.execute(clash_query).first()
        if clash is not None:
            raise InvalidRoster(
                f"feeder {clash[0]} is already on roster {clash[1]} ({clash[2]}) for some of those days; end that first"
            )
        schedule = RosterSchedule(
            name=name,
            division_id=divisions.pop(),
            off_slots=slots_text(slots),
            valid_from=plan.valid_from,
            valid_to=plan.valid_to,
            active=True,
            created_by=actor.name,
            created_at=now,
        )
        session.add(schedule)
        session.flush()
        session.add_all(RosterFeeder(roster_id=schedule.id, feeder_id=f) for f, _, _ in feeders)
        audit.record(
            session,
            actor=actor.name,
            action="roster.created",
            entity="roster_schedule",
            entity_id=schedule.id,
            at=now,
            name=name,
            feeders=[f for f, _, _ in feeders],
            off_slots=schedule.off_slots,
            valid_from=plan.valid_from.isoformat(),
            valid_to=plan.valid_to.isoformat() if plan.valid_to else None,
        )
        roster_id = schedule.id
        uow.commit()
    return roster_id


def end_roster(uow: UnitOfWork, roster_id: int, *, actor: Actor, now: dt.datetime) -> bool:
    """Stop a roster: no more slots from it, and its slots already laid out that have not begun are called off
    (quietly, like the slots themselves). True when this ended it, False when it had already ended.

    Raises UnknownRoster or NotInScope.
    """
    with uow:
        session = uow.session
        schedule = session.scalars(
            select(RosterSchedule).where(RosterSchedule.id == roster_id).with_for_update()
        ).first()
        if schedule is None:
            raise UnknownRoster(roster_id)
        if actor.division_id is not None and schedule.division_id != actor.division_id:
            raise NotInScope(f"Roster {roster_id}")
        if not schedule.active:
            return False
        schedule.active = False
        upcoming = session.scalars(
            select(OutageEvent).where(
                OutageEvent.roster_id == roster_id,
                OutageEvent.status == "published",
                OutageEvent.starts_at > now,
            )
        ).all()
        for event in upcoming:
            event.status = "cancelled"
            event.cancelled_at = now
            add_revision(session, event, "cancelled", False, actor, now, "roster ended")
        if upcoming:
            session.execute(
                update(FeederInterruption)
                .where(
                    FeederInterruption.event_id.in_([e.id for e in upcoming]),
                    FeederInterruption.restored_at.is_(None),
                )
                .values(cancelled_at=now)
            )
        audit.record(
            session,
            actor=actor.name,
            action="roster.ended",
            entity="roster_schedule",
            entity_id=roster_id,
            at=now,
            slots_called_off=len(upcoming),
        )
        uow.commit()
    return True


def list_rosters(session: Session, division_id: int | None) -> list[RosterView]:
    """Rosters of a division (None: every division), active ones first, newest first; two queries in all."""
    query = select(RosterSchedule).order_by(RosterSchedule.active.desc(), RosterSchedule.id.desc())
    if division_id is not None:
        query = query.where(RosterSchedule.division_id == division_id)
    schedules = session.scalars(query).all()
    if not schedules:
        return []
    members: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for roster_id, feeder_id, feeder_name in session.execute(
        select(RosterFeeder.roster_id, Feeder.id, Feeder.name)
        .join(Feeder, Feeder.id == RosterFeeder.feeder_id)
        .where(RosterFeeder.roster_id.in_([s.id for s in schedules]))
        .order_by(Feeder.name)
    ):
        members[roster_id].append((feeder_id, feeder_name))
    return [
        RosterView(
            id=s.id,
            name=s.name,
            division_id=s.division_id,
            off_slots=s.off_slots,
            slots_text=slots_for_sms(parse_slots(s.off_slots), limit=200),
            valid_from=s.valid_from,
            valid_to=s.valid_to,
            active=s.active,
            feeders=tuple(members[s.id]),
            created_by=s.created_by,
            created_at=s.created_at,
        )
        for s in schedules
    ]


# --- the daily jobs -----------------------------------------------------------------------------------------


def _valid_on(day: dt.date) -> list[ColumnElement[bool]]:
    return [
        RosterSchedule.active.is_(True),
        RosterSchedule.valid_from <= day,
        or_(RosterSchedule.valid_to.is_(None), RosterSchedule.valid_to >= day),
    ]


def roster_day(uow: UnitOfWork, day: dt.date, *, now: dt.datetime) -> int:
    """Lay out `day`'s slots of every active roster valid on it as published "roster" events (one per roster
    and slot, on the roster's feeders, times in IST); returns the events created.

    Safe to run again: a slot whose event exists (whatever became of it) is not laid out twice. Nobody is
    alerted per slot (the revision is not to be told): subscribers get the day's schedule SMS instead.
    """
    with uow:
        session = uow.session
        # Locked, so two runs at once lay out each slot once: the second waits and then finds the events.
        schedules = session.scalars(
            select(RosterSchedule).where(*_valid_on(day)).order_by(RosterSchedule.id).with_for_update()
        ).all()
        if not schedules:
            return 0
        ids = [s.id for s in schedules]
        feeders: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        for roster_id, feeder_id, name, division_id in session.execute(
            select(RosterFeeder.roster_id, Feeder.id, Feeder.name, SubDivision.division_id)
            .join(Feeder, Feeder.id == RosterFeeder.feeder_id)
            .join(Substation, Substation.id == Feeder.substation_id)
            .join(SubDivision, SubDivision.id == Substation.sub_division_id)
            .where(RosterFeeder.roster_id.in_(ids))
            .order_by(Feeder.id)
        ):
            feeders[roster_id].append((feeder_id, name, division_id))
        first, last = _day_bounds(day)
        existing = {
            (roster_id, starts_at.astimezone(dt.UTC))
            for roster_id, starts_at in session.execute(
                select(OutageEvent.roster_id, OutageEvent.starts_at).where(
                    OutageEvent.kind == "roster",
                    OutageEvent.roster_id.in_(ids),
                    OutageEvent.starts_at >= first,
                    OutageEvent.starts_at < last,
                )
            )
        }
        created = 0
        for schedule in schedules:
            if not feeders[schedule.id]:
                continue
            for slot in parse_slots(schedule.off_slots):
                starts, ends = _slot_times(day, slot)
                if (schedule.id, starts) in existing:
                    continue
                event = create_event(
                    session,
                    kind="roster",
                    status="published",
                    feeders=feeders[schedule.id],
                    division_id=schedule.division_id,
                    substation_id=None,
                    cause=f"Roster: {schedule.name}",
                    starts_at=starts,
                    expected_restore_at=ends,
                    actor=ROSTER_ACTOR,
                    now=now,
                    roster_id=schedule.id,
                )
                add_revision(session, event, "published", False, ROSTER_ACTOR, now)
                created += 1
        uow.commit()
    return created


def close_roster_slots(uow: UnitOfWork, *, now: dt.datetime) -> int:
    """Mark restored, at its planned end, every published roster slot whose end has come by `now` (its
    feeders' interruptions with it); nobody is told. Returns the slots closed; safe to run any time.
    """
    with uow:
        session = uow.session
        due = session.scalars(
            select(OutageEvent)
            .where(
                OutageEvent.kind == "roster",
                OutageEvent.status == "published",
                OutageEvent.expected_restore_at <= now,
            )
            .order_by(OutageEvent.id)
            .with_for_update(skip_locked=True)
        ).all()
        if not due:
            return 0
        for event in due:
            event.status = "restored"
            event.restored_at = event.expected_restore_at
            add_revision(session, event, "restored", False, ROSTER_ACTOR, now)
        session.execute(
            update(FeederInterruption)
            .where(
                FeederInterruption.event_id.in_([e.id for e in due]),
                FeederInterruption.restored_at.is_(None),
                FeederInterruption.cancelled_at.is_(None),
            )
            .values(restored_at=func.coalesce(FeederInterruption.expected_restore_at, bindparam("t", now, UtcDateTime)))
            .execution_options(synchronize_session=False)
        )
        uow.commit()
    return len(due)


def slots_to_come(day: dt.date, slots: tuple[Slot, ...], at: dt.datetime) -> tuple[Slot, ...]:
    """The slots of `day` not over by `at` (under way or still ahead): what a schedule read at `at` should list."""
    return tuple(slot for slot in slots if _slot_times(day, slot)[1] > at)


def queue_roster_sms(uow: UnitOfWork, day: dt.date, *, now: dt.datetime) -> int:
    """Queue `day`'s schedule SMS ("outage.roster") for every subscription (SMS ROSTER) whose account is on a
    feeder of an active roster valid on `day`; returns the rows queued.

    The SMS is not urgent, so it goes at 08:00-21:00 IST: it lists only the slots not over by then (queued at
    00:05 for the same day, it goes at 08:00 and leaves out a 01:00-04:00 slot), and a roster with none left
    gets no SMS. Skipped: a mobile that sent STOP, an account opted out of SMS, an account not active. One
    INSERT ... SELECT ... ON CONFLICT (dedupe_key) DO NOTHING: the key `roster:{roster}:{day}:{account}:{mobile}`
    makes a second run queue nothing. Each row expires at the end of `day` (IST); after it, nothing is queued.
    """
    _, day_end = _day_bounds(day)
    if now >= day_end:
        return 0
    goes_at = daytime_from(now)
    with uow:
        session = uow.session
        schedules = [
            (roster_id, slots_text(left))
            for roster_id, off_slots in session.execute(
                select(RosterSchedule.id, RosterSchedule.off_slots).where(*_valid_on(day)).order_by(RosterSchedule.id)
            ).all()
            if (left := slots_to_come(day, parse_slots(off_slots), goes_at))
        ]
        if not schedules:
            return 0
        dialect = session.connection().dialect.name
        slot_text = case(
            *(
                (RosterSchedule.id == roster_id, literal(slots_for_sms(parse_slots(off_slots))))
                for roster_id, off_slots in schedules
            ),
            else_=literal(""),
        )
        build_json = func.jsonb_build_object if dialect == "postgresql" else func.json_object
        payload = build_json(
            "area",
            func.rtrim(func.substr(Feeder.name, 1, MAX_VARIABLE)),
            "date",
            literal(day.isoformat()),
            "slots",
            slot_text,
        )
        dedupe_key = (
            literal("roster:")
            + cast(RosterSchedule.id, String)
            + literal(f":{day.isoformat()}:")
            + cast(Account.id, String)
            + literal(":")
            + RosterSubscription.e164
        )
        at = bindparam("now", now, type_=UtcDateTime)
        rows = (
            select(
                literal("sms"),
                literal(TEMPLATE),
                RosterSubscription.e164,
                Account.id,
                payload,
                dedupe_key,
                literal("pending"),
                literal(PRIORITY),
                literal(0),
                at,
                at,
                bindparam("expires_at", day_end, type_=UtcDateTime),
            )
            .select_from(RosterSubscription)
            .join(Account, Account.id == RosterSubscription.account_id)
            .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
            .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
            .join(RosterFeeder, RosterFeeder.feeder_id == Feeder.id)
            .join(RosterSchedule, RosterSchedule.id == RosterFeeder.roster_id)
            .where(
                *_valid_on(day),
                RosterSchedule.id.in_([roster_id for roster_id, _ in schedules]),
                Account.status == "active",
                Account.sms_opt_out.is_(False),
                Account.alert_roster.is_(True),  # the portal's switch for the whole account
                ~exists().where(SmsOptOut.e164 == RosterSubscription.e164),
            )
        )
        conn = session.connection()
        result = conn.execute(
            insert_ignore(dialect, Outbox, ["dedupe_key"]).from_select(OUTBOX_COLUMNS, rows),
            execution_options={"preserve_rowcount": True},
        )
        queued = int(result.rowcount)
        uow.commit()
    return queued


# --- subscriptions (SMS ROSTER / ROSTER OFF) ----------------------------------------------------------------


def subscribe(uow: UnitOfWork, account_id: int, e164: str, *, now: dt.datetime) -> bool:
    """Send `account_id`'s daily supply schedule to the mobile `e164` from now on; True when this subscribed
    it, False when it already was. Raises MalformedMobile, or UnknownAccount for no account with that id.
    """
    mobile = normalise_mobile(e164)
    with uow:
        session = uow.session
        if session.get(Account, account_id) is None:
            raise UnknownAccount(f"with id {account_id}")
        dialect = session.connection().dialect.name
        result = session.connection().execute(
            insert_ignore(dialect, RosterSubscription, ["account_id", "e164"]).values(
                account_id=account_id, e164=mobile, created_at=now
            ),
            execution_options={"preserve_rowcount": True},
        )
        added = int(result.rowcount) == 1
        if added:
            audit.record(
                session,
                actor="channel:sms",
                action="roster.subscribed",
                entity="account",
                entity_id=account_id,
                at=now,
                e164=mobile,
            )
        uow.commit()
    return added


def unsubscribe(uow: UnitOfWork, account_id: int, e164: str, *, now: dt.datetime) -> bool:
    """Stop the daily schedule SMS of `account_id` to `e164`; True when it was subscribed, False otherwise.
    Raises MalformedMobile.
    """
    mobile = normalise_mobile(e164)
    with uow:
        session = uow.session
        result = session.connection().execute(
            delete(RosterSubscription).where(
                RosterSubscription.account_id == account_id, RosterSubscription.e164 == mobile
            ),
            execution_options={"preserve_rowcount": True},
        )
        removed = int(result.rowcount) > 0
        if removed:
            audit.record(
                session,
                actor="channel:sms",
                action="roster.unsubscribed",
                entity="account",
                entity_id=account_id,
                at=now,
                e164=mobile,
            )
        uow.commit()
    return removed


def subscriptions(uow: UnitOfWork, e164: str) -> list[tuple[int, str]]:
    """(account id, feeder name) of each daily schedule the mobile `e164` is subscribed to, oldest first."""
    with uow:
        rows = uow.session.execute(
            select(RosterSubscription.account_id, Feeder.name)
            .join(Account, Account.id == RosterSubscription.account_id)
            .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
            .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
            .where(RosterSubscription.e164 == e164)
            .order_by(RosterSubscription.id)
        ).all()
    return [(int(account_id), str(name)) for account_id, name in rows]
