"""Benchmark: N concurrent simulated calls against the FastAGI IVR on PostgreSQL with 1,000,000 consumers.

Usage: .venv/bin/python -m bench.ivr_bench [--url postgresql+psycopg://postgres@127.0.0.1:5432/urja_ivrbench]
       [--calls 500] [--duration 60] [--ramp 10] [--think 0.5:2] [--play 0.02:0.04]

Without --url it seeds a database of its own first (--consumers, as of 2026-11-22; about 200 s for a
million; dropped at the end unless --keep). With --url it uses that seeded database as it is (the run
adds call records, complaints, readings and SMS rows to it).

It starts `urjamitra fastagi` as a process of its own on a free port, warms it up with a few calls, then
holds --calls simulated calls for --duration seconds (a call that ends is replaced at once). Each call
connects as Asterisk does, with the caller ID of a registered mobile sampled from the database, hears
every prompt for --play seconds, waits --think seconds before each key and walks the menu: bill and its
explanation, pay (SMS), complaint, complaint status, meter reading (last reading plus a plausible use,
as the meter shows it), one or two of them, then hangs up at the main menu.

It prints, per kind of key press, the time from sending the reply that carries the key to receiving the
next AGI command (count, p50, p90, p99, max); calls handled and errors (a call that heard the apology or
failed); the server's memory (VmRSS) idle and at full concurrency; CPU of the server, of PostgreSQL, of
this client and of the whole machine; and which big tables PostgreSQL scanned sequentially meanwhile.
Figures and what they showed: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import inspect
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from bench._database import scratch_database
from bench._summary import record
from cis.db import make_engine
from cis.seed import seed
from ivr.fastagi import FastAgiServer
from ivr.menus import COMPLAINT_CATEGORIES
from urjamitra.settings import Settings
from urjamitra.telephony import make_dialog

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
AS_OF = dt.date(2026, 11, 22)
IST = ZoneInfo("Asia/Kolkata")
PG_SETTINGS = ("server_version", "shared_buffers", "max_connections", "work_mem", "fsync", "synchronous_commit")
# What callers come for; each call does one or two of these, then hangs up at the main menu.
ACTIONS = {"bill": 30, "complaint": 20, "reading": 20, "status": 15, "pay": 15}
MAIN_KEY = {"bill": "1", "pay": "2", "complaint": "3", "status": "4", "reading": "5"}
# Kinds of key press, in report order; "prompt" and "hang-up" are not key presses and stay out of the total.
LABELS = {
    "identify": "welcome timed out > caller ID lookup, outage check, main menu",
    "choose": "1 on 'several accounts' > outage check, main menu",
    "menu": "menu key with no query (3, 4, 5 at main; 8 back to main)",
    "digit": "a digit of an entry > next WAIT FOR DIGIT",
    "bill": "1 at main > latest bill, amount due, last payment",
    "explain": "1 on the bill > bill explanation",
    "pay": "2 at main > payment SMS queued",
    "complaint": "category key > complaint registered (with SMS)",
    "status": "# after a complaint number > complaint status",
    "reading": "# after a meter reading > reading checked and stored",
    "start": "ANSWER reply > first prompt (call record opened)",
    "prompt": "prompt played through > next command",
    "hang-up": "caller hangs up > connection closed (call record closed)",
}
NOT_KEYS = ("start", "prompt", "hang-up")
# The caller tells screens apart by prompts only they play (stems of `urjamitra/<lang>/<stem>`); these two
# mean the IVR refused the reading and asks again, where a caller gives up.
REFUSED = ("reading/below_last", "reading/implausible")


def mix(value: str) -> dict[str, int]:
    """`bill=30,pay=15` > {"bill": 30, "pay": 15}."""
    weights = {name.strip(): int(weight) for name, _, weight in (part.partition("=") for part in value.split(","))}
    unknown = set(weights) - set(ACTIONS)
    if unknown or not any(weights.values()):
        raise argparse.ArgumentTypeError(f"actions are {', '.join(ACTIONS)}, with whole-number weights")
    return weights


def span(value: str) -> tuple[float, float]:
    """`0.5:2` > (0.5, 2.0); `0` > (0.0, 0.0)."""
    low, _, high = value.partition(":")
    return float(low), float(high or low)


@dataclass(frozen=True)
class Caller:
    """A registered mobile as Asterisk gives it (`919876543210`), and its first account's last meter reading."""

    callerid: str
    last_kwh: int | None
    last_read_on: dt.date | None

    def plausible_reading(self, rng: random.Random, today: dt.date) -> int:
        """What the meter shows today: the last reading plus 1-3 units a day (within 4x anyone's usual use)."""
        if self.last_kwh is None or self.last_read_on is None:
            return rng.randrange(1000, 99999)
        days = max(1, (today - self.last_read_on).days)
        return (self.last_kwh + round(days * rng.uniform(1, 3))) % 10**6


