"""Issue 12: a database that is stopped, hung or locked gets a 503 (with Retry-After) in each channel's form,
within the web engine's timeouts, never a generic 500 page nor a request waiting past 25 s.

Stopped: a URL to a closed port (PostgreSQL) or to a file that cannot be opened (SQLite). Hung: a lock held by
another connection (PostgreSQL's statement timeout cancels the wait; SQLite's busy timeout gives up), a server
that accepts the connection and never answers (the connect timeout), a pool with no free connection.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from cis.db import make_engine
from tests.conftest import own_postgres_database
from tests.edge_support import (
    MOBILE,
    USSD_HEADERS,
    World,
    build_world,
    close_app,
    make_app,
    post_gateway,
    twilio_headers,
)

HINDI_APOLOGY = "क्षमा करें, तकनीकी समस्या के कारण"
FAST = {"db_connect_timeout": 2, "db_statement_timeout": 1, "db_pool_timeout": 1}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["postgres", "sqlite"])
def stopped_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    if request.param == "postgres":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/urja"
    else:
        url = f"sqlite:///{tmp_path / 'no-such-folder' / 'urjamitra.db'}"
    app = make_app(url, **FAST)
    yield app
    close_app(app)


def _assert_503(response: object, mimetype: str) -> None:
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert response.headers["Retry-After"] == "30"  # type: ignore[attr-defined]
    assert response.mimetype == mimetype  # type: ignore[attr-defined]


def test_a_stopped_database_gets_503_json_on_the_api(stopped_app: Flask) -> None:
    client = stopped_app.test_client()

    for response in (
        client.get("/api/accounts/4000000001"),
        client.post("/api/complaints", json={"category": "no_supply", "account_no": "4000000001"}),
        client.get("/outages.json"),
    ):
        _assert_503(response, "application/json")
        assert response.get_json() == {
            "error": "ServiceUnavailable",
            "message": "The service is busy or under maintenance. Please try again in a minute.",
        }


def test_a_stopped_database_gets_a_503_page_in_a_browser(stopped_app: Flask) -> None:
    client = stopped_app.test_client()

    page = client.get("/login").get_data(as_text=True)  # the sign-in form needs no database
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    login = client.post("/login", data={"username": "desk.d01", "password": "x", "csrf_token": token})

    for response in (client.get("/outages"), client.get("/reliability"), login):
        _assert_503(response, "text/html")
        page = response.get_data(as_text=True)
        assert "Service unavailable for a moment" in page
        assert "Please try again in a minute." in page
        assert "Traceback" not in page


def test_a_stopped_database_gets_valid_answers_on_the_sms_webhooks(stopped_app: Flask) -> None:
    client = stopped_app.test_client()
    form = {"MessageSid": "SM" + "7" * 32, "From": MOBILE, "To": "+911800180000", "Body": "BILL"}

    twilio = client.post("/sms/twilio/inbound", data=form, headers=twilio_headers("/sms/twilio/inbound", form))
    status_form = {"MessageSid": "SM" + "7" * 32, "MessageStatus": "delivered"}
    receipt = client.post(
        "/sms/twilio/status?ref=12",
        data=status_form,
        headers=twilio_headers("/sms/twilio/status", status_form, {"ref": "12"}),
    )
    gateway = post_gateway(client, "/sms/gateway/inbound", {"id": "mo-1", "from": MOBILE, "text": "BILL"})
    gateway_receipt = post_gateway(client, "/sms/gateway/receipt", {"receipts": [{"ref": "1", "status": "delivered"}]})

    _assert_503(twilio, "application/xml")
    assert twilio.get_data(as_text=True) == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    _assert_503(receipt, "application/xml")
    _assert_503(gateway, "application/json")
    assert gateway.get_json()["error"] == "ServiceUnavailable"
    _assert_503(gateway_receipt, "application/json")


def test_a_stopped_database_gets_the_hindi_apology_on_a_call_and_end_on_ussd(stopped_app: Flask) -> None:
    client = stopped_app.test_client()
    form = {"CallSid": "CA" + "5" * 32, "From": MOBILE, "To": "+911800180000", "Direction": "inbound"}

    call = client.post("/voice/incoming", data=form, headers=twilio_headers("/voice/incoming", form))
    ended = {**form, "CallStatus": "completed", "CallDuration": "12"}
    status = client.post("/voice/status", data=ended, headers=twilio_headers("/voice/status", ended))
    ussd = client.post("/ussd", data={"sessionId": "ATU-1", "phoneNumber": MOBILE, "text": ""}, headers=USSD_HEADERS)
    ussd_end = client.post("/ussd/end", data={"sessionId": "ATU-1", "durationInMillis": "900"}, headers=USSD_HEADERS)

    # Twilio plays only a 200's TwiML (anything else becomes its own English error message).
    assert (call.status_code, call.mimetype) == (200, "text/xml")
    assert HINDI_APOLOGY in call.get_data(as_text=True)
    _assert_503(status, "text/xml")
    assert (ussd.status_code, ussd.mimetype) == (200, "text/plain")
    assert ussd.get_data(as_text=True).startswith("END Sorry, a technical problem stopped us.")
    _assert_503(ussd_end, "text/plain")


def test_healthz_says_503_with_retry_after(stopped_app: Flask) -> None:
    response = stopped_app.test_client().get("/healthz")

    _assert_503(response, "application/json")
    assert response.get_json()["status"] == "error"


# --- hung: a lock held, a server that never answers, a pool with no free connection ---------------------------


@pytest.fixture(scope="module")
def pg_hung(postgres_url: str) -> Iterator[tuple[Engine, World]]:
    with own_postgres_database(postgres_url, "hung") as engine:
        yield engine, build_world(engine)


@pytest.fixture
def sqlite_hung(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Engine, World]]:
    path = tmp_path / "hung.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine, build_world(engine)
    engine.dispose()


def _lodge(client: FlaskClient, world: World) -> tuple[float, object]:
    started = time.monotonic()
    response = client.post("/api/complaints", json={"category": "meter", "account_no": world.account_no})
    return time.monotonic() - started, response


def test_a_lock_held_on_postgresql_gets_503_within_the_statement_timeout(pg_hung: tuple[Engine, World]) -> None:
    engine, world = pg_hung
    app = make_app(engine.url.render_as_string(hide_password=False), **FAST)
    try:
        with engine.connect() as holder:
            holder.execute(text("LOCK TABLE complaint IN ACCESS EXCLUSIVE MODE"))
            took, response = _lodge(app.test_client(), world)
            holder.rollback()
        after = app.test_client().get(f"/api/accounts/{world.account_no}")
    finally:
        close_app(app)

    _assert_503(response, "application/json")
    assert took < 5
    assert after.status_code == 200  # the pool recovers once the lock is gone


def test_a_slow_statement_on_the_web_engine_is_cancelled_by_the_statement_timeout(
    pg_hung: tuple[Engine, World],
) -> None:
    engine, _ = pg_hung
    app = make_app(engine.url.render_as_string(hide_password=False), **FAST)
    try:
        started = time.monotonic()
        with (
            pytest.raises(OperationalError, match="statement timeout"),
            app.extensions["urja.engine"].connect() as conn,
        ):
            conn.execute(text("SELECT pg_sleep(5)"))
        took = time.monotonic() - started
        with engine.connect() as batch:  # the batch jobs' engine has no such limit
            assert batch.execute(text("SELECT 1 FROM pg_sleep(1.5)")).scalar_one() == 1
    finally:
        close_app(app)

    assert took < 3


def test_a_locked_sqlite_file_gets_503_within_the_busy_timeout(sqlite_hung: tuple[Engine, World]) -> None:
    engine, world = sqlite_hung
    app = make_app(engine.url.render_as_string(hide_password=False), **FAST)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql("BEGIN EXCLUSIVE")
            took, response = _lodge(app.test_client(), world)
            holder.rollback()
    finally:
        close_app(app)

    _assert_503(response, "application/json")
    assert took < 5


def test_a_server_that_never_answers_gets_503_within_the_connect_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts into the backlog and never says a word
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def swallow() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/urja", **FAST)
    try:
        started = time.monotonic()
        response = app.test_client().get("/api/accounts/4000000001")
        took = time.monotonic() - started
    finally:
        close_app(app)
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()

    _assert_503(response, "application/json")
    assert took < 8  # libpq's connect_timeout of 2 s, per address tried


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_no_free_connection_in_the_pool_gets_503_within_the_pool_timeout(
    request: pytest.FixtureRequest, backend: str
) -> None:
    engine, world = request.getfixturevalue("pg_hung" if backend == "postgres" else "sqlite_hung")
    app = make_app(engine.url.render_as_string(hide_password=False), **FAST)
    web = app.extensions["urja.engine"]
    held = []
    try:
        for _ in range(web.pool.size() + web.pool._max_overflow):  # type: ignore[attr-defined]
            held.append(web.connect())
        started = time.monotonic()
        response = app.test_client().get(f"/api/accounts/{world.account_no}")
        took = time.monotonic() - started
    finally:
        for conn in held:
            conn.close()
        close_app(app)

    _assert_503(response, "application/json")
    assert json.loads(response.get_data())["error"] == "ServiceUnavailable"
    assert took < 5
