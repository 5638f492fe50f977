"""Read-only questions the outage desk and the public page ask: live events, reach of an alert, reachable share.

Every function answers with a fixed number of set-based queries, whatever the number of events or accounts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Exists, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from cis.models import (
    Account,
    AccountMobile,
    Complaint,
    DistributionTransformer,
    Division,
    Feeder,
    FeederInterruption,
    OutageEvent,
    OutageEventFeeder,
    OutageRevision,
    SmsOptOut,
    SubDivision,
    Substation,
)

LIVE_STATUSES = ("suspected", "published")
CLOSED_STATUSES = ("restored", "cancelled", "dismissed")
RECENT = dt.timedelta(hours=48)
PLANNED_AHEAD = dt.timedelta(days=7)


@dataclass(frozen=True)
class Reach:
    """Who an alert on some feeders reaches: every active account is counted once, in one of the three."""

    consumers: int
    sms: int
    voice: int
    unreachable: int


@dataclass(frozen=True)
class EventRow:
    """One event as the desk lists it."""

    id: int
    kind: str
    status: str
    cause: str | None
    starts_at: dt.datetime
    expected_restore_at: dt.datetime | None
    restored_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    division_id: int
    feeder_ids: tuple[int, ...]
    feeders: tuple[str, ...]
    consumers: int
    revision: int
    last_action: str | None
    last_action_at: dt.datetime | None
    last_author: str | None
    complaints: int


@dataclass(frozen=True)
class FeederShare:
    """A feeder's active consumers and how many of them have a verified mobile (share in per cent, 1 decimal)."""

    feeder_id: int
    feeder: str
    substation: str
    consumers: int
    verified: int

    @property
    def share(self) -> Decimal | None:
        if not self.consumers:
            return None
        return (Decimal(100 * self.verified) / self.consumers).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class FeederOption:
    """A feeder the desk may pick, with its substation."""

    id: int
    name: str
    code: str
    substation_id: int
    substation: str


@dataclass(frozen=True)
class PublicInterruption:
    """A line of the public page: one feeder off (or planned to go off)."""

    division: str
    feeder: str
    kind: str
    since: dt.datetime
    expected_restore_at: dt.datetime | None
    reason: str | None


def division_feeders(session: Session, division_id: int) -> list[FeederOption]:
    """The feeders of a division (Feeder > Substation > SubDivision.division_id), by substation and name."""
    rows = session.execute(
        select(Feeder.id, Feeder.name, Feeder.code, Substation.id, Substation.name)
        .join(Substation, Substation.id == Feeder.substation_id)
        .join(SubDivision, SubDivision.id == Substation.sub_division_id)
        .where(SubDivision.division_id == division_id)
        .order_by(Substation.name, Feeder.name, Feeder.id)
    ).all()
    return [FeederOption(*row) for row in rows]


def division_of_substation(session: Session, substation_id: int) -> int | None:
    """The division a substation belongs to, or None when there is no such substation."""
    return session.scalar(
        select(SubDivision.division_id)
        .join(Substation, Substation.sub_division_id == SubDivision.id)
        .where(Substation.id == substation_id)
    )


def divisions(session: Session) -> list[tuple[int, str, str]]:
    """(id, code, name) of every division, for a desk that covers the whole discom."""
    return [
        (r[0], r[1], r[2])
        for r in session.execute(select(Division.id, Division.code, Division.name).order_by(Division.name))
    ]


def _usable_mobile() -> Exists:
    """An account has a mobile that has not sent STOP."""
    return exists().where(
        AccountMobile.account_id == Account.id,
        ~exists().where(SmsOptOut.e164 == AccountMobile.e164),
    )


def _any_mobile() -> Exists:
    return exists().where(AccountMobile.account_id == Account.id)