def sample_callers(engine: Engine, count: int, seed_value: int) -> list[Caller]:
    """`count` distinct mobiles registered to active accounts, spread over the whole table (not its first rows)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'account_mobile'")).scalar() or 1
        percent = min(100.0, 300.0 * count / max(rows, 1))
        found = conn.execute(
            text("""
            WITH picked AS (
                SELECT DISTINCT m.e164
                FROM account_mobile m TABLESAMPLE BERNOULLI (:percent) REPEATABLE (:seed)
                JOIN account a ON a.id = m.account_id AND a.status = 'active'
            )
            SELECT p.e164, r.kwh, r.read_on
            FROM picked p
            CROSS JOIN LATERAL (
                -- the account the IVR takes for this caller: the first usable one by account number
                SELECT a.id FROM account_mobile m JOIN account a ON a.id = m.account_id
                WHERE m.e164 = p.e164 AND a.status <> 'perm_disconnected'
                ORDER BY a.account_no LIMIT 1
            ) first
            LEFT JOIN LATERAL (
                SELECT r.kwh, r.read_on FROM reading r
                WHERE r.account_id = first.id AND r.kind IN ('actual', 'consumer')
                  AND r.meter_id = (
                      SELECT mt.id FROM meter mt WHERE mt.account_id = first.id AND mt.removed_on IS NULL
                      ORDER BY mt.installed_on DESC, mt.id DESC LIMIT 1)
                ORDER BY r.read_on DESC, r.id DESC LIMIT 1
            ) r ON true
            """),
            {"percent": percent, "seed": seed_value},
        ).all()
    callers = [Caller(e164.removeprefix("+"), kwh, read_on) for e164, kwh, read_on in found]
    random.Random(seed_value).shuffle(callers)
    return callers[:count]


def sample_complaints(engine: Engine, count: int) -> list[str]:
    """Numbers of real complaints, for callers who ask for a status."""
    with engine.connect() as conn:
        return list(
            conn.execute(text("SELECT number FROM complaint ORDER BY random() LIMIT :n"), {"n": count}).scalars()
        )


# --- the measurements ------------------------------------------------------------------------------------


@dataclass
class Stats:
    """Everything the callers measure; samples are kept only while `measuring`."""

    measuring: bool = False
    samples: dict[str, list[float]] = field(default_factory=lambda: {label: [] for label in LABELS})
    outcomes: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    live: int = 0
    started: int = 0
    ended_in_window: int = 0

    def record(self, label: str, seconds: float) -> None:
        if self.measuring:
            self.samples[label].append(seconds)


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    rank = max(0, min(len(ordered) - 1, -(-len(ordered) * q // 1) - 1))
    return ordered[int(rank)]


# --- one simulated caller -------------------------------------------------------------------------------


class HangUp(Exception):
    """The simulated caller puts the phone down; `outcome` says why."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass
class Pacing:
    """Seconds (low, high) a prompt file plays, before each choice and between digits; the wait for a command."""

    play: tuple[float, float]
    think: tuple[float, float]
    key_gap: tuple[float, float]
    timeout: float = 30.0


