"""Celery tasks: thin, named, idempotent; each parses its arguments and calls one use case."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import Celery, Task

from cis import calls
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.migrate import current_revision
from urjamitra.celery_app import make_celery
from urjamitra.settings import Settings

# No IVR call or USSD session lasts an hour; one still open after that lost its end notification.
STALE_CALL_MINUTES = 60


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


def celery_for(settings: Settings) -> Celery:
    app = make_celery(settings)
    register_tasks(app)
    return app
