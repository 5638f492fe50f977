"""An outage alert from the outbox to the consumer's ear: AMI Originate, then Asterisk running the alert over
FastAGI, and Twilio fetching it from the voice webhook; both speak the Hindi prompts."""

from __future__ import annotations

import datetime as dt
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from cis import notify
from cis.db import make_session_factory
from cis.models import Account, IvrCall, Outbox
from ivr.alert_calls import call_outcome_recorder, drain_calls
from ivr.alerts import alert_items, call_params
from ivr.dialog import Dialog
from ivr.fastagi import FastAgiThread, start_in_thread
from ivr.outbound import AmiDialer, encode_params
from ivr.services import CisBackend
from ivr.speech import spoken_keys
from ivr.turns import Say
from ivr.twilio_voice import voice_blueprint
from prompts.build import AudioLibrary
from prompts.catalog import catalog
from tests import factories
from tests.protocol.fake_ami import FakeAmi, Packet
from tests.protocol.fake_asterisk import LISTEN, FakeAsterisk

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
BREAKDOWN = {"area": "Civil Lines 11kV", "since": "2026-11-20T09:00:00+00:00", "etr": "2026-11-20T12:30:00+00:00"}
CONSUMER = "+919876543210"
TOKEN = "test-auth-token"
PUBLIC = "https://ivr.example.test"
# What the consumer hears, file by file: the greeting, the breakdown since 14:30 until 18:00 on 20 November 2026
# (India's time), the apology, the offer to repeat.
BREAKDOWN_SOUNDS = [
    "alert/generic",
    "alert/outage/breakdown",
    *["num/20", "month/11", "num/2", "num/thousand", "num/26"],
    *["time/afternoon", "num/2", "time/past_hour", "num/30", "time/minutes"],
    "outage/since",
    *["num/20", "month/11", "num/2", "num/thousand", "num/26"],
    *["time/evening", "num/6", "time/oclock"],
    "outage/restore_by",
    "alert/outage/regret",
    "alert/repeat",
]


@pytest.fixture
def dialog(sqlite_engine: Engine) -> Dialog:
    return Dialog(CisBackend(make_session_factory(sqlite_engine), now=lambda: NOW))


@pytest.fixture
def fastagi(dialog: Dialog) -> Iterator[FastAgiThread]:
    with start_in_thread(dialog, "127.0.0.1", 0) as server:
        yield server


def test_the_alert_asterisk_originates_plays_the_hindi_breakdown_prompts(
    sqlite_engine: Engine, fastagi: FastAgiThread
) -> None:
    with Session(sqlite_engine) as session:
        notify.enqueue(
            session,
            channel="voice",
            template="outage.breakdown",
            recipient=CONSUMER,
            dedupe_key="outage:7:1:1:voice",
            payload=BREAKDOWN,
            at=NOW,
        )
        session.commit()
        row_id = session.scalars(select(Outbox.id)).one()
    with FakeAmi() as ami:
        dialer = AmiDialer(ami.url, context="outbound-ivr", trunk="carrier", caller_id="1912", limit=2, wait_s=0)
        try:
            assert drain_calls(sqlite_engine, dialer, now=NOW).placed == 1
        finally:
            dialer.close()
        [originate] = ami.originates()
    sent = dict(v.split("=", 1) for v in originate["Variable"])
    # The dialplan: AGI(agi://host:4573/${URJA_FLOW}?ref=${URJA_CALL_REF}&params=${URJA_PARAMS}); Asterisk gives
    # the channel's own caller ID (our number): the consumer comes from the parameters.
    path = f"{sent['URJA_FLOW']}?ref={sent['URJA_CALL_REF']}&params={sent['URJA_PARAMS']}"
    # The consumer listens to the whole message, presses 1 while we wait, then listens again.
    script = [LISTEN] * len(BREAKDOWN_SOUNDS) + ["1"]
    call = FakeAsterisk(fastagi.host, fastagi.port).call(script, path=path, callerid="1912", uniqueid="1767000000.5")
    prefix = "urjamitra/hi/"
    assert call.sounds[: len(BREAKDOWN_SOUNDS)] == [prefix + s for s in BREAKDOWN_SOUNDS]
    # 1 heard it again, then nothing: goodbye.
    assert call.sounds[len(BREAKDOWN_SOUNDS) : 2 * len(BREAKDOWN_SOUNDS)] == [prefix + s for s in BREAKDOWN_SOUNDS]
    assert call.sounds[-1] == prefix + "common/goodbye"
    assert call.commands[-1] == "HANGUP"
    with Session(sqlite_engine) as session:
        record = session.scalars(select(IvrCall)).one()
    assert (record.direction, record.outcome) == ("outbound", "alert")
    assert record.caller == CONSUMER
    assert sent["URJA_CALL_REF"] == f"outbox:{row_id}:1"  # the row and its attempt


