"""Celery tasks: thin, named, idempotent; each parses its arguments and calls one use case."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task

from cis.db import make_engine
from cis.migrate import current_revision
from urjamitra.celery_app import make_celery
from urjamitra.settings import Settings


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


def celery_for(settings: Settings) -> Celery:
    app = make_celery(settings)
    register_tasks(app)
    return app
