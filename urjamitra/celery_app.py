"""The Celery app: Redis as broker when URJA_REDIS_URL is set, otherwise tasks run in-process."""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from urjamitra.settings import Settings


def make_celery(settings: Settings) -> Celery:
    """A Celery app for `settings`; without Redis every `.delay()` runs at once in the caller's process."""
    app = Celery("urjamitra", set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        timezone="Asia/Kolkata",
        enable_utc=True,
        task_acks_late=True,  # a task a dying worker held is delivered again; tasks are idempotent
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # Timers for `celery -A urjamitra.worker beat`.
        beat_schedule={
            "close-stale-calls": {"task": "ivr.close_stale_calls", "schedule": 15 * 60.0},
            # Drains overlap safely (SKIP LOCKED); a drain not started within 20 s is dropped, not queued up.
            "drain-sms": {"task": "sms.drain", "schedule": 10.0, "options": {"expires": 20}},
            "settle-stuck-sms": {"task": "sms.settle_stuck", "schedule": 5 * 60.0},
            # Outage alert calls within the trunk's limit; calls whose end never came, every 5 minutes.
            "drain-calls": {"task": "voice.drain", "schedule": 10.0, "options": {"expires": 20}},
            "settle-stuck-calls": {"task": "voice.settle_stuck", "schedule": 5 * 60.0},
            # Queued at 09:30 IST (timezone above), inside the 08:00-21:00 window reminders may be sent in.
            "bill-due-reminders": {"task": "sms.queue_bill_reminders", "schedule": crontab(hour=9, minute=30)},
            # Shutdown notices due, unfinished fan-outs, SMS fallen back to calls, suspected breakdowns.
            "outage-sweep": {"task": "outage.sweep", "schedule": 60.0, "options": {"expires": 50}},
            # The 1912 matrix: overdue complaints one level up, resolutions nobody answered closed (idempotent).
            "escalation-sweep": {"task": "complaints.escalation_sweep", "schedule": 120.0, "options": {"expires": 110}},
            # Tomorrow's roster slots and schedule SMS the evening before (a night slot is known in time), and
            # today's again just after midnight in case the evening run was missed (both idempotent).
            "roster-tomorrow": {
                "task": "outage.roster_day",
                "schedule": crontab(hour=18, minute=0),
                "kwargs": {"ahead": 1},
            },
            "roster-today": {"task": "outage.roster_day", "schedule": crontab(hour=0, minute=5)},
            # Yesterday's settlement report against the payments posted, once the gateway has written it (IST).
            "payments-reconcile": {"task": "payments.reconcile", "schedule": crontab(hour=7, minute=0)},
        },
    )
    if settings.redis_url:
        app.conf.update(broker_url=settings.redis_url, result_backend=settings.redis_url)
    else:
        app.conf.update(
            task_always_eager=True,
            task_eager_propagates=True,
            broker_url="memory://",
            result_backend="cache+memory://",
        )
    app.conf.urja_settings = settings
    return app