def test_every_prompt_of_the_breakdown_alert_is_a_catalog_prompt_with_hindi_text() -> None:
    items = [Say("alert.generic"), *alert_items("outage.breakdown", BREAKDOWN), Say("alert.repeat")]
    keys = [key for item in items for key in spoken_keys(item, "hi")]
    assert [catalog()[k].stem for k in keys] == BREAKDOWN_SOUNDS
    assert all(catalog()[k].hi for k in keys)


def test_twilio_fetching_the_alert_gets_the_hindi_prompt_audio(dialog: Dialog, tmp_path: Path) -> None:
    for stem in set(BREAKDOWN_SOUNDS):
        mp3 = tmp_path / "hi" / f"{stem}.mp3"
        mp3.parent.mkdir(parents=True, exist_ok=True)
        mp3.write_bytes(b"ID3 fake mp3")
    app = Flask(__name__)
    app.register_blueprint(
        voice_blueprint(dialog, auth_token=TOKEN, audio=AudioLibrary(tmp_path), public_url=PUBLIC, agent_dial=None)
    )
    params = encode_params(call_params("outage.breakdown", BREAKDOWN))
    # The answer URL TwilioDialer gives Twilio for an outbox row.
    url = f"{PUBLIC}/voice/incoming?" + urlencode({"flow": "alert", "ref": "outbox:1", "params": params})
    form = {
        "CallSid": "CA" + "0123456789abcdef" * 2,
        "From": "+915122000000",
        "To": CONSUMER,
        "Direction": "outbound-api",
        "CallStatus": "in-progress",
    }
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    response = app.test_client().post(url.removeprefix(PUBLIC), data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    root = ET.fromstring(response.data)
    played = [el.text for el in root.iter("Play")]
    assert played == [f"{PUBLIC}/prompts/hi/{stem}.mp3" for stem in BREAKDOWN_SOUNDS]
    assert root.find("Gather") is not None


# --- answered is not heard: delivered only when the alert flow ran ---------------------------------------------


def queue_alert(engine: Engine) -> tuple[int, str]:
    """One breakdown alert for an account's registered mobile; (outbox row id, account number)."""
    with Session(engine) as session:
        account = factories.account(session, mobiles=(CONSUMER,))
        notify.enqueue(
            session,
            channel="voice",
            template="outage.breakdown",
            recipient=CONSUMER,
            dedupe_key="outage:9:1:1:voice",
            payload=BREAKDOWN,
            at=NOW,
            account_id=account.id,
            priority=0,
        )
        session.commit()
        return session.scalars(select(Outbox.id)).one(), account.account_no


def originate_alert(engine: Engine, ami: FakeAmi) -> tuple[AmiDialer, Packet]:
    dialer = AmiDialer(
        ami.url,
        context="urjamitra-out",
        trunk="carrier",
        caller_id="1912",
        limit=2,
        wait_s=0,
        on_end=call_outcome_recorder(engine, "asterisk", clock=lambda: NOW),
    )
    assert drain_calls(engine, dialer, now=NOW).placed == 1
    [originate] = ami.originates()
    return dialer, originate


def answered_then_hung_up(ami: FakeAmi, originate: Packet) -> None:
    """What AMI says of a call the consumer answered: OriginateResponse Success, then the channel's Hangup (16)."""
    channel_id = originate["ChannelId"]
    ami.emit("OriginateResponse", ActionID=channel_id, Response="Success", Uniqueid=channel_id, Reason="4")
    ami.emit("Hangup", Uniqueid=channel_id, Cause="16", **{"Cause-txt": "Normal Clearing"})


def outbox_row(engine: Engine, row_id: int) -> Outbox:
    with Session(engine) as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        return row


def settled(engine: Engine, row_id: int) -> Outbox:
    deadline = time.monotonic() + 5
    while (row := outbox_row(engine, row_id)).status == "sending":
        assert time.monotonic() < deadline, "the call's end never settled its row"
        time.sleep(0.02)
    return row


def test_an_answered_alert_whose_fastagi_was_unreachable_is_not_delivered_but_called_again(
    sqlite_engine: Engine,
) -> None:
    row_id, _ = queue_alert(sqlite_engine)
    with FakeAmi() as ami:
        dialer, originate = originate_alert(sqlite_engine, ami)
        try:
            # The consumer answers; Asterisk logs "FastAGI failed", hangs up (cause 16): nothing was played.
            answered_then_hung_up(ami, originate)
            row = settled(sqlite_engine, row_id)
        finally:
            dialer.close()
    assert (row.status, row.attempts, row.delivered_at) == ("pending", 1, None)
    assert row.not_before == NOW + dt.timedelta(minutes=10)
    assert row.last_error is not None
    assert "never played" in row.last_error
    with Session(sqlite_engine) as session:
        assert session.scalars(select(IvrCall)).all() == []


def test_an_answered_alert_whose_flow_ran_is_delivered_and_its_record_names_the_account(
    sqlite_engine: Engine, fastagi: FastAgiThread
) -> None:
    row_id, account_no = queue_alert(sqlite_engine)
    with FakeAmi() as ami:
        dialer, originate = originate_alert(sqlite_engine, ami)
        try:
            sent = dict(v.split("=", 1) for v in originate["Variable"])
            path = f"{sent['URJA_FLOW']}?ref={sent['URJA_CALL_REF']}&params={sent['URJA_PARAMS']}"
            call = FakeAsterisk(fastagi.host, fastagi.port).call([], path=path, callerid="1912", uniqueid="u7")
            assert call.commands[-1] == "HANGUP"
            answered_then_hung_up(ami, originate)
            row = settled(sqlite_engine, row_id)
        finally:
            dialer.close()
    assert (row.status, row.delivered_at, row.last_error) == ("delivered", NOW, None)
    with Session(sqlite_engine) as session:
        record = session.scalars(select(IvrCall)).one()
        account = session.get(Account, record.account_id) if record.account_id else None
    assert (record.direction, record.outbound_ref, record.fault) == ("outbound", f"outbox:{row_id}:1", None)
    assert account is not None
    assert account.account_no == account_no


def test_an_alert_whose_prompts_would_not_play_is_called_again(sqlite_engine: Engine, fastagi: FastAgiThread) -> None:
    row_id, _ = queue_alert(sqlite_engine)
    with FakeAmi() as ami:
        dialer, originate = originate_alert(sqlite_engine, ami)
        try:
            sent = dict(v.split("=", 1) for v in originate["Variable"])
            path = f"{sent['URJA_FLOW']}?ref={sent['URJA_CALL_REF']}&params={sent['URJA_PARAMS']}"
            FakeAsterisk(fastagi.host, fastagi.port).call(
                [], path=path, callerid="1912", uniqueid="u8", missing={"urjamitra/hi/alert/outage/breakdown"}
            )
            answered_then_hung_up(ami, originate)
            row = settled(sqlite_engine, row_id)
        finally:
            dialer.close()
    assert row.status == "pending"
    with Session(sqlite_engine) as session:
        record = session.scalars(select(IvrCall)).one()
    assert record.fault == "missing prompt: urjamitra/hi/alert/outage/breakdown"
