"""Benchmark: the consumers' web pages through the production web server (`urjamitra serve`) on PostgreSQL.

Usage: .venv/bin/python -m bench.portal_bench [--consumers 100000] [--clients 50] [--duration 60]
       .venv/bin/python -m bench.portal_bench --database postgresql+psycopg://.../urja_seeded [--path /outages ...]
       .venv/bin/python -m bench.portal_bench --quick   (bench/smoke: 20 clients for 10 s)
       ... --sign-in --path /portal/bills --rate 250     (50 clients offering 250 pages a second in all)

Without --database it seeds a scratch database of its own on the server of --server (--consumers, as of
2026-11-22, as the other benchmarks do; dropped at the end unless --keep). With --database it uses that seeded
database as it is.

It starts `urjamitra serve` on a free port (URJA_WEB_WORKERS x URJA_WEB_THREADS, or --workers/--threads; the
access log to a file, as production writes one; every rate limit raised, since all the clients come from one
address; --redis for the limits' counters and so that no web worker drains the outbox, as with Celery in
production), warms it up, then holds --clients concurrent clients for --duration seconds. Each client is a
thread with one keep-alive HTTP/1.1 connection (http.client) that asks for the --path pages in turn, each as
soon as the last one has arrived. With --sign-in each client first signs in as a consumer of its own
(`portal_sign_in`: the portal's form, account number + password + CSRF token) and keeps the session cookie;
those consumers get the --password first, all in one statement with one hash. A path may then name the
client's own bills: `{current}` its current bill, `{bill}` each of its 12 newest in turn:

    --sign-in --path /portal/bills --path '/portal/bills/{current}.pdf'     my account and the bill PDF
    --sign-in --path '/portal/bills/{bill}.pdf'                              PDFs a worker has not kept

With --rate R the clients are paced instead: together they offer R requests a second, each on a fixed
schedule (staggered), and a request's latency counts from when it was due, so a request that waited for a late
one counts that wait. Without it, 50 clients that never pause measure the server's capacity, and their latency
is clients / throughput by Little's law; with it, the latency a given load gets.

It prints per path: requests, requests/s, p50, p90, p99 and max latency (request sent to last byte read),
errors (any status but 200, and failed connections), and the CPU of the server, of PostgreSQL, of this client
and of the machine, with the load average before and after; and the server's and PostgreSQL's CPU a request,
which moves less than requests/s when the machine's other work comes and goes. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import Engine, text

from bench._database import scratch_database
from bench._summary import record
from bench.ivr_bench import (
    BIG_TABLE,
    PG_SETTINGS,
    children_of,
    client_cpu,
    database_stats,
    machine_cpu,
    percentile,
    postgres_cpu,
    postmaster_of,
    process_cpu,
    python_speed,
    table_stats,
)
from cis.db import make_engine
from cis.seed import seed

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
AS_OF = dt.date(2026, 11, 22)
DEFAULT_PATHS = ("/", "/calculator", "/outages")
RAISED_LIMIT = "1000000 per minute"
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
PORTAL_COOKIE = "portal_session"
BILLS_CYCLED = 12  # `{bill}`: the newest bills of each account, asked for in turn


# --- a client --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One page to ask for: `GET /outages`, or `POST /calculator category=LMV-1U&load=2&units=250`.

    With --sign-in a path may name the signed-in client's own bills: `{current}` is the id of its account's
    current bill (/portal/bills/{current}.pdf) and `{bill}` each of its bills in turn, newest first, one a request
    (a bill PDF a worker has not drawn lately, rather than the one it keeps in memory)."""

    method: str
    path: str
    body: bytes | None = None
    template: str | None = None  # the path as given, with its placeholders: the label figures are grouped by

    @property
    def label(self) -> str:
        path = self.template or self.path
        return path if self.method == "GET" else f"{self.method} {path}"

    @property
    def per_client(self) -> bool:
        return "{current}" in self.path or "{bill}" in self.path

    def for_account(self, account: SignedAccount, turn: int) -> Request:
        """This request with the placeholders filled in for `account` (its `turn`-th request of this path)."""
        if not self.per_client:
            return self
        bill = account.bills[turn % len(account.bills)] if account.bills else account.current
        path = self.path.replace("{current}", str(account.current)).replace("{bill}", str(bill))
        return Request(self.method, path, self.body, self.path)

    @classmethod
    def parse(cls, spec: str) -> Request:
        parts = spec.split(maxsplit=2)
        if parts and parts[0].upper() in ("GET", "POST"):
            method, rest = parts[0].upper(), parts[1:]
        else:
            method, rest = "GET", parts
        if not rest or not rest[0].startswith("/"):
            raise argparse.ArgumentTypeError(f"a path looks like /outages or 'POST /calculator a=1&b=2', got {spec!r}")
        return cls(method, rest[0], rest[1].encode() if len(rest) > 1 else None)


