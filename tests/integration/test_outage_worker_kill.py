"""A Celery worker killed in the middle of an outage fan-out: the task runs again, nobody missed, nobody told twice."""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork, make_session_factory
from cis.models import Account, DistributionTransformer, Feeder, OutageFanout, OutageRevision, Outbox
from outage.events import Actor, Breakdown, publish_breakdown
from tests import factories
from tests.celery_worker import children, prefork_worker, wait_for
from tests.conftest import own_postgres_database

FEEDERS = 6
PER_FEEDER = 40


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_fanoutkill") as eng:
        yield eng


def _network(engine: Engine) -> list[int]:
    with Session(engine) as s:
        first = factories.network(s)
        feeder = s.get(Feeder, first.feeder_id)
        assert feeder is not None
        feeders = [feeder.id]
        dts = [first]
        for n in range(1, FEEDERS):
            more = Feeder(substation_id=feeder.substation_id, code=f"KF{n}", name=f"Kill F-{n}", kind="urban")
            s.add(more)
            s.flush()
            dtr = DistributionTransformer(feeder_id=more.id, code=f"KDT{n}", name=f"DT {n}", capacity_kva=100)
            s.add(dtr)
            s.flush()
            feeders.append(more.id)
            dts.append(dtr)
        serial = 0
        for dtr in dts:
            for _ in range(PER_FEEDER):
                serial += 1
                factories.account(s, dtr=dtr, mobiles=(f"+91983{serial:07d}",))
        s.commit()
    return feeders


def test_a_worker_killed_during_fan_out_leaves_nobody_missed_and_nobody_told_twice(
    engine: Engine, redis_url: str, queue: str
) -> None:
    feeders = _network(engine)
    now = dt.datetime.now(dt.UTC)
    ref = publish_breakdown(
        UnitOfWork(make_session_factory(engine)),
        Breakdown(since=now - dt.timedelta(minutes=5), cause="33 kV bus fault", feeder_ids=tuple(feeders)),
        actor=Actor("staff:desk.test"),
        now=now,
    )

    # Hold the fourth feeder: the worker's fan-out blocks there, after writing other feeders.
    blocker = Session(engine)
    blocker.add(OutageFanout(revision_id=ref.revision_id, feeder_id=feeders[3], messages=0, at=now))
    blocker.flush()

    def done_feeders() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).where(OutageFanout.revision_id == ref.revision_id)) or 0)

    env = {k: v for k, v in os.environ.items() if not k.startswith("URJA_")}
    env.update(URJA_DATABASE_URL=engine.url.render_as_string(hide_password=False), URJA_REDIS_URL=redis_url)
    try:
        with prefork_worker(env, queue) as worker:
            from urjamitra.settings import Settings
            from urjamitra.tasks import celery_for

            app = celery_for(Settings(database_url="sqlite://", redis_url=redis_url, secret_key="test"))
            try:
                app.send_task("outage.fan_out", args=[ref.revision_id], queue=queue)
            finally:
                app.close()
            # Every feeder but the held one written (its marker is the blocker's, not committed yet).
            wait_for(lambda: done_feeders() == FEEDERS - 1, 60, "the fan-out to write the other feeders")
            with engine.connect() as conn:
                written_before = conn.scalar(select(func.count()).select_from(Outbox))
            assert written_before == (FEEDERS - 1) * PER_FEEDER
            wait_for(lambda: bool(children(worker.pid)), 10, "the worker's pool process")
            for child in children(worker.pid):
                os.kill(child, signal.SIGKILL)  # dies waiting on the held feeder, its fan-out unfinished
            blocker.rollback()
            blocker.close()

            def finished() -> bool:
                with engine.connect() as conn:
                    return (
                        conn.scalar(select(OutageRevision.fanned_out_at).where(OutageRevision.id == ref.revision_id))
                        is not None
                    )

            wait_for(finished, 60, "the redelivered task to finish the fan-out")
    finally:
        blocker.close()

    with Session(engine) as s:
        accounts = set(s.scalars(select(Account.id)))
        told = Counter(s.scalars(select(Outbox.account_id).where(Outbox.dedupe_key.like(f"outage:{ref.event_id}:1:%"))))
        revision = s.get(OutageRevision, ref.revision_id)
    assert set(told) == accounts  # nobody missed
    assert max(told.values()) == 1  # nobody told twice
    assert revision is not None
    assert revision.messages == FEEDERS * PER_FEEDER