class SimulatedCall:
    """One call as Asterisk and the caller would make it (see the module docstring)."""

    def __init__(
        self,
        ref: str,
        caller: Caller,
        plan: list[str],
        *,
        rng: random.Random,
        complaints: list[str],
        pacing: Pacing,
        stats: Stats,
        stop_at: float,
    ) -> None:
        self.ref, self.caller, self.plan, self.rng = ref, caller, plan, rng
        self.complaints, self.pacing, self.stats, self.stop_at = complaints, pacing, stats, stop_at
        self.heard: set[str] = set()
        self.entry: deque[str] = deque()
        self.entry_label = ""
        self.apologised = False

    def agi_block(self, port: int) -> bytes:
        lines = [
            "agi_network: yes",
            "agi_network_script: ivr",
            f"agi_request: agi://127.0.0.1:{port}/ivr",
            f"agi_channel: PJSIP/trunk-{self.ref.replace('.', '')[-8:]}",
            "agi_language: en",
            "agi_type: PJSIP",
            f"agi_uniqueid: {self.ref}",
            "agi_version: 22.10.0",
            f"agi_callerid: {self.caller.callerid}",
            "agi_calleridname: unknown",
            "agi_dnid: 1912",
            "agi_context: urjamitra-in",
            "agi_extension: 1912",
            "agi_priority: 2",
        ]
        return ("\n".join(lines) + "\n\n").encode()

    async def run(self, port: int) -> str:
        """Place the call; returns its outcome."""
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError as exc:
            return f"failed: connect ({exc.strerror})"
        try:
            writer.write(self.agi_block(port))
            return await self._converse(reader, writer)
        except TimeoutError:
            return "failed: no command within the timeout"
        except (OSError, ValueError) as exc:
            return f"failed: {type(exc).__name__}"
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        pending: tuple[str, float] | None = None
        transferred = False
        while True:
            async with asyncio.timeout(self.pacing.timeout):
                raw = await reader.readline()
            now = time.perf_counter()
            if pending is not None:
                self.stats.record(pending[0], now - pending[1])
                pending = None
            if not raw:
                if self.apologised:
                    return "error: apologised"
                return "transferred" if transferred else "failed: the server closed the line"
            line = raw.decode()
            try:
                reply, label = await self._answer(line.rstrip("\r\n"))
            except HangUp as hang:
                writer.write(b"HANGUP\n200 result=-1\n")
                began = time.perf_counter()
                async with asyncio.timeout(self.pacing.timeout):
                    while await reader.readline():
                        pass
                self.stats.record("hang-up", time.perf_counter() - began)
                return "error: apologised" if self.apologised else hang.outcome
            if line.startswith("EXEC"):
                transferred = True
            pending = (label, time.perf_counter()) if label else None
            writer.write(reply)

    async def _answer(self, command: str) -> tuple[bytes, str]:
        """The reply to one command and the kind of step it starts ('' for none worth timing)."""
        if command.startswith("STREAM FILE "):
            stem = command.split(" ", 3)[2].split("/", 2)[-1]
            self.heard.add(stem)
            if stem == "common/sorry_error":
                self.apologised = True
            await self._pause(self.pacing.play)
            return b"200 result=0 endpos=8000\n", "prompt"
        if command.startswith("WAIT FOR DIGIT"):
            if self.entry:
                key = self.entry.popleft()
                await self._pause(self.pacing.key_gap)
                return f"200 result={ord(key)}\n".encode(), (self.entry_label if not self.entry else "digit")
            keys, label = self._choose()
            self.heard.clear()
            await self._pause(self.pacing.think)
            if not keys:
                return b"200 result=0\n", label
            self.entry.extend(keys[1:])
            self.entry_label = label
            return f"200 result={ord(keys[0])}\n".encode(), (label if not self.entry else "digit")
        if command == "ANSWER":
            return b"200 result=0\n", "start"
        if command == "HANGUP":
            return b"200 result=1\nHANGUP\n", ""
        return b"200 result=0\n", ""  # EXEC Queue: the agent took the call and it ended

    async def _pause(self, bounds: tuple[float, float]) -> None:
        if time.perf_counter() >= self.stop_at:
            raise HangUp("cut at the end of the run")
        if bounds[1] > 0:
            await asyncio.sleep(self.rng.uniform(*bounds))

    def _choose(self) -> tuple[str, str]:
        """The keys the caller presses for the screen just heard ('' to let it time out), and the step's kind."""
        heard = self.heard
        if self.apologised:
            raise HangUp("error: apologised")
        if any(stem in heard for stem in REFUSED):
            raise HangUp("reading refused")
        if "status/not_found" in heard:
            raise HangUp("complaint number not found")
        if "common/invalid" in heard or "common/no_input" in heard:
            raise self._unexpected("re-prompt")
        if "menu/main" in heard:
            if not self.plan:
                raise HangUp("completed")
            action = self.plan.pop(0)
            return MAIN_KEY[action], action if action in ("bill", "pay") else "menu"
        if "identify/several" in heard:
            return "1", "choose"
        if "welcome/greeting" in heard:
            return "", "identify"
        if "bill/options" in heard:
            return "1", "explain"
        if "complaint/choose" in heard:
            return self.rng.choice(list(COMPLAINT_CATEGORIES)), "complaint"
        if "complaint/registered" in heard or "status/number" in heard or "common/next" in heard:
            return "8", "menu"
        if "status/enter" in heard:
            return self.rng.choice(self.complaints) + "#", "status"
        if "reading/enter" in heard:
            today = dt.datetime.now(IST).date()
            return f"{self.caller.plausible_reading(self.rng, today)}#", "reading"
        raise self._unexpected(" ".join(sorted(heard)) or "silence")

    def _unexpected(self, what: str) -> HangUp:
        self.stats.unexpected[what] += 1
        return HangUp("unexpected screen")


