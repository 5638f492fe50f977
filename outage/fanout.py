"""Fan-out: a revision consumers should hear about becomes one outbox row per affected account and channel.

Set-based: each feeder of the event is one INSERT ... SELECT ... ON CONFLICT (dedupe_key) DO NOTHING that picks
every active account on the feeder that has not switched outage alerts off, its channel (SMS to its first
mobile not opted out, or a Hindi voice call for those who prefer one or have only a landline) and writes the
rows; a feeder is one transaction. The dedupe key `outage:{event}:{revision}:{account}:{channel}` makes the
whole fan-out safe to run again from the start: a worker killed half-way is re-run (task redelivery, or the
sweep of revisions whose fan-out never finished) and writes only the rows it had not, so nobody is missed and
nobody is told twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from cis.db import UnitOfWork, insert_ignore, make_session_factory
from cis.models import (
    Account,
    AccountMobile,
    DistributionTransformer,
    Feeder,
    FeederInterruption,
    OutageEvent,
    OutageEventFeeder,
    OutageFanout,
    OutageRevision,
    Outbox,
    SmsOptOut,
)
from cis.models.base import UtcDateTime
from cis.notify import OUTBOX_COLUMNS, daytime_from
from outage.events import Actor, RevisionRef, add_revision

IST = ZoneInfo("Asia/Kolkata")
MAX_AREA = 30  # a DLT template variable holds at most 30 characters
# How long each alert stays worth sending (as the SMS templates' validity); a voice call follows the same rule.
VALIDITY = {
    "outage.breakdown": dt.timedelta(hours=2),
    "outage.breakdown_no_etr": dt.timedelta(hours=2),
    "outage.etr": dt.timedelta(hours=2),
    "outage.restored": dt.timedelta(hours=3),
    "outage.withdrawn": dt.timedelta(hours=3),
    "outage.cancelled": dt.timedelta(hours=12),
    "outage.shutdown": dt.timedelta(hours=12),
    "outage.shutdown_started": dt.timedelta(hours=2),
}
# A planned shutdown's calls wait for daytime (ivr.alert_calls rings only priority 0 at night); the rest go at once.
PRIORITY = {"outage.shutdown": 2}
# A planned shutdown's notice (or its calling off) waits for 08:00-21:00 IST, unless waiting would bring it closer
# to the start than this: a notice in time matters more than the hour (docs/outages.md, "Who is told what").
NOTICES = ("outage.shutdown", "outage.cancelled")
NOTICE_LEAD = dt.timedelta(hours=2)
# The columns the fan-out fills: the common set, with when each row may go.
FANOUT_COLUMNS = (*OUTBOX_COLUMNS, "not_before")
DAY_AHEAD = dt.timedelta(hours=24)
# A day-ahead notice closer than this to the start would arrive with the start notice: not sent.
DAY_AHEAD_AT_LEAST = dt.timedelta(hours=2)
# An SMS that failed within this long falls back to a call; an older failure is past helping.
FALLBACK_WINDOW = dt.timedelta(hours=1)
NO_RECEIPT = "no delivery receipt came"  # what sms.dispatch.settle_stuck writes on a row it gives up on


@dataclass(frozen=True)
class FanOut:
    revision_id: int
    messages: int  # rows of this revision in the outbox once done (written now or by an earlier run)
    written: int  # rows this run wrote


def time_text(moment: dt.datetime) -> str:
    """'2:30 PM' in India."""
    local = moment.astimezone(IST)
    return f"{local.hour % 12 or 12}:{local:%M %p}"


def message_for(kind: str, action: str, event: OutageEvent, area: str) -> tuple[str, dict[str, Any]] | None:
    """The template and payload a revision's consumers get, or None when the action is not told."""
    payload: dict[str, Any] = {"area": area[:MAX_AREA].strip() or "your area", "event": event.id}
    starts = event.starts_at
    ends = event.expected_restore_at
    if kind == "shutdown" and action in ("published", "day_ahead", "cancelled"):
        assert ends is not None
        payload |= {
            "date": starts.astimezone(IST).date().isoformat(),
            "start": time_text(starts),
            "end": time_text(ends),
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
        }
        return ("outage.cancelled" if action == "cancelled" else "outage.shutdown"), payload
    if kind == "shutdown" and action == "started":
        assert ends is not None
        return "outage.shutdown_started", payload | {"end": time_text(ends), "ends_at": ends.isoformat()}
    if kind == "breakdown" and action == "published":
        if ends is None:
            return "outage.breakdown_no_etr", payload | {"since": starts.isoformat()}
        return "outage.breakdown", payload | {"since": starts.isoformat(), "etr": ends.isoformat()}
    if action == "etr_changed" and ends is not None:
        return "outage.etr", payload | {"etr": ends.isoformat()}
    if action == "restored" and event.restored_at is not None:
        return "outage.restored", payload | {"time": event.restored_at.isoformat()}
    if action == "cancelled":
        return "outage.withdrawn", payload
    return None


