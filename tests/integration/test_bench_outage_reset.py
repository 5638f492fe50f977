"""bench/outage_bench.py on a seeded database: it removes only the outage it published, so the IVR benchmark
can run next on the same database (it asks about real complaint numbers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from bench.ivr_bench import sample_complaints
from bench.outage_bench import ACTOR, remove_bench_outages
from cis.db import UnitOfWork, make_session_factory
from cis.models import Complaint, Feeder, FeederInterruption, OutageEvent, Outbox
from cis.notify import enqueue
from cis.seed import seed
from outage.events import Actor, Breakdown, publish_breakdown
from outage.fanout import fan_out
from tests.conftest import own_postgres_database

NOW = dt.datetime(2026, 11, 20, 6, 30, tzinfo=dt.UTC)


@pytest.fixture(params=["postgres", "sqlite"])
def seeded(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "postgres":
        with own_postgres_database(request.getfixturevalue("postgres_url"), "urja_benchreset") as engine:
            seed(engine, 400, seed=3, as_of=NOW.date())
            yield engine
    else:
        engine = request.getfixturevalue("sqlite_engine")
        seed(engine, 400, seed=3, as_of=NOW.date())
        yield engine


def _breakdown(engine: Engine, feeders: list[int], actor: Actor) -> int:
    ref = publish_breakdown(
        UnitOfWork(make_session_factory(engine)),
        Breakdown(
            since=NOW - dt.timedelta(minutes=5),
            cause="11 kV line tripped",
            feeder_ids=tuple(feeders),
            expected_restore_at=NOW + dt.timedelta(hours=2),
        ),
        actor=actor,
        now=NOW,
    )
    fan_out(engine, ref.revision_id, now=NOW)
    return ref.event_id


def test_the_outage_benchmark_removes_its_own_outage_and_keeps_complaints_and_others_rows(seeded: Engine) -> None:
    with seeded.connect() as conn:
        feeders = list(conn.scalars(select(Feeder.id).order_by(Feeder.id)))
        complaints_before = conn.scalar(select(func.count()).select_from(Complaint))
    desk_event = _breakdown(seeded, feeders[:1], Actor("desk.d01"))
    with make_session_factory(seeded)() as session:
        enqueue(
            session,
            channel="sms",
            template="complaint.registered",
            recipient="+919876543210",
            dedupe_key="complaint:1:ack",
            payload={"number": "1"},
            at=NOW,
        )
        session.commit()
    with seeded.connect() as conn:
        others_outbox = conn.scalar(select(func.count()).select_from(Outbox))
    bench_event = _breakdown(seeded, feeders[1:], ACTOR)
    with make_session_factory(seeded)() as session:  # a complaint linked to the benchmark's breakdown
        linked = session.scalars(select(Complaint).order_by(Complaint.id).limit(1)).one()
        linked.outage_event_id = bench_event
        session.commit()
    with seeded.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Outbox)) > others_outbox  # the fan-out wrote rows

    assert remove_bench_outages(seeded) == 1

    with seeded.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Complaint)) == complaints_before
        assert conn.scalar(select(Complaint.outage_event_id).where(Complaint.id == linked.id)) is None
        assert conn.scalars(select(OutageEvent.id)).all() == [desk_event]
        assert conn.scalars(select(FeederInterruption.feeder_id)).all() == feeders[:1]
        assert conn.scalar(select(func.count()).select_from(Outbox)) == others_outbox
    if seeded.dialect.name == "postgresql":
        assert len(sample_complaints(seeded, 2000)) == complaints_before  # what bench.ivr_bench asks about
    assert remove_bench_outages(seeded) == 0
