"""A real Celery prefork worker for the tests that kill one: started, its pool processes found, stopped."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def children(pid: int) -> list[int]:
    """The pool processes of a worker (its child processes)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@contextmanager
def prefork_worker(env: dict[str, str], queue: str) -> Iterator[subprocess.Popen[bytes]]:
    """`celery -A urjamitra.worker worker -P prefork -c 1` on `queue`; stopped (SIGTERM, then SIGKILL) on leaving."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "urjamitra.worker", "worker", "-P", "prefork", "-c", "1",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
        if worker.stderr is not None:
            worker.stderr.close()