def _targets(feeder_id: int) -> Any:
    """Every active account on the feeder that wants outage alerts (`alert_outage`, the portal's switch), with the
    channel and number its alert goes to (None: unreachable)."""
    sms_mobile = (
        select(AccountMobile.e164)
        .where(AccountMobile.account_id == Account.id, ~exists().where(SmsOptOut.e164 == AccountMobile.e164))
        .order_by(AccountMobile.verified.desc(), AccountMobile.id)
        .limit(1)
        .scalar_subquery()
    )
    base = (
        select(Account.id, Account.alert_channel, Account.sms_opt_out, Account.landline, sms_mobile.label("mobile"))
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        # alert_outage is in ix_account_dt_id too: the feeder's accounts are still read from the index alone.
        .where(
            DistributionTransformer.feeder_id == feeder_id, Account.status == "active", Account.alert_outage.is_(True)
        )
        # Materialised: each account's mobile is looked up once, not once for every use below.
        .cte("target", nesting=True)
        .prefix_with("MATERIALIZED")
    )
    by_sms = and_(base.c.alert_channel == "sms", base.c.sms_opt_out.is_(False), base.c.mobile.is_not(None))
    voice_number = func.coalesce(
        select(AccountMobile.e164)
        .where(AccountMobile.account_id == base.c.id)
        .order_by(AccountMobile.verified.desc(), AccountMobile.id)
        .limit(1)
        .scalar_subquery(),
        base.c.landline,
    )
    channel = case(
        (by_sms, literal("sms")),
        (base.c.alert_channel == "voice", case((voice_number.is_not(None), literal("voice")))),
        (base.c.landline.is_not(None), literal("voice")),
    )
    recipient = case((by_sms, base.c.mobile), else_=voice_number)
    return select(base.c.id, channel.label("channel"), recipient.label("recipient")).subquery("reach")