# --- the server process -----------------------------------------------------------------------------------


class ServerProcess:
    """`urjamitra fastagi [--processes N]` on a free port, its log in a temporary file.

    Memory, CPU and threads are summed over the process and its children (the workers of --processes).
    """

    def __init__(self, url: str, processes: int = 1) -> None:
        self.log = Path(tempfile.mkstemp(prefix="ivr_bench_", suffix=".log")[1])
        # One process asks for any free port; several must share a fixed one (SO_REUSEPORT).
        port = 0 if processes == 1 else _free_port()
        env = {
            **os.environ,
            "URJA_DATABASE_URL": url,
            "URJA_FASTAGI_BIND": f"127.0.0.1:{port}",
            "URJA_AGI_SOUNDS": "urjamitra",
        }
        command = [str(Path(sys.executable).parent / "urjamitra"), "fastagi"]
        if processes > 1:
            command += ["--processes", str(processes)]
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.proc.stdout is not None
        for _ in range(processes):  # each process says when it listens
            ready = self.proc.stdout.readline()
            match = re.search(r":(\d+)\s*$", ready)
            if not match:
                self.stop()
                raise SystemExit(f"urjamitra fastagi did not start: {ready!r}; see {self.log}")
            self.port = int(match[1])
        # Nothing else should come on stdout, but a full pipe would stall the server: drain it.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pids(self) -> list[int]:
        """The server process and its children."""
        return [self.pid, *children_of(self.pid)]

    def rss_kib(self) -> int:
        return sum(_status_field(pid, "VmRSS") for pid in self.pids())

    def cpu_seconds(self) -> float:
        return sum(process_cpu(pid)[0] for pid in self.pids())

    def threads(self) -> int:
        return sum(_status_field(pid, "Threads") for pid in self.pids())

    def stop(self) -> None:
        # The workers first: each stops its calls gracefully on SIGTERM.
        for pid in reversed(self.pids()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def errors(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if " ERROR " in line]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def children_of(parent: int) -> list[int]:
    """Live child processes of `parent`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if process_cpu(int(entry.name))[2] == parent:
                    found.append(int(entry.name))
    return found


def _status_field(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def process_cpu(pid: int) -> tuple[float, float, int]:
    """(CPU seconds of the process, of its children that have ended, parent pid) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick, int(fields[1])


def postmaster_of(engine: Engine) -> int | None:
    """The PostgreSQL server's main process, when it runs on this machine (its CPU can then be read)."""
    with engine.connect() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    try:
        return process_cpu(backend)[2]
    except (OSError, IndexError, ValueError):
        return None


def postgres_cpu(postmaster: int | None) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster, its live children and the ones that have ended."""
    if postmaster is None:
        return 0.0
    own, ended, _ = process_cpu(postmaster)
    total = own + ended
    for pid in children_of(postmaster):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += process_cpu(pid)[0]
    return total


CPU_COLUMNS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def machine_cpu() -> dict[str, int]:
    """Jiffies of all cores since boot, by kind (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return dict(zip(CPU_COLUMNS, values, strict=True))


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


BIG_TABLE = 100_000  # rows; a sequential scan of a smaller table (feeders, staff) is cheap and normal


def table_stats(engine: Engine) -> dict[str, tuple[int, int, int]]:
    """(sequential scans, rows they read, live rows) per table."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT relname, seq_scan, seq_tup_read, n_live_tup FROM pg_stat_user_tables")).all()
    return {name: (seq, rows_read, live) for name, seq, rows_read, live in rows}


def database_stats(engine: Engine) -> tuple[int, int]:
    """(transactions committed, sessions opened) in this database."""
    with engine.connect() as conn:
        commits, sessions = conn.execute(
            text("SELECT xact_commit, sessions FROM pg_stat_database WHERE datname = current_database()")
        ).one()
    return commits, sessions


# --- the load ------------------------------------------------------------------------------------------


@dataclass
class Load:
    port: int
    callers: list[Caller]
    complaints: list[str]
    pacing: Pacing
    stats: Stats
    rng: random.Random
    run_id: str
    mix: dict[str, int] = field(default_factory=lambda: dict(ACTIONS))
    numbers: Iterator[int] = field(default_factory=lambda: iter(range(1, 1 << 40)))

    def plan(self) -> list[str]:
        actions, weights = list(self.mix), list(self.mix.values())
        return self.rng.choices(actions, weights, k=1 if self.rng.random() < 0.7 else 2)

    async def one_call(self, stop_at: float) -> str:
        call = SimulatedCall(
            f"{self.run_id}.{next(self.numbers)}",
            self.rng.choice(self.callers),
            self.plan(),
            rng=self.rng,
            complaints=self.complaints,
            pacing=self.pacing,
            stats=self.stats,
            stop_at=stop_at,
        )
        self.stats.started += 1
        self.stats.live += 1
        try:
            outcome = await call.run(self.port)
        finally:
            self.stats.live -= 1
        if self.stats.measuring:
            self.stats.ended_in_window += 1
        self.stats.outcomes[outcome] += 1
        return outcome

    async def line(self, delay: float, stop_at: float) -> None:
        """One telephone line: a call, and another as soon as it ends, until `stop_at`."""
        await asyncio.sleep(delay)
        while time.perf_counter() < stop_at:
            await self.one_call(stop_at)


async def warm_up(load: Load, calls: int) -> Counter[str]:
    """A few quick calls down every path, so the server has its connections and compiled queries."""
    quick = Pacing((0, 0), (0, 0), (0, 0), load.pacing.timeout)
    warm = Load(load.port, load.callers, load.complaints, quick, Stats(), random.Random(7), load.run_id + "w", load.mix)
    stop_at = time.perf_counter() + 120
    for start in range(0, calls, 25):
        await asyncio.gather(*(warm.one_call(stop_at) for _ in range(min(25, calls - start))))
    return warm.stats.outcomes


@dataclass
class Window:
    """What happened on the server and the machine while the calls were held."""

    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    postgres_cpu: float = 0.0
    machine: dict[str, float] = field(default_factory=dict)  # cores busy, by kind
    peak_rss_kib: int = 0
    rss_at_peak_calls: int = 0
    peak_live: int = 0
    threads: int = 0
    loop_lag: list[float] = field(default_factory=list)


async def hold(
    load: Load, server: ServerProcess, postmaster: int | None, calls: int, ramp: float, duration: float
) -> Window:
    """Bring up `calls` lines over `ramp` seconds, measure for `duration` seconds, then let the calls end."""
    window = Window()
    begin = time.perf_counter()
    measure_from = begin + ramp
    stop_at = measure_from + duration
    lines = [asyncio.create_task(load.line(ramp * i / calls, stop_at)) for i in range(calls)]
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    load.stats.measuring = True
    cpu0, client0, machine0 = server.cpu_seconds(), client_cpu(), machine_cpu()
    postgres0 = postgres_cpu(postmaster)
    started = time.perf_counter()
    while time.perf_counter() < stop_at:
        tick = time.perf_counter()
        await asyncio.sleep(0.25)
        window.loop_lag.append(time.perf_counter() - tick - 0.25)
        rss = server.rss_kib()
        window.peak_rss_kib = max(window.peak_rss_kib, rss)
        if load.stats.live >= window.peak_live:
            window.peak_live, window.rss_at_peak_calls = load.stats.live, max(rss, window.rss_at_peak_calls)
        window.threads = max(window.threads, server.threads())
    load.stats.measuring = False
    window.seconds = time.perf_counter() - started
    machine1 = machine_cpu()
    window.server_cpu = (server.cpu_seconds() - cpu0) / window.seconds
    window.client_cpu = (client_cpu() - client0) / window.seconds
    window.postgres_cpu = (postgres_cpu(postmaster) - postgres0) / window.seconds
    spent = {kind: machine1[kind] - machine0[kind] for kind in CPU_COLUMNS}
    cores = (os.cpu_count() or 1) / max(1, sum(spent.values()))
    window.machine = {kind: jiffies * cores for kind, jiffies in spent.items() if kind not in ("idle", "iowait")}
    await asyncio.gather(*lines)
    return window


# --- the report ------------------------------------------------------------------------------------------


def report_latencies(stats: Stats) -> list[float]:
    print(
        f"\n{'step (reply carrying the key > next AGI command)':<66} {'count':>7} {'p50':>8} {'p90':>8} "
        f"{'p99':>8} {'max':>8}   (ms)"
    )
    every_key: list[float] = []
    for label, meaning in LABELS.items():
        values = sorted(stats.samples[label])
        if label not in NOT_KEYS:
            every_key += values
        if values:
            print(_row(f"{label}: {meaning}", values))
    every_key.sort()
    if every_key:
        print(_row("every key press (all of the above but start, prompt, hang-up)", every_key))
    return every_key


def _row(name: str, values: list[float]) -> str:
    figures = [percentile(values, q) * 1000 for q in (0.5, 0.9, 0.99)] + [values[-1] * 1000]
    return f"{name[:66]:<66} {len(values):>7} " + " ".join(f"{f:>8.1f}" for f in figures)


def python_speed() -> float:
    """Milliseconds for a fixed loop of pure Python, best of 5: this shared machine's speed varies between runs."""
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - began)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a seeded database to use as it is (else a scratch one is seeded)")
    parser.add_argument(
        "--server",
        default=os.environ.get("URJA_BENCH_POSTGRES_URL", DEFAULT_SERVER),
        help="any database URL on the server where the scratch database is made",
    )
    parser.add_argument("--consumers", type=int, default=1_000_000, help="consumers to seed (without --url)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--calls", type=int, default=500, help="concurrent calls held")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured at full concurrency")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds to bring up the calls (not measured)")
    parser.add_argument("--think", type=span, default=(0.5, 2.0), help="seconds before each menu choice, MIN:MAX")
    parser.add_argument("--key-gap", type=span, default=(0.1, 0.3), help="seconds between digits of an entry")
    parser.add_argument("--play", type=span, default=(0.02, 0.04), help="seconds each prompt file plays")
    parser.add_argument("--warmup", type=int, default=50, help="quick calls before the idle memory is taken")
    parser.add_argument("--processes", type=int, default=1, help="server processes (urjamitra fastagi --processes)")
    parser.add_argument("--mix", type=mix, default=dict(ACTIONS), help="what callers come for, e.g. bill=30,pay=15")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    if args.url:
        engine = make_engine(args.url)
        with engine.connect() as conn:
            settings = {k: str(conn.exec_driver_sql(f"SHOW {k}").scalar()) for k in PG_SETTINGS}
        run(engine, args.url, settings, args)
        engine.dispose()
        return
    with scratch_database(args.server, "urja_ivrbench", keep=args.keep) as (engine, _):
        started = time.perf_counter()
        seed(engine, args.consumers, seed=1, as_of=AS_OF)
        print(f"seeded {args.consumers:,} consumers in {time.perf_counter() - started:.1f} s")
        with engine.connect() as conn:
            settings = {k: str(conn.exec_driver_sql(f"SHOW {k}").scalar()) for k in PG_SETTINGS}
        run(engine, engine.url.render_as_string(hide_password=False), settings, args)


