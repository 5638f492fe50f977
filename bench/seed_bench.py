"""Benchmark: `urjamitra seed` at discom scale on PostgreSQL; prints wall time per phase, rows/s and peak memory.

Usage: .venv/bin/python -m bench.seed_bench [--consumers 1000000] [--url postgresql+psycopg://...] [--keep]
       .venv/bin/python -m bench.seed_bench --database postgresql+psycopg://.../urja_mine [--consumers 100000]
It creates a database of its own on the server (dropped at the end unless --keep); with --database it seeds
that empty database instead (migrating it first) and leaves it seeded, as of 2026-11-22 like the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from bench._database import SERVER_SETTINGS, scratch_database
from bench._summary import record
from cis.db import make_engine
from cis.migrate import upgrade
from cis.seed import seed

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
AS_OF = dt.date(2026, 11, 22)


@contextmanager
def given_database(url: str) -> Iterator[tuple[Engine, dict[str, str]]]:
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            settings = {k: str(conn.exec_driver_sql(f"SHOW {k}").scalar()) for k in SERVER_SETTINGS}
        yield engine, settings
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consumers", type=int, default=1_000_000)
    parser.add_argument(
        "--url",
        default=os.environ.get("URJA_BENCH_POSTGRES_URL", DEFAULT_SERVER),
        help="any database URL on the server; the benchmark makes its own database there",
    )
    parser.add_argument("--database", help="seed this empty database instead, and keep it")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database")
    args = parser.parse_args()

    load = os.getloadavg()
    database = (
        given_database(args.database) if args.database else scratch_database(args.url, "urja_bench", keep=args.keep)
    )
    with database as (engine, settings):
        started = time.perf_counter()
        report = seed(engine, args.consumers, seed=1, as_of=AS_OF)
        wall = time.perf_counter() - started
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
        rows = report.consumers * 4 + report.readings + report.bills + report.payments
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL "
            f"{settings['server_version']} (shared_buffers {settings['shared_buffers']}, max_wal_size "
            f"{settings['max_wal_size']}, fsync {settings['fsync']}); load average before "
            + " ".join(f"{x:.2f}" for x in load)
            + ", after "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        print(
            f"seeded {report.consumers:,} consumers: {report.readings:,} readings, {report.bills:,} bills, "
            f"{report.payments:,} payments, {report.complaints:,} complaints"
        )
        for phase, seconds in report.seconds.items():
            print(f"  {phase:<40} {seconds:8.2f} s")
        print(f"wall time {wall:.1f} s; {rows / wall:,.0f} rows/s over about {rows:,} rows; database {size}")
        print(f"peak memory of the seeding process: {peak_mib:,.0f} MiB")
        record(
            "seed",
            {
                "consumers": f"{report.consumers:,}",
                "rows": f"{rows:,}",
                "total": f"{wall:.1f} s",
                **{phase: f"{seconds:.1f} s" for phase, seconds in report.seconds.items() if phase != "total"},
            },
        )


if __name__ == "__main__":
    main()