def _write_feeder(
    session: Session,
    revision: OutageRevision,
    feeder_id: int,
    template: str,
    payload: dict[str, Any],
    expires_at: dt.datetime,
    now: dt.datetime,
    not_before: dt.datetime | None = None,
) -> int | None:
    """Write the feeder's rows in the session's transaction; None when another run has (or is writing) them."""
    dialect = session.connection().dialect.name
    conn = session.connection()
    options = {"preserve_rowcount": True}
    marker = {"revision_id": revision.id, "feeder_id": feeder_id, "messages": 0, "at": now}
    if dialect == "postgresql":
        try:
            with session.begin_nested():
                # Taken first: a second run of this feeder waits here for the first to commit, then skips it.
                session.add(OutageFanout(**marker))
                session.flush()
        except IntegrityError:
            return None
    else:
        # SQLite: one writer at a time, and pysqlite commits on releasing a savepoint, so no savepoint here:
        # the marker and the rows stay one transaction, and a second run finds the marker and skips.
        taken = conn.execute(insert_ignore(dialect, OutageFanout), [marker], execution_options=options).rowcount
        if taken != 1:
            return None
    reach = _targets(feeder_id)
    at = bindparam("now", now, type_=UtcDateTime)
    prefix = f"outage:{revision.event_id}:{revision.number}:"
    rows = select(
        reach.c.channel,
        literal(template),
        reach.c.recipient,
        reach.c.id,
        bindparam("payload", payload | {"revision": revision.number}, type_=Outbox.payload.type),
        literal(prefix) + cast(reach.c.id, String) + literal(":") + reach.c.channel,
        literal("pending"),
        literal(PRIORITY.get(template, 0)),
        literal(0),
        at,
        at,
        bindparam("expires", expires_at, type_=UtcDateTime),
        bindparam("not_before", not_before, type_=UtcDateTime),
    ).where(reach.c.channel.is_not(None))
    if dialect == "postgresql":
        try:
            # A plain INSERT is a third faster than ON CONFLICT; the feeder's marker above means no run of this
            # revision wrote these rows, so a clash is only possible with a row put there some other way.
            with session.begin_nested():
                written = conn.execute(
                    insert(Outbox).from_select(FANOUT_COLUMNS, rows), execution_options=options
                ).rowcount
        except IntegrityError:
            written = conn.execute(
                insert_ignore(dialect, Outbox, ["dedupe_key"]).from_select(FANOUT_COLUMNS, rows),
                execution_options=options,
            ).rowcount
    else:
        written = conn.execute(
            insert_ignore(dialect, Outbox, ["dedupe_key"]).from_select(FANOUT_COLUMNS, rows), execution_options=options
        ).rowcount
    session.execute(
        update(OutageFanout)
        .where(OutageFanout.revision_id == revision.id, OutageFanout.feeder_id == feeder_id)
        .values(messages=written)
    )
    return int(written)


def held_until(template: str, event: OutageEvent, now: dt.datetime) -> dt.datetime | None:
    """When a shutdown's notice may go: None (at once) in the day, or at night when waiting for 08:00 IST would
    leave less than NOTICE_LEAD before the start; else the next 08:00 IST."""
    if event.kind != "shutdown" or template not in NOTICES:
        return None
    goes = daytime_from(now)
    if goes == now or goes + NOTICE_LEAD > event.starts_at:
        return None
    return goes


def _expires(template: str, event: OutageEvent, now: dt.datetime) -> dt.datetime:
    """When the alert stops being worth sending: its validity, and a notice of a shutdown no later than its start."""
    until = now + VALIDITY.get(template, dt.timedelta(hours=2))
    if template in ("outage.shutdown", "outage.cancelled"):
        until = min(until, max(event.starts_at, now + dt.timedelta(minutes=5)))
    return until


def _superseded(session: Session, revision: OutageRevision) -> bool:
    """True when a later told revision of the event exists: it says what is true now, this one would not."""
    later = session.scalar(
        select(func.count()).where(
            OutageRevision.event_id == revision.event_id,
            OutageRevision.number > revision.number,
            OutageRevision.notify.is_(True),
        )
    )
    return bool(later)


def _withdraw_earlier(session: Session, revision: OutageRevision, now: dt.datetime) -> int:
    """A restoration or cancellation stops the event's earlier alerts still waiting to go (their news is stale)."""
    withdrawn = 0
    for number in range(1, revision.number):
        prefix = f"outage:{revision.event_id}:{number}:"
        withdrawn += int(
            session.execute(
                update(Outbox)
                .where(Outbox.dedupe_key >= prefix, Outbox.dedupe_key < prefix + "~", Outbox.status == "pending")
                .values(status="cancelled", last_error="superseded by a later revision", updated_at=now),
                execution_options={"synchronize_session": False},
            ).rowcount
            or 0
        )
    return withdrawn


