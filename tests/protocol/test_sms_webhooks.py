"""The SMS webhooks as Twilio and the DLT gateway call them: signed requests in, replies out through the outbox."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from cis.db import make_session_factory
from cis.models import ConsoleSms, Outbox
from sms.dispatch import DispatchConfig, drain
from sms.providers import ConsoleProvider
from sms.templates import load_templates
from sms.webhooks import sms_blueprint
from tests.conftest import emptied_engine, own_postgres_database
from tests.factories import NOW
from tests.ivr_support import World, build_world
from tests.protocol.fake_sms_gateway import signed_headers

PUBLIC = "https://urjamitra.example.in"
TOKEN = "twilio-auth-token"
SECRET = "gateway-shared-secret"
ACCOUNT_SID = "AC" + "2" * 32
TEMPLATES = load_templates()


@pytest.fixture(scope="module")
def pg_webhook_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_smshook") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_webhook_engine")


@pytest.fixture
def world(engine: Engine) -> World:
    with Session(engine) as session:
        w = build_world(session)
        session.commit()
    return w


@pytest.fixture
def client(engine: Engine) -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(
        sms_blueprint(
            make_session_factory(engine),
            engine,
            twilio_auth_token=TOKEN,
            gateway_secret=SECRET,
            public_url=PUBLIC,
            portal_url=PUBLIC,
            clock=lambda: NOW,
        )
    )
    return app.test_client()


_sids = iter(range(1, 100_000))


def twilio_inbound(client: FlaskClient, sender: str, body: str, sid: str | None = None) -> int:
    form = {
        "MessageSid": sid or f"SM{next(_sids):032d}",
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": "+911800180000",
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/sms/twilio/inbound", form)
    response = client.post("/sms/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})
    if response.status_code == 200:
        assert response.mimetype == "application/xml"
        assert b"<Response" in response.data  # valid, empty TwiML: the reply leaves through the outbox
    return response.status_code


def gateway_inbound(client: FlaskClient, sender: str, body: str, sid: str | None = None) -> int:
    document = {"id": sid or f"gw-{next(_sids)}", "from": sender.lstrip("+"), "to": "URJAMT", "text": body}
    raw = json.dumps(document).encode()
    stamp = int(NOW.timestamp())
    response = client.post("/sms/gateway/inbound", data=raw, headers=signed_headers(SECRET, raw, timestamp=stamp))
    return response.status_code


CHANNELS: dict[str, Callable[..., int]] = {"twilio": twilio_inbound, "gateway": gateway_inbound}


def delivered(engine: Engine) -> list[ConsoleSms]:
    """Drain the outbox through the console provider and return what each handset got."""
    provider = ConsoleProvider(make_session_factory(engine), stream=io.StringIO(), clock=lambda: NOW)
    config = DispatchConfig(allowed_urls=(PUBLIC,), defaults={"portal_url": PUBLIC})
    drain(engine, provider, templates=TEMPLATES, bucket=None, config=config, clock=lambda: NOW)
    with Session(engine) as session:
        return list(session.scalars(select(ConsoleSms).order_by(ConsoleSms.id)))


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("BILL", "reply.bill"),
        ("pay", "payment.link"),
        ("COMP NOSUPPLY no light since morning", "complaint.ack"),
        ("OUTAGE", "reply.no_outage"),
        ("CALC LMV-1U 2 250", "reply.calc"),
        ("READ 12150", "reply.reading"),
        ("STOP", "reply.opted_out"),
        ("START", "reply.opted_in"),
        ("HELP", "reply.help"),
        ("what is this", "reply.help"),
    ],
)
def test_every_command_by_webhook_gets_its_reply_on_the_senders_handset(
    engine: Engine, world: World, client: FlaskClient, channel: str, text: str, template: str
) -> None:
    assert CHANNELS[channel](client, world.single_mobile, text) == 200
    (sms,) = delivered(engine)
    assert sms.recipient == world.single_mobile
    assert sms.template == template
    assert sms.segments == 1


@pytest.mark.parametrize("channel", CHANNELS)
def test_status_of_a_complaint_by_webhook(engine: Engine, world: World, client: FlaskClient, channel: str) -> None:
    CHANNELS[channel](client, world.single_mobile, "COMP VOLTAGE")
    (ack,) = delivered(engine)
    number = ack.text.split("complaint ", 1)[1].split(" ", 1)[0]
    CHANNELS[channel](client, world.stranger_mobile, f"status {number}")
    status = delivered(engine)[-1]
    assert status.recipient == world.stranger_mobile
    assert status.text.startswith(f"Complaint {number}: open since ")


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_webhook_delivered_twice_is_answered_and_acted_on_once(
    engine: Engine, world: World, client: FlaskClient, channel: str
) -> None:
    for _ in range(3):
        assert (
            CHANNELS[channel](client, world.single_mobile, "COMP METER", sid="SMretry0000000000000000000000001") == 200
        )
    assert [s.template for s in delivered(engine)] == ["complaint.ack"]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * 2000, "🙏🙏💡", "बिल भेजें", "'; DROP TABLE account; --", "BILL' OR '1'='1", "\x00\x07"],
)
def test_garbage_gets_a_help_reply_never_an_error(
    engine: Engine, world: World, client: FlaskClient, channel: str, text: str
) -> None:
    assert CHANNELS[channel](client, world.single_mobile, text) == 200
    (sms,) = delivered(engine)
    assert sms.template == "reply.help"
    assert sms.text.startswith("Urja Mitra SMS: BILL, PAY, COMP")


def test_forged_or_unsigned_twilio_requests_are_refused_and_change_nothing(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    form = {"MessageSid": "SM" + "9" * 32, "From": world.single_mobile, "Body": "COMP DANGER"}
    good = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/sms/twilio/inbound", form)
    forged = RequestValidator("another-token").compute_signature(f"{PUBLIC}/sms/twilio/inbound", form)
    assert client.post("/sms/twilio/inbound", data=form).status_code == 403
    assert client.post("/sms/twilio/inbound", data=form, headers={"X-Twilio-Signature": forged}).status_code == 403
    tampered = {**form, "Body": "COMP THEFT"}
    assert client.post("/sms/twilio/inbound", data=tampered, headers={"X-Twilio-Signature": good}).status_code == 403
    with Session(engine) as session:
        assert session.scalars(select(Outbox)).all() == []


def test_forged_stale_or_unsigned_gateway_requests_are_refused(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    raw = json.dumps({"id": "1", "from": world.single_mobile, "text": "COMP DANGER"}).encode()
    stamp = int(NOW.timestamp())
    assert client.post("/sms/gateway/inbound", data=raw).status_code == 403
    wrong = signed_headers("not-the-secret", raw, timestamp=stamp)
    assert client.post("/sms/gateway/inbound", data=raw, headers=wrong).status_code == 403
    stale = signed_headers(SECRET, raw, timestamp=stamp - 3600)  # a captured request replayed an hour later
    assert client.post("/sms/gateway/inbound", data=raw, headers=stale).status_code == 403
    with Session(engine) as session:
        assert session.scalars(select(Outbox)).all() == []


def test_twilio_status_callbacks_move_the_row_to_delivered_or_failed(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    twilio_inbound(client, world.single_mobile, "HELP")
    twilio_inbound(client, world.pair_mobile, "HELP")
    with engine.begin() as conn:  # as the dispatcher leaves them after Twilio took them
        conn.execute(Outbox.__table__.update().values(status="sent", provider="twilio", provider_id=None))
    with Session(engine) as session:
        first, second = session.scalars(select(Outbox).order_by(Outbox.id)).all()

    def callback(ref: int, form: dict[str, str], token: str = TOKEN) -> int:
        url = f"{PUBLIC}/sms/twilio/status?{urlencode({'ref': ref})}"
        signature = RequestValidator(token).compute_signature(url, form)
        path = f"/sms/twilio/status?{urlencode({'ref': ref})}"
        return client.post(path, data=form, headers={"X-Twilio-Signature": signature}).status_code

    sid1, sid2 = "SM" + "a" * 32, "SM" + "b" * 32
    assert callback(first.id, {"MessageSid": sid1, "MessageStatus": "sent", "AccountSid": ACCOUNT_SID}) == 204
    assert callback(first.id, {"MessageSid": sid1, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}) == 204
    assert callback(second.id, {"MessageSid": sid2, "MessageStatus": "undelivered", "ErrorCode": "30003"}) == 204
    assert callback(second.id, {"MessageSid": sid2, "MessageStatus": "delivered"}, token="forged") == 403
    with Session(engine) as session:
        first, second = session.scalars(select(Outbox).order_by(Outbox.id)).all()
    assert (first.status, first.provider_id, first.delivered_at) == ("delivered", sid1, NOW)
    assert (second.status, second.last_error) == ("failed", "twilio error 30003")


def test_gateway_receipts_are_matched_by_our_ref_and_replays_change_nothing(
    engine: Engine, world: World, client: FlaskClient
) -> None:
    gateway_inbound(client, world.single_mobile, "HELP")
    with engine.begin() as conn:
        conn.execute(Outbox.__table__.update().values(status="sent", provider="dlt", provider_id="gw-77"))
    with Session(engine) as session:
        (row,) = session.scalars(select(Outbox)).all()
    body = json.dumps({"receipts": [{"ref": str(row.id), "id": "gw-77", "status": "delivered"}]}).encode()
    stamp = int(NOW.timestamp())
    for expected in (1, 0):
        response = client.post("/sms/gateway/receipt", data=body, headers=signed_headers(SECRET, body, timestamp=stamp))
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok", "received": 1, "updated": expected}
    with Session(engine) as session:
        (row,) = session.scalars(select(Outbox)).all()
    assert row.status == "delivered"
    assert row.delivered_at == NOW
    _ = dt  # dates compared above are aware UTC


@pytest.mark.parametrize("channel", CHANNELS)
def test_reg_links_a_new_mobile_with_the_otp_sent_to_the_mobile_on_record(
    engine: Engine, world: World, client: FlaskClient, channel: str
) -> None:
    send = CHANNELS[channel]
    assert send(client, world.stranger_mobile, f"REG {world.single}") == 200
    messages = delivered(engine)
    by_template = {m.template: m for m in messages}
    assert by_template["otp.register"].recipient == world.single_mobile  # the owner's phone gets the code
    assert by_template["reply.otp_sent"].recipient == world.stranger_mobile
    assert world.single_mobile[-4:] in by_template["reply.otp_sent"].text
    code = by_template["otp.register"].text.split(" ", 1)[0]
    assert send(client, world.stranger_mobile, code) == 200
    assert delivered(engine)[-1].template == "reply.registered"
    send(client, world.stranger_mobile, "BILL")  # no account named: the newly linked one
    last = delivered(engine)[-1]
    assert (last.recipient, last.template) == (world.stranger_mobile, "reply.bill")
    assert last.text.startswith(f"A/c {world.single}: ")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Urja-Timestamp": "\u00b2", "X-Urja-Signature": "sha256=00"},  # a digit to isdigit(), not to int()
        {"X-Urja-Timestamp": str(int(NOW.timestamp())), "X-Urja-Signature": "sha256=\u00e9\u00e9"},
        {"X-Urja-Timestamp": "", "X-Urja-Signature": ""},
    ],
)
def test_malformed_signature_headers_are_refused_not_a_server_error(
    engine: Engine, client: FlaskClient, headers: dict[str, str]
) -> None:
    raw = b'{"id": "1", "from": "919876543210", "text": "HELP"}'
    response = client.post("/sms/gateway/inbound", data=raw, headers={"Content-Type": "application/json", **headers})
    assert response.status_code == 403


@pytest.mark.parametrize("message_id", ["", "   ", None, True, ["x"]])
def test_a_gateway_message_without_a_usable_id_is_refused(
    engine: Engine, world: World, client: FlaskClient, message_id: object
) -> None:
    raw = json.dumps({"id": message_id, "from": world.single_mobile, "text": "COMP METER"}).encode()
    response = client.post(
        "/sms/gateway/inbound", data=raw, headers=signed_headers(SECRET, raw, timestamp=int(NOW.timestamp()))
    )
    assert response.status_code == 400
    with Session(engine) as session:
        assert session.scalars(select(Outbox)).all() == []
