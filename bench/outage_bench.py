"""Benchmark: a breakdown published on feeders serving a million consumers, from the desk's click to every SMS
handed to a local HTTP gateway.

Usage: .venv/bin/python -m bench.outage_bench [--database postgresql+psycopg://.../urja_outagebench]
       [--consumers 1000000] [--workers 2] [--batch 1000] [--redis redis://...] [--keep]

Without --database it makes a scratch database and seeds --consumers into it first (about 4 minutes for a
million; timed apart). With --database it uses that seeded database as it is: before and after the run it
removes the outage events it published (an interrupted run's too) and what they made (their interruptions,
revisions, fan-out markers, outbox rows); complaints linked to them are kept and unlinked, and nothing else
is touched, so `bench.ivr_bench --url` can follow on the same database. Then, as production runs it:
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
from sqlalchemy import ColumnElement, Connection, Engine, Table, and_, delete, func, select, text, update

from bench._database import scratch_database
from bench._summary import record
from bench.ivr_bench import postmaster_of
from bench.sms_bench import DEFAULT_REDIS, DEFAULT_SERVER, GATEWAY_KEY, Gateway, Meter, Worker, cleanup
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.models import Account, Base, Feeder, OutageRevision, Outbox
from cis.seed import seed
from outage.events import Actor, Breakdown, publish_breakdown
from urjamitra.settings import Settings
from urjamitra.tasks import celery_for

QUEUE = "urja_outage_bench"
ACTOR = Actor("bench:control-room")
# Rows that point at an outage without having been made by it: kept, with the link cleared.
LINKED_ONLY = {"complaint"}


def _outbox_rows_of(event_id: int) -> ColumnElement[bool]:
    """The outbox rows an outage event's fan-out wrote (their dedupe keys start `outage:<event>:`)."""
    prefix = f"outage:{event_id}:"
    return and_(Outbox.dedupe_key >= prefix, Outbox.dedupe_key < prefix + "~")


def _remove(conn: Connection, table: Table, rows: ColumnElement[bool], seen: frozenset[str] = frozenset()) -> None:
    """Delete `rows` of `table` and, first, every row that references them (found through the models' foreign
    keys, so a table added later is covered too); LINKED_ONLY rows are kept and unlinked instead."""
    seen = seen | {table.name}
    for child in Base.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is not table or child.name in seen:
                continue
            referencing = fk.parent.in_(select(fk.column).where(rows))
            if child.name in LINKED_ONLY:
                conn.execute(update(child).where(referencing).values({fk.parent.name: None}))
            else:
                _remove(conn, child, referencing, seen)
    conn.execute(delete(table).where(rows))


def remove_bench_outages(engine: Engine) -> int:
    """Remove the outage events this benchmark published, with what they made; returns how many.

    Only the benchmark's own: its events (by their author) and every row that depends on them (interruptions,
    feeders, revisions, fan-out markers, checks) and their outbox rows. A complaint linked to one of them
    stays, unlinked. Other events, complaints and outbox rows are left as they are.
    """
    events = Base.metadata.tables["outage_event"]
    with engine.begin() as conn:
        ids = list(conn.scalars(select(events.c.id).where(events.c.created_by == ACTOR.name)))
        for event_id in ids:
            _remove(conn, Base.metadata.tables["outbox"], _outbox_rows_of(event_id))
        if ids:
            _remove(conn, events, events.c.id.in_(ids))
    if ids and engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE outbox")
    return len(ids)


def sms_open(engine: Engine, above: int) -> bool:
    """Any SMS row written after id `above` still pending or sending: two probes of the partial indexes, cheap
    enough to poll (a count by status scans the whole outbox, and polled four times a second it took a core
    from the dispatchers)."""
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'pending' AND channel = 'sms' AND id > :above) "
                    "OR EXISTS (SELECT 1 FROM outbox WHERE status IN ('sending', 'unknown') AND channel = 'sms' "
                    "AND id > :above)"
                ),
                {"above": above},
            )
        )


def sms_left(engine: Engine, event_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Outbox.status, func.count())
            .where(_outbox_rows_of(event_id), Outbox.channel == "sms")
            .group_by(Outbox.status)
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

        with engine.connect() as conn:
            floor = int(conn.scalar(select(func.coalesce(func.max(Outbox.id), 0))) or 0)
            others = conn.scalar(
                select(func.count()).where(Outbox.status == "pending", Outbox.channel == "sms", Outbox.id <= floor)
            )
        if others:
            print(f"{others:,} SMS rows of others are pending in the outbox: the workers send them too", flush=True)
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
            actor=ACTOR,
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
            elif not sms_open(engine, floor):
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
            ours = _outbox_rows_of(ref.event_id)
            by_channel = dict(
                conn.execute(select(Outbox.channel, func.count()).where(ours).group_by(Outbox.channel)).all()
            )
            accounts = conn.scalar(select(func.count(func.distinct(Outbox.account_id))).where(ours))
            attempts = conn.scalar(select(func.max(Outbox.attempts)).where(ours, Outbox.channel == "sms"))
        statuses = sms_left(engine, ref.event_id)
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
        record(
            "outage fan-out",
            {
                "click": f"{committed:.2f} s",
                "rows written": f"{revision:,} in {written_at:.2f} s ({revision / written_at:,.0f}/s)",
                "SMS handed over": f"{sms:,} in {handed:.1f} s ({sms / handed:,.0f}/s)",
            },
            ok=ok,
        )
        control.close()
        if not ok:
            raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", help="an already seeded database to use (the benchmark removes its own outage afterwards)"
    )
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
            if removed := remove_bench_outages(engine):
                print(f"removed {removed} outage(s) an earlier run of this benchmark left behind", flush=True)
            run(engine, args.database, args)
        finally:
            remove_bench_outages(engine)
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