def _feeders_told(
    session: Session, revision: OutageRevision, event: OutageEvent, now: dt.datetime
) -> list[tuple[int, str]]:
    """(feeder id, name) of the event's feeders this revision goes to.

    A restoration is not told on a feeder still off under another event (a breakdown inside a shutdown).
    """
    query = (
        select(Feeder.id, Feeder.name)
        .join(OutageEventFeeder, OutageEventFeeder.feeder_id == Feeder.id)
        .where(OutageEventFeeder.event_id == event.id)
        .order_by(Feeder.id)
    )
    if revision.action == "restored":
        other = aliased(FeederInterruption)
        query = query.where(
            ~exists().where(
                other.feeder_id == Feeder.id,
                other.event_id != event.id,
                other.restored_at.is_(None),
                other.cancelled_at.is_(None),
                other.started_at <= now,
            )
        )
    return [(int(f), str(n)) for f, n in session.execute(query).all()]


def _count(session: Session, revision_id: int) -> int:
    return int(
        session.scalar(select(func.sum(OutageFanout.messages)).where(OutageFanout.revision_id == revision_id)) or 0
    )


def fan_out(
    engine: Engine,
    revision_id: int,
    *,
    now: dt.datetime,
    workers: int | None = None,
    on_feeder: Callable[[int, int], None] | None = None,
) -> FanOut:
    """Write the outbox rows of one revision (all of them, whatever an earlier run of this already wrote).

    Feeders are written one transaction each, by `workers` connections at once (default: 2 on PostgreSQL,
    1 on SQLite); `on_feeder(feeder_id, written)` is told after each. Marks the revision fanned out at the
    end. A revision that tells nobody (or was already fanned out) writes nothing.
    """
    factory = make_session_factory(engine)
    with factory() as session:
        revision = session.get(OutageRevision, revision_id)
        if revision is None:
            raise ValueError(f"no outage revision {revision_id}")
        event = session.get(OutageEvent, revision.event_id)
        assert event is not None
        if not revision.notify:
            return FanOut(revision_id, 0, 0)
        if revision.fanned_out_at is None and _superseded(session, revision):
            # A lost or late fan-out must not tell "power off" after the restoration was told: mark it done.
            session.execute(
                update(OutageRevision).where(OutageRevision.id == revision_id).values(fanned_out_at=now, messages=0)
            )
            session.commit()
            return FanOut(revision_id, 0, 0)
        if revision.action in ("restored", "cancelled"):
            _withdraw_earlier(session, revision, now)
            session.commit()
        feeders = _feeders_told(session, revision, event, now)
        jobs: list[tuple[int, str, dict[str, Any], dt.datetime, dt.datetime | None]] = []
        for feeder_id, name in feeders:
            message = message_for(event.kind, revision.action, event, name)
            if message is not None:
                template = message[0]
                expires_at = _expires(template, event, now)
                jobs.append((feeder_id, template, message[1], expires_at, held_until(template, event, now)))
        session.expunge(revision)

    def one(job: tuple[int, str, dict[str, Any], dt.datetime, dt.datetime | None]) -> int:
        feeder_id, template, payload, expires_at, not_before = job
        with factory() as s, s.begin():
            written = _write_feeder(s, revision, feeder_id, template, payload, expires_at, now, not_before)
        if written is None:
            return 0
        if on_feeder is not None:
            on_feeder(feeder_id, written)
        return written

    count = workers or (2 if engine.dialect.name == "postgresql" else 1)
    if count > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="fan-out") as pool:
            written = sum(pool.map(one, jobs))
    else:
        written = sum(one(job) for job in jobs)
    with factory() as session, session.begin():
        messages = _count(session, revision_id)
        session.execute(
            update(OutageRevision).where(OutageRevision.id == revision_id).values(fanned_out_at=now, messages=messages)
        )
    return FanOut(revision_id, messages, written)


def unfanned_revisions(engine: Engine, *, older_than: dt.datetime | None = None) -> list[int]:
    """Ids of told revisions whose fan-out has not finished (oldest first)."""
    query = select(OutageRevision.id).where(OutageRevision.fanned_out_at.is_(None), OutageRevision.notify.is_(True))
    if older_than is not None:
        query = query.where(OutageRevision.at <= older_than)
    with engine.connect() as conn:
        return [int(r) for r in conn.scalars(query.order_by(OutageRevision.id))]