class Client:
    """One keep-alive connection and a cookie jar, as one browser tab has."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def _connect(self) -> http.client.HTTPConnection:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes, float]:
        """(status, body, seconds from sending to the last byte). A kept-alive connection the server closed
        meanwhile is opened again once, as a browser does, and the request sent again."""
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept-Language": "en-IN,en;q=0.9,hi;q=0.8"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = content_type or "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            reused = self.connection is not None
            began = time.perf_counter()
            try:
                connection = self._connect()
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused and attempt == 1:
                    self.reconnects += 1
                    continue
                raise
            seconds = time.perf_counter() - began
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, value = cookie.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value.strip()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, payload, seconds
        raise AssertionError("unreachable")


def portal_sign_in(client: Client, account_no: str, password: str, login_path: str = "/portal/login") -> None:
    """Sign `client` in to the consumers' portal as a person does: open the form, post the account number and
    password with the form's CSRF token; the session cookie stays in the client's jar. Raises SignInFailed."""
    status, page, _ = client.request("GET", login_path)
    token = CSRF.search(page.decode(errors="replace"))
    if status != 200 or token is None:
        raise SignInFailed(f"GET {login_path} answered {status}{'' if token else ' without a csrf_token field'}")
    form = urlencode({"account": account_no, "password": password, "csrf_token": token.group(1)}).encode()
    status, _page, _ = client.request("POST", login_path, form)
    # Signed in: a 303 to the account (cis/web/portal/views.py); refused: the form again (401, 429, 400).
    if status not in (302, 303) or PORTAL_COOKIE not in client.cookies:
        raise SignInFailed(f"POST {login_path} for account {account_no[:2]}...{account_no[-4:]} answered {status}")


class SignInFailed(Exception):
    """A client could not sign in; the run stops before measuring."""


SignIn = Callable[[Client, str, str], None]


# --- the server ------------------------------------------------------------------------------------------


class ServerProcess:
    """`urjamitra serve` on a free port; its access log and its own log in temporary files."""

    def __init__(
        self,
        url: str,
        *,
        workers: int | None,
        threads: int | None,
        redis: str | None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="portal_bench_"))
        self.log = self.folder / "serve.log"
        self.access_log = self.folder / "access.log"
        from urjamitra.settings import LIMITS

        port = _free_port()
        extra = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("URJA_")}
        env.update(
            {
                "URJA_DATABASE_URL": url,
                "URJA_WEB_BIND": f"127.0.0.1:{port}",
                "URJA_WEB_ACCESS_LOG": str(self.access_log),
                "URJA_RATE_LIMIT_PREFIX": f"portalbench{os.getpid()}",
                **{variable: RAISED_LIMIT for variable in LIMITS.values()},
            }
        )
        if workers:
            env["URJA_WEB_WORKERS"] = str(workers)
        if threads:
            env["URJA_WEB_THREADS"] = str(threads)
        if redis:
            env["URJA_REDIS_URL"] = redis
        env.update(extra)
        command = [str(Path(sys.executable).parent / "urjamitra"), "serve"]
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.proc.stdout is not None
        ready = ""
        while not ready.startswith("serving on "):  # the console SMS a pumping worker prints may come first
            ready = self.proc.stdout.readline()
            if not ready:
                self.stop()
                raise SystemExit(f"urjamitra serve did not start; see {self.log}")
        self.banner = ready.strip()
        self.port = port
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # a full pipe would stall it

    def pids(self) -> list[int]:
        return [self.proc.pid, *children_of(self.proc.pid)]

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += process_cpu(pid)[0]
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def errors(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if "ERROR" in line]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the load --------------------------------------------------------------------------------------------


@dataclass
class Results:
    measuring: bool = False
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    bytes_read: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, label: str, status: int, seconds: float, size: int) -> None:
        if not self.measuring:
            return
        with self.lock:
            self.samples.setdefault(label, []).append(seconds)
            self.bytes_read[label] += size
            if status != 200:
                self.errors[f"{label} {status}"] += 1

    def failed(self, label: str, exc: Exception) -> None:
        if self.measuring:
            with self.lock:
                self.errors[f"{label} {type(exc).__name__}"] += 1


def _client_loop(
    client: Client,
    requests: list[Request],
    offset: int,
    results: Results,
    stop: threading.Event,
    account: SignedAccount | None = None,
    every: float | None = None,
    start: float = 0.0,
) -> None:
    """Ask for `requests` in turn until `stop`: each as soon as the last has arrived, or with `every` (seconds)
    one on a fixed schedule from `start`, its latency counted from when it was due (so a request that had to
    wait for a late one counts that wait: no coordinated omission)."""
    turn = offset
    due = start
    while not stop.is_set():
        if every is not None and stop.wait(max(0.0, due - time.perf_counter())):
            break
        req = requests[turn % len(requests)]
        if account is not None:
            req = req.for_account(account, turn // len(requests))
        turn += 1
        try:
            status, payload, seconds = client.request(req.method, req.path, req.body)
        except (OSError, http.client.HTTPException) as exc:
            results.failed(req.label, exc)
            client.close()
            time.sleep(0.1)
            continue
        if every is not None:
            seconds = max(seconds, time.perf_counter() - due)
            due += every
        results.add(req.label, status, seconds, len(payload))
    client.close()


@dataclass(frozen=True)
class SignedAccount:
    """A client's own account: its number, its current bill's id and its newest bills' ids (newest first)."""

    account_no: str
    current: int
    bills: tuple[int, ...]


