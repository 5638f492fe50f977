"""Benchmark: the monthly billing run at discom scale on PostgreSQL, and the pure bill calculation rate.

Usage: .venv/bin/python -m bench.bill_run_bench [--consumers 1000000] [--url postgresql+psycopg://...] [--keep]
       .venv/bin/python -m bench.bill_run_bench --database postgresql+psycopg://.../urja_mine
Seeds a database of its own (as of 2026-11-22: history up to the 2026-10 cycle), adds November readings
for 95% of the accounts in one statement, then bills cycle 2026-11 and prints wall time, bills per
second and peak memory; then runs the same cycle again (nothing to do) and times that too. With --database
it does so on that database, seeded as of 2026-11-22 (by bench.seed_bench --database) and not billed for
2026-11 yet; the readings, bills and SMS rows stay there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import time
import timeit
from decimal import Decimal

from sqlalchemy import text

from bench._database import scratch_database
from bench._summary import record
from bench.seed_bench import AS_OF, given_database
from cis import tariffs
from cis.billing import bill_run
from cis.seed import seed

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)


def pure_rate() -> float:
    schedule = tariffs.schedule_on(tariffs.load_schedules(), dt.date(2026, 11, 30))
    tariff = schedule.categories["LMV-1U"]
    load = Decimal("2")
    calls = 200_000
    seconds = timeit.timeit(lambda: tariffs.calculate(tariff, load_kw=load, units=287, days=30), number=calls)
    return calls / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consumers", type=int, default=1_000_000)
    parser.add_argument("--url", default=os.environ.get("URJA_BENCH_POSTGRES_URL", DEFAULT_SERVER))
    parser.add_argument("--database", help="a database seeded as of 2026-11-22 to bill (it is kept)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--batch", type=int, default=None, help="accounts per batch (default: the run's own)")
    args = parser.parse_args()

    pure = pure_rate()
    print(f"pure calculation: {pure:,.0f} bills per second (LMV-1U, 287 units, 2 kW, one core)")
    database = (
        given_database(args.database) if args.database else scratch_database(args.url, "urja_billbench", keep=args.keep)
    )
    with database as (engine, settings):
        print(
            f"PostgreSQL {settings['server_version']} (shared_buffers {settings['shared_buffers']}, "
            f"max_wal_size {settings['max_wal_size']}, fsync {settings['fsync']}); load average "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        if not args.database:
            started = time.perf_counter()
            seed(engine, args.consumers, seed=1, as_of=AS_OF)
            print(f"seeded {args.consumers:,} consumers in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        with engine.begin() as conn:
            added = conn.execute(
                text("""
                INSERT INTO reading (account_id, meter_id, read_on, kwh, kind, source, created_at)
                SELECT b.account_id, b.account_id, b.period_end + 30,
                       (b.current_kwh + 150 + b.account_id % 200) % 1000000,
                       'actual', 'handheld', TIMESTAMPTZ '2026-11-28 06:00:00+00'
                FROM bill b JOIN meter m ON m.account_id = b.account_id AND m.status = 'ok'
                WHERE b.cycle = '2026-10' AND b.current_kwh IS NOT NULL AND b.account_id % 20 <> 0
            """)
            ).rowcount
            conn.exec_driver_sql("ANALYZE reading")
        print(f"added {added:,} November readings in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        options = {"batch": args.batch} if args.batch else {}
        report = bill_run(engine, "2026-11", now=NOW, **options)
        wall = time.perf_counter() - started
        print(
            f"bill run 2026-11: {report.billed:,} bills ({report.actual:,} actual, {report.estimated:,} estimated, "
            f"{report.assessed:,} assessed, {report.held:,} held), {report.sms_queued:,} SMS rows in {wall:.1f} s "
            f"= {report.billed / wall:,.0f} bills/s"
        )
        print("  " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in report.step_seconds.items()))
        started = time.perf_counter()
        again = bill_run(engine, "2026-11", now=NOW)
        again_s = time.perf_counter() - started
        print(
            f"the same cycle again: {again.billed} new bills, {again.already_billed:,} already billed, {again_s:.1f} s"
        )
        print(f"peak memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
        record(
            "bill run",
            {
                "bills": f"{report.billed:,}",
                "bill run": f"{wall:.1f} s",
                "bills/s": f"{report.billed / wall:,.0f}",
                "SMS rows": f"{report.sms_queued:,}",
                "again": f"{again_s:.1f} s",
                "pure calculation": f"{pure:,.0f} bills/s",
            },
            ok=report.billed > 0 and again.billed == 0,
        )


if __name__ == "__main__":
    main()
