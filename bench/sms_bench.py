"""Benchmark: a million outbox SMS drained through Celery to a local batch gateway, against one task per message.

Usage: .venv/bin/python -m bench.sms_bench [--messages 1000000] [--baseline 20000] [--workers 2] [--batch 1000]
       [--template outage.breakdown|bill.issued] [--url postgresql+psycopg://...] [--redis redis://...] [--keep]

It makes a scratch database, COPYs --messages pending SMS rows into the outbox (timed on its own), starts the
fake DLT gateway (tests/protocol/fake_sms_gateway.py's main(), counting only) and a Celery worker (`celery -A
urjamitra.worker worker -P prefork -c <workers>`, on a queue and a Redis database of the benchmark's own),
sends one `sms.drain` task per worker process and waits until no row is pending or sending. Messages per
second run from the first task sent to the poll (every 0.25 s) that finds nothing left. It then checks every
row is `sent`, claimed once (attempts 1) and has a gateway id of its own.

The baseline, in the same run: --baseline more rows are COPYed, a worker of `bench.sms_baseline_worker`
takes the place of the first, and the benchmark publishes one `bench.send_one` task per row; its rate runs
from the first task published to the poll that finds all of them sent.

The template: outage.breakdown by default (urgent, so it goes day and night: a million-consumer fan-out is
an outage alert or a tariff notice); bill.issued (the bill run's own rows) only between 08:00 and 21:00 IST,
since the dispatcher holds non-urgent SMS outside those hours. Figures and what they showed:
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from sqlalchemy import Engine, text

from bench._database import scratch_database
from bench._summary import record
from bench.ivr_bench import (
    children_of,
    client_cpu,
    machine_cpu,
    postgres_cpu,
    postmaster_of,
    process_cpu,
    python_speed,
)
from sms.dispatch import in_sending_hours
from urjamitra.settings import Settings
from urjamitra.tasks import celery_for

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"  # a database of the benchmark's own: flushed at the start
ROOT = Path(__file__).resolve().parent.parent
BATCH_QUEUE = "urja_sms_bench"
BASELINE_QUEUE = "urja_sms_bench_baseline"
GATEWAY_KEY = "bench-gateway-key"
OUTBOX_COLUMNS = (
    "channel",
    "template",
    "recipient",
    "payload",
    "dedupe_key",
    "status",
    "priority",
    "attempts",
    "created_at",
    "updated_at",
)
AREAS = ("Kidwai Nagar", "Govind Nagar", "Arya Nagar", "Swaroop Nagar", "Kalyanpur", "Barra", "Panki", "Shyam Nagar")


# --- the outbox rows ---------------------------------------------------------------------------------------


def payload_for(template: str, i: int) -> dict[str, Any]:
    """What the CIS writes for this template: a bill (as cis/billing.py does) or an outage alert."""
    if template == "bill.issued":
        return {
            "account_no": f"41{i:08d}",
            "cycle": "2026-11",
            "amount_paise": 25_000 + (i * 7919) % 400_000,
            "due": "2026-12-16",
            "units": 80 + i % 400,
        }
    return {"area": AREAS[i % len(AREAS)], "since": "9:40 PM", "etr": "11:30 PM"}


def queue_rows(engine: Engine, template: str, count: int, *, first: int, prefix: str) -> tuple[int, int]:
    """COPY `count` pending SMS rows to distinct mobiles; (lowest id, highest id) of the rows written."""
    at = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        columns = ", ".join(OUTBOX_COLUMNS)
        with raw.cursor() as cursor, cursor.copy(f"COPY outbox ({columns}) FROM STDIN") as copy:
            for i in range(first, first + count):
                mobile = f"{prefix}{i:08d}"
                payload = json.dumps(payload_for(template, i))
                copy.write_row(
                    ("sms", template, mobile, payload, f"bench:{template}:{mobile}", "pending", 5, 0, at, at)
                )
        low, high = conn.execute(
            text("SELECT min(id), max(id) FROM outbox WHERE dedupe_key LIKE :p"), {"p": f"bench:{template}:{prefix}%"}
        ).one()
    return int(low), int(high)


def vacuum(engine: Engine) -> None:
    """What autovacuum would do soon after a bulk load: the visibility map and statistics for the claim's plan."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE outbox")


