"""Every benchmark in bench/ once, at 100,000 consumers, on a database of the run's own; one summary at the end.

Run through bench/smoke, which finds (or starts) PostgreSQL and Redis. The steps share one seeded database, in
the order an operator would use it: seed it (bench.seed_bench --database), load the public pages through the
production web server for a few seconds (bench.portal_bench --quick), publish a breakdown on every feeder
(bench.outage_bench --database), call the IVR (bench.ivr_bench --url, which asks about the seeded complaints
the outage benchmark must have left alone), bill the next cycle (bench.bill_run_bench --database), search and
open consumers on the 1912 console and sweep 10,000 overdue complaints (bench.console_bench --database), post
5,000 payments by signed webhooks (bench.payments_bench --database); then
bench.sms_bench on a scratch database of its own. Each prints its full report as it goes; the summary takes
each one's headline figures (bench/_summary.py). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench._summary import ENV
from cis.db import make_engine

ROOT = Path(__file__).resolve().parent.parent


def _steps(args: argparse.Namespace, database: str) -> list[tuple[str, list[str]]]:
    ivr = f"--url {database} --calls {args.calls} --duration 20 --ramp 5 --warmup 20"
    sms = f"--url {args.server} --redis {args.redis} --messages {args.consumers} --baseline {args.baseline}"
    return [
        ("seed", ["bench.seed_bench", "--database", database, "--consumers", str(args.consumers)]),
        ("portal", ["bench.portal_bench", "--database", database, "--redis", args.redis, "--quick"]),
        ("outage fan-out", ["bench.outage_bench", "--database", database, "--redis", args.redis]),
        ("IVR", ["bench.ivr_bench", *ivr.split()]),
        ("bill run", ["bench.bill_run_bench", "--database", database]),
        # Last on the shared database: it adds overdue complaints of its own and moves them up the matrix.
        (
            "console",
            ["bench.console_bench", "--database", database, "--duration", "8", "--warmup", "2", "--overdue", "10000"],
        ),
        # Then payments: intents of its own on accounts spread over the table, each paid by a signed webhook.
        (
            "payments",
            ["bench.payments_bench", "--database", database, "--redis", args.redis, "--webhooks", "5000"],
        ),
        ("SMS dispatch", ["bench.sms_bench", *sms.split()]),
    ]


def _git_commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip() or "?"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="any database URL on the PostgreSQL server to use")
    parser.add_argument("--redis", required=True, help="a Redis database the benchmarks may flush")
    parser.add_argument("--consumers", type=int, default=100_000, help="consumers seeded, SMS messages sent")
    parser.add_argument("--calls", type=int, default=100, help="concurrent IVR calls")
    parser.add_argument("--baseline", type=int, default=500, help="SMS sent one task each, for the ratio")
    parser.add_argument("--only", action="append", help="run only these steps (by name; seed always runs)")
    args = parser.parse_args()

    server = args.server.rsplit("/", 1)[0]
    name = f"urja_smoke_{uuid.uuid4().hex[:8]}"
    admin = make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    load_before = _load()
    results: list[tuple[str, int, float, dict[str, Any] | None]] = []  # step, exit code, seconds, its record
    with tempfile.TemporaryDirectory(prefix="urja-smoke-") as tmp:
        summary = Path(tmp) / "summary.jsonl"
        env = {**os.environ, ENV: str(summary), "PYTHONPATH": str(ROOT)}
        try:
            for step, command in _steps(args, f"{server}/{name}"):
                if args.only and step != "seed" and step not in args.only:
                    continue
                print(f"\n=== {step}: {' '.join(command)}", flush=True)
                began = time.perf_counter()
                code = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, env=env, check=False).returncode
                lines = summary.read_text(encoding="utf-8").splitlines() if summary.exists() else []
                last = json.loads(lines[-1]) if lines else None
                results.append(
                    (step, code, time.perf_counter() - began, last if last and last["bench"] == step else None)
                )
                if step == "seed" and code:
                    break  # the others need the seeded database
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    failed = [step for step, code, _, rec in results if code or not rec or not rec["ok"]]
    print(
        f"\n=== bench/smoke summary, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, commit {_git_commit()}: "
        f"{args.consumers:,} consumers, {os.cpu_count()} cores, load average {load_before} before, {_load()} after; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    for step, code, seconds, rec in results:
        verdict = "FAILED" if step in failed else "ok"
        shown = "; ".join(f"{k} {v}" for k, v in rec["figures"].items()) if rec else ""
        print(f"  {step:<15} {verdict:<6} {seconds:6.0f} s  {shown or f'(exit {code}, no figures)'}")
    if failed:
        print(f"failed: {', '.join(failed)}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
