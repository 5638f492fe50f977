"""A Celery worker killed while the gateway holds its batch: the task is retried, and no SMS is sent twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cis import notify
from cis.db import make_session_factory
from cis.models import Outbox
from sms.dispatch import settle_stuck
from sms.webhooks import sms_blueprint
from tests.celery_worker import children, prefork_worker, wait_for
from tests.conftest import own_postgres_database
from tests.protocol.fake_sms_gateway import FakeSmsGateway, signed_headers

MESSAGES = 30
BATCH = 10
SECRET = "receipt-secret"


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_smskill") as eng:
        yield eng


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())  # type: ignore[arg-type]


def test_killing_the_worker_mid_batch_retries_the_task_and_sends_each_row_at_most_once(
    engine: Engine, redis_url: str, queue: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        for n in range(MESSAGES):
            notify.enqueue(
                session,
                channel="sms",
                template="outage.breakdown",  # urgent: goes day or night
                recipient=f"+9198760{n:05d}",
                dedupe_key=f"kill:{n}",
                payload={"area": "Kidwai Nagar", "since": "9:40 AM", "etr": "1:30 PM"},
                at=now,
                priority=0,
            )
        session.commit()

    held = threading.Event()
    release = threading.Event()
    first: list[list[str]] = []

    def hold_the_first_batch(messages: list[dict[str, Any]]) -> None:
        if not first:
            first.append([m["ref"] for m in messages])
            held.set()
            release.wait(30)  # the answer never reaches the worker: it is killed meanwhile

    with FakeSmsGateway("kill-key") as gateway:
        gateway.on_batch = hold_the_first_batch
        env = {k: v for k, v in os.environ.items() if not k.startswith("URJA_")}
        env.update(
            URJA_DATABASE_URL=engine.url.render_as_string(hide_password=False),
            URJA_REDIS_URL=redis_url,
            URJA_SMS_PROVIDER="dlt",
            URJA_SMS_GATEWAY_URL=gateway.url,
            URJA_SMS_GATEWAY_KEY="kill-key",
            URJA_SMS_BATCH=str(BATCH),
            URJA_SMS_RATE="10000",
            URJA_PUBLIC_URL="https://urjamitra.example.in",
        )
        try:
            with prefork_worker(env, queue) as worker:
                from urjamitra.settings import Settings
                from urjamitra.tasks import celery_for

                app = celery_for(Settings(database_url="sqlite://", redis_url=redis_url, secret_key="test"))
                try:
                    app.send_task("sms.drain", kwargs={"budget_s": 60}, queue=queue)
                finally:
                    app.close()
                assert held.wait(60), "the worker never sent a batch"
                wait_for(lambda: bool(children(worker.pid)), 10, "the worker's pool process")
                for child in children(worker.pid):
                    os.kill(child, signal.SIGKILL)  # dies with the batch in the gateway's hands
                release.set()

                # The task is handed out again, to a new pool process, which drains the rest.
                def rest_sent() -> bool:
                    counts = _counts(engine)
                    return counts.get("pending", 0) == 0 and counts.get("sent") == MESSAGES - BATCH

                wait_for(rest_sent, 60, "the retried task to send the rest")
        finally:
            release.set()

        assert sum(gateway.received.values()) == MESSAGES
        assert max(gateway.received.values()) == 1  # no SMS reached the gateway twice
        assert gateway.batches == MESSAGES // BATCH
        in_flight = set(first[0])
        with Session(engine) as session:
            rows = {str(r.id): r for r in session.scalars(select(Outbox))}
        assert {ref for ref, r in rows.items() if r.status == "sending"} == in_flight
        assert all(r.status == "sent" for ref, r in rows.items() if ref not in in_flight)

        # Later the held rows are marked unknown (never resent); the gateway's receipts settle them.
        assert settle_stuck(engine, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)) == (BATCH, 0)
        app_under_test = Flask(__name__)
        app_under_test.register_blueprint(
            sms_blueprint(
                make_session_factory(engine),
                engine,
                twilio_auth_token=None,
                gateway_secret=SECRET,
                public_url="https://urjamitra.example.in",
                portal_url="https://urjamitra.example.in",
            )
        )
        body = json.dumps(
            {"receipts": [{"ref": ref, "id": gateway.ids[ref], "status": "delivered"} for ref in sorted(in_flight)]}
        ).encode()
        response = app_under_test.test_client().post(
            "/sms/gateway/receipt", data=body, headers=signed_headers(SECRET, body)
        )
        assert response.status_code == 200
        assert response.get_json()["updated"] == BATCH
        assert _counts(engine) == {"sent": MESSAGES - BATCH, "delivered": BATCH}
