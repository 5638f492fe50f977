"""/sms/console: what the console provider sent, newest first, filtered by mobile, gone with a real provider.

Only a signed-in admin sees it (tests/integration/test_privacy.py asks it as a stranger and as the desk)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from cis.models import ConsoleSms
from cis.web.auth import auth_blueprint
from sms.console_web import console_blueprint
from tests.integration.test_staff_login import add_staff, sign_in

SENT = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)  # 15:30 IST
MOBILE = "+919876543210"
OTHER = "+919812345678"


def _app(session_factory: Callable[[], Session], *, enabled: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="test")
    app.register_blueprint(auth_blueprint(session_factory))
    app.register_blueprint(console_blueprint(session_factory, enabled=enabled))
    return app


@pytest.fixture
def client(session_factory: Callable[[], Session]) -> FlaskClient:
    with session_factory() as session:
        add_staff(session, "admin", role="admin")
        session.commit()
    client = _app(session_factory).test_client()
    assert sign_in(client, "admin")[0] == 302
    return client


def _sms(session: Session, *, to: str = MOBILE, text: str = "Hello", minutes: int = 0, **extra: object) -> None:
    row = {
        "outbox_id": None,
        "recipient": to,
        "sender": "URJAMT",
        "template": "bill.reminder",
        "dlt_template_id": "1107170000000000104",
        "text": text,
        "segments": 1,
        "sent_at": SENT + dt.timedelta(minutes=minutes),
    }
    row.update(extra)
    session.execute(insert(ConsoleSms), [row])
    session.commit()


def test_messages_are_listed_newest_first_with_every_detail(session: Session, client: FlaskClient) -> None:
    _sms(session, text="msg-A", outbox_id=41)
    _sms(session, to=OTHER, text="msg-B", minutes=1, template="complaint.ack", dlt_template_id="1107170000000000101")
    _sms(session, text="msg-C", minutes=2, segments=2)

    body = client.get("/sms/console.json").get_json()

    assert [m["text"] for m in body["messages"]] == ["msg-C", "msg-B", "msg-A"]
    assert body["older"] is None
    assert body["messages"][2] | {"id": 0} == {
        "id": 0,
        "outbox_id": 41,
        "sent_at": "2026-11-20T10:00:00+00:00",
        "sent_at_ist": "20 Nov 2026, 15:30:00 IST",
        "recipient": MOBILE,
        "sender": "URJAMT",
        "template": "bill.reminder",
        "dlt_template_id": "1107170000000000104",
        "segments": 1,
        "text": "msg-A",
    }

    page = client.get("/sms/console")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert html.index("msg-C") < html.index("msg-B") < html.index("msg-A")
    for shown in ("20 Nov 2026, 15:32:00 IST", OTHER, "URJAMT", "complaint.ack", "1107170000000000101"):
        assert shown in html


def test_the_page_filters_by_mobile_however_it_is_written(session: Session, client: FlaskClient) -> None:
    _sms(session, text="for me")
    _sms(session, to=OTHER, text="for someone else", minutes=1)

    body = client.get("/sms/console.json", query_string={"to": "098765 43210"}).get_json()
    html = client.get("/sms/console", query_string={"to": "9876543210"}).get_data(as_text=True)

    assert body["to"] == MOBILE
    assert [m["text"] for m in body["messages"]] == ["for me"]
    assert "for me" in html
    assert "for someone else" not in html


def test_a_filter_that_is_not_a_mobile_is_refused(client: FlaskClient) -> None:
    page = client.get("/sms/console", query_string={"to": "12345"})
    api = client.get("/sms/console.json", query_string={"to": "12345"})

    assert page.status_code == 400
    assert "is not an Indian mobile number" in page.get_data(as_text=True)
    assert api.status_code == 400
    assert "not an Indian mobile number" in api.get_json()["error"]


def test_a_hundred_a_page_and_an_older_link_for_the_rest(session: Session, client: FlaskClient) -> None:
    session.execute(
        insert(ConsoleSms),
        [
            {
                "outbox_id": n,
                "recipient": MOBILE if n % 2 else OTHER,
                "sender": "URJAMT",
                "template": "bill.reminder",
                "dlt_template_id": "1107170000000000104",
                "text": f"message {n}",
                "segments": 1,
                "sent_at": SENT + dt.timedelta(seconds=n),
            }
            for n in range(1, 251)
        ],
    )
    session.commit()

    first = client.get("/sms/console.json").get_json()
    second = client.get(first["older"]).get_json()
    third = client.get(second["older"]).get_json()
    html = client.get("/sms/console").get_data(as_text=True)
    mine = client.get("/sms/console.json", query_string={"to": MOBILE}).get_json()
    mine_older = client.get(mine["older"]).get_json()

    assert [len(p["messages"]) for p in (first, second, third)] == [100, 100, 50]
    assert first["messages"][0]["text"] == "message 250"
    assert second["messages"][0]["text"] == "message 150"
    assert third["messages"][-1]["text"] == "message 1"
    assert third["older"] is None
    assert 'rel="next">older</a>' in html
    assert html.count('<tr id="sms-') == 100
    assert [len(p["messages"]) for p in (mine, mine_older)] == [100, 25]
    assert {m["recipient"] for m in mine["messages"] + mine_older["messages"]} == {MOBILE}


def test_message_text_is_shown_literally_never_as_markup(session: Session, client: FlaskClient) -> None:
    _sms(session, text="<script>alert('x')</script> & <b>bold</b>")

    html = client.get("/sms/console").get_data(as_text=True)

    assert "<script>alert" not in html
    assert "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_with_a_real_provider_neither_the_page_nor_its_json_exists(
    session: Session, session_factory: Callable[[], Session]
) -> None:
    _sms(session, text="an OTP nobody else should see")
    client = _app(session_factory, enabled=False).test_client()

    for path in ("/sms/console", "/sms/console.json", "/sms/console?to=9876543210"):
        response = client.get(path)
        assert response.status_code == 404
        assert "OTP" not in response.get_data(as_text=True)


def test_an_empty_console_says_so(client: FlaskClient) -> None:
    page = client.get("/sms/console")

    assert page.status_code == 200
    assert "No messages yet." in page.get_data(as_text=True)
    assert client.get("/sms/console.json").get_json() == {"to": None, "messages": [], "older": None}
