"""Twilio voice webhooks, posted the way Twilio posts them: signed with the auth token over the public URL."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from ivr.outbound import encode_params
from ivr.turns import Amount, Gather, Hangup, Say, Transfer, Turn
from ivr.twilio_voice import voice_blueprint
from prompts.build import AudioLibrary
from prompts.catalog import catalog

TOKEN = "test-auth-token"
PUBLIC = "https://ivr.example.test"
AGENTS = "+915122000000"
CALL_SID = "CA" + "0123456789abcdef" * 2
CONSUMER = "+919876543210"
OUR_NUMBER = "+911800123456"


class FakeDialog:
    """Records what the webhooks ask; answers with `turn`, or raises when `broken`."""

    def __init__(self) -> None:
        self.handled: list[dict[str, Any]] = []
        self.hangups: list[tuple[str, str, int | None]] = []
        self.turn = Turn("hi", (Say("menu.main"),), Gather(max_digits=1, timeout_ms=5000))
        self.broken = False

    def handle(self, **kwargs: Any) -> Turn:
        self.handled.append(kwargs)
        if self.broken:
            raise RuntimeError("the database is down")
        return self.turn

    def hangup(self, channel: str, call_ref: str, duration_s: int | None = None) -> None:
        self.hangups.append((channel, call_ref, duration_s))


@pytest.fixture
def dialog() -> FakeDialog:
    return FakeDialog()


@pytest.fixture
def audio(tmp_path: Path) -> AudioLibrary:
    mp3 = tmp_path / "hi" / "menu" / "main.mp3"
    mp3.parent.mkdir(parents=True)
    mp3.write_bytes(b"ID3 fake mp3")
    return AudioLibrary(tmp_path)


@pytest.fixture
def ended() -> list[str]:
    return []


def make_app(dialog: FakeDialog, audio: AudioLibrary | None, **overrides: Any) -> Flask:
    app = Flask(__name__)
    prefix = overrides.pop("url_prefix", None)
    options: dict[str, Any] = {
        "auth_token": TOKEN,
        "audio": audio,
        "public_url": PUBLIC,
        "agent_dial": AGENTS,
        "catalog": catalog(),
        **overrides,
    }
    app.register_blueprint(voice_blueprint(dialog, **options), url_prefix=prefix)
    return app


@pytest.fixture
def client(dialog: FakeDialog, audio: AudioLibrary, ended: list[str]) -> FlaskClient:
    return make_app(dialog, audio, on_call_ended=ended.append).test_client()


def call_form(**extra: str) -> dict[str, str]:
    return {
        "CallSid": CALL_SID,
        "AccountSid": "AC" + "f" * 32,
        "From": CONSUMER,
        "To": OUR_NUMBER,
        "Direction": "inbound",
        "CallStatus": "in-progress",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def post(
    client: FlaskClient,
    path: str,
    form: dict[str, str],
    *,
    query: str = "",
    signed_form: dict[str, str] | None = None,
    signed_url: str | None = None,
    token: str = TOKEN,
    sign: bool = True,
) -> TestResponse:
    """POST like Twilio: the signature covers the public URL (with its query) and every form field."""
    url = path + (f"?{query}" if query else "")
    headers = {}
    if sign:
        signature = RequestValidator(token).compute_signature(signed_url or PUBLIC + url, signed_form or form)
        headers["X-Twilio-Signature"] = signature
    return client.post(url, data=form, headers=headers)


def twiml(response: TestResponse) -> ET.Element:
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.get_data(as_text=True))


def test_signed_new_call_starts_the_dialog_and_gets_its_menu(client: FlaskClient, dialog: FakeDialog) -> None:
    root = twiml(post(client, "/voice/incoming", call_form()))
    assert dialog.handled == [
        {
            "channel": "twilio",
            "call_ref": CALL_SID,
            "caller": CONSUMER,
            "digits": None,
            "lang": None,
            "called": OUR_NUMBER,
        },
    ]
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("action") == f"{PUBLIC}/voice/gather"
    assert gather.get("numDigits") == "1"
    assert [(child.tag, child.text) for child in gather] == [("Play", f"{PUBLIC}/prompts/hi/menu/main.mp3")]
    redirect = root.find("Redirect")
    assert redirect is not None
    assert redirect.text == f"{PUBLIC}/voice/gather?timeout=1"


def test_unsigned_request_is_refused_and_changes_nothing(client: FlaskClient, dialog: FakeDialog) -> None:
    response = post(client, "/voice/incoming", call_form(), sign=False)
    assert response.status_code == 403
    assert dialog.handled == []


def test_forged_parameter_is_refused(client: FlaskClient, dialog: FakeDialog) -> None:
    signed = call_form(Digits="1")
    response = post(client, "/voice/gather", {**signed, "Digits": "2"}, signed_form=signed)
    assert response.status_code == 403
    assert dialog.handled == []


def test_added_parameter_is_refused(client: FlaskClient, dialog: FakeDialog) -> None:
    signed = call_form(Digits="1")
    response = post(client, "/voice/gather", {**signed, "Extra": "x"}, signed_form=signed)
    assert response.status_code == 403
    assert dialog.handled == []


def test_signature_with_another_token_is_refused(client: FlaskClient, dialog: FakeDialog) -> None:
    assert post(client, "/voice/incoming", call_form(), token="not-the-token").status_code == 403
    assert dialog.handled == []


def test_signature_over_the_internal_url_is_refused(client: FlaskClient, dialog: FakeDialog) -> None:
    # Twilio signs the public URL it called; one made for http://localhost is somebody else's.
    response = post(client, "/voice/incoming", call_form(), signed_url="http://localhost/voice/incoming")
    assert response.status_code == 403
    assert dialog.handled == []


def test_signature_over_a_different_query_is_refused(client: FlaskClient, dialog: FakeDialog) -> None:
    response = post(client, "/voice/gather", call_form(), query="timeout=1", signed_url=f"{PUBLIC}/voice/gather")
    assert response.status_code == 403
    assert dialog.handled == []


def test_without_an_auth_token_every_request_is_refused(
    dialog: FakeDialog, audio: AudioLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(dialog, audio, auth_token=None).test_client()
    with caplog.at_level(logging.ERROR, logger="ivr.twilio_voice"):
        response = post(client, "/voice/incoming", call_form(), token="")
    assert response.status_code == 403
    assert dialog.handled == []
    assert "no auth token" in caplog.text


def test_pressed_keys_reach_the_dialog(client: FlaskClient, dialog: FakeDialog) -> None:
    dialog.turn = Turn("hi", (Say("bill.amount_due"), Amount(1_72_750)), Hangup())
    root = twiml(post(client, "/voice/gather", call_form(Digits="1", FinishedOnKey="")))
    assert dialog.handled[0]["digits"] == "1"
    assert dialog.handled[0]["call_ref"] == CALL_SID
    assert [child.tag for child in root] == ["Say", "Hangup"]
    say = root.find("Say")
    assert say is not None
    assert say.get("language") == "hi-IN"
    assert say.text is not None
    assert say.text.endswith("रुपये और पचास पैसे")


def test_timeout_redirect_reaches_the_dialog_as_no_input(client: FlaskClient, dialog: FakeDialog) -> None:
    twiml(post(client, "/voice/gather", call_form(), query="timeout=1"))
    assert dialog.handled[0]["digits"] == ""


def test_gather_without_digits_is_no_input(client: FlaskClient, dialog: FakeDialog) -> None:
    twiml(post(client, "/voice/gather", call_form(Digits="")))
    assert dialog.handled[0]["digits"] == ""


def test_transfer_dials_the_agents(client: FlaskClient, dialog: FakeDialog) -> None:
    dialog.turn = Turn("hi", (Say("common.transfer"),), Transfer())
    root = twiml(post(client, "/voice/gather", call_form(Digits="0")))
    assert [(child.tag, child.text) for child in root][-1] == ("Dial", AGENTS)


def test_failure_inside_the_dialog_still_answers_an_apology_and_the_agents(
    client: FlaskClient, dialog: FakeDialog, caplog: pytest.LogCaptureFixture
) -> None:
    dialog.broken = True
    with caplog.at_level(logging.ERROR, logger="ivr.twilio_voice"):
        root = twiml(post(client, "/voice/gather", call_form(Digits="3")))
    assert [child.tag for child in root] == ["Say", "Dial"]
    assert root[0].text == catalog().text("common.sorry_error", "hi")
    assert root[1].text == AGENTS
    assert "the database is down" in caplog.text


def test_outbound_call_carries_its_flow_and_the_consumer_is_the_called_party(
    client: FlaskClient, dialog: FakeDialog
) -> None:
    query = f"flow=alert&ref=outbox-42&params={encode_params({'event': 7, 'revision': 2})}"
    form = call_form(From=OUR_NUMBER, To=CONSUMER, Direction="outbound-api")
    twiml(post(client, "/voice/incoming", form, query=query))
    assert dialog.handled == [
        {
            "channel": "twilio",
            "call_ref": CALL_SID,
            "caller": CONSUMER,
            "digits": None,
            "lang": None,
            "called": OUR_NUMBER,
            "flow": "alert",
            "params": {"event": 7, "revision": 2},
            "outbound_ref": "outbox-42",
        },
    ]


def test_final_status_callback_ends_the_call_and_frees_the_outbound_slot(
    client: FlaskClient, dialog: FakeDialog, ended: list[str]
) -> None:
    response = post(client, "/voice/status", call_form(CallStatus="completed", CallDuration="47"))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert dialog.hangups == [("twilio", CALL_SID, 47)]
    assert ended == [CALL_SID]


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_unanswered_calls_end_too(client: FlaskClient, dialog: FakeDialog, status: str) -> None:
    assert post(client, "/voice/status", call_form(CallStatus=status)).status_code == 200
    assert dialog.hangups == [("twilio", CALL_SID, None)]


def test_progress_status_changes_nothing(client: FlaskClient, dialog: FakeDialog, ended: list[str]) -> None:
    assert post(client, "/voice/status", call_form(CallStatus="ringing")).status_code == 200
    assert dialog.hangups == []
    assert ended == []


def test_unsigned_status_callback_is_refused(client: FlaskClient, dialog: FakeDialog, ended: list[str]) -> None:
    response = post(client, "/voice/status", call_form(CallStatus="completed"), sign=False)
    assert response.status_code == 403
    assert dialog.hangups == []
    assert ended == []


def test_prompt_audio_is_served(client: FlaskClient) -> None:
    with client.get("/prompts/hi/menu/main.mp3") as response:  # closes the file send_file opened
        assert response.status_code == 200
        assert response.mimetype == "audio/mpeg"
        assert response.data == b"ID3 fake mp3"


@pytest.mark.parametrize(
    "path",
    [
        "/prompts/hi/menu/missing.mp3",
        "/prompts/fr/menu/main.mp3",
        "/prompts/hi/../hi/menu/main.mp3",
        "/prompts/hi/menu/../../../../etc/passwd.mp3",
        "/prompts/hi/%2e%2e/menu/main.mp3",
    ],
)
def test_only_built_prompts_are_served(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_without_audio_every_prompt_is_spoken(dialog: FakeDialog) -> None:
    client = make_app(dialog, None).test_client()
    root = twiml(post(client, "/voice/incoming", call_form()))
    gather = root.find("Gather")
    assert gather is not None
    assert [child.tag for child in gather] == ["Say"]
    assert client.get("/prompts/hi/menu/main.mp3").status_code == 404


def test_urls_follow_the_blueprint_prefix(dialog: FakeDialog, audio: AudioLibrary) -> None:
    client = make_app(dialog, audio, url_prefix="/twilio").test_client()
    root = twiml(post(client, "/twilio/voice/incoming", call_form()))
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("action") == f"{PUBLIC}/twilio/voice/gather"
    assert gather[0].text == f"{PUBLIC}/twilio/prompts/hi/menu/main.mp3"


def test_without_a_public_url_the_request_url_is_what_is_signed(dialog: FakeDialog, audio: AudioLibrary) -> None:
    client = make_app(dialog, audio, public_url=None).test_client()
    response = post(client, "/voice/incoming", call_form(), signed_url="http://localhost/voice/incoming")
    root = twiml(response)
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("action") == "http://localhost/voice/gather"
