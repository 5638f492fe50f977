"""Outage wiring: what happens after a desk action (the fan-out, now or by a task) and the periodic sweep."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from celery import Celery
from sqlalchemy import Engine, text

from cis.db import UnitOfWork, make_session_factory
from cis.logs import get_logger
from ivr.alert_calls import CallStats, calls_in_flight, drain_calls
from ivr.outbound import Dialer
from outage.fanout import FanOut, fall_back_to_voice, fan_out, fan_out_pending, queue_scheduled_notices
from outage.roster import close_roster_slots
from outage.suspects import detect_suspected
from urjamitra.settings import Settings

log = get_logger(__name__)
VOICE_DRAIN_LOCK = 0x75726A61  # "urja": the advisory lock one voice drain holds at a time
# With Redis the task fans a revision out at once; the sweep only finishes what a lost task left.
SWEEP_GRACE = dt.timedelta(minutes=2)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fan_out_revision(settings: Settings, engine: Engine, revision_id: int, *, now: dt.datetime | None = None) -> FanOut:
    """Write a revision's outbox rows, then (for a restoration) ask a sample whether power is back."""
    at = now or _now()
    done = fan_out(engine, revision_id, now=at)
    _after_fan_out(settings, engine, revision_id, at)
    return done


def _after_fan_out(settings: Settings, engine: Engine, revision_id: int, now: dt.datetime) -> None:
    from sqlalchemy import select

    from cis.models import OutageRevision

    with engine.connect() as conn:
        row = conn.execute(
            select(OutageRevision.event_id, OutageRevision.number, OutageRevision.action).where(
                OutageRevision.id == revision_id
            )
        ).first()
    if row is None or row.action != "restored" or settings.check_share <= 0:
        return
    from outage.feedback import ask_restoration_checks

    ask_restoration_checks(
        UnitOfWork(make_session_factory(engine)), row.event_id, row.number, now=now, share=settings.check_share
    )


def revision_hook(settings: Settings, engine: Engine, celery: Celery | None) -> Callable[[int], None]:
    """What the desk calls after a told revision: a Celery task with Redis, else the fan-out right here."""

    def on_revision(revision_id: int) -> None:
        if settings.redis_url and celery is not None:
            celery.send_task("outage.fan_out", args=[revision_id])
            return
        fan_out_revision(settings, engine, revision_id)

    return on_revision


def sweep(settings: Settings, engine: Engine, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The minute's outage chores: shutdown notices due, unfinished fan-outs, SMS fallen back to calls,
    suspected breakdowns, roster slots ended. Each is idempotent, so a sweep may run twice."""
    at = now or _now()
    uow = UnitOfWork(make_session_factory(engine))
    notices = queue_scheduled_notices(uow, now=at)
    grace = SWEEP_GRACE if settings.redis_url else dt.timedelta(0)
    finished = []
    for revision_id in [n.revision_id for n in notices]:
        finished.append(fan_out_revision(settings, engine, revision_id, now=at))
    for done in fan_out_pending(engine, now=at, older_than=grace):
        _after_fan_out(settings, engine, done.revision_id, at)
        finished.append(done)
    report: dict[str, Any] = {
        "notices": len(notices),
        "fanned_out": len(finished),
        "messages": sum(f.written for f in finished),
        "voice_fallbacks": fall_back_to_voice(engine, now=at),
        "roster_slots_ended": close_roster_slots(uow, now=at),
        "suspected": detect_suspected(
            uow,
            now=at,
            threshold=settings.suspect_complaints,
            window=dt.timedelta(minutes=settings.suspect_minutes),
        ),
    }
    return report


def roster_day(settings: Settings, engine: Engine, *, day: dt.date, now: dt.datetime | None = None) -> tuple[int, int]:
    """Materialise `day`'s roster slots and queue the day's schedule SMS to subscribers; (slots, SMS)."""
    from outage.roster import queue_roster_sms
    from outage.roster import roster_day as put_slots

    at = now or _now()
    uow = UnitOfWork(make_session_factory(engine))
    return put_slots(uow, day, now=at), queue_roster_sms(uow, day, now=at)


def drain_voice(settings: Settings, engine: Engine, dialer: Dialer, *, now: dt.datetime | None = None) -> CallStats:
    """Place the due alert calls within the trunk's limit, counted over every process (the calls in flight
    are the voice rows being called), so two workers never put more than URJA_CALL_LIMIT calls on the trunk."""
    at = now or _now()
    if engine.dialect.name != "postgresql":  # SQLite: the embedded default, one process places calls
        return _drain_free(settings, engine, dialer, at)
    with engine.connect() as conn:
        # One drain at a time across every worker, so the count of calls in flight and the claim agree.
        if not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": VOICE_DRAIN_LOCK}):
            return CallStats()
        try:
            return _drain_free(settings, engine, dialer, at)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": VOICE_DRAIN_LOCK})
            conn.commit()


def _drain_free(settings: Settings, engine: Engine, dialer: Dialer, at: dt.datetime) -> CallStats:
    free = settings.call_limit - calls_in_flight(engine, now=at)
    if free <= 0:
        return CallStats()
    return drain_calls(engine, dialer, now=at, limit=free)


ROSTER_EVENING = dt.time(18, 0)  # when tomorrow's slots and schedule SMS are laid out (as beat's roster-tomorrow)


def roster_days_due(settings: Settings, engine: Engine, *, now: dt.datetime | None = None) -> tuple[int, int]:
    """Without beat: today's roster (and from 18:00 IST tomorrow's) laid out and its SMS queued; idempotent, so
    the embedded pump calls it on every sweep. (slots, SMS) added."""
    from zoneinfo import ZoneInfo

    at = now or _now()
    local = at.astimezone(ZoneInfo("Asia/Kolkata"))
    days = [local.date()] + ([local.date() + dt.timedelta(days=1)] if local.time() >= ROSTER_EVENING else [])
    slots = sms = 0
    for day in days:
        more_slots, more_sms = roster_day(settings, engine, day=day, now=at)
        slots, sms = slots + more_slots, sms + more_sms
    return slots, sms