def sample_accounts(engine: Engine, count: int) -> list[SignedAccount]:
    """Active accounts with a bill, spread over the table, for clients that sign in: each with its bills."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.account_no, b.ids FROM account a CROSS JOIN LATERAL ("
                "  SELECT array_agg(id ORDER BY cycle DESC, version DESC) AS ids FROM ("
                "    SELECT id, cycle, version FROM bill WHERE account_id = a.id AND status <> 'superseded'"
                "    ORDER BY cycle DESC, version DESC LIMIT :bills) newest) b"
                " WHERE a.status = 'active' AND b.ids IS NOT NULL ORDER BY random() LIMIT :n"
            ),
            {"n": count, "bills": BILLS_CYCLED},
        ).all()
    return [SignedAccount(str(no), int(ids[0]), tuple(int(i) for i in ids)) for no, ids in rows]


def give_passwords(engine: Engine, accounts: list[SignedAccount], password: str) -> None:
    """Register `accounts` on the portal with `password`, all in one statement with one hash: hashing it once a
    consumer (scrypt, ~50 ms each) would cost more than the benchmark. Their earlier passwords are replaced."""
    from cis.passwords import HASHER

    hashed = HASHER.hash(password)
    numbers = [a.account_no for a in accounts]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO consumer_login (account_id, password_hash, created_at, updated_at, password_changed_at)"
                " SELECT id, :hash, now(), now(), now() FROM account WHERE account_no = ANY(:numbers)"
                " ON CONFLICT (account_id) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
                " updated_at = EXCLUDED.updated_at, password_changed_at = EXCLUDED.password_changed_at"
            ),
            {"hash": hashed, "numbers": numbers},
        )


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[tuple[Engine, str]]:
    if args.database:
        engine = make_engine(args.database)
        try:
            yield engine, args.database
        finally:
            engine.dispose()
        return
    with scratch_database(args.server, "urja_portalbench", keep=args.keep) as (engine, _):
        started = time.perf_counter()
        seed(engine, args.consumers, seed=1, as_of=AS_OF)
        print(f"seeded {args.consumers:,} consumers in {time.perf_counter() - started:.1f} s", flush=True)
        yield engine, engine.url.render_as_string(hide_password=False)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None, sign_in: SignIn = portal_sign_in) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="a seeded database to use as it is (else a scratch one is seeded)")
    parser.add_argument(
        "--server",
        default=os.environ.get("URJA_BENCH_POSTGRES_URL", DEFAULT_SERVER),
        help="any database URL on the server where the scratch database is made",
    )
    parser.add_argument("--consumers", type=int, default=100_000, help="consumers to seed (without --database)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--redis", help="a Redis database for the rate limits' counters (as in production)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    parser.add_argument(
        "--path",
        dest="paths",
        action="append",
        type=Request.parse,
        help="a page to ask for (repeat); default: / "
        "/calculator /outages; 'POST /calculator category=LMV-1U&load=2&units=250' posts a form",
    )
    parser.add_argument("--workers", type=int, help="URJA_WEB_WORKERS for the server (default: its settings)")
    parser.add_argument("--threads", type=int, help="URJA_WEB_THREADS for the server (default: its settings)")
    parser.add_argument("--sign-in", action="store_true", help="each client signs in as a consumer first")
    parser.add_argument("--password", default="demo1912", help="the consumers' password for --sign-in")
    parser.add_argument(
        "--rate",
        type=float,
        help="requests/s offered in all, the clients on a fixed schedule (default: each client asks again as "
        "soon as its answer arrives)",
    )
    parser.add_argument("--quick", action="store_true", help="bench/smoke's short run: 20 clients, 10 s, 2 s warm-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.duration, args.warmup = 20, 10.0, 2.0
    requests = args.paths or [Request.parse(p) for p in DEFAULT_PATHS]

    load_before = _load()
    with _database(args) as (engine, url):
        with engine.connect() as conn:
            pg = {k: str(conn.exec_driver_sql(f"SHOW {k}").scalar()) for k in PG_SETTINGS}
            consumers = conn.execute(text("SELECT count(*) FROM account")).scalar() or 0
        print(
            f"PostgreSQL {pg['server_version']} (shared_buffers {pg['shared_buffers']}, max_connections "
            f"{pg['max_connections']}, fsync {pg['fsync']}); database {engine.url.database}: {consumers:,} accounts"
        )
        print(
            f"machine: {os.cpu_count()} cores, load average {load_before}; a 1,000,000-step Python loop takes "
            f"{python_speed():.0f} ms"
        )
        server = ServerProcess(url, workers=args.workers, threads=args.threads, redis=args.redis)
        print(f"server: {server.banner}")
        print(f"  its log {server.log}, access log {server.access_log}")
        if not args.redis:
            print("  without --redis one web worker also drains the outbox, as `urjamitra serve` does on SQLite")
        try:
            accounts = sample_accounts(engine, args.clients) if args.sign_in else []
            if accounts:
                began = time.perf_counter()
                give_passwords(engine, accounts, args.password)
                print(f"portal passwords set for {len(accounts)} accounts in {time.perf_counter() - began:.2f} s")
            ok = run(engine, server, requests, accounts, args, sign_in)
        finally:
            server.stop()
        errors_logged = server.errors()
        if errors_logged:
            print(f"server log: {len(errors_logged)} ERROR lines, first: {errors_logged[0][:300]}")
    print(f"load average {load_before} before, {_load()} after")
    return 0 if ok else 1


def run(
    engine: Engine,
    server: ServerProcess,
    requests: list[Request],
    accounts: list[SignedAccount],
    args: argparse.Namespace,
    sign_in: SignIn,
) -> bool:
    clients = [Client(server.port) for _ in range(args.clients)]
    if any(r.per_client for r in requests) and not args.sign_in:
        raise SystemExit("{current} and {bill} name a signed-in client's bills: add --sign-in")
    if args.sign_in:
        if len(accounts) < len(clients):
            raise SystemExit(f"only {len(accounts)} active accounts to sign in with")
        began = time.perf_counter()
        try:
            for client, account in zip(clients, accounts, strict=False):
                sign_in(client, account.account_no, args.password)
        except SignInFailed as exc:
            print(f"sign-in failed: {exc}")
            return False
        print(f"signed in {len(clients)} consumers in {time.perf_counter() - began:.1f} s")
    interval = args.clients / args.rate if args.rate else None
    paced = (
        f", paced: {args.rate:g} requests/s offered in all (each client one every {interval * 1000:.0f} ms, latency "
        "counted from when a request was due)"
        if interval
        else ", each as soon as the last has arrived"
    )
    print(
        f"load: {args.clients} clients, each one keep-alive connection asking for "
        + ", ".join(r.label for r in requests)
        + f" in turn{paced}; {args.warmup:.0f} s warm-up, {args.duration:.0f} s measured",
        flush=True,
    )
    results = Results()
    stop = threading.Event()
    start = time.perf_counter() + 0.1
    threads = [
        threading.Thread(
            target=_client_loop,
            args=(c, requests, i, results, stop, accounts[i] if args.sign_in else None),
            kwargs={"every": interval, "start": start + (interval or 0.0) * i / len(clients)},
            daemon=True,
        )
        for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(args.warmup)

    postmaster = postmaster_of(engine)
    tables0, db0 = table_stats(engine), database_stats(engine)
    server0, pg0, client0, machine0 = server.cpu_seconds(), postgres_cpu(postmaster), client_cpu(), machine_cpu()
    results.measuring = True
    began = time.perf_counter()
    time.sleep(args.duration)
    results.measuring = False
    seconds = time.perf_counter() - began
    server1, pg1, client1, machine1 = server.cpu_seconds(), postgres_cpu(postmaster), client_cpu(), machine_cpu()
    stop.set()
    for thread in threads:
        thread.join(30)
    time.sleep(1.0)  # backends flush their statistics as connections close
    tables1, db1 = table_stats(engine), database_stats(engine)

    print(f"\n{'path':<30}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'KB':>7}")
    every: list[float] = []
    figures: dict[str, str] = {"clients": str(args.clients)}
    if args.rate:
        figures["offered"] = f"{args.rate:g}/s"
    for req in requests:
        done = sorted(results.samples.get(req.label, []))
        every.extend(done)
        if not done:
            print(f"{req.label:<30}{0:>10}")
            continue
        size = results.bytes_read[req.label] / len(done) / 1024
        print(
            f"{req.label:<30}{len(done):>10,}{len(done) / seconds:>9.1f}{percentile(done, 0.5) * 1000:>9.1f}"
            f"{percentile(done, 0.9) * 1000:>9.1f}{percentile(done, 0.99) * 1000:>9.1f}{done[-1] * 1000:>9.1f}"
            f"{size:>7.1f}"
        )
        figures[f"{req.label} p99"] = f"{percentile(done, 0.99) * 1000:.0f} ms"
    every.sort()
    errors = sum(results.errors.values())
    if every:
        print(
            f"{'all':<30}{len(every):>10,}{len(every) / seconds:>9.1f}{percentile(every, 0.5) * 1000:>9.1f}"
            f"{percentile(every, 0.9) * 1000:>9.1f}{percentile(every, 0.99) * 1000:>9.1f}{every[-1] * 1000:>9.1f}"
        )
    print(
        f"errors: {errors}"
        + (" (" + ", ".join(f"{k} x{v}" for k, v in results.errors.most_common(5)) + ")" if errors else "")
        + f"; connections reopened after the server closed them: {sum(c.reconnects for c in clients)}"
    )
    busy = {k: (machine1[k] - machine0[k]) / os.sysconf("SC_CLK_TCK") / seconds for k in machine0 if k != "idle"}
    print(
        f"CPU over the window: server {(server1 - server0) / seconds:.0%} of a core, PostgreSQL "
        f"{(pg1 - pg0) / seconds:.0%}, this client {(client1 - client0) / seconds:.0%}; machine "
        f"{sum(busy.values()):.2f} of {os.cpu_count()} cores busy"
    )
    if every:
        # CPU a request moves less than requests/s with the machine's other work: compare runs by it.
        server_ms, pg_ms = (server1 - server0) * 1000 / len(every), (pg1 - pg0) * 1000 / len(every)
        print(f"CPU a request: server {server_ms:.2f} ms, PostgreSQL {pg_ms:.2f} ms")
        figures["server CPU a request"] = f"{server_ms:.1f} ms"
    commits = db1[0] - db0[0]
    scans = [
        f"{name} {tables1[name][0] - seq:,}"
        for name, (seq, _rows, live) in tables0.items()
        if name in tables1 and live >= BIG_TABLE and tables1[name][0] > seq
    ]
    print(
        f"PostgreSQL: {commits:,} transactions committed; sequential scans of big tables: "
        + (", ".join(scans) if scans else "none")
    )
    figures["requests/s"] = f"{len(every) / seconds:.0f}"
    figures["p50"] = f"{percentile(every, 0.5) * 1000:.0f} ms" if every else "-"
    figures["p99"] = f"{percentile(every, 0.99) * 1000:.0f} ms" if every else "-"
    figures["errors"] = str(errors)
    ok = errors == 0 and bool(every)
    record("portal", figures, ok=ok)
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