def open_rows(engine: Engine, low: int, high: int) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM outbox WHERE status IN ('pending', 'sending')"
                    " AND id BETWEEN :low AND :high)"
                ),
                {"low": low, "high": high},
            ).scalar_one()
        )


def status_counts(engine: Engine, low: int, high: int) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status, count(*) FROM outbox WHERE id BETWEEN :low AND :high GROUP BY status"),
            {"low": low, "high": high},
        ).all()
    return {status: count for status, count in rows}


@dataclass
class Verdict:
    statuses: dict[str, int]
    distinct_ids: int
    claimed_more_than_once: int

    def ok(self, count: int) -> bool:
        return self.statuses == {"sent": count} and self.distinct_ids == count and self.claimed_more_than_once == 0


def verify(engine: Engine, low: int, high: int) -> Verdict:
    """Every row sent, each claimed once, each with a gateway id no other row has."""
    with engine.connect() as conn:
        distinct, again = conn.execute(
            text(
                "SELECT count(DISTINCT provider_id), count(*) FILTER (WHERE attempts <> 1)"
                " FROM outbox WHERE id BETWEEN :low AND :high"
            ),
            {"low": low, "high": high},
        ).one()
    return Verdict(status_counts(engine, low, high), int(distinct), int(again))


# --- processes ---------------------------------------------------------------------------------------------


def _log_file(name: str) -> Path:
    return Path(tempfile.mkstemp(prefix=f"sms_bench_{name}_", suffix=".log")[1])