def preview(session: Session, feeder_ids: Sequence[int] = (), *, substation_id: int | None = None) -> Reach:
    """How many active accounts are on the feeders (or the substation's) and how the fan-out would reach them.

    The fan-out's rule: SMS when the account prefers SMS, is not opted out and has a mobile that has not sent
    STOP; a voice call when it prefers voice and has a mobile or a landline, or when it has no usable mobile
    but a landline; everyone else is unreachable (those who switched outage alerts off on the portal too). One
    grouped query.
    """
    on_feeders: ColumnElement[bool] = DistributionTransformer.feeder_id.in_(list(feeder_ids))
    if substation_id is not None:
        on_feeders = or_(
            on_feeders,
            DistributionTransformer.feeder_id.in_(select(Feeder.id).where(Feeder.substation_id == substation_id)),
        )
    wants = Account.alert_outage.is_(True)  # switched off on the portal: told by neither channel
    sms_ok = and_(wants, Account.alert_channel == "sms", Account.sms_opt_out.is_(False), _usable_mobile())
    voice_ok = and_(
        wants,
        or_(
            and_(Account.alert_channel == "voice", or_(_any_mobile(), Account.landline.is_not(None))),
            and_(
                Account.alert_channel != "voice",
                Account.landline.is_not(None),
                or_(Account.sms_opt_out.is_(True), ~_usable_mobile()),
            ),
        ),
    )
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((sms_ok, 1), else_=0)), 0),
            func.coalesce(func.sum(case((voice_ok, 1), else_=0)), 0),
        )
        .select_from(Account)
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        .where(on_feeders, Account.status == "active")
    ).one()
    consumers, sms, voice = int(row[0]), int(row[1]), int(row[2])
    return Reach(consumers=consumers, sms=sms, voice=voice, unreachable=consumers - sms - voice)


def event_feeder_ids(session: Session, event_id: int) -> list[int]:
    return list(
        session.scalars(
            select(OutageEventFeeder.feeder_id)
            .where(OutageEventFeeder.event_id == event_id)
            .order_by(OutageEventFeeder.feeder_id)
        )
    )


