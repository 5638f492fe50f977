"""Outbound alert calls: AMI Originate against a scripted AMI peer, Twilio's Calls API against a local server,
and the limit on calls in flight, also under threads."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from twilio.request_validator import RequestValidator

from ivr.outbound import (
    AmiDialer,
    CallLimitReached,
    CallSlots,
    DialError,
    OutboundCall,
    PlacedCall,
    TwilioDialer,
    decode_params,
    dial_string,
    encode_params,
)
from ivr.turns import Gather, Say, Turn
from ivr.twilio_voice import voice_blueprint
from prompts.catalog import catalog
from tests.protocol.fake_ami import FakeAmi, Packet
from tests.protocol.fake_twilio_api import FakeTwilioApi

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "test-auth-token"
PUBLIC = "https://ivr.example.test"
OUR_NUMBER = "+915122000000"
CONSUMER = "+919876543210"


def alert(n: int = 1, **params: Any) -> OutboundCall:
    return OutboundCall(to=f"+9198765432{n:02d}", call_ref=f"outbox-{n}", params=params or {"event": 7})


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def place_in_background(dialer: Any, call: OutboundCall) -> tuple[threading.Thread, list[PlacedCall | Exception]]:
    result: list[PlacedCall | Exception] = []

    def run() -> None:
        try:
            result.append(dialer.place(call))
        except Exception as e:
            result.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


# -- the call and its parameters ------------------------------------------------------------------------------


def test_params_survive_the_trip_and_carry_no_commas_or_quotes() -> None:
    params = {"event": 7, "kind": "breakdown, feeder 11", "note": 'say "hi"'}
    text = encode_params(params)
    assert not set(text) & set(',"=+/ ')
    assert decode_params(text) == params
    assert decode_params("") == {}


@pytest.mark.parametrize("text", ["***", "bm90IGpzb24", "[e30]", base64.urlsafe_b64encode(b"[1]").decode()])
def test_garbled_params_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="param"):
        decode_params(text)


@pytest.mark.parametrize(
    "fields",
    [
        {"to": "9876543210", "call_ref": "outbox-1"},
        {"to": "+919876543210", "call_ref": "outbox 1"},
        {"to": "+919876543210", "call_ref": "outbox-1", "flow": "Alert!"},
        {"to": "+919876543210", "call_ref": "outbox-1", "params": {"when": object()}},
    ],
)
def test_malformed_calls_are_refused_before_dialing(fields: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        OutboundCall(**fields)


# -- the slots ------------------------------------------------------------------------------------------------


def test_a_slot_whose_end_is_never_reported_is_reclaimed(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    slots = CallSlots(1, wait_s=0, max_call_s=600, clock=lambda: now[0])
    slots.acquire("a")
    with pytest.raises(CallLimitReached):
        slots.acquire("b")
    now[0] += 601
    slots.acquire("b")
    assert slots.in_flight == 1
    assert "no end reported" in caplog.text


def test_an_end_reported_before_the_id_is_known_frees_the_slot_on_bind() -> None:
    slots = CallSlots(1, wait_s=0)
    token = slots.acquire()
    slots.release("CA1", remember=True)
    slots.bind(token, "CA1")
    assert slots.in_flight == 0


# -- Asterisk (AMI) -------------------------------------------------------------------------------------------


@pytest.fixture
def ami() -> Iterator[FakeAmi]:
    with FakeAmi() as peer:
        yield peer


def ami_dialer(ami: FakeAmi, limit: int = 2, **options: Any) -> AmiDialer:
    return AmiDialer(
        ami.url,
        context="outbound-ivr",
        trunk="carrier",
        caller_id="Urja Mitra <1912>",
        limit=limit,
        response_timeout_s=3,
        **options,
    )


def variables(originate: Packet) -> dict[str, str]:
    return dict(v.split("=", 1) for v in originate["Variable"])


def test_originate_dials_the_trunk_into_the_ivr_with_the_flow(ami: FakeAmi) -> None:
    dialer = ami_dialer(ami)
    try:
        placed = dialer.place(OutboundCall(to=CONSUMER, call_ref="outbox-42", params={"event": 7, "revision": 2}))
    finally:
        dialer.close()
    assert placed.status == "queued"
    login, originate = ami.actions[:2]
    assert (login["Action"], login["Username"], login["Secret"]) == ("Login", "urja", "change-me")
    assert {k: v for k, v in originate.items() if k != "Variable"} == {
        "Action": "Originate",
        "Channel": "PJSIP/919876543210@carrier",
        "Context": "outbound-ivr",
        "Exten": "s",
        "Priority": "1",
        "CallerID": "Urja Mitra <1912>",
        "Timeout": "30000",
        "Async": "true",
        "ChannelId": placed.provider_id,
        "ActionID": placed.provider_id,
    }
    assert variables(originate) == {
        "URJA_FLOW": "alert",
        "URJA_CALL_REF": "outbox-42",
        "URJA_PARAMS": encode_params({"event": 7, "revision": 2, "to": CONSUMER}),
    }
    assert decode_params(variables(originate)["URJA_PARAMS"]) == {"event": 7, "revision": 2, "to": CONSUMER}


def test_the_call_over_the_limit_waits_until_an_earlier_one_hangs_up(ami: FakeAmi) -> None:
    dialer = ami_dialer(ami, limit=2, wait_s=10)
    try:
        first = dialer.place(alert(1))
        dialer.place(alert(2))
        thread, result = place_in_background(dialer, alert(3))
        time.sleep(0.3)
        assert thread.is_alive()
        assert len(ami.originates()) == 2
        ami.emit("Hangup", Channel="PJSIP/carrier-00000001", Uniqueid=first.provider_id, Cause="16")
        thread.join(5)
        assert not thread.is_alive()
        assert isinstance(result[0], PlacedCall)
        assert ami.originates()[2]["Channel"] == "PJSIP/919876543203@carrier"
        assert dialer.in_flight == 2
    finally:
        dialer.close()


def test_a_failed_originate_frees_its_slot(ami: FakeAmi) -> None:
    dialer = ami_dialer(ami, limit=1, wait_s=0)
    try:
        placed = dialer.place(alert(1))
        ami.emit(
            "OriginateResponse",
            ActionID=placed.provider_id,
            Response="Failure",
            Channel="PJSIP/919876543201@carrier",
            Reason="5",
            Uniqueid="<null>",
        )
        eventually(lambda: dialer.in_flight == 0)
        dialer.place(alert(2))
    finally:
        dialer.close()


def test_a_busy_trunk_raises_after_waiting(ami: FakeAmi) -> None:
    dialer = ami_dialer(ami, limit=1, wait_s=0.2)
    try:
        dialer.place(alert(1))
        started = time.monotonic()
        with pytest.raises(CallLimitReached):
            dialer.place(alert(2))
        assert time.monotonic() - started >= 0.2
        assert len(ami.originates()) == 1
    finally:
        dialer.close()


def test_an_old_asterisk_is_followed_by_the_uniqueid_it_reports(ami: FakeAmi) -> None:
    dialer = ami_dialer(ami, limit=1, wait_s=0)
    try:
        placed = dialer.place(alert(1))
        ami.emit("OriginateResponse", ActionID=placed.provider_id, Response="Success", Uniqueid="1718000000.17")
        time.sleep(0.1)
        assert dialer.in_flight == 1
        ami.emit("Hangup", Uniqueid="1718000000.17", Cause="16")
        eventually(lambda: dialer.in_flight == 0)
    finally:
        dialer.close()


def test_hangups_of_other_channels_change_nothing(ami: FakeAmi) -> None:
    dialer = ami_dialer(ami, limit=1, wait_s=0)
    try:
        dialer.place(alert(1))
        ami.emit("Hangup", Uniqueid="1718000000.99", Cause="16")
        ami.emit("OriginateResponse", ActionID="someone-else", Response="Failure")
        time.sleep(0.1)
        assert dialer.in_flight == 1
    finally:
        dialer.close()


def test_a_refused_originate_raises_and_frees_its_slot(ami: FakeAmi) -> None:
    ami.originate_reply = ("Error", "Extension does not exist.")
    dialer = ami_dialer(ami, limit=1, wait_s=0)
    try:
        with pytest.raises(DialError, match="Extension does not exist"):
            dialer.place(alert(1))
        assert dialer.in_flight == 0
    finally:
        dialer.close()


def test_a_refused_login_raises(ami: FakeAmi) -> None:
    dialer = AmiDialer(ami.url.replace("change-me", "wrong"), context="c", trunk="t", caller_id="x", limit=1, wait_s=0)
    with pytest.raises(DialError, match="login"):
        dialer.place(alert(1))
    assert dialer.in_flight == 0
    assert ami.originates() == []


def test_an_unreachable_manager_raises() -> None:
    with FakeAmi() as gone:
        url = gone.url
    dialer = AmiDialer(url, context="c", trunk="t", caller_id="x", limit=1, wait_s=0, response_timeout_s=1)
    with pytest.raises(DialError):
        dialer.place(alert(1))
    assert dialer.in_flight == 0


def test_the_dialer_reconnects_after_the_link_drops(ami: FakeAmi) -> None:
    dialer = ami_dialer(ami, limit=5)
    try:
        dialer.place(alert(1))
        client = dialer._client
        assert client is not None
        client.disconnect()  # as if Asterisk restarted
        dialer.place(alert(2))
        assert [a["Action"] for a in ami.actions].count("Login") == 2
    finally:
        dialer.close()


def test_ami_limit_holds_under_threads(ami: FakeAmi) -> None:
    active: set[str] = set()
    most = [0]
    lock = threading.Lock()
    timers: list[threading.Timer] = []

    def answer_then_hang_up(originate: Packet) -> None:
        channel_id = originate["ChannelId"]
        with lock:
            active.add(channel_id)
            most[0] = max(most[0], len(active))

        def hang_up() -> None:
            with lock:
                active.discard(channel_id)
            ami.emit("Hangup", Uniqueid=channel_id, Cause="16")

        timer = threading.Timer(0.05, hang_up)
        timers.append(timer)
        timer.start()

    ami.on_originate = answer_then_hang_up
    dialer = ami_dialer(ami, limit=3, wait_s=10)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            placed = list(pool.map(dialer.place, [alert(n) for n in range(1, 13)]))
        for timer in timers:
            timer.join()
        eventually(lambda: dialer.in_flight == 0)
    finally:
        dialer.close()
    assert len({p.provider_id for p in placed}) == 12
    assert most[0] <= 3


# -- Twilio ---------------------------------------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[FakeTwilioApi]:
    with FakeTwilioApi(SID, TOKEN) as server:
        yield server


def twilio_dialer(api: FakeTwilioApi, limit: int = 2, **options: Any) -> TwilioDialer:
    return TwilioDialer(
        SID, TOKEN, from_number=OUR_NUMBER, public_url=PUBLIC, limit=limit, base_url=api.base_url, **options
    )


def test_calls_api_gets_the_numbers_the_answer_url_and_the_status_callback(api: FakeTwilioApi) -> None:
    dialer = twilio_dialer(api)
    placed = dialer.place(OutboundCall(to=CONSUMER, call_ref="outbox-42", params={"event": 7}))
    dialer.close()
    assert placed.provider_id.startswith("CA")
    assert placed.status == "queued"
    [request] = api.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert request.authorization == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {
        "To": CONSUMER,
        "From": OUR_NUMBER,
        "Url": f"{PUBLIC}/voice/incoming?flow=alert&ref=outbox-42&params={encode_params({'event': 7})}",
        "Method": "POST",
        "StatusCallback": f"{PUBLIC}/voice/status",
        "StatusCallbackMethod": "POST",
        "Timeout": "30",
    }


def test_the_twilio_call_over_the_limit_waits_for_a_status_callback(api: FakeTwilioApi) -> None:
    dialer = twilio_dialer(api, limit=1, wait_s=10)
    first = dialer.place(alert(1))
    thread, result = place_in_background(dialer, alert(2))
    time.sleep(0.3)
    assert thread.is_alive()
    assert len(api.requests) == 1
    dialer.call_ended(first.provider_id)
    thread.join(5)
    assert isinstance(result[0], PlacedCall)
    assert len(api.requests) == 2
    dialer.close()


def test_the_signed_status_callback_frees_the_slot(api: FakeTwilioApi) -> None:
    dialer = twilio_dialer(api, limit=1, wait_s=0)
    placed = dialer.place(alert(1))

    class Dialog:
        def handle(self, **kwargs: Any) -> Turn:
            return Turn("hi", (Say("menu.main"),), Gather())

        def hangup(self, channel: str, call_ref: str, duration_s: int | None = None) -> None:
            pass

    app = Flask(__name__)
    app.register_blueprint(
        voice_blueprint(
            Dialog(),
            auth_token=TOKEN,
            audio=None,
            public_url=PUBLIC,
            agent_dial=None,
            catalog=catalog(),
            on_call_ended=dialer.call_ended,
        )
    )
    form = {
        "CallSid": placed.provider_id,
        "CallStatus": "no-answer",
        "Direction": "outbound-api",
        "From": OUR_NUMBER,
        "To": CONSUMER,
        "AccountSid": SID,
    }
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/voice/status", form)
    response = app.test_client().post("/voice/status", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert dialer.in_flight == 0
    dialer.place(alert(2))
    dialer.close()


def test_a_refused_twilio_call_raises_and_frees_its_slot(api: FakeTwilioApi) -> None:
    api.fail_with = (400, 21211, "The 'To' number +919876543201 is not a valid phone number.")
    dialer = twilio_dialer(api, limit=1, wait_s=0)
    with pytest.raises(DialError, match="21211"):
        dialer.place(alert(1))
    assert dialer.in_flight == 0
    dialer.close()


def test_wrong_credentials_raise(api: FakeTwilioApi) -> None:
    dialer = TwilioDialer(
        SID, "wrong-token", from_number=OUR_NUMBER, public_url=PUBLIC, limit=1, base_url=api.base_url, wait_s=0
    )
    with pytest.raises(DialError, match="20003"):
        dialer.place(alert(1))
    assert dialer.in_flight == 0
    dialer.close()


def test_an_unreachable_api_raises() -> None:
    with FakeTwilioApi(SID, TOKEN) as gone:
        base_url = gone.base_url
    dialer = TwilioDialer(
        SID, TOKEN, from_number=OUR_NUMBER, public_url=PUBLIC, limit=1, base_url=base_url, wait_s=0, http_timeout_s=2
    )
    with pytest.raises(DialError, match="unreachable"):
        dialer.place(alert(1))
    assert dialer.in_flight == 0
    dialer.close()


def test_twilio_limit_holds_under_threads(api: FakeTwilioApi) -> None:
    dialer = twilio_dialer(api, limit=3, wait_s=10)
    timers: list[threading.Timer] = []

    def status_callback_soon(sid: str) -> None:
        def end() -> None:
            api.end(sid)
            dialer.call_ended(sid)

        timer = threading.Timer(0.05, end)
        timers.append(timer)
        timer.start()

    api.on_create = status_callback_soon
    with ThreadPoolExecutor(max_workers=8) as pool:
        placed = list(pool.map(dialer.place, [alert(n) for n in range(1, 13)]))
    for timer in timers:
        timer.join()
    dialer.close()
    assert len({p.provider_id for p in placed}) == 12
    assert api.most_active <= 3
    assert dialer.in_flight == 0


def test_the_channel_dialled_follows_the_dial_template_for_an_e1_trunk_wanting_national_numbers(ami: FakeAmi) -> None:
    dialer = AmiDialer(
        ami.url, context="urjamitra-out", trunk="g0", caller_id="1912", limit=1, channel="DAHDI/{trunk}/0{national}"
    )
    try:
        dialer.place(OutboundCall(to=CONSUMER, call_ref="outbox:1:1"))
    finally:
        dialer.close()
    assert ami.originates()[0]["Channel"] == "DAHDI/g0/09876543210"


@pytest.mark.parametrize(
    ("template", "channel"),
    [
        ("PJSIP/{e164_digits}@{trunk}", "PJSIP/919876543210@carrier"),
        ("PJSIP/{e164}@{trunk}", "PJSIP/+919876543210@carrier"),
        ("SIP/{trunk}/0{national}", "SIP/carrier/09876543210"),
        ("PJSIP/{number}@{trunk}", "PJSIP/919876543210@carrier"),
    ],
)
def test_dial_templates(template: str, channel: str) -> None:
    assert dial_string(template, CONSUMER, "carrier") == channel


def test_a_dial_template_naming_an_unknown_field_is_refused_at_once() -> None:
    with pytest.raises(KeyError):
        AmiDialer("ami://u:s@127.0.0.1:1", context="c", trunk="t", caller_id="1", limit=1, channel="PJSIP/{msisdn}")


def test_a_normal_logoff_logs_no_warning(ami: FakeAmi, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(5):
        dialer = ami_dialer(ami)
        try:
            dialer.place(alert(1))
        finally:
            dialer.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_asterisk_closing_the_link_is_reported(ami: FakeAmi, caplog: pytest.LogCaptureFixture) -> None:
    dialer = ami_dialer(ami)
    try:
        dialer.place(alert(1))
        ami.close()
        deadline = time.monotonic() + 5
        while not any(r.levelno == logging.WARNING for r in caplog.records):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        dialer.close()
    assert "AMI connection closed by Asterisk" in caplog.text
    assert "StopIteration" not in caplog.text
