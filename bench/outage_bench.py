"""Benchmark: a breakdown published on feeders serving a million consumers, from the desk's click to every SMS
handed to a local HTTP gateway.

Usage: .venv/bin/python -m bench.outage_bench [--database postgresql+psycopg://.../urja_outagebench]
       [--consumers 1000000] [--workers 2] [--batch 1000] [--redis redis://...] [--keep]

Without --database it makes a scratch database and seeds --consumers into it first (about 4 minutes for a
million; timed apart). With --database it uses that seeded database as it is, after emptying its outbox and
outage tables. Then, as production runs it:
- the fake DLT gateway (tests/protocol/fake_sms_gateway.py, counting only) in a process of its own, and a
  Celery worker (`celery -A urjamitra.worker worker -P prefork -c <workers>`) on the benchmark's Redis;
- the click: `outage.events.publish_breakdown` on every feeder (one event), then the `outage.fan_out` task sent
  to the worker, as the desk does;
- beat's part: an `sms.drain` every 10 s (expiring after 20 s), from the click on.
It prints: the click (the use case's commit), click -> every outbox row written (the revision marked fanned
out), click -> every SMS row handed to the gateway (none pending or sending), the rates, CPU by process, and a
check: one row per reachable account, every SMS row sent once, as many messages at the gateway as rows.
Figures: docs/benchmarks.md ("Outage fan-out").
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

import redis
from sqlalchemy import Engine, func, select, text

from bench._database import scratch_database
from bench.ivr_bench import postmaster_of
from bench.sms_bench import DEFAULT_REDIS, DEFAULT_SERVER, GATEWAY_KEY, Gateway, Meter, Worker, cleanup
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.models import Account, Feeder, OutageRevision, Outbox
from cis.seed import seed
from outage.events import Actor, Breakdown, publish_breakdown
from urjamitra.settings import Settings
from urjamitra.tasks import celery_for

QUEUE = "urja_outage_bench"
OUTAGE_TABLES = (
    "outage_check",
    "outage_fanout",
    "outage_revision",
    "outage_event_feeder",
    "feeder_interruption",
)


def empty_outages(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE complaint SET outage_event_id = NULL WHERE outage_event_id IS NOT NULL"))
        conn.execute(text(f"TRUNCATE outbox, {', '.join(OUTAGE_TABLES)}, outage_event RESTART IDENTITY CASCADE"))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE outbox")


def sms_open(engine: Engine) -> bool:
    """Any SMS row still pending or sending: two probes of the partial indexes, cheap enough to poll (a count by
    status scans the whole outbox, and polled four times a second it took a core from the dispatchers)."""
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'pending' AND channel = 'sms') "
                    "OR EXISTS (SELECT 1 FROM outbox WHERE status IN ('sending', 'unknown') AND channel = 'sms')"
                )
            )
        )


def sms_left(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Outbox.status, func.count()).where(Outbox.channel == "sms").group_by(Outbox.status)
        ).all()
    return {str(status): int(count) for status, count in rows}


def run(engine: Engine, url: str, args: argparse.Namespace) -> None:
    with engine.connect() as conn:
        feeders = list(conn.scalars(select(Feeder.id).order_by(Feeder.id)))
        consumers = conn.scalar(select(func.count()).select_from(Account).where(Account.status == "active"))
    print(f"{consumers:,} active consumers on {len(feeders)} feeders", flush=True)
    client = redis.Redis.from_url(args.redis)
    client.flushdb()
    client.close()
    settings = Settings(database_url="sqlite://", redis_url=args.redis, secret_key="bench")
    control = celery_for(settings)
    with cleanup() as stop_later:
        gateway = Gateway()
        stop_later(gateway.stop)
        env = {k: v for k, v in os.environ.items() if not k.startswith("URJA_")}
        env.update(
            URJA_DATABASE_URL=url,
            URJA_REDIS_URL=args.redis,
            URJA_SMS_PROVIDER="dlt",
            URJA_SMS_GATEWAY_URL=gateway.url,
            URJA_SMS_GATEWAY_KEY=GATEWAY_KEY,
            URJA_SMS_BATCH=str(args.batch),
            URJA_SMS_RATE="1000000",
            URJA_PUBLIC_URL="https://urjamitra.example.in",
            URJA_CHECK_SHARE="0",
        )
        worker = Worker("urjamitra.worker", QUEUE, args.workers, env, control)
        stop_later(worker.stop)
        control.control.add_consumer(QUEUE, destination=[worker.hostname])
        meter = Meter(engine, worker, gateway, postmaster_of(engine))
        uow = UnitOfWork(make_session_factory(engine))

        meter.start()
        clicked = time.perf_counter()
        now = dt.datetime.now(dt.UTC)
        ref = publish_breakdown(
            uow,
            Breakdown(
                since=now - dt.timedelta(minutes=5),
                cause="132 kV grid substation tripped",
                feeder_ids=tuple(feeders),
                expected_restore_at=now + dt.timedelta(hours=2),
            ),
            actor=Actor("bench:control-room"),
            now=now,
        )
        committed = time.perf_counter() - clicked
        control.send_task("outage.fan_out", args=[ref.revision_id], queue=QUEUE)
        written_at: float | None = None
        next_drain = 0.0
        last_report = time.perf_counter()
        while True:
            elapsed = time.perf_counter() - clicked
            if elapsed >= next_drain:
                control.send_task("sms.drain", queue=QUEUE, expires=20)
                next_drain += 10.0
            if written_at is None:
                with engine.connect() as conn:
                    done = conn.scalar(select(OutageRevision.fanned_out_at).where(OutageRevision.id == ref.revision_id))
                if done is not None:
                    written_at = time.perf_counter() - clicked
                    print(f"  all outbox rows written {written_at:.2f} s after the click", flush=True)
            elif not sms_open(engine):
                break
            if time.perf_counter() - last_report > 30:
                print(f"  ... {elapsed:.0f} s", flush=True)
                last_report = time.perf_counter()
            if worker.proc.poll() is not None:
                raise SystemExit(f"the worker stopped; see {worker.log}")
            if elapsed > 1800:
                raise SystemExit("gave up after 30 minutes")
            time.sleep(0.5)
        handed = time.perf_counter() - clicked
        phase = meter.stop(1)

        with engine.connect() as conn:
            revision = conn.execute(
                select(OutageRevision.messages).where(OutageRevision.id == ref.revision_id)
            ).scalar_one()
            by_channel = dict(conn.execute(select(Outbox.channel, func.count()).group_by(Outbox.channel)).all())
            accounts = conn.scalar(select(func.count(func.distinct(Outbox.account_id))))
            attempts = conn.scalar(select(func.max(Outbox.attempts)).where(Outbox.channel == "sms"))
        statuses = sms_left(engine)
        sms = int(by_channel.get("sms", 0))
        print()
        print(f"click (publish_breakdown committed)        {committed:8.2f} s")
        print(
            f"click -> all {revision:,} outbox rows written  {written_at:8.2f} s  ({revision / written_at:,.0f} rows/s)"
        )
        print(f"click -> all {sms:,} SMS handed over       {handed:8.2f} s  ({sms / handed:,.0f} SMS/s)")
        print(f"rows by channel: {by_channel}; SMS statuses: {statuses}")
        print(phase.cpu_line())
        print(
            f"peak RSS: worker main {phase.peak_rss_kib[0] / 1024:.0f} MiB, "
            f"pool process {phase.peak_rss_kib[1] / 1024:.0f} MiB"
        )
        ok = (
            accounts == revision == sum(by_channel.values())
            and statuses == {"sent": sms}
            and attempts == 1
            and phase.errors == []
        )
        print(
            f"check: {accounts:,} accounts told, one row each; every SMS sent once (max attempts {attempts}); "
            f"worker errors: {len(phase.errors)} -> {'OK' if ok else 'FAILED'}"
        )
        control.close()
        if not ok:
            raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="an already seeded database to use (its outbox and outages are emptied)")
    parser.add_argument("--consumers", type=int, default=1_000_000, help="to seed a scratch database with")
    parser.add_argument("--url", default=os.environ.get("URJA_BENCH_POSTGRES_URL", DEFAULT_SERVER))
    parser.add_argument("--workers", type=int, default=2, help="worker processes (celery -c)")
    parser.add_argument("--batch", type=int, default=1000, help="SMS per claim and per gateway request")
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if args.database:
        engine = make_engine(args.database)
        try:
            empty_outages(engine)
            run(engine, args.database, args)
        finally:
            engine.dispose()
        return
    with scratch_database(args.url, "urja_outagebench", keep=args.keep) as (engine, server):
        print(f"server: {server}", flush=True)
        started = time.perf_counter()
        seed(engine, args.consumers, seed=1, as_of=dt.date(2026, 11, 20))
        print(f"seeded {args.consumers:,} consumers in {time.perf_counter() - started:.0f} s", flush=True)
        run(engine, engine.url.render_as_string(hide_password=False), args)


if __name__ == "__main__":
    main()
