"""Suspected breakdowns: a burst of no-supply complaints from one feeder puts a breakdown on the desk to confirm."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, select, update

from cis import complaints
from cis.db import UnitOfWork
from cis.models import Complaint, FeederInterruption, OutageEvent, OutageEventFeeder
from outage.events import SYSTEM, add_revision, create_event, feeders_of, lock_feeders

DEFAULT_THRESHOLD = 3
DEFAULT_WINDOW = dt.timedelta(minutes=15)
# The shortest no-supply SLA (cis.complaints): lets the search use the (status, sla_due_at) index.
SHORTEST_SLA = dt.timedelta(hours=4)


def detect_suspected(
    uow: UnitOfWork,
    *,
    now: dt.datetime,
    threshold: int = DEFAULT_THRESHOLD,
    window: dt.timedelta = DEFAULT_WINDOW,
) -> list[int]:
    """Raise a suspected breakdown for each feeder with `threshold` or more open no-supply complaints in the
    last `window` that no outage explains; the ids of the events raised. Nobody is told until the desk
    confirms one (outage.events.confirm_suspected); a feeder with a live or suspected breakdown gets none.
    Safe to run every minute.
    """
    since = now - window
    raised: list[int] = []
    with uow:
        session = uow.session
        live = exists().where(
            FeederInterruption.feeder_id == Complaint.feeder_id,
            FeederInterruption.restored_at.is_(None),
            FeederInterruption.cancelled_at.is_(None),
            FeederInterruption.started_at <= now,
        )
        suspected = (
            select(OutageEventFeeder.feeder_id)
            .join(OutageEvent, OutageEvent.id == OutageEventFeeder.event_id)
            .where(OutageEvent.status == "suspected", OutageEventFeeder.feeder_id == Complaint.feeder_id)
            .exists()
        )
        burst_query = (
            select(Complaint.feeder_id, func.count(), func.min(Complaint.created_at))
            .where(
                Complaint.status == "open",
                Complaint.sla_due_at >= since + SHORTEST_SLA - dt.timedelta(minutes=1),
                Complaint.created_at >= since,
                Complaint.category == "no_supply",
                Complaint.outage_event_id.is_(None),
                Complaint.feeder_id.is_not(None),
                ~live,
                ~suspected,
            )
            .group_by(Complaint.feeder_id)
            .having(func.count() >= threshold)
        )
        bursts = session.execute(burst_query).all()
        if bursts:
            # Two sweeps at once: the second waits for the first's feeders, then finds them suspected already.
            lock_feeders(session, (int(b[0]) for b in bursts))
            bursts = session.execute(burst_query).all()
        for feeder_id, count, first in bursts:
            feeders = feeders_of(session, [int(feeder_id)], None)
            event = create_event(
                session,
                kind="breakdown",
                status="suspected",
                feeders=feeders,
                division_id=feeders[0][2],
                substation_id=None,
                cause=f"Suspected: {count} no-supply complaints in {int(window.total_seconds() // 60)} minutes",
                starts_at=first,
                expected_restore_at=None,
                actor=SYSTEM,
                now=now,
            )
            add_revision(session, event, "suspected", False, SYSTEM, now)
            # The burst belongs to the suspicion: it is not counted again (a dismissed one stays dismissed),
            # and confirmed, the outage's restoration resolves these complaints.
            session.execute(
                update(Complaint)
                .where(
                    Complaint.feeder_id == feeder_id,
                    Complaint.category == "no_supply",
                    Complaint.status == "open",
                    Complaint.outage_event_id.is_(None),
                    Complaint.created_at >= since,
                )
                .values(outage_event_id=event.id),
                execution_options={"synchronize_session": False},
            )
            # The event is this transaction's own: every complaint on it was linked just now.
            complaints.record_events(
                session,
                select(Complaint.id).where(Complaint.outage_event_id == event.id),
                "linked_to_outage",
                actor=SYSTEM.name,
                at=now,
                note=f"outage {event.id}",
            )
            raised.append(event.id)
        uow.commit()
    return raised
