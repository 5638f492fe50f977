"""The Celery app on the real Redis broker with a real worker, and in-process without Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from cis.db import make_engine
from cis.migrate import head_revision, upgrade
from urjamitra.settings import Settings
from urjamitra.tasks import celery_for

HEAD = head_revision()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_a_task_sent_through_redis_runs_on_a_worker_and_sees_the_database(
    database_url: str, redis_url: str, queue: str
) -> None:
    app = celery_for(Settings(database_url=database_url, redis_url=redis_url, secret_key="test"))
    try:
        with start_worker(
            app, pool="threads", concurrency=1, perform_ping_check=False, loglevel="WARNING", queues=[queue]
        ):
            result = app.tasks["system.health"].apply_async(queue=queue)
            answer = result.get(timeout=30)
            result.forget()
    finally:
        app.close()  # its Redis connections, which would otherwise be left to the garbage collector
    assert answer["revision"] == HEAD
    assert answer["worker"]


def test_without_redis_tasks_run_in_process(database_url: str) -> None:
    app = celery_for(Settings(database_url=database_url, redis_url=None, secret_key="test"))
    assert app.tasks["system.health"].delay().get(timeout=5)["revision"] == HEAD


def test_the_worker_command_of_the_docs_serves_tasks(database_url: str, redis_url: str, queue: str) -> None:
    """`celery -A urjamitra.worker worker`, as docs/operations.md starts it, in a process of its own."""
    import os
    import signal
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("URJA_")}
    env.update(URJA_DATABASE_URL=database_url, URJA_REDIS_URL=redis_url)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "urjamitra.worker",
            "worker",
            "-P",
            "threads",
            "-c",
            "1",
            "-Q",
            queue,
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    app = celery_for(Settings(database_url=database_url, redis_url=redis_url, secret_key="test"))
    try:
        result = app.send_task("system.health", queue=queue)
        answer = result.get(timeout=60)
        result.forget()
        assert answer["revision"] == HEAD
    finally:
        app.close()
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=30)
    assert worker.returncode == 0, errors