def _terminate(proc: subprocess.Popen[Any], grace_s: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(OSError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        for pid in children_of(proc.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


class Gateway:
    """The fake DLT gateway as a process of its own (so its CPU is measured apart and shares no GIL)."""

    def __init__(self) -> None:
        self.log = _log_file("gateway")
        command = [sys.executable, "-m", "tests.protocol.fake_sms_gateway", "--port", "0", "--key", GATEWAY_KEY]
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            _terminate(self.proc)
            raise SystemExit(f"the fake gateway did not start: {self.url!r}; see {self.log}")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def cpu_seconds(self) -> float:
        return process_cpu(self.proc.pid)[0]

    def stop(self) -> None:
        _terminate(self.proc, 5)
        if not self.log.read_text(errors="replace").strip():
            self.log.unlink()


class Worker:
    """`celery -A <module> worker -P prefork -c N` on a queue of its own, its log in a temporary file."""

    def __init__(self, module: str, queue: str, concurrency: int, env: dict[str, str], control: Celery) -> None:
        self.hostname = f"{queue}-{os.getpid()}@localhost"
        self.log = _log_file(queue)
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            module,
            "worker",
            "-P",
            "prefork",
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            queue,
            "-n",
            self.hostname,
            "-l",
            "WARNING",
        ]
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not control.control.ping(destination=[self.hostname], timeout=0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"celery worker {module} did not start; see {self.log}")
        # The pool's processes exist once the worker answers; each opens its database connection on its first task.
        self.children = children_of(self.proc.pid)

    def cpu_seconds(self) -> float:
        own, ended, _ = process_cpu(self.proc.pid)
        total = own + ended
        for pid in children_of(self.proc.pid):
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += process_cpu(pid)[0]
        return total

    def peak_rss_kib(self) -> tuple[int, int]:
        """(VmHWM of the main process, the largest VmHWM of a pool process), in KiB."""
        return _hwm(self.proc.pid), max((_hwm(pid) for pid in children_of(self.proc.pid)), default=0)

    def errors(self) -> list[str]:
        wanted = ("ERROR", "CRITICAL", "Traceback")
        return [line for line in self.log.read_text(errors="replace").splitlines() if any(w in line for w in wanted)]

    def stop(self) -> None:
        _terminate(self.proc)
        if self.log.exists() and not self.errors():
            self.log.unlink()


def _hwm(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


# --- measuring a phase -------------------------------------------------------------------------------------


def backends_of(engine: Engine) -> list[int]:
    """The server processes of the connections to this database (the workers', this process's)."""
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars())


def _cpu_or_none(pid: int) -> float | None:
    try:
        return process_cpu(pid)[0]
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Phase:
    count: int
    seconds: float
    cpu: dict[str, float]  # CPU seconds by process group, and "machine" (busy cores x seconds)
    peak_rss_kib: tuple[int, int]
    errors: list[str]

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def cpu_line(self) -> str:
        shown = ", ".join(f"{name} {seconds / self.seconds:.2f}" for name, seconds in self.cpu.items())
        return f"CPU in cores: {shown} (of {os.cpu_count()})"


class Meter:
    """CPU of the workers, the gateway, PostgreSQL, this process and the machine between start() and stop().

    "PostgreSQL (ours)" is the backends serving this database; "PostgreSQL (all)" the whole server, whose
    other work (a checkpoint, another database) lands there too; "machine" is every busy core.
    """

    def __init__(self, engine: Engine, worker: Worker, gateway: Gateway, postmaster: int | None) -> None:
        self.engine, self.worker, self.gateway, self.postmaster = engine, worker, gateway, postmaster

    def _sample(self) -> dict[str, Any]:
        backends = {pid: _cpu_or_none(pid) for pid in backends_of(self.engine)}
        return {
            "workers": self.worker.cpu_seconds(),
            "gateway": self.gateway.cpu_seconds(),
            "ours": backends,
            "PostgreSQL (all)": postgres_cpu(self.postmaster),
            "this process": client_cpu(),
            "machine": machine_cpu(),
        }

    def start(self) -> None:
        self.began = time.perf_counter()
        self.before = self._sample()

    def stop(self, count: int) -> Phase:
        seconds = time.perf_counter() - self.began
        after = self._sample()
        before = self.before
        ours = sum((cpu or 0.0) - (before["ours"].get(pid) or 0.0) for pid, cpu in after["ours"].items())
        jiffies = {k: after["machine"][k] - before["machine"][k] for k in after["machine"]}
        total = sum(jiffies.values()) or 1
        busy = (total - jiffies["idle"] - jiffies["iowait"]) / total * (os.cpu_count() or 1) * seconds
        cpu = {
            "workers": after["workers"] - before["workers"],
            "gateway": after["gateway"] - before["gateway"],
            "PostgreSQL (ours)": ours,
            "PostgreSQL (all)": after["PostgreSQL (all)"] - before["PostgreSQL (all)"],
            "this process": after["this process"] - before["this process"],
            "machine": busy,
        }
        cpu["everything else"] = busy - sum(cpu[k] for k in ("workers", "gateway", "PostgreSQL (all)", "this process"))
        return Phase(count, seconds, cpu, self.worker.peak_rss_kib(), self.worker.errors())


def wait_until_done(engine: Engine, low: int, high: int, worker: Worker, *, stall_s: float = 60.0) -> None:
    """Poll until no row in [low, high] is pending or sending; progress every 15 s; give up on a stall."""
    last_report = time.monotonic()
    last_left, last_change = -1, time.monotonic()
    while open_rows(engine, low, high):
        time.sleep(0.25)
        if worker.proc.poll() is not None:
            raise SystemExit(f"the worker stopped (exit {worker.proc.returncode}); see {worker.log}")
        if time.monotonic() - last_report >= 15:
            counts = status_counts(engine, low, high)
            left = counts.get("pending", 0) + counts.get("sending", 0)
            print(f"  ... {counts}", flush=True)
            last_report = time.monotonic()
            if left != last_left:
                last_left, last_change = left, time.monotonic()
            elif time.monotonic() - last_change > stall_s:
                raise SystemExit(f"no progress for {stall_s:.0f} s: {counts}; see {worker.log}")


# --- the two runs ------------------------------------------------------------------------------------------


@dataclass
class Bench:
    engine: Engine
    control: Celery  # publishes tasks and pings workers
    env: dict[str, str]  # the workers' environment
    gateway: Gateway
    workers: int
    postmaster: int | None
    stop_later: Callable[[Callable[[], None]], None]

    def start_worker(self, module: str, queue: str) -> Worker:
        worker = Worker(module, queue, self.workers, self.env, self.control)
        self.stop_later(worker.stop)
        print(f"worker: {module}, pid {worker.proc.pid}, pool {worker.children} (log {worker.log})", flush=True)
        return worker

    def batched(self, low: int, high: int) -> Phase:
        """One `sms.drain` per worker process, each draining until nothing is due."""
        worker = self.start_worker("urjamitra.worker", BATCH_QUEUE)
        meter = Meter(self.engine, worker, self.gateway, self.postmaster)
        meter.start()
        for _ in range(self.workers):
            self.control.send_task("sms.drain", kwargs={"budget_s": 3600.0}, queue=BATCH_QUEUE)
        wait_until_done(self.engine, low, high, worker)
        phase = meter.stop(high - low + 1)
        worker.stop()
        return phase

    def one_task_each(self, low: int, high: int) -> tuple[Phase, float]:
        """One `bench.send_one` per row, published from here; (the phase, seconds spent publishing)."""
        worker = self.start_worker("bench.sms_baseline_worker", BASELINE_QUEUE)
        with self.engine.connect() as conn:
            query = text("SELECT id FROM outbox WHERE id BETWEEN :low AND :high ORDER BY id")
            ids = conn.execute(query, {"low": low, "high": high}).scalars().all()
        meter = Meter(self.engine, worker, self.gateway, self.postmaster)
        meter.start()
        for outbox_id in ids:
            self.control.send_task("bench.send_one", args=[outbox_id], queue=BASELINE_QUEUE)
        published = time.perf_counter() - meter.began
        wait_until_done(self.engine, low, high, worker)
        phase = meter.stop(len(ids))
        worker.stop()
        return phase, published


@contextlib.contextmanager
def cleanup() -> Iterator[Callable[[Callable[[], None]], None]]:
    """Stops what was started, last first, on the way out, Ctrl+C or SIGTERM included."""

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    stack = contextlib.ExitStack()
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        with stack:
            yield stack.callback
    finally:
        signal.signal(signal.SIGTERM, previous)


def pick_template(choice: str) -> str:
    now = dt.datetime.now(dt.UTC)
    if choice == "bill.issued" and not in_sending_hours(now):
        raise SystemExit("bill.issued is held outside 08:00-21:00 IST: run it in the day, or use outage.breakdown")
    return choice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=20_000, help="messages sent one task each (0: skip)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (celery -c)")
    parser.add_argument("--batch", type=int, default=1000, help="messages per claim and per gateway request")
    parser.add_argument("--template", choices=("outage.breakdown", "bill.issued"), default="outage.breakdown")
    parser.add_argument("--url", default=os.environ.get("URJA_BENCH_POSTGRES_URL", DEFAULT_SERVER))
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    template = pick_template(args.template)

    print(f"a fixed Python loop: {python_speed():.0f} ms (this machine's speed at the moment)")
    redis.Redis.from_url(args.redis).flushdb()
    with scratch_database(args.url, "urja_smsbench", keep=args.keep) as (engine, pg), cleanup() as stop_later:
        with engine.connect() as conn:
            # Off on this project's CI server: then nothing cleans the outbox's dead row versions during a drain.
            pg["autovacuum"] = str(conn.exec_driver_sql("SHOW autovacuum").scalar())
        print(
            f"PostgreSQL {pg['server_version']} (shared_buffers {pg['shared_buffers']}, max_wal_size "
            f"{pg['max_wal_size']}, fsync {pg['fsync']}, synchronous_commit {pg['synchronous_commit']}, "
            f"autovacuum {pg['autovacuum']})"
        )
        started = time.perf_counter()
        low, high = queue_rows(engine, template, args.messages, first=0, prefix="+9198")
        copy_s = time.perf_counter() - started
        print(f"COPY of {args.messages:,} {template} rows into the outbox: {copy_s:.1f} s", flush=True)
        started = time.perf_counter()
        vacuum(engine)
        print(f"VACUUM ANALYZE outbox: {time.perf_counter() - started:.1f} s", flush=True)

        gateway = Gateway()
        stop_later(gateway.stop)
        print(f"fake gateway: {gateway.url}, pid {gateway.proc.pid}", flush=True)
        database_url = engine.url.render_as_string(hide_password=False)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "URJA_DATABASE_URL": database_url,
            "URJA_REDIS_URL": args.redis,
            "URJA_SMS_PROVIDER": "dlt",
            "URJA_SMS_GATEWAY_URL": gateway.url,
            "URJA_SMS_GATEWAY_KEY": GATEWAY_KEY,
            "URJA_SMS_RATE": "1000000",
            "URJA_SMS_BATCH": str(args.batch),
        }
        control = celery_for(Settings(database_url=database_url, redis_url=args.redis))
        stop_later(control.close)

        bench = Bench(engine, control, env, gateway, args.workers, postmaster_of(engine), stop_later)
        batched = bench.batched(low, high)
        verdict = verify(engine, low, high)
        print(
            f"batched: {batched.count:,} messages in {batched.seconds:.1f} s = {batched.rate:,.0f} messages/s; "
            f"{batched.cpu_line()}"
        )
        print(
            f"  check: {verdict.statuses}, {verdict.distinct_ids:,} distinct gateway ids, "
            f"{verdict.claimed_more_than_once} claimed more than once: "
            f"{'OK' if verdict.ok(batched.count) else 'FAILED'}"
        )

        baseline: Phase | None = None
        if args.baseline:
            started = time.perf_counter()
            b_low, b_high = queue_rows(engine, template, args.baseline, first=0, prefix="+9197")
            vacuum(engine)
            print(
                f"COPY of {args.baseline:,} more rows for the baseline: {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            baseline, published = bench.one_task_each(b_low, b_high)
            b_verdict = verify(engine, b_low, b_high)
            print(
                f"baseline: {baseline.count:,} messages, one task each, in {baseline.seconds:.1f} s "
                f"(published in {published:.1f} s) = {baseline.rate:,.0f} messages/s; {baseline.cpu_line()}"
            )
            print(
                f"  check: {b_verdict.statuses}, {b_verdict.distinct_ids:,} distinct gateway ids, "
                f"{b_verdict.claimed_more_than_once} claimed more than once: "
                f"{'OK' if b_verdict.ok(baseline.count) else 'FAILED'}"
            )

        print()
        print("summary")
        print(f"  messages: {args.messages:,} ({template}), workers: {args.workers} (prefork), batch: {args.batch}")
        print(f"  COPY into the outbox: {copy_s:.1f} s ({args.messages / copy_s:,.0f} rows/s)")
        print(f"  batched drain: {batched.seconds:.1f} s, {batched.rate:,.0f} messages/s")
        main_kib, pool_kib = batched.peak_rss_kib
        print(
            f"  peak RSS (VmHWM): worker main process {main_kib / 1024:.0f} MiB, "
            f"largest pool process {pool_kib / 1024:.0f} MiB"
        )
        if baseline is not None:
            print(
                f"  baseline, one task per message: {baseline.count:,} in {baseline.seconds:.1f} s, "
                f"{baseline.rate:,.0f} messages/s"
            )
            print(f"  batched / baseline: {batched.rate / baseline.rate:.1f} times")
        print(f"  PostgreSQL settings: {pg}")
        figures = {
            "messages": f"{args.messages:,}",
            "batched drain": f"{batched.seconds:.1f} s ({batched.rate:,.0f}/s)",
        }
        if baseline is not None:
            figures["one task each"] = f"{baseline.count:,} at {baseline.rate:,.0f}/s"
            figures["batched / baseline"] = f"{batched.rate / baseline.rate:.0f} times"
        record(
            "SMS dispatch", figures, ok=verdict.ok(batched.count) and (baseline is None or b_verdict.ok(baseline.count))
        )
        for phase, name in ((batched, "batched"), (baseline, "baseline")):
            if phase is not None and phase.errors:
                print(f"  {name} worker log has {len(phase.errors)} error lines, the first: {phase.errors[0]}")


if __name__ == "__main__":
    main()
