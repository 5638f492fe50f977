"""Issue 12, section 1: any input gets a clear answer, never a 500, on PostgreSQL and SQLite.

Each test is one observation of the issue's probe (or another place with the same weakness), made through the
whole app as its caller makes it: a browser, an API client, Twilio or the SMS gateway with valid signatures.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from cis.db import make_engine
from cis.models import Complaint, LoginAttempt, OutageEvent, Outbox
from tests.conftest import own_postgres_database
from tests.edge_support import (
    MOBILE,
    USSD_HEADERS,
    World,
    build_world,
    close_app,
    make_app,
    post_gateway,
    sign_in,
    twilio_headers,
)

DEEP = "[" * 50_000 + "]" * 50_000


@pytest.fixture(scope="module")
def pg_edges(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "edges") as engine:
        yield engine


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def backend(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine, World]]:
    """(database URL, engine, world) on each database, built once per module."""
    if request.param == "postgres":
        engine: Engine = request.getfixturevalue("pg_edges")
        yield engine.url.render_as_string(hide_password=False), engine, build_world(engine)
        return
    path = tmp_path_factory.mktemp("edges") / "edges.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        yield url, engine, build_world(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def app(backend: tuple[str, Engine, World]) -> Iterator[Flask]:
    running = make_app(backend[0])
    yield running
    close_app(running)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(backend: tuple[str, Engine, World]) -> World:
    return backend[2]


@pytest.fixture
def engine(backend: tuple[str, Engine, World]) -> Engine:
    return backend[1]


def _count(engine: Engine, model: type, *where: object) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


# --- JSON bodies ----------------------------------------------------------------------------------------------


def test_a_50000_deep_json_body_answers_400_on_the_complaints_api(client: FlaskClient) -> None:
    response = client.post("/api/complaints", data=DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.get_json() == {"error": "BadRequest", "message": "The JSON body nests deeper than 32 levels."}


@pytest.mark.parametrize("path", ["/sms/gateway/inbound", "/sms/gateway/receipt"])
def test_a_50000_deep_json_body_answers_400_on_the_gateway_webhooks(client: FlaskClient, path: str) -> None:
    response = post_gateway(client, path, DEEP.encode())

    assert response.status_code == 400
    assert response.get_json() == {"error": "The JSON body nests deeper than 32 levels."}


@pytest.mark.parametrize("text", ["no light \ud800 here", "no light \x00 here"], ids=["lone-surrogate", "nul"])
def test_complaint_text_no_database_can_store_answers_400_and_stores_nothing(
    client: FlaskClient, world: World, engine: Engine, text: str
) -> None:
    before = _count(engine, Complaint)
    body = json.dumps({"category": "no_supply", "account_no": world.account_no, "text": text})  # \ud800 escaped

    response = client.post("/api/complaints", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "The JSON body contains characters that are not allowed (NUL or a lone surrogate)."
    )
    assert _count(engine, Complaint) == before


def test_a_complaint_text_with_control_characters_or_too_long_answers_400(client: FlaskClient, world: World) -> None:
    bell = client.post(
        "/api/complaints", json={"category": "no_supply", "account_no": world.account_no, "text": "a\x07"}
    )
    long = client.post(
        "/api/complaints", json={"category": "no_supply", "account_no": world.account_no, "text": "x" * 1001}
    )

    assert (bell.status_code, bell.get_json()["message"]) == (400, "The text contains characters that are not allowed.")
    assert (long.status_code, long.get_json()["message"]) == (400, "The text can be at most 1,000 characters long.")


def test_a_nul_in_a_gateway_message_id_never_reaches_the_database_and_the_sms_is_answered(
    client: FlaskClient, engine: Engine
) -> None:
    response = post_gateway(client, "/sms/gateway/inbound", {"id": "mo-\x0077", "from": MOBILE, "text": "HELP\x00"})

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "reply_template": "reply.help"}
    with engine.connect() as conn:
        keys = conn.scalars(select(Outbox.dedupe_key).where(Outbox.dedupe_key.like("sms.reply:dlt:%"))).all()
    assert "sms.reply:dlt:mo-77" in keys


def test_a_nul_in_a_twilio_sms_is_dropped_and_the_sms_is_answered(client: FlaskClient, engine: Engine) -> None:
    form = {"MessageSid": "SM\x00" + "1" * 32, "From": MOBILE, "To": "+911800180000", "Body": "HELP\x00\x07"}

    response = client.post("/sms/twilio/inbound", data=form, headers=twilio_headers("/sms/twilio/inbound", form))

    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert _count(engine, Outbox, Outbox.template == "reply.help", Outbox.recipient == MOBILE) >= 1


# --- staff forms ----------------------------------------------------------------------------------------------


def test_a_nul_in_the_login_username_answers_400_and_records_nothing(client: FlaskClient, engine: Engine) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    before = _count(engine, LoginAttempt)

    response = client.post("/login", data={"username": "desk\x00", "password": "x", "csrf_token": token})

    assert response.status_code == 400
    assert "characters that are not allowed" in response.get_data(as_text=True)
    assert _count(engine, LoginAttempt) == before


def test_a_nul_in_the_desk_cause_answers_400_and_publishes_nothing(
    client: FlaskClient, world: World, engine: Engine
) -> None:
    token = sign_in(client, world.staff["outage_desk"])
    before = _count(engine, OutageEvent)
    form = {
        "csrf_token": token,
        "since": "",
        "cause": "tree\x00fell",
        "feeder": str(world.feeder_ids[1]),
        "confirm": "1",
    }

    response = client.post("/desk/breakdown", data=form)

    assert response.status_code == 400
    assert _count(engine, OutageEvent) == before


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/desk/breakdown", {"since": "0001-01-01T00:00", "cause": "Tree fell", "confirm": "1"}),
        ("/desk/breakdown", {"since": "9999-12-31T23:59", "cause": "Tree fell", "confirm": "1"}),
        ("/desk/shutdown", {"start": "0001-01-01T00:00", "end": "0001-01-01T02:00", "reason": "Maintenance"}),
        ("/desk/rosters", {"name": "Group Z", "off_slots": "02:00-04:00", "valid_from": "0001-01-01"}),
    ],
    ids=["breakdown-year-1", "breakdown-year-9999", "shutdown-year-1", "roster-year-1"],
)
def test_desk_dates_outside_a_sane_window_get_a_form_error(
    client: FlaskClient, world: World, engine: Engine, path: str, form: dict[str, str]
) -> None:
    token = sign_in(client, world.staff["outage_desk"])
    before = _count(engine, OutageEvent)

    response = client.post(path, data={**form, "csrf_token": token, "feeder": str(world.feeder_ids[1])})

    assert response.status_code == 400
    assert "must be between 01 Jan 2000 and 31 Dec 2099" in response.get_data(as_text=True)
    assert _count(engine, OutageEvent) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/desk/events/{big}"), ("POST", "/desk/events/{big}/restore"), ("POST", "/desk/rosters/{big}/end")],
)
def test_ids_beyond_a_bigint_in_urls_answer_404(client: FlaskClient, world: World, method: str, path: str) -> None:
    token = sign_in(client, world.staff["admin"])

    response = client.open(path.format(big="9" * 30), method=method, data={"csrf_token": token})

    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_a_30_digit_before_on_the_sms_console_answers_400(client: FlaskClient, world: World) -> None:
    sign_in(client, world.staff["admin"])  # the console is the admin's
    response = client.get("/sms/console.json", query_string={"before": "9" * 30})

    assert response.status_code == 400
    assert response.get_json() == {"error": "'before' must be a message id."}


# --- idempotency keys ------------------------------------------------------------------------------------------


def test_a_10000_character_idempotency_key_answers_400(client: FlaskClient, world: World, engine: Engine) -> None:
    before = _count(engine, Complaint)

    response = client.post(
        "/api/complaints",
        json={"category": "no_supply", "account_no": world.account_no},
        headers={"Idempotency-Key": "k" * 10_000},
    )

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "InvalidInput",
        "message": "The Idempotency-Key header must be 1 to 128 printable ASCII characters.",
    }
    assert _count(engine, Complaint) == before


def test_an_idempotency_key_is_scoped_to_the_client_that_sent_it(app: Flask, world: World) -> None:
    body = {"category": "meter", "account_no": world.account_no}
    headers = {"Idempotency-Key": "portal-form-42"}
    alice = app.test_client()
    mallory = app.test_client()

    first = alice.post("/api/complaints", json=body, headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    again = alice.post("/api/complaints", json=body, headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    # Another kind of complaint, so the account's open one of Alice's kind does not answer instead.
    other = {**body, "category": "voltage"}
    probe = mallory.post("/api/complaints", json=other, headers=headers, environ_base={"REMOTE_ADDR": "198.51.100.9"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["number"] == first.get_json()["number"]
    # Another client's same key is another request: it learns nothing of Alice's complaint.
    assert probe.status_code == 201
    assert probe.get_json()["number"] != first.get_json()["number"]


# --- bodies over the limit ---------------------------------------------------------------------------------------


def test_a_body_over_the_limit_answers_413_in_the_channels_form(backend: tuple[str, Engine, World]) -> None:
    app = make_app(backend[0], max_body_bytes=4096)
    try:
        client = app.test_client()
        api = client.post("/api/complaints", data="x" * 5000, content_type="application/json")
        page = client.post("/login", data={"username": "x" * 5000, "password": "x"})
        form = {"MessageSid": "SM1", "From": MOBILE, "Body": "x" * 5000}
        sms = client.post("/sms/twilio/inbound", data=form, headers=twilio_headers("/sms/twilio/inbound", form))
    finally:
        close_app(app)

    assert (api.status_code, api.get_json()["error"]) == (413, "RequestEntityTooLarge")
    assert page.status_code == 413
    assert page.mimetype == "text/html"
    assert "Too much was sent" in page.get_data(as_text=True)
    assert (sms.status_code, sms.mimetype) == (413, "application/xml")
    assert sms.get_data(as_text=True).endswith("<Response />")


def test_ussd_and_voice_refuse_oversized_values_without_an_error(client: FlaskClient) -> None:
    ussd = client.post(
        "/ussd", data={"sessionId": "s" * 5000, "phoneNumber": MOBILE, "text": "1"}, headers=USSD_HEADERS
    )
    form = {"CallSid": "CA" + "9" * 5000, "From": MOBILE, "To": "+911800180000"}
    voice = client.post("/voice/incoming", data=form, headers=twilio_headers("/voice/incoming", form))

    assert ussd.status_code < 500
    assert ussd.get_data(as_text=True).startswith(("CON ", "END"))
    assert voice.status_code < 500


def test_http_errors_on_the_api_are_json_and_keep_their_headers(client: FlaskClient) -> None:
    wrong_method = client.put("/api/complaints", json={})
    missing = client.get("/api/no-such-thing")

    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert wrong_method.get_json() == {
        "error": "MethodNotAllowed",
        "message": "This address does not take that kind of request.",
    }
    assert (missing.status_code, missing.get_json()["error"]) == (404, "NotFound")
