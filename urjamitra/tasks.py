"""Celery tasks: thin, named, idempotent; each parses its arguments and calls one use case."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

from celery import Celery, Task
from sqlalchemy import Engine

from cis import calls
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.migrate import current_revision
from ivr.alert_calls import settle_stuck_calls
from ivr.outbound import Dialer
from sms.dispatch import settle_stuck
from sms.providers import SmsProvider
from sms.ratelimit import TokenBucket
from urjamitra.celery_app import make_celery
from urjamitra.messaging import drain_outbox, make_bucket, make_sms_provider, queue_reminders
from urjamitra.outages import drain_voice, fan_out_revision, roster_day, sweep
from urjamitra.settings import Settings
from urjamitra.telephony import make_dialer

# No IVR call or USSD session lasts an hour; one still open after that lost its end notification.
STALE_CALL_MINUTES = 60
# One drain task sends for at most this long, then ends so that beat's next one (on any worker) carries on;
# well inside the broker's visibility timeout, so a slow task is never handed to a second worker.
DRAIN_BUDGET_S = 50.0
REMINDER_DAYS_BEFORE = 3


@dataclass
class _SmsSide:
    pid: int
    engine: Engine
    provider: SmsProvider
    bucket: TokenBucket


_sms_sides: dict[int, _SmsSide] = {}
_dialers: dict[int, tuple[int, Dialer]] = {}


def _dialer(app: Celery, engine: Engine) -> Dialer:
    """This worker process's dialer. Asterisk's keeps its AMI link (and hears how calls end) for the process's
    life; Twilio's is made afresh for each run, since its calls' ends reach the web process, not this one (the
    trunk's limit is counted from the outbox by `drain_voice` either way)."""
    settings: Settings = app.conf.urja_settings
    if not settings.ami_url:
        return make_dialer(settings, engine)
    key = id(app)
    held = _dialers.get(key)
    if held is None or held[0] != os.getpid():
        held = (os.getpid(), make_dialer(settings, engine))
        _dialers[key] = held
    return held[1]


def _sms_side(app: Celery) -> _SmsSide:
    """This worker process's engine, provider and bucket: made once per process (prefork children included)."""
    key = id(app)
    side = _sms_sides.get(key)
    if side is None or side.pid != os.getpid():
        settings: Settings = app.conf.urja_settings
        engine = make_engine(settings.database_url)
        provider = make_sms_provider(settings, make_session_factory(engine))
        side = _SmsSide(os.getpid(), engine, provider, make_bucket(settings, provider.name))
        _sms_sides[key] = side
    return side


def register_tasks(app: Celery) -> None:
    """Attach the project's tasks to `app` (one app per settings object, so tests get their own)."""

    @app.task(name="system.health", bind=True)
    def health(self: Task) -> dict[str, Any]:
        """Answer with the schema revision this worker sees: proves broker, worker and database agree."""
        settings: Settings = self.app.conf.urja_settings
        engine = make_engine(settings.database_url)
        try:
            return {"revision": current_revision(engine), "worker": self.request.hostname}
        finally:
            engine.dispose()

    @app.task(name="ivr.close_stale_calls", bind=True)
    def close_stale_calls(self: Task, older_than_minutes: int = STALE_CALL_MINUTES) -> int:
        """Close the call records of webhook calls and USSD sessions whose end the provider never reported."""
        settings: Settings = self.app.conf.urja_settings
        engine = make_engine(settings.database_url)
        try:
            return calls.close_stale_calls(
                UnitOfWork(make_session_factory(engine)), older_than=dt.timedelta(minutes=older_than_minutes)
            )
        finally:
            engine.dispose()

    @app.task(name="sms.drain", bind=True, ignore_result=True)
    def sms_drain(self: Task, budget_s: float = DRAIN_BUDGET_S) -> dict[str, int]:
        """Send due outbox SMS in batches for up to `budget_s` seconds; any number of these may run at once."""
        side = _sms_side(self.app)
        settings: Settings = self.app.conf.urja_settings
        return drain_outbox(settings, side.engine, side.provider, side.bucket, budget_s=budget_s).as_dict()

    @app.task(name="sms.settle_stuck", bind=True)
    def sms_settle_stuck(self: Task) -> dict[str, int]:
        """Rows a dead dispatcher left in `sending` become `unknown`; old `unknown` rows become `failed`."""
        side = _sms_side(self.app)
        stuck, lost = settle_stuck(side.engine, now=dt.datetime.now(dt.UTC))
        return {"unknown": stuck, "failed": lost}

    @app.task(name="sms.queue_bill_reminders", bind=True)
    def sms_queue_bill_reminders(self: Task, days_before: int = REMINDER_DAYS_BEFORE) -> int:
        """One reminder per unpaid bill falling due soon (a unique key per bill: running twice queues once)."""
        side = _sms_side(self.app)
        settings: Settings = self.app.conf.urja_settings
        return queue_reminders(settings, side.engine, days_before=days_before, now=dt.datetime.now(dt.UTC))

    @app.task(name="outage.fan_out", bind=True, ignore_result=True)
    def outage_fan_out(self: Task, revision_id: int) -> dict[str, int]:
        """Write one revision's outbox rows; a redelivered task (its worker died) writes only what is missing."""
        side = _sms_side(self.app)
        settings: Settings = self.app.conf.urja_settings
        done = fan_out_revision(settings, side.engine, int(revision_id))
        return {"messages": done.messages, "written": done.written}

    @app.task(name="outage.sweep", bind=True, ignore_result=True)
    def outage_sweep(self: Task) -> dict[str, Any]:
        """The minute's outage chores (urjamitra.outages.sweep)."""
        side = _sms_side(self.app)
        settings: Settings = self.app.conf.urja_settings
        return sweep(settings, side.engine)

    @app.task(name="complaints.escalation_sweep", bind=True, ignore_result=True)
    def escalation_sweep(self: Task) -> dict[str, Any]:
        """Move overdue complaints up the 1912 matrix and close unanswered resolutions (cis.escalation.sweep)."""
        from cis.escalation import sweep as escalate

        side = _sms_side(self.app)
        report = escalate(side.engine)
        return {"escalated": report.escalated, "closed_unconfirmed": report.closed_unconfirmed}

    @app.task(name="payments.reconcile", bind=True)
    def payments_reconcile(self: Task, day: str | None = None) -> dict[str, int]:
        """A day's settlement report against the payments posted (default: yesterday in India)."""
        from zoneinfo import ZoneInfo

        from cis.db import UnitOfWork, make_session_factory
        from cis.payments.reconcile import reconcile
        from urjamitra.payments import gateway_of, settlement_items

        side = _sms_side(self.app)
        settings: Settings = self.app.conf.urja_settings
        today = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Asia/Kolkata")).date()
        when = dt.date.fromisoformat(day) if day else today - dt.timedelta(days=1)
        gateway = gateway_of(settings)
        report = reconcile(
            UnitOfWork(make_session_factory(side.engine)), gateway.name, when, settlement_items(gateway, when)
        )
        return {
            "settled": report.settled,
            "matched": report.matched,
            "posted_now": len(report.posted_now),
            "unmatched": len(report.unmatched),
            "mismatched": len(report.mismatched),
            "not_settled": len(report.not_settled),
        }

    @app.task(name="outage.roster_day", bind=True)
    def outage_roster_day(self: Task, day: str | None = None, ahead: int = 0) -> dict[str, int]:
        """A day's roster slots and schedule SMS: `day` (YYYY-MM-DD), else India's today plus `ahead` days."""
        from zoneinfo import ZoneInfo

        side = _sms_side(self.app)
        settings: Settings = self.app.conf.urja_settings
        now = dt.datetime.now(dt.UTC)
        today = now.astimezone(ZoneInfo("Asia/Kolkata")).date()
        when = dt.date.fromisoformat(day) if day else today + dt.timedelta(days=ahead)
        slots, sms = roster_day(settings, side.engine, day=when, now=now)
        return {"slots": slots, "sms": sms}

    @app.task(name="voice.drain", bind=True, ignore_result=True)
    def voice_drain(self: Task) -> dict[str, int]:
        """Place the due outage alert calls within the trunk's free slots (beat: every 10 s)."""
        side = _sms_side(self.app)
        settings: Settings = self.app.conf.urja_settings
        dialer = _dialer(self.app, side.engine)
        try:
            return drain_voice(settings, side.engine, dialer).__dict__
        finally:
            if not settings.ami_url:
                dialer.close()

    @app.task(name="voice.settle_stuck", bind=True)
    def voice_settle_stuck(self: Task) -> int:
        """Alert calls whose end was never reported become `unknown` (never called again on a guess)."""
        side = _sms_side(self.app)
        return settle_stuck_calls(side.engine, now=dt.datetime.now(dt.UTC))


def celery_for(settings: Settings) -> Celery:
    app = make_celery(settings)
    register_tasks(app)
    return app