def reachable_share(session: Session, division_id: int) -> list[FeederShare]:
    """Per feeder of the division: active consumers, those with a verified mobile, and the share (one query)."""
    verified = exists().where(AccountMobile.account_id == Account.id, AccountMobile.verified.is_(True))
    rows = session.execute(
        select(
            Feeder.id,
            Feeder.name,
            Substation.name,
            func.count(Account.id),
            func.coalesce(func.sum(case((verified, 1), else_=0)), 0),
        )
        .join(Substation, Substation.id == Feeder.substation_id)
        .join(SubDivision, SubDivision.id == Substation.sub_division_id)
        .outerjoin(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
        .outerjoin(Account, and_(Account.dt_id == DistributionTransformer.id, Account.status == "active"))
        .where(SubDivision.division_id == division_id)
        .group_by(Feeder.id, Feeder.name, Substation.name)
        .order_by(Substation.name, Feeder.name, Feeder.id)
    ).all()
    return [FeederShare(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]


def _event_rows(session: Session, query: Select[Any]) -> list[EventRow]:
    """The events `query` selects, with their feeders, consumers, last revision and linked complaints."""
    events: list[OutageEvent] = list(session.scalars(query))
    ids = [e.id for e in events]
    if not ids:
        return []
    feeders: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for event_id, feeder_id, name in session.execute(
        select(OutageEventFeeder.event_id, Feeder.id, Feeder.name)
        .join(Feeder, Feeder.id == OutageEventFeeder.feeder_id)
        .where(OutageEventFeeder.event_id.in_(ids))
        .order_by(OutageEventFeeder.event_id, Feeder.name)
    ):
        feeders[event_id].append((feeder_id, name))
    consumers: dict[int, int] = {
        r[0]: int(r[1])
        for r in session.execute(
            select(OutageEventFeeder.event_id, func.count(Account.id))
            .join(DistributionTransformer, DistributionTransformer.feeder_id == OutageEventFeeder.feeder_id)
            .join(Account, Account.dt_id == DistributionTransformer.id)
            .where(OutageEventFeeder.event_id.in_(ids), Account.status == "active")
            .group_by(OutageEventFeeder.event_id)
        )
    }
    last: dict[int, tuple[str | None, dt.datetime | None, str | None]] = {
        r[0]: (r[1], r[2], r[3])
        for r in session.execute(
            select(OutageRevision.event_id, OutageRevision.action, OutageRevision.at, OutageRevision.author)
            .join(
                OutageEvent,
                and_(OutageEvent.id == OutageRevision.event_id, OutageEvent.revision == OutageRevision.number),
            )
            .where(OutageRevision.event_id.in_(ids))
        )
    }
    complaints: dict[int | None, int] = {
        r[0]: int(r[1])
        for r in session.execute(
            select(Complaint.outage_event_id, func.count())
            .where(Complaint.outage_event_id.in_(ids))
            .group_by(Complaint.outage_event_id)
        )
    }
    rows = []
    for e in events:
        action, at, author = last.get(e.id, (None, None, None))
        rows.append(
            EventRow(
                id=e.id,
                kind=e.kind,
                status=e.status,
                cause=e.cause,
                starts_at=e.starts_at,
                expected_restore_at=e.expected_restore_at,
                restored_at=e.restored_at,
                cancelled_at=e.cancelled_at,
                division_id=e.division_id,
                feeder_ids=tuple(f for f, _ in feeders[e.id]),
                feeders=tuple(n for _, n in feeders[e.id]),
                consumers=int(consumers.get(e.id, 0)),
                revision=e.revision,
                last_action=action,
                last_action_at=at,
                last_author=author,
                complaints=int(complaints.get(e.id) or 0),
            )
        )
    return rows


# Under way, the unplanned comes first: a breakdown, then a planned shutdown, then a roster slot.
_UNDER_WAY_ORDER = {"breakdown": 0, "shutdown": 1, "roster": 2}


def live_events(session: Session, division_id: int | None, *, now: dt.datetime | None = None) -> list[EventRow]:
    """Suspected breakdowns and published events not yet restored or cancelled, of one division (None: every
    division), in the order the desk acts on them: suspected first (to confirm), then those under way at `now`
    (breakdowns, shutdowns, roster slots; latest start first), then those still to come (soonest first).
    Without `now`, latest start first after the suspected ones."""
    query = (
        select(OutageEvent)
        .where(OutageEvent.status.in_(LIVE_STATUSES))
        .order_by(case((OutageEvent.status == "suspected", 0), else_=1), OutageEvent.starts_at.desc(), OutageEvent.id)
    )
    if division_id is not None:
        query = query.where(OutageEvent.division_id == division_id)
    rows = _event_rows(session, query)
    if now is None:
        return rows

    def order(row: EventRow) -> tuple[int, int, float]:
        start = row.starts_at.timestamp()
        if row.status == "suspected":
            return 0, 0, -start
        if row.starts_at <= now:
            return 1, _UNDER_WAY_ORDER.get(row.kind, 3), -start
        return 2, 0, start

    return sorted(rows, key=order)


def recent_closed(
    session: Session, division_id: int | None, *, now: dt.datetime, within: dt.timedelta = RECENT
) -> list[EventRow]:
    """Events restored, cancelled or dismissed in the last 48 hours (by their last change), latest first."""
    query = (
        select(OutageEvent)
        .where(OutageEvent.status.in_(CLOSED_STATUSES), OutageEvent.updated_at >= now - within)
        .order_by(OutageEvent.updated_at.desc(), OutageEvent.id.desc())
    )
    if division_id is not None:
        query = query.where(OutageEvent.division_id == division_id)
    return _event_rows(session, query)


def event_row(session: Session, event_id: int) -> EventRow | None:
    """One event as the desk shows it, or None."""
    found = _event_rows(session, select(OutageEvent).where(OutageEvent.id == event_id))
    return found[0] if found else None


def revisions(session: Session, event_id: int) -> list[OutageRevision]:
    """An event's revisions, oldest first."""
    return list(
        session.scalars(
            select(OutageRevision).where(OutageRevision.event_id == event_id).order_by(OutageRevision.number)
        )
    )


def _public_rows(
    session: Session, where: Sequence[ColumnElement[bool]], order_by: Sequence[Any]
) -> list[PublicInterruption]:
    """Live (neither restored nor cancelled) feeder interruptions matching `where`, with division and feeder."""
    fi = FeederInterruption
    rows = session.execute(
        select(Division.name, Feeder.name, fi.kind, fi.started_at, fi.expected_restore_at, fi.reason)
        .join(Feeder, Feeder.id == fi.feeder_id)
        .join(Substation, Substation.id == Feeder.substation_id)
        .join(SubDivision, SubDivision.id == Substation.sub_division_id)
        .join(Division, Division.id == SubDivision.division_id)
        .where(fi.restored_at.is_(None), fi.cancelled_at.is_(None), *where)
        .order_by(*order_by)
    ).all()
    return [PublicInterruption(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


def public_live(session: Session, *, now: dt.datetime) -> list[PublicInterruption]:
    """Feeders off now (interruptions started and neither restored nor cancelled), by division and feeder."""
    fi = FeederInterruption
    return _public_rows(session, [fi.started_at <= now], [Division.name, Feeder.name, fi.started_at])


def public_planned(
    session: Session, *, now: dt.datetime, ahead: dt.timedelta = PLANNED_AHEAD
) -> list[PublicInterruption]:
    """Planned shutdowns starting in the next 7 days, soonest first."""
    fi = FeederInterruption
    return _public_rows(
        session,
        [fi.kind == "shutdown", fi.started_at > now, fi.started_at <= now + ahead],
        [fi.started_at, Division.name, Feeder.name],
    )
