"""The Celery app a worker process runs: `celery -A urjamitra.worker worker`; reads the environment once."""

from __future__ import annotations

from urjamitra.settings import Settings
from urjamitra.tasks import celery_for

app = celery_for(Settings.from_env())