def run(engine: Engine, url: str, settings: dict[str, str], args: argparse.Namespace) -> None:
    print(
        f"PostgreSQL {settings['server_version']} (shared_buffers {settings['shared_buffers']}, max_connections "
        f"{settings['max_connections']}, work_mem {settings['work_mem']}, fsync {settings['fsync']}, "
        f"synchronous_commit {settings['synchronous_commit']})"
    )
    with engine.connect() as conn:
        consumers = conn.execute(text("SELECT count(*) FROM account")).scalar()
    print(
        f"database {engine.url.database}: {consumers:,} accounts; {os.cpu_count()} cores, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + f"; a 1,000,000-step Python loop takes {python_speed():.0f} ms"
    )
    callers = sample_callers(engine, max(2000, 4 * args.calls), args.seed)
    complaints = sample_complaints(engine, 2000)
    print(f"callers: {len(callers):,} registered mobiles sampled; {len(complaints):,} complaint numbers to ask about")
    workers = inspect.signature(FastAgiServer.__init__).parameters["executor_workers"].default
    dialog: Any = make_dialog(Settings(database_url=url))  # built as the server builds it, to show its pool
    pool = dialog.backend.session_factory.kw["bind"].pool
    print(
        f"server: urjamitra fastagi, {args.processes} process(es), each with a dialog thread pool of {workers} "
        f"and a connection pool of {pool.size()} + {getattr(pool, '_max_overflow', '?')} overflow"
    )
    print(
        f"pacing: prompts play {args.play[0]}-{args.play[1]} s, think {args.think[0]}-{args.think[1]} s, "
        f"digits {args.key_gap[0]}-{args.key_gap[1]} s apart; calls do 1 (70%) or 2 of "
        + ", ".join(f"{a} {w / sum(args.mix.values()):.0%}" for a, w in args.mix.items())
    )

    server = ServerProcess(url, args.processes)
    print(f"server process {', '.join(map(str, server.pids()))} on port {server.port} (log {server.log})", flush=True)
    try:
        rss_start = server.rss_kib()
        stats = Stats()
        pacing = Pacing(args.play, args.think, args.key_gap)
        load = Load(
            server.port,
            callers,
            complaints,
            pacing,
            stats,
            random.Random(args.seed),
            f"bench{int(time.time())}",
            args.mix,
        )

        postmaster = postmaster_of(engine)

        async def session() -> tuple[Counter[str], int, Window]:
            warm = await warm_up(load, args.warmup)
            await asyncio.sleep(1.0)
            return warm, server.rss_kib(), await hold(load, server, postmaster, args.calls, args.ramp, args.duration)

        tables0, db0 = table_stats(engine), database_stats(engine)
        warm, rss_idle, window = asyncio.run(session())
    finally:
        server.stop()
    time.sleep(1.0)  # the server's backends flush their statistics as they exit
    tables1, db1 = table_stats(engine), database_stats(engine)

    print(f"warm-up: {sum(warm.values())} calls: " + ", ".join(f"{k} {v}" for k, v in warm.most_common()))
    every_key = report_latencies(stats) or [0.0]
    handled = sum(stats.outcomes.values())
    errors = sum(v for k, v in stats.outcomes.items() if k.startswith(("error", "failed")))
    record(
        "IVR",
        {
            "calls held": f"{args.calls:,}",
            "calls/s": f"{stats.ended_in_window / max(window.seconds, 1e-9):.1f}",
            "every key p50": f"{percentile(every_key, 0.5) * 1000:.1f} ms",
            "p99": f"{percentile(every_key, 0.99) * 1000:.1f} ms",
            "failed calls": f"{errors}",
            "complaint numbers asked about": f"{len(complaints):,}",
        },
        ok=errors == 0 and handled > 0 and bool(complaints),
    )
    print(
        f"\ncalls: {stats.started:,} placed, {handled:,} handled ({stats.ended_in_window:,} ended in the "
        f"{window.seconds:.0f} s window, {stats.ended_in_window / max(window.seconds, 1e-9):.1f} calls/s); "
        f"errors {errors}"
    )
    print("  outcomes: " + ", ".join(f"{k} {v:,}" for k, v in stats.outcomes.most_common()))
    if stats.unexpected:
        print("  unexpected screens: " + ", ".join(f"{k!r} {v}" for k, v in stats.unexpected.most_common(5)))
    per_call = (window.rss_at_peak_calls - rss_idle) / max(1, window.peak_live)
    print(
        f"server memory (VmRSS): {rss_start / 1024:.1f} MiB at start, {rss_idle / 1024:.1f} MiB idle after "
        f"warm-up, {window.rss_at_peak_calls / 1024:.1f} MiB with {window.peak_live} calls live "
        f"(peak {window.peak_rss_kib / 1024:.1f} MiB): {per_call:.1f} KiB per call; {window.threads} threads"
    )
    lag = sorted(window.loop_lag) or [0.0]
    print(
        f"CPU over the window: server {window.server_cpu:.0%} of a core, PostgreSQL {window.postgres_cpu:.0%}, "
        f"this client {window.client_cpu:.0%} "
        f"(its loop lag p99 {percentile(lag, 0.99) * 1000:.1f} ms); machine {sum(window.machine.values()):.2f} of "
        f"{os.cpu_count()} cores busy ("
        + ", ".join(f"{kind} {cores:.2f}" for kind, cores in window.machine.items() if cores >= 0.005)
        + ")"
    )
    commits, sessions = db1[0] - db0[0], db1[1] - db0[1]
    print(f"PostgreSQL: {commits:,} transactions committed, {sessions:,} connections opened during the run")
    scans = sorted(
        (
            (name, tables1[name][0] - seq, tables1[name][1] - rows)
            for name, (seq, rows, live) in tables0.items()
            if name in tables1 and live >= BIG_TABLE and tables1[name][0] > seq
        ),
        key=lambda t: -t[2],
    )
    if scans:
        print(
            "  sequential scans of big tables: "
            + ", ".join(f"{name} {count:,} scans ({rows:,} rows read)" for name, count, rows in scans)
        )
    errors_logged = server.errors()
    if errors_logged:
        print(f"server log: {len(errors_logged)} ERROR lines, first: {errors_logged[0][:200]}; log {server.log}")
    else:
        server.log.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
