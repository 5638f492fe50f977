"""The Flask app on a migrated SQLite file and the real Redis: the system page, health and the JSON API."""

from __future__ import annotations

import datetime as dt
import html
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.migrate import head_revision, upgrade
from cis.models import Complaint, Outbox
from tests import factories
from tests.integration.test_staff_login import add_staff, sign_in
from tests.web_support import forget_counts
from urjamitra.settings import Settings
from urjamitra.web import PARTS, create_app

NOW = factories.NOW
REGISTERED = "+919876543210"
BILLED = "4700000001"  # 1,727.00 billed, 727.00 paid since: 1,000.00 due
NO_BILL = "4700000002"

HEAD = head_revision()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A migrated SQLite file holding two accounts (two feeders) and one complaint, committed."""
    url = f"sqlite:///{tmp_path / 'web.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        with factory() as session:
            billed = factories.account(session, account_no=BILLED, mobiles=(REGISTERED,))
            factories.bill(session, billed, amount_paise=172_700, issued_at=NOW - dt.timedelta(days=20))
            factories.payment(
                session, billed, amount_paise=72_700, paid_at=NOW - dt.timedelta(days=5), ref="web-part-1"
            )
            factories.account(session, account_no=NO_BILL)
            add_staff(session, "admin", role="admin")
            session.commit()
        voltage = RegisterComplaint(channel="console", category="voltage", account_no=NO_BILL)
        register_complaint(UnitOfWork(factory), voltage, now=NOW)
    finally:
        engine.dispose()
    return url


@contextmanager
def _running_app(database_url: str, redis_url: str, **overrides: Any) -> Iterator[Flask]:
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key="test",
        rate_limit_prefix=f"test-{uuid.uuid4().hex}",
        **overrides,
    )
    app = create_app(settings)
    try:
        yield app
    finally:
        app.extensions["urja.engine"].dispose()
        app.extensions["urja.celery"].close()
        forget_counts(settings)


@pytest.fixture
def app(database_url: str, redis_url: str) -> Iterator[Flask]:
    with _running_app(database_url, redis_url) as running:
        yield running


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _portal_complaints(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Complaint).where(Complaint.channel == "portal")) or 0
    finally:
        engine.dispose()


# --- the system page and health ----------------------------------------------------------------


def test_the_system_page_lists_every_part_of_the_system_and_what_is_on_record(client: FlaskClient) -> None:
    sign_in(client, "admin")
    response = client.get("/admin/system")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for part in PARTS:
        assert html.escape(part["name"]) in page
    assert "<strong>2</strong> accounts" in page
    assert "<strong>2</strong> feeders" in page
    assert "<strong>1</strong> complaints" in page


def test_healthz_reports_the_schema_revision_and_a_reachable_redis(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "schema": HEAD, "redis": "ok"}


def test_healthz_answers_503_when_redis_cannot_be_reached(database_url: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with _running_app(database_url, f"redis://127.0.0.1:{closed_port}/0") as app:
        response = app.test_client().get("/healthz")

    assert response.status_code == 503
    report = response.get_json()
    assert report["status"] == "error"
    assert report["schema"] == HEAD
    assert report["redis"] != "ok"


# --- accounts -----------------------------------------------------------------------------------


def test_account_summary_gives_the_amount_due_and_nothing_about_the_consumer(client: FlaskClient) -> None:
    response = client.get(f"/api/accounts/{BILLED}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["account"]["account_no"] == BILLED
    assert body["latest_bill"]["amount_paise"] == 172_700
    assert body["latest_bill"]["cycle"] == "2026-10"
    assert body["amount_due_paise"] == 100_000
    assert "last_payment" not in body  # issue 12: payments say when and how someone pays
    text = response.get_data(as_text=True)
    assert "9876543210" not in text
    assert "mobile" not in text
    assert "Ramesh" not in text


def test_an_unknown_account_answers_404_with_a_message(client: FlaskClient) -> None:
    response = client.get("/api/accounts/4799999999")

    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "UnknownAccount"
    assert "4799999999" in body["message"]


def test_a_malformed_account_number_answers_400_with_a_message(client: FlaskClient) -> None:
    response = client.get("/api/accounts/47000")

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "MalformedAccountNumber"
    assert body["message"] == "An account number has exactly 10 digits."


# --- complaints ---------------------------------------------------------------------------------


def test_posting_a_complaint_creates_it_and_the_same_idempotency_key_returns_the_same_number(
    client: FlaskClient, database_url: str
) -> None:
    form = {"category": "no_supply", "account_no": BILLED, "mobile": "98111 22233", "text": "No light"}

    first = client.post("/api/complaints", json=form, headers={"Idempotency-Key": "form-7f3a"})
    again = client.post("/api/complaints", json=form, headers={"Idempotency-Key": "form-7f3a"})

    assert first.status_code == 201
    assert first.get_json()["created"] is True
    assert first.get_json()["category"] == "no_supply"
    number = first.get_json()["number"]
    assert number.isdigit()
    assert again.status_code == 200
    assert again.get_json()["number"] == number
    assert again.get_json()["created"] is False
    assert _portal_complaints(database_url) == 1


def _outbox_to(database_url: str, mobile: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(Outbox.template).where(Outbox.recipient == mobile)))
    finally:
        engine.dispose()


def test_thirty_anonymous_complaints_naming_a_strangers_mobile_send_it_nothing(
    database_url: str, redis_url: str
) -> None:
    victim = "+919700000042"
    # The address limit (tests/integration/test_abuse_limits.py) is raised here: this is about whom the SMS goes to.
    with _running_app(database_url, redis_url, limit_complaints="100 per minute") as app:
        client = app.test_client()
        answers = [
            client.post(
                "/api/complaints",
                json={"category": "dangerous_line", "mobile": victim, "text": f"Sparking pole number {n}"},
            )
            for n in range(30)
        ] + [client.post("/api/complaints", json={"category": "voltage", "account_no": BILLED, "mobile": victim})]

    assert [a.status_code for a in answers] == [201] * 31
    assert _outbox_to(database_url, victim) == []
    assert _outbox_to(database_url, REGISTERED) == ["complaint.ack"]  # the account's own mobile is told


def test_a_second_open_complaint_of_the_same_kind_answers_with_the_first_ones_number(client: FlaskClient) -> None:
    first = client.post("/api/complaints", json={"category": "meter", "account_no": BILLED})
    again = client.post("/api/complaints", json={"category": "meter", "account_no": BILLED, "text": "Still stuck"})

    number = first.get_json()["number"]
    assert first.status_code == 201
    assert again.status_code == 200
    body = again.get_json()
    assert (body["number"], body["created"], body["already_open"]) == (number, False, True)
    assert body["message"] == f"A complaint of this kind is already registered for this account, number {number}."


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("category=no_supply&account_no=4700000001", "application/x-www-form-urlencoded"),
        ('{"category": "no_supply", ', "application/json"),
        ('["no_supply", "4700000001"]', "application/json"),
    ],
    ids=["form-encoded", "broken-json", "json-array"],
)
def test_a_complaint_body_that_is_not_a_json_object_answers_400(
    client: FlaskClient, data: str, content_type: str
) -> None:
    response = client.post("/api/complaints", data=data, content_type=content_type)

    assert response.status_code == 400
    assert response.get_json() == {"error": "BadRequest", "message": "Send a JSON object."}


def test_a_complaint_field_that_is_not_text_answers_400(client: FlaskClient) -> None:
    response = client.post("/api/complaints", json={"category": "no_supply", "account_no": 4700000001})

    assert response.status_code == 400
    assert response.get_json() == {"error": "BadRequest", "message": "Every field is text."}


def test_an_unknown_complaint_category_answers_422_with_the_error_name(client: FlaskClient) -> None:
    response = client.post("/api/complaints", json={"category": "streetlight", "account_no": BILLED})

    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "UnknownComplaintCategory"
    assert "streetlight" in body["message"]


def test_a_lodged_complaint_can_be_looked_up_by_its_number(client: FlaskClient) -> None:
    lodged = client.post("/api/complaints", json={"category": "no_supply", "account_no": BILLED})
    number = lodged.get_json()["number"]

    response = client.get(f"/api/complaints/{number}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["number"] == number
    assert body["status"] == "open"
    assert body["category"] == "no_supply"
    assert body["escalation_level"] == "je"
    assert "account_no" not in body  # issue 12: complaint numbers are guessable, so no account behind them
    assert BILLED not in response.get_data(as_text=True)


def test_a_mistyped_complaint_number_answers_404(client: FlaskClient) -> None:
    lodged = client.post("/api/complaints", json={"category": "no_supply", "account_no": BILLED})
    number = lodged.get_json()["number"]
    mistyped = number[:-1] + str((int(number[-1]) + 1) % 10)

    response = client.get(f"/api/complaints/{mistyped}")

    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "UnknownComplaint"
    assert mistyped in body["message"]