def fan_out_pending(engine: Engine, *, now: dt.datetime, older_than: dt.timedelta = dt.timedelta(0)) -> list[FanOut]:
    """Finish every told revision not fanned out yet (a lost task, a killed worker): the sweep beat runs."""
    return [fan_out(engine, rid, now=now) for rid in unfanned_revisions(engine, older_than=now - older_than)]


def queue_scheduled_notices(
    uow: UnitOfWork, *, now: dt.datetime, day_ahead: dt.timedelta = DAY_AHEAD
) -> list[RevisionRef]:
    """Add the due notices of planned shutdowns as revisions to fan out: the day-ahead notice (for a shutdown
    published more than a day ahead) and the start notice (once it has begun, before its end).

    Safe to run every minute: each notice is a revision added once per event.
    """
    made: list[RevisionRef] = []
    with uow:
        session = uow.session
        sent = aliased(OutageRevision)

        def lacking(action: str) -> ColumnElement[bool]:
            return ~exists().where(sent.event_id == OutageEvent.id, sent.action == action)

        published_at = (
            select(func.min(OutageRevision.at))
            .where(OutageRevision.event_id == OutageEvent.id, OutageRevision.action == "published")
            .scalar_subquery()
        )
        candidates = session.execute(
            select(OutageEvent.id, OutageEvent.starts_at, published_at).where(
                OutageEvent.kind == "shutdown",
                OutageEvent.status == "published",
                OutageEvent.starts_at <= now + day_ahead,
                OutageEvent.starts_at > now + DAY_AHEAD_AT_LEAST,
                lacking("day_ahead"),
            )
        ).all()
        # Published less than a day ahead: that first notice was the day-ahead one.
        due_day_ahead = [e for e, starts, told in candidates if told is not None and told < starts - day_ahead]
        due_start = session.scalars(
            select(OutageEvent.id).where(
                OutageEvent.kind == "shutdown",
                OutageEvent.status == "published",
                OutageEvent.starts_at <= now,
                OutageEvent.expected_restore_at > now,
                lacking("started"),
            )
        ).all()
        actor = Actor("system:outage-schedule")
        for action, ids in (("day_ahead", due_day_ahead), ("started", due_start)):
            for event_id in ids:
                event = session.scalars(select(OutageEvent).where(OutageEvent.id == event_id).with_for_update()).one()
                # Looked at again under the event's lock: a sweep running alongside may have added it meanwhile.
                done = session.scalar(
                    select(func.count()).where(OutageRevision.event_id == event_id, OutageRevision.action == action)
                )
                if event.status == "published" and not done:
                    made.append(add_revision(session, event, action, True, actor, now))
        uow.commit()
    return made


def fall_back_to_voice(engine: Engine, *, now: dt.datetime, window: dt.timedelta = FALLBACK_WINDOW) -> int:
    """A Hindi call for every outage alert SMS that failed lately (delivery receipt or refusal): one per alert,
    keyed like the SMS with `voice` for `sms`, so running it every minute calls nobody twice.
    """
    o = Outbox
    rows = select(
        literal("voice"),
        o.template,
        o.recipient,
        o.account_id,
        o.payload,
        func.substr(o.dedupe_key, 1, func.length(o.dedupe_key) - 3) + literal("voice"),
        literal("pending"),
        o.priority,
        literal(0),
        bindparam("now", now, type_=UtcDateTime),
        bindparam("now", now, type_=UtcDateTime),
        o.expires_at,
    ).where(
        o.status == "failed",
        o.channel == "sms",
        o.updated_at >= now - window,
        o.dedupe_key.like("outage:%:sms"),
        # Failed for want of a receipt, the SMS may well have arrived: no call on a guess.
        o.last_error.is_distinct_from(NO_RECEIPT),
        (o.expires_at.is_(None)) | (o.expires_at > now),
    )
    with engine.begin() as conn:
        result = conn.execute(
            insert_ignore(conn.dialect.name, Outbox, ["dedupe_key"]).from_select(OUTBOX_COLUMNS, rows),
            execution_options={"preserve_rowcount": True},
        )
        return int(result.rowcount)
