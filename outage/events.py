"""Outage events through their life: published > ETR updated > restored, or cancelled; every change a revision.

Each use case checks the desk's scope, changes the event and its per-feeder `feeder_interruption` rows, adds a
numbered `outage_revision` (author, time, whether consumers are to be told) and an audit row, and commits. It
does not send anything: the revision is fanned out into the outbox afterwards (`outage.fanout`), by a task or
by the caller, and a sweep picks up any revision whose fan-out was lost.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from cis import audit, complaints
from cis.db import UnitOfWork
from cis.models import (
    Account,
    Complaint,
    DistributionTransformer,
    Feeder,
    FeederInterruption,
    OutageEvent,
    OutageEventFeeder,
    OutageRevision,
    SubDivision,
    Substation,
)
from outage.errors import EventClosed, InvalidOutage, NotInScope, OverlappingOutage, UnknownEvent

MAX_CAUSE = 200
# A breakdown is reported as it happens; a "since" a little ahead of the server's clock is a desk clock's skew.
CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_SHUTDOWN = dt.timedelta(hours=12)
# A consumer's "2" (power still off) reopens an event only this soon after its restoration.
REOPEN_WITHIN = dt.timedelta(hours=12)
DEFAULT_ETR_MARGIN = dt.timedelta(minutes=30)
# A roster slot keeps to its schedule: it is called off (cancelled), never given an ETR or restored by hand.
ROSTER_SLOT_FIXED = "a roster slot ends by itself at its planned end; call the slot off, or end its roster"


@dataclass(frozen=True)
class Actor:
    """Who acts: `name` goes into revisions and audit rows; `division_id` None means the whole discom."""

    name: str
    division_id: int | None = None


SYSTEM = Actor("system:outage")


@dataclass(frozen=True)
class Breakdown:
    """A breakdown as the desk reports it: on some feeders, or on every feeder of a substation."""

    since: dt.datetime
    cause: str
    feeder_ids: tuple[int, ...] = ()
    substation_id: int | None = None
    expected_restore_at: dt.datetime | None = None


@dataclass(frozen=True)
class Shutdown:
    """A planned shutdown, published ahead of its start."""

    feeder_ids: tuple[int, ...]
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class RevisionRef:
    """What a use case did: the event, the revision it added, and whether consumers are to be told of it."""

    event_id: int
    revision_id: int
    number: int
    action: str
    notify: bool


def _clean_cause(text: str | None) -> str:
    cause = " ".join((text or "").split())
    if not cause:
        raise InvalidOutage("say what the cause is")
    if len(cause) > MAX_CAUSE:
        raise InvalidOutage(f"the cause is over {MAX_CAUSE} characters")
    return cause


def _aware(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise InvalidOutage(f"the {name} has no time zone")
    return moment.astimezone(dt.UTC)


def feeders_of(session: Session, feeder_ids: Iterable[int], substation_id: int | None) -> list[tuple[int, str, int]]:
    """(feeder id, name, division id) of the feeders named, or of every feeder of the substation."""
    query = (
        select(Feeder.id, Feeder.name, SubDivision.division_id)
        .join(Substation, Substation.id == Feeder.substation_id)
        .join(SubDivision, SubDivision.id == Substation.sub_division_id)
    )
    wanted = sorted(set(feeder_ids))
    if substation_id is not None:
        rows = session.execute(query.where(Feeder.substation_id == substation_id).order_by(Feeder.id)).all()
        if not rows:
            raise InvalidOutage(f"substation {substation_id} has no feeders on record")
        wanted = sorted({*wanted, *(r[0] for r in rows)})
    if not wanted:
        raise InvalidOutage("choose at least one feeder or a substation")
    rows = session.execute(query.where(Feeder.id.in_(wanted)).order_by(Feeder.id)).all()
    found = {r[0] for r in rows}
    missing = [f for f in wanted if f not in found]
    if missing:
        raise InvalidOutage(f"no feeder {missing[0]} is on record")
    return [(r[0], r[1], r[2]) for r in rows]


def _one_division(feeders: Sequence[tuple[int, str, int]], actor: Actor) -> int:
    divisions = {d for _, _, d in feeders}
    if actor.division_id is not None:
        outside = [name for _, name, d in feeders if d != actor.division_id]
        if outside:
            raise NotInScope(f"Feeder {outside[0]}")
    if len(divisions) > 1 and actor.division_id is not None:
        raise InvalidOutage("one event covers feeders of one division; publish one per division")
    # An event published above the divisions (a zone's control room) is listed under its largest division.
    return Counter(d for _, _, d in feeders).most_common(1)[0][0]


def consumers_by_feeder(session: Session, feeder_ids: Sequence[int]) -> dict[int, int]:
    """Active connections on each feeder (one grouped count, not one query per feeder)."""
    rows = session.execute(
        select(DistributionTransformer.feeder_id, func.count())
        .join(Account, Account.dt_id == DistributionTransformer.id)
        .where(DistributionTransformer.feeder_id.in_(feeder_ids), Account.status == "active")
        .group_by(DistributionTransformer.feeder_id)
    ).all()
    counts = {f: 0 for f in feeder_ids}
    counts.update({f: int(n) for f, n in rows})
    return counts


def lock_feeders(session: Session, feeder_ids: Iterable[int]) -> None:
    """Lock these feeders' rows until the transaction ends (in id order, so two lockers cannot deadlock): whoever
    checks a feeder's live events and then adds one goes second behind anyone doing the same, and sees their work.
    """
    session.execute(
        select(Feeder.id).where(Feeder.id.in_(sorted(set(feeder_ids)))).order_by(Feeder.id).with_for_update()
    )


def _live_overlap(
    session: Session, feeders: Sequence[tuple[int, str, int]], kind: str, starts: dt.datetime, ends: dt.datetime | None
) -> None:
    """Refuse a second live event of the same kind on a feeder (a breakdown inside a shutdown is fine); the
    feeders stay locked, so two desks publishing on one feeder at once make one event, not two."""
    lock_feeders(session, (f for f, _, _ in feeders))
    fi = FeederInterruption
    query = (
        select(fi.feeder_id, fi.event_id)
        .join(OutageEvent, OutageEvent.id == fi.event_id)
        .where(
            fi.feeder_id.in_([f for f, _, _ in feeders]),
            fi.restored_at.is_(None),
            fi.cancelled_at.is_(None),
            OutageEvent.kind == kind,
            OutageEvent.status == "published",
        )
    )
    if kind == "shutdown" and ends is not None:
        # Planned windows collide only when they overlap in time.
        query = query.where(
            fi.started_at < ends, (fi.expected_restore_at.is_(None)) | (fi.expected_restore_at > starts)
        )
    hit = session.execute(query.limit(1)).first()
    if hit is not None:
        name = next(n for f, n, _ in feeders if f == hit[0])
        raise OverlappingOutage(name, int(hit[1]))


def add_revision(
    session: Session,
    event: OutageEvent,
    action: str,
    notify: bool,
    actor: Actor,
    now: dt.datetime,
    note: str | None = None,
) -> RevisionRef:
    event.revision += 1
    event.updated_at = now
    if event.kind == "roster":
        # A roster slot is told by the day's schedule SMS, never by an alert of its own (not even a change).
        notify = False
    revision = OutageRevision(
        event_id=event.id,
        number=event.revision,
        action=action,
        notify=notify,
        starts_at=event.starts_at,
        expected_restore_at=event.expected_restore_at,
        note=note,
        author=actor.name,
        at=now,
    )
    session.add(revision)
    session.flush()
    audit.record(
        session,
        actor=actor.name,
        action=f"outage.{action}",
        entity="outage_event",
        entity_id=event.id,
        at=now,
        revision=event.revision,
        kind=event.kind,
        status=event.status,
        starts_at=event.starts_at.isoformat(),
        expected_restore_at=event.expected_restore_at.isoformat() if event.expected_restore_at else None,
        notify=notify,
        note=note,
    )
    return RevisionRef(event.id, revision.id, revision.number, action, notify)


def create_event(
    session: Session,
    *,
    kind: str,
    status: str,
    feeders: Sequence[tuple[int, str, int]],
    division_id: int,
    substation_id: int | None,
    cause: str,
    starts_at: dt.datetime,
    expected_restore_at: dt.datetime | None,
    actor: Actor,
    now: dt.datetime,
    roster_id: int | None = None,
) -> OutageEvent:
    event = OutageEvent(
        kind=kind,
        status=status,
        division_id=division_id,
        substation_id=substation_id,
        roster_id=roster_id,
        cause=cause,
        starts_at=starts_at,
        expected_restore_at=expected_restore_at,
        announced_restore_at=expected_restore_at if status == "published" else None,
        revision=0,
        created_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(event)
    session.flush()
    session.add_all(OutageEventFeeder(event_id=event.id, feeder_id=f) for f, _, _ in feeders)
    if status == "published":
        open_feeders(session, event, [f for f, _, _ in feeders], now)
    return event


def link_complaints(
    session: Session, event: OutageEvent, since: dt.datetime, actor: Actor, now: dt.datetime
) -> list[int]:
    """Link to a live outage the open no-supply complaints lodged on its feeders from `since` to `now` that no
    live outage holds (unlinked, or left on a suspicion or an outage that was not one): its restoration
    resolves them. The ids linked (an audit row names them)."""
    feeders = select(OutageEventFeeder.feeder_id).where(OutageEventFeeder.event_id == event.id)
    not_live = select(OutageEvent.id).where(OutageEvent.status.in_(("suspected", "dismissed", "cancelled")))
    linked = list(
        session.scalars(
            select(Complaint.id).where(
                Complaint.feeder_id.in_(feeders),
                Complaint.category == "no_supply",
                Complaint.status == "open",
                Complaint.created_at >= since,
                Complaint.created_at <= now,
                or_(Complaint.outage_event_id.is_(None), Complaint.outage_event_id.in_(not_live)),
            )
        )
    )
    if linked:
        session.execute(
            update(Complaint)
            .where(Complaint.id.in_(linked))
            .values(outage_event_id=event.id)
            .execution_options(synchronize_session=False)
        )
        complaints.record_events(
            session, linked, "linked_to_outage", actor=actor.name, at=now, note=f"outage {event.id}"
        )
        audit.record(
            session,
            actor=actor.name,
            action="complaint.linked_to_outage",
            entity="outage_event",
            entity_id=event.id,
            at=now,
            complaints=linked,
        )
    return linked


def open_feeders(session: Session, event: OutageEvent, feeder_ids: Sequence[int], now: dt.datetime) -> None:
    """One live `feeder_interruption` per feeder of a published event, with its consumers counted."""
    counts = consumers_by_feeder(session, feeder_ids)
    session.add_all(
        FeederInterruption(
            feeder_id=feeder_id,
            kind=event.kind,
            started_at=event.starts_at,
            expected_restore_at=event.expected_restore_at,
            reason=event.cause,
            event_id=event.id,
            consumers=counts[feeder_id],
            created_at=now,
        )
        for feeder_id in feeder_ids
    )
    session.flush()


def publish_breakdown(uow: UnitOfWork, report: Breakdown, *, actor: Actor, now: dt.datetime) -> RevisionRef:
    """Publish a breakdown on the feeders named (or a whole substation's): consumers are to be told at once.

    Open no-supply complaints lodged on those feeders since `report.since` and linked to no live outage are
    linked to it, so its restoration resolves them. Raises InvalidOutage (no feeders, a start in the future,
    an ETR not after the start, no cause),
    NotInScope (a feeder outside the desk's division) or OverlappingOutage (a feeder already under a live
    breakdown: update that event's ETR instead).
    """
    since = _aware(report.since, "start")
    etr = _aware(report.expected_restore_at, "expected restoration") if report.expected_restore_at else None
    if since > now + CLOCK_SKEW:
        raise InvalidOutage("a breakdown cannot start in the future")
    if etr is not None and etr <= max(since, now - CLOCK_SKEW):
        raise InvalidOutage("the expected restoration must be later than now and the start")
    cause = _clean_cause(report.cause)
    with uow:
        session = uow.session
        feeders = feeders_of(session, report.feeder_ids, report.substation_id)
        division_id = _one_division(feeders, actor)
        _live_overlap(session, feeders, "breakdown", since, etr)
        event = create_event(
            session,
            kind="breakdown",
            status="published",
            feeders=feeders,
            division_id=division_id,
            substation_id=report.substation_id,
            cause=cause,
            starts_at=since,
            expected_restore_at=etr,
            actor=actor,
            now=now,
        )
        # Consumers who complained of no supply since it began, before the desk knew, are covered by it.
        link_complaints(session, event, since, actor, now)
        ref = add_revision(session, event, "published", True, actor, now)
        uow.commit()
    return ref


def publish_shutdown(uow: UnitOfWork, plan: Shutdown, *, actor: Actor, now: dt.datetime) -> RevisionRef:
    """Publish a planned shutdown ahead of its start; consumers are told now, the day before, and at its start.

    Raises InvalidOutage (a start already past, an end not after the start, longer than 12 hours, no reason),
    NotInScope, or OverlappingOutage (a feeder with another shutdown in an overlapping window).
    """
    starts = _aware(plan.starts_at, "start")
    ends = _aware(plan.ends_at, "end")
    if starts < now - CLOCK_SKEW:
        raise InvalidOutage("a planned shutdown is published before it starts")
    if ends <= starts:
        raise InvalidOutage("the end must come after the start")
    if ends - starts > MAX_SHUTDOWN:
        raise InvalidOutage("a shutdown longer than 12 hours is published as two")
    reason = _clean_cause(plan.reason)
    with uow:
        session = uow.session
        feeders = feeders_of(session, plan.feeder_ids, None)
        division_id = _one_division(feeders, actor)
        _live_overlap(session, feeders, "shutdown", starts, ends)
        event = create_event(
            session,
            kind="shutdown",
            status="published",
            feeders=feeders,
            division_id=division_id,
            substation_id=None,
            cause=reason,
            starts_at=starts,
            expected_restore_at=ends,
            actor=actor,
            now=now,
        )
        ref = add_revision(session, event, "published", True, actor, now)
        uow.commit()
    return ref


def locked_event(session: Session, event_id: int, actor: Actor, *, lock: bool = True) -> OutageEvent:
    query = select(OutageEvent).where(OutageEvent.id == event_id)
    if lock:
        # Two desk users acting on one event at once: the second waits and sees the first one's revision.
        query = query.with_for_update()
    event = session.scalars(query).first()
    if event is None:
        raise UnknownEvent(event_id)
    if actor.division_id is not None and event.division_id != actor.division_id:
        raise NotInScope(f"Outage {event_id}")
    return event


def update_etr(
    uow: UnitOfWork,
    event_id: int,
    expected_restore_at: dt.datetime,
    *,
    actor: Actor,
    now: dt.datetime,
    margin: dt.timedelta = DEFAULT_ETR_MARGIN,
    note: str | None = None,
) -> RevisionRef:
    """Set a new expected restoration (a shutdown: a new planned end).

    Consumers are told (`notify`) only when it differs from the ETR they were last told by more than
    `margin`; a smaller change is recorded as an `etr_noted` revision, and the IVR and SMS OUTAGE say the
    new time at once either way. Raises UnknownEvent, NotInScope, EventClosed, InvalidOutage (not later
    than now and the start; a roster slot).
    """
    etr = _aware(expected_restore_at, "expected restoration")
    with uow:
        session = uow.session
        event = locked_event(session, event_id, actor)
        if event.status != "published":
            raise EventClosed(event_id, event.status, "given a new restoration time")
        if event.kind == "roster":
            raise InvalidOutage(ROSTER_SLOT_FIXED)
        if etr <= max(event.starts_at, now - CLOCK_SKEW):
            raise InvalidOutage("the expected restoration must be later than now and the start")
        if event.kind == "shutdown" and etr - event.starts_at > MAX_SHUTDOWN:
            raise InvalidOutage("a shutdown longer than 12 hours is published as two")
        told = event.announced_restore_at
        notify = told is None or abs(etr - told) > margin
        event.expected_restore_at = etr
        if notify:
            event.announced_restore_at = etr
        session.execute(
            update(FeederInterruption)
            .where(FeederInterruption.event_id == event.id, FeederInterruption.restored_at.is_(None))
            .values(expected_restore_at=etr)
        )
        ref = add_revision(session, event, "etr_changed" if notify else "etr_noted", notify, actor, now, note)
        uow.commit()
    return ref


def restore(
    uow: UnitOfWork, event_id: int, *, actor: Actor, now: dt.datetime, at: dt.datetime | None = None
) -> RevisionRef:
    """Mark supply restored on every feeder of the event at `at` (default now); every consumer is told once.

    Its linked no-supply complaints are resolved with it. Raises UnknownEvent, NotInScope, EventClosed,
    InvalidOutage (restored before it started, or in the future; a roster slot, which ends by itself).
    """
    when = _aware(at, "restoration") if at is not None else now
    if when > now + CLOCK_SKEW:
        raise InvalidOutage("a restoration cannot be in the future")
    with uow:
        session = uow.session
        event = locked_event(session, event_id, actor)
        if event.status != "published":
            raise EventClosed(event_id, event.status, "restored")
        if event.kind == "roster":
            raise InvalidOutage(ROSTER_SLOT_FIXED)
        if event.starts_at > when:
            raise InvalidOutage("it has not started yet; a planned shutdown called off beforehand is cancelled")
        event.status = "restored"
        event.restored_at = when
        session.execute(
            update(FeederInterruption)
            .where(FeederInterruption.event_id == event.id, FeederInterruption.restored_at.is_(None))
            .values(restored_at=when)
        )
        linked = session.scalars(
            select(Complaint.id).where(
                Complaint.outage_event_id == event.id, Complaint.status.in_(("open", "reopened"))
            )
        ).all()
        if linked:
            resolution = f"Supply restored (outage {event.id})."
            session.execute(
                update(Complaint)
                .where(Complaint.id.in_(linked))
                .values(status="resolved", resolved_at=when, resolution=resolution)
            )
            complaints.record_events(session, list(linked), "resolved", actor=actor.name, at=when, note=resolution)
            audit.record(
                session,
                actor=actor.name,
                action="complaint.resolved_by_outage",
                entity="outage_event",
                entity_id=event.id,
                at=now,
                complaints=list(linked),
            )
        ref = add_revision(session, event, "restored", True, actor, now)
        uow.commit()
    return ref


def cancel(uow: UnitOfWork, event_id: int, *, actor: Actor, now: dt.datetime, note: str | None = None) -> RevisionRef:
    """Call off a planned shutdown before it starts, or withdraw a breakdown published in error (or dismiss
    a suspected one, telling nobody). Consumers who were told are told it is off.

    Raises UnknownEvent, NotInScope, EventClosed, InvalidOutage (a shutdown already under way is restored,
    not cancelled).
    """
    with uow:
        session = uow.session
        event = locked_event(session, event_id, actor)
        if event.status == "suspected":
            event.status = "dismissed"
            event.cancelled_at = now
            ref = add_revision(session, event, "dismissed", False, actor, now, note)
            uow.commit()
            return ref
        if event.status != "published":
            raise EventClosed(event_id, event.status, "cancelled")
        if event.kind == "shutdown" and event.starts_at <= now:
            raise InvalidOutage("the shutdown is under way: mark it restored when supply is back")
        event.status = "cancelled"
        event.cancelled_at = now
        session.execute(
            update(FeederInterruption)
            .where(FeederInterruption.event_id == event.id, FeederInterruption.restored_at.is_(None))
            .values(cancelled_at=now)
        )
        # Complaints linked to an outage that was not one go back to the field.
        unlinked = list(
            session.scalars(
                update(Complaint)
                .where(Complaint.outage_event_id == event.id, Complaint.status == "open")
                .values(outage_event_id=None)
                .returning(Complaint.id)
            )
        )
        complaints.record_events(
            session, unlinked, "unlinked_from_outage", actor=actor.name, at=now, note=f"outage {event.id}"
        )
        ref = add_revision(session, event, "cancelled", True, actor, now, note)
        uow.commit()
    return ref


def confirm_suspected(
    uow: UnitOfWork,
    event_id: int,
    *,
    actor: Actor,
    now: dt.datetime,
    cause: str | None = None,
    expected_restore_at: dt.datetime | None = None,
) -> RevisionRef:
    """One click on the desk: a suspected breakdown becomes a published one and its consumers are told.

    Raises UnknownEvent, NotInScope, EventClosed (not suspected any more), OverlappingOutage (the feeder got a
    breakdown of its own meanwhile), InvalidOutage (an ETR not later than now).
    """
    etr = _aware(expected_restore_at, "expected restoration") if expected_restore_at else None
    if etr is not None and etr <= now - CLOCK_SKEW:
        raise InvalidOutage("the expected restoration must be later than now")
    with uow:
        session = uow.session
        event = locked_event(session, event_id, actor)
        if event.status != "suspected":
            raise EventClosed(event_id, event.status, "confirmed")
        feeder_ids = session.scalars(
            select(OutageEventFeeder.feeder_id).where(OutageEventFeeder.event_id == event.id)
        ).all()
        feeders = feeders_of(session, feeder_ids, None)
        _live_overlap(session, feeders, "breakdown", event.starts_at, etr)
        event.status = "published"
        event.cause = _clean_cause(cause) if cause else "Breakdown"
        event.expected_restore_at = etr
        event.announced_restore_at = etr
        open_feeders(session, event, list(feeder_ids), now)
        # The burst that raised it is linked already; complaints lodged since are linked now.
        link_complaints(session, event, event.starts_at, actor, now)
        ref = add_revision(session, event, "published", True, actor, now)
        uow.commit()
    return ref


def reopen(uow: UnitOfWork, event_id: int, *, actor: Actor, now: dt.datetime, note: str) -> RevisionRef | None:
    """Put a restored event back on the desk as live (a consumer says supply is still off); None when it is
    not restored or was restored too long ago. Nobody is told: the desk decides on a new ETR.
    """
    with uow:
        session = uow.session
        event = locked_event(session, event_id, SYSTEM)
        if event.status != "restored" or event.restored_at is None or now - event.restored_at > REOPEN_WITHIN:
            return None
        # A newer breakdown already live on one of its feeders covers what the consumer reports.
        newer = session.scalar(
            select(func.count())
            .select_from(FeederInterruption)
            .join(OutageEventFeeder, OutageEventFeeder.feeder_id == FeederInterruption.feeder_id)
            .where(
                OutageEventFeeder.event_id == event.id,
                FeederInterruption.event_id != event.id,
                FeederInterruption.restored_at.is_(None),
                FeederInterruption.cancelled_at.is_(None),
                FeederInterruption.started_at <= now,
            )
        )
        if newer:
            return None
        restored_at = event.restored_at
        event.status = "published"
        event.restored_at = None
        event.expected_restore_at = None
        session.execute(
            update(FeederInterruption)
            .where(FeederInterruption.event_id == event.id, FeederInterruption.restored_at == restored_at)
            .values(restored_at=None, expected_restore_at=None)
        )
        # The no-supply complaints of those who said it is still off belong to the reopened outage again.
        link_complaints(session, event, restored_at, actor, now)
        ref = add_revision(session, event, "reopened", False, actor, now, note)
        uow.commit()
    return ref
