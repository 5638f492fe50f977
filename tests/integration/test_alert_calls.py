"""Voice alerts from the outbox on real databases: placed within the trunk's limit over AMI and Twilio's API,
each row called once, refused and unanswered calls tried again, expired ones never called; and the IVR's words
for a no-supply complaint linked to a published outage."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from cis import notify
from cis.db import UnitOfWork, make_session_factory
from cis.models import Outbox
from ivr.alert_calls import (
    CallStats,
    call_outcome_recorder,
    drain_calls,
    settle_call,
    settle_stuck_calls,
)
from ivr.alerts import call_params
from ivr.dialog import Dialog
from ivr.outbound import AmiDialer, ConsoleDialer, TwilioDialer, decode_params
from ivr.services import CisBackend
from ivr.speech import spoken_text
from ivr.turns import Gather, Say, Turn
from ivr.twilio_voice import voice_blueprint
from outage.events import Actor, Breakdown, publish_breakdown
from prompts.catalog import catalog
from tests import factories
from tests.conftest import emptied_engine, own_postgres_database
from tests.protocol.fake_ami import FakeAmi, Packet
from tests.protocol.fake_twilio_api import FakeTwilioApi

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
BREAKDOWN = {
    "area": "Civil Lines 11kV",
    "since": "2026-11-20T09:00:00+00:00",
    "etr": "2026-11-20T12:30:00+00:00",
    "event": 7,
    "revision": 1,
}
SHUTDOWN = {
    "area": "Civil Lines 11kV",
    "starts_at": "2026-11-22T04:30:00+00:00",
    "ends_at": "2026-11-22T08:30:00+00:00",
    "event": 8,
    "revision": 1,
}
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "test-auth-token"
PUBLIC = "https://ivr.example.test"


@pytest.fixture(scope="module")
def pg_calls_engine(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_calls") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return emptied_engine(request, "pg_calls_engine")


@pytest.fixture
def ami() -> Iterator[FakeAmi]:
    with FakeAmi() as peer:
        yield peer


def mobile(n: int) -> str:
    return f"+9198765{n:05d}"


def queue_calls(engine: Engine, count: int, *, start: int = 0, **extra: Any) -> list[int]:
    """`count` breakdown alerts on the voice channel; their row ids."""
    with Session(engine) as session:
        for n in range(start, start + count):
            notify.enqueue(
                session,
                channel="voice",
                template=extra.get("template", "outage.breakdown"),
                recipient=mobile(n),
                dedupe_key=f"outage:7:1:{n}:voice",
                payload=extra.get("payload", BREAKDOWN),
                at=NOW,
                priority=extra.get("priority", 0),
                expires_at=extra.get("expires_at"),
            )
        session.commit()
        return list(session.scalars(select(Outbox.id).order_by(Outbox.id)))[-count:]


def rows(engine: Engine) -> list[Outbox]:
    with Session(engine) as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def row(engine: Engine, row_id: int) -> Outbox:
    with Session(engine) as session:
        found = session.get(Outbox, row_id)
        assert found is not None
        return found


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def ami_dialer(
    ami: FakeAmi, engine: Engine, limit: int = 2, clock: Callable[[], dt.datetime] = lambda: NOW
) -> AmiDialer:
    return AmiDialer(
        ami.url,
        context="outbound-ivr",
        trunk="carrier",
        caller_id="Urja Mitra <1912>",
        limit=limit,
        wait_s=0,
        response_timeout_s=3,
        on_end=call_outcome_recorder(engine, "asterisk", clock=clock),
    )


def variables(originate: Packet) -> dict[str, str]:
    return dict(v.split("=", 1) for v in originate["Variable"])


def alert_flow_runs(engine: Engine, originate: Packet) -> None:
    """The answered call runs the alert flow, as the FastAGI server runs it from the dialplan's AGI(): the dialog
    opens the call record with the attempt's reference (URJA_CALL_REF) and the alert's parameters."""
    sent = variables(originate)
    dialog = Dialog(CisBackend(make_session_factory(engine), now=lambda: NOW))
    dialog.start(
        channel="asterisk",
        call_ref=f"10.0.0.5/{originate['ChannelId']}",
        caller="1912",
        flow=sent["URJA_FLOW"],
        params=decode_params(sent["URJA_PARAMS"]),
        outbound_ref=sent["URJA_CALL_REF"],
    )


def answer_and_hang_up(ami: FakeAmi, originate: Packet, engine: Engine | None = None) -> None:
    """The consumer answers (Asterisk reports the Originate's success), hears the alert (when `engine` is given,
    the alert flow runs and records the call), and later hangs up."""
    if engine is not None:
        alert_flow_runs(engine, originate)
    channel_id = originate["ChannelId"]
    ami.emit("OriginateResponse", ActionID=channel_id, Response="Success", Uniqueid=channel_id, Reason="4")
    ami.emit("Hangup", Uniqueid=channel_id, Cause="16")


# -- AMI ------------------------------------------------------------------------------------------------------


def test_five_alerts_on_a_two_channel_trunk_are_each_called_once_never_more_than_two_at_a_time(
    engine: Engine, ami: FakeAmi
) -> None:
    ids = queue_calls(engine, 5)
    dialer = ami_dialer(ami, engine, limit=2)
    try:
        first = drain_calls(engine, dialer, now=NOW)
        assert (first.claimed, first.placed) == (2, 2)
        assert dialer.in_flight == 2
        # Both channels busy: the next drain takes nothing.
        assert drain_calls(engine, dialer, now=NOW) == CallStats()
        assert [r.status for r in rows(engine)] == ["sending", "sending", "pending", "pending", "pending"]
        drains = [first]
        answered = 0
        while answered < 5:
            originates = ami.originates()
            for originate in originates[answered:]:
                answer_and_hang_up(ami, originate, engine)
            answered = len(originates)
            eventually(lambda: dialer.in_flight == 0)
            drains.append(drain_calls(engine, dialer, now=NOW))
            assert dialer.in_flight <= 2
    finally:
        dialer.close()
    assert all(d.placed <= 2 for d in drains)
    originates = ami.originates()
    assert sorted(variables(o)["URJA_CALL_REF"] for o in originates) == sorted(f"outbox:{i}:1" for i in ids)
    eventually(lambda: all(r.status == "delivered" for r in rows(engine)))
    done = rows(engine)
    assert {(r.provider, r.attempts) for r in done} == {("asterisk", 1)}
    assert sorted(r.provider_id for r in done) == sorted(o["ChannelId"] for o in originates)
    assert {r.delivered_at for r in done} == {NOW}


def test_the_call_carries_the_alert_in_its_channel_variables(engine: Engine, ami: FakeAmi) -> None:
    [row_id] = queue_calls(engine, 1)
    dialer = ami_dialer(ami, engine)
    try:
        drain_calls(engine, dialer, now=NOW)
    finally:
        dialer.close()
    [originate] = ami.originates()
    assert originate["Channel"] == "PJSIP/919876500000@carrier"
    sent = variables(originate)
    assert (sent["URJA_FLOW"], sent["URJA_CALL_REF"]) == ("alert", f"outbox:{row_id}:1")
    assert decode_params(sent["URJA_PARAMS"]) == {**call_params("outage.breakdown", BREAKDOWN), "to": mobile(0)}


def test_a_call_asterisk_refused_is_tried_again_after_five_minutes_and_the_rest_wait_untouched(
    engine: Engine, ami: FakeAmi
) -> None:
    first, *others = queue_calls(engine, 3)
    ami.originate_reply = ("Error", "Extension does not exist.")
    dialer = ami_dialer(ami, engine, limit=5)
    try:
        stats = drain_calls(engine, dialer, now=NOW)
        assert (stats.claimed, stats.placed, stats.retried, stats.deferred) == (3, 0, 1, 2)
        refused = row(engine, first)
        assert (refused.status, refused.attempts) == ("pending", 1)
        assert refused.not_before == NOW + dt.timedelta(minutes=5)
        assert refused.last_error is not None
        assert "Extension does not exist" in refused.last_error
        assert [(row(engine, i).status, row(engine, i).attempts) for i in others] == [("pending", 0)] * 2

        ami.originate_reply = ("Success", "Originate successfully queued")
        assert drain_calls(engine, dialer, now=NOW + dt.timedelta(minutes=1)).placed == 2
        assert drain_calls(engine, dialer, now=NOW + dt.timedelta(minutes=5)).placed == 1
    finally:
        dialer.close()
    placed = [variables(o)["URJA_CALL_REF"] for o in ami.originates()]
    assert [ref for ref in placed if ref.startswith(f"outbox:{first}:")] == [f"outbox:{first}:1", f"outbox:{first}:2"]
    assert row(engine, first).attempts == 2


def test_a_call_refused_three_times_fails_with_the_reason(engine: Engine, ami: FakeAmi) -> None:
    [row_id] = queue_calls(engine, 1)
    ami.originate_reply = ("Error", "Extension does not exist.")
    dialer = ami_dialer(ami, engine)
    try:
        for minutes in (0, 5, 10):
            drain_calls(engine, dialer, now=NOW + dt.timedelta(minutes=minutes))
        assert drain_calls(engine, dialer, now=NOW + dt.timedelta(minutes=60)) == CallStats()
    finally:
        dialer.close()
    failed = row(engine, row_id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error is not None
    assert "Extension does not exist" in failed.last_error


def test_an_alert_past_its_expiry_is_never_called(engine: Engine, ami: FakeAmi) -> None:
    [stale] = queue_calls(engine, 1, expires_at=NOW - dt.timedelta(minutes=1))
    [fresh] = queue_calls(engine, 1, start=1, expires_at=NOW + dt.timedelta(hours=2))
    dialer = ami_dialer(ami, engine, limit=1)
    try:
        stats = drain_calls(engine, dialer, now=NOW)
    finally:
        dialer.close()
    assert (stats.expired, stats.placed) == (1, 1)
    assert [variables(o)["URJA_CALL_REF"] for o in ami.originates()] == [f"outbox:{fresh}:1"]
    assert (row(engine, stale).status, row(engine, stale).attempts) == ("expired", 0)


def test_a_busy_line_is_called_again_ten_minutes_later_three_times_in_all(engine: Engine, ami: FakeAmi) -> None:
    [row_id] = queue_calls(engine, 1)
    clock = [NOW]
    dialer = ami_dialer(ami, engine, clock=lambda: clock[0])
    try:
        for attempt in range(1, 4):
            assert drain_calls(engine, dialer, now=clock[0]).placed == 1
            originate = ami.originates()[-1]
            ami.emit(
                "OriginateResponse",
                ActionID=originate["ChannelId"],
                Response="Failure",
                Reason="5",
                Uniqueid="<null>",
            )
            eventually(lambda: row(engine, row_id).status != "sending")
            busy = row(engine, row_id)
            assert busy.attempts == attempt
            if attempt < 3:
                assert (busy.status, busy.not_before) == ("pending", clock[0] + dt.timedelta(minutes=10))
                assert drain_calls(engine, dialer, now=clock[0] + dt.timedelta(minutes=9)) == CallStats()
            clock[0] += dt.timedelta(minutes=10)
    finally:
        dialer.close()
    failed = row(engine, row_id)
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert "busy" in failed.last_error
    assert len(ami.originates()) == 3


def test_a_sip_busy_reported_as_reason_0_then_hangup_cause_17_is_recorded_busy(engine: Engine, ami: FakeAmi) -> None:
    [row_id] = queue_calls(engine, 1)
    dialer = ami_dialer(ami, engine)
    try:
        drain_calls(engine, dialer, now=NOW)
        channel_id = ami.originates()[0]["ChannelId"]
        # SIP 486 Busy Here, as Asterisk 22 reports it: the Originate fails without a reason, then the channel
        # hangs up with the Q.850 cause.
        ami.emit(
            "OriginateResponse",
            ActionID=channel_id,
            Response="Failure",
            Channel="PJSIP/carrier-00000007",
            Reason="0",
            Uniqueid="<null>",
        )
        busy_here = {"Cause": "17", "Cause-txt": "User busy"}
        ami.emit("Hangup", Channel="PJSIP/carrier-00000007", Uniqueid=channel_id, **busy_here)
        eventually(lambda: row(engine, row_id).status != "sending")
        assert dialer.in_flight == 0
    finally:
        dialer.close()
    busy = row(engine, row_id)
    assert (busy.status, busy.last_error) == ("pending", "call busy")


def test_a_failed_originate_that_names_no_reason_and_no_hangup_follows_is_recorded_failed(
    engine: Engine, ami: FakeAmi
) -> None:
    [row_id] = queue_calls(engine, 1)
    dialer = ami_dialer(ami, engine)
    dialer.cause_wait_s = 0.2
    try:
        drain_calls(engine, dialer, now=NOW)
        channel_id = ami.originates()[0]["ChannelId"]
        ami.emit("OriginateResponse", ActionID=channel_id, Response="Failure", Reason="0", Uniqueid="<null>")
        eventually(lambda: row(engine, row_id).status != "sending")
    finally:
        dialer.close()
    assert (row(engine, row_id).status, row(engine, row_id).last_error) == ("pending", "call failed")


def test_an_answered_call_whose_alert_never_played_fails_after_its_three_tries(engine: Engine, ami: FakeAmi) -> None:
    [row_id] = queue_calls(engine, 1)
    clock = [NOW]
    dialer = ami_dialer(ami, engine, clock=lambda: clock[0])
    try:
        for attempt in range(1, 4):
            assert drain_calls(engine, dialer, now=clock[0]).placed == 1
            answer_and_hang_up(ami, ami.originates()[-1])  # the FastAGI server is down: no call record
            eventually(lambda: row(engine, row_id).status != "sending")
            assert row(engine, row_id).attempts == attempt
            clock[0] += dt.timedelta(minutes=10)
    finally:
        dialer.close()
    failed = row(engine, row_id)
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert "never played" in failed.last_error
    assert "the last of 3 tries" in failed.last_error


def test_an_earlier_attempts_record_does_not_deliver_a_later_call(engine: Engine, ami: FakeAmi) -> None:
    [row_id] = queue_calls(engine, 1)
    clock = [NOW]
    dialer = ami_dialer(ami, engine, clock=lambda: clock[0])
    try:
        drain_calls(engine, dialer, now=clock[0])
        first = ami.originates()[0]
        alert_flow_runs(engine, first)
        ami.emit("OriginateResponse", ActionID=first["ChannelId"], Response="Failure", Reason="1", Uniqueid="<null>")
        eventually(lambda: row(engine, row_id).status == "pending")
        clock[0] += dt.timedelta(minutes=10)
        drain_calls(engine, dialer, now=clock[0])
        answer_and_hang_up(ami, ami.originates()[1])  # answered, but the second call's flow never ran
        eventually(lambda: row(engine, row_id).status != "sending")
    finally:
        dialer.close()
    assert (row(engine, row_id).status, row(engine, row_id).attempts) == ("pending", 2)


def test_an_end_reported_before_the_call_is_recorded_still_settles_its_row(engine: Engine, ami: FakeAmi) -> None:
    ids = queue_calls(engine, 3)
    ami.on_originate = lambda originate: answer_and_hang_up(ami, originate, engine)  # ends as soon as it is placed
    dialer = ami_dialer(ami, engine, limit=3)
    try:
        drain_calls(engine, dialer, now=NOW)
        eventually(lambda: [row(engine, i).status for i in ids] == ["delivered"] * 3)
    finally:
        dialer.close()


def test_a_call_whose_end_never_came_is_left_unknown_and_a_late_end_still_settles_it(
    engine: Engine, ami: FakeAmi
) -> None:
    [row_id] = queue_calls(engine, 1)
    dialer = ami_dialer(ami, engine)
    try:
        drain_calls(engine, dialer, now=NOW)
        assert settle_stuck_calls(engine, now=NOW + dt.timedelta(minutes=29)) == 0
        assert settle_stuck_calls(engine, now=NOW + dt.timedelta(minutes=31)) == 1
        assert row(engine, row_id).status == "unknown"
        assert drain_calls(engine, dialer, now=NOW + dt.timedelta(hours=1)).claimed == 0  # never called on a guess
        answer_and_hang_up(ami, ami.originates()[0], engine)
        eventually(lambda: row(engine, row_id).status == "delivered")
    finally:
        dialer.close()


def test_a_second_report_of_the_same_end_changes_nothing(engine: Engine) -> None:
    [row_id] = queue_calls(engine, 1)
    dialer = ConsoleDialer(limit=1, out=io.StringIO())
    drain_calls(engine, dialer, now=NOW)
    delivered = row(engine, row_id)
    assert delivered.provider_id is not None
    assert settle_call(engine, "console", delivered.provider_id, "busy", now=NOW) is None
    assert row(engine, row_id).status == "delivered"
    with pytest.raises(ValueError, match="outcome"):
        settle_call(engine, "console", delivered.provider_id, "ringing", now=NOW)


def test_a_row_with_nothing_to_say_fails_without_a_call(engine: Engine) -> None:
    [check] = queue_calls(engine, 1, template="outage.check")
    [garbled] = queue_calls(engine, 1, start=1, payload={"since": "half past two"})
    dialer = ConsoleDialer(limit=5, out=io.StringIO())
    stats = drain_calls(engine, dialer, now=NOW)
    assert (stats.failed, stats.placed) == (2, 0)
    assert list(dialer.placed) == []
    for row_id in (check, garbled):
        failed = row(engine, row_id)
        assert (failed.status, failed.attempts) == ("failed", 0)
        assert failed.last_error is not None
        assert failed.last_error.startswith("nothing to call")


# -- two dispatchers at once ----------------------------------------------------------------------------------


def test_two_dispatchers_draining_at_once_never_call_a_row_twice(engine: Engine) -> None:
    ids = queue_calls(engine, 40)
    dialers = [ConsoleDialer(limit=3, out=io.StringIO()) for _ in range(2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def dispatch(dialer: ConsoleDialer) -> None:
        try:
            start.wait(5)
            while drain_calls(engine, dialer, now=NOW).claimed:
                pass
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=dispatch, args=(d,)) for d in dialers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    placed = [call.call_ref for d in dialers for call, _ in d.placed]
    assert sorted(placed) == sorted(f"outbox:{i}:1" for i in ids)  # each exactly once
    assert {r.status for r in rows(engine)} == {"delivered"}


# -- Twilio ---------------------------------------------------------------------------------------------------


class StubDialog:
    """The call-record side of the voice blueprint, which these tests do not look at."""

    def handle(self, **kwargs: Any) -> Turn:
        return Turn("hi", (Say("alert.generic"),), Gather())

    def hangup(self, channel: str, call_ref: str, duration_s: int | None = None) -> None:
        pass


def test_twilio_status_callbacks_settle_the_rows_and_free_the_slots(engine: Engine) -> None:
    ids = queue_calls(engine, 3)
    with FakeTwilioApi(SID, TOKEN) as api:
        dialer = TwilioDialer(
            SID, TOKEN, from_number="+915122000000", public_url=PUBLIC, limit=2, base_url=api.base_url, wait_s=0
        )
        app = Flask(__name__)
        app.register_blueprint(
            voice_blueprint(
                StubDialog(),
                auth_token=TOKEN,
                audio=None,
                public_url=PUBLIC,
                agent_dial=None,
                catalog=catalog(),
                on_call_ended=dialer.call_ended,
                on_call_status=call_outcome_recorder(engine, "twilio", clock=lambda: NOW),
            )
        )
        client = app.test_client()

        def status(sid: str, call_status: str) -> None:
            form = {"CallSid": sid, "CallStatus": call_status, "Direction": "outbound-api", "AccountSid": SID}
            signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/voice/status", form)
            response = client.post("/voice/status", data=form, headers={"X-Twilio-Signature": signature})
            assert response.status_code == 200

        try:
            assert drain_calls(engine, dialer, now=NOW).placed == 2
            assert drain_calls(engine, dialer, now=NOW).placed == 0
            first = api.requests[0]
            assert first.form["Url"].startswith(f"{PUBLIC}/voice/incoming?flow=alert&ref=outbox%3A{ids[0]}%3A1&params=")
            by_row = {r.id: r.provider_id for r in rows(engine) if r.provider_id}
            # Twilio fetched the answer URL of the first call: the voice webhook ran the alert flow on it.
            answer = parse_qs(urlsplit(first.form["Url"]).query)
            Dialog(CisBackend(make_session_factory(engine), now=lambda: NOW)).handle(
                channel="twilio",
                call_ref=str(by_row[ids[0]]),
                caller="+915122000000",
                digits=None,
                flow="alert",
                params=decode_params(answer["params"][0]),
                outbound_ref=answer["ref"][0],
            )
            status(by_row[ids[0]], "completed")
            status(by_row[ids[1]], "no-answer")
            assert drain_calls(engine, dialer, now=NOW).placed == 1
        finally:
            dialer.close()
    assert row(engine, ids[0]).status == "delivered"
    unanswered = row(engine, ids[1])
    assert (unanswered.status, unanswered.not_before, unanswered.last_error) == (
        "pending",
        NOW + dt.timedelta(minutes=10),
        "call no-answer",
    )
    assert (row(engine, ids[2]).status, row(engine, ids[2]).provider) == ("sending", "twilio")


def test_a_completed_twilio_call_whose_webhook_never_ran_the_alert_is_called_again(engine: Engine) -> None:
    [row_id] = queue_calls(engine, 1)
    with FakeTwilioApi(SID, TOKEN) as api:
        dialer = TwilioDialer(
            SID, TOKEN, from_number="+915122000000", public_url=PUBLIC, limit=2, base_url=api.base_url, wait_s=0
        )
        try:
            drain_calls(engine, dialer, now=NOW)
        finally:
            dialer.close()
    sid = row(engine, row_id).provider_id
    assert sid is not None
    # Twilio answered but could not fetch the alert (our webhook was down: it played its own error message).
    call_outcome_recorder(engine, "twilio", clock=lambda: NOW)(sid, "completed")
    assert row(engine, row_id).status == "pending"


# -- no telephony -----------------------------------------------------------------------------------------------


def test_the_console_dialer_prints_the_masked_number_and_the_hindi_alert(engine: Engine) -> None:
    [row_id] = queue_calls(engine, 1)
    out = io.StringIO()
    stats = drain_calls(engine, ConsoleDialer(limit=2, out=out), now=NOW)
    assert (stats.placed, stats.delivered) == (1, 1)
    printed = out.getvalue()
    assert printed.startswith(f"[voice call outbox:{row_id}:1 to +91*******000] ऊर्जा मित्र की ओर से एक सूचना।")
    assert "आपके क्षेत्र में खराबी के कारण बिजली आपूर्ति बाधित है।" in printed
    assert "दोपहर दो बजकर तीस मिनट से आपूर्ति बंद है।" in printed
    assert "9876500000" not in printed
    delivered = row(engine, row_id)
    assert (delivered.status, delivered.provider, delivered.attempts) == ("delivered", "console", 1)


# -- a no-supply complaint during a published outage -------------------------------------------------------


def test_a_caller_complaining_of_no_supply_during_a_breakdown_hears_it_linked_and_its_restoration(
    session: Session, session_factory: Callable[[], Session]
) -> None:
    caller = "+919812300001"
    acc = factories.account(session, account_no="4620000001", mobiles=(caller,))
    feeder_id = factories.feeder_of(session, acc).id
    session.commit()
    report = Breakdown(
        since=NOW - dt.timedelta(hours=1),  # 14:30 in India
        cause="11 kV jumper snapped",
        feeder_ids=(feeder_id,),
        expected_restore_at=NOW + dt.timedelta(hours=2, minutes=30),  # 18:00
    )
    publish_breakdown(UnitOfWork(session_factory), report, actor=Actor("staff:desk-test"), now=NOW)
    dialog = Dialog(CisBackend(session_factory, now=lambda: NOW))

    call, _ = dialog.start(channel="asterisk", call_ref="c-linked", caller=caller)
    dialog.resume(call, "")  # past the welcome: the outage is announced, then the main menu
    dialog.resume(call, "3")  # complaint
    told = dialog.resume(call, "1")  # no supply
    dialog.finish(call, hung_up=True)

    text = spoken_text(told.items, "hi", catalog())
    assert text.startswith("आपकी शिकायत दर्ज कर ली गई है।")
    assert (
        "यह संख्या एसएमएस द्वारा भी भेजी जा रही है। "
        "आपके क्षेत्र में बिजली आपूर्ति बाधित होने की जानकारी हमें पहले से है, और आपकी शिकायत उसी से जोड़ दी गई है। "
        "सूचना: आपके क्षेत्र के फीडर पर खराबी के कारण बिजली आपूर्ति बाधित है। "
        "दोपहर दो बजकर तीस मिनट से आपूर्ति बंद है। "  # today: no date
        "शाम छह बजे तक आपूर्ति बहाल होने की संभावना है।"
    ) in text


def test_a_no_supply_complaint_with_no_outage_on_the_feeder_is_not_told_one(
    session: Session, session_factory: Callable[[], Session]
) -> None:
    caller = "+919812300002"
    factories.account(session, account_no="4620000002", mobiles=(caller,))
    session.commit()
    dialog = Dialog(CisBackend(session_factory, now=lambda: NOW))
    call, _ = dialog.start(channel="asterisk", call_ref="c-plain", caller=caller)
    for keys in ("", "3"):
        dialog.resume(call, keys)
    told = dialog.resume(call, "1")
    dialog.finish(call, hung_up=True)
    said = [item.key for item in told.items if isinstance(item, Say)]
    assert said == [
        "complaint.registered",
        "common.pause",
        "complaint.again",
        "common.pause",
        "complaint.sms_sent",
        "complaint.due_by",
        "common.is",
        "common.next",
    ]


def test_a_planned_shutdown_notice_waits_for_the_morning_while_a_breakdown_rings_at_night(engine: Engine) -> None:
    (notice,) = queue_calls(engine, 1, priority=2, template="outage.shutdown", payload=SHUTDOWN)
    (breakdown,) = queue_calls(engine, 1, start=1)
    night = dt.datetime(2026, 11, 20, 17, 30, tzinfo=dt.UTC)  # 23:00 in India
    dialer = ConsoleDialer(limit=5, out=io.StringIO())
    assert drain_calls(engine, dialer, now=night).placed == 1
    assert (row(engine, breakdown).status, row(engine, notice).status) == ("delivered", "pending")
    morning = dt.datetime(2026, 11, 21, 2, 45, tzinfo=dt.UTC)  # 08:15 in India
    assert drain_calls(engine, dialer, now=morning).placed == 1
    assert row(engine, notice).status == "delivered"


def test_two_workers_draining_at_once_keep_the_trunk_within_its_limit(pg_calls_engine: Engine, ami: FakeAmi) -> None:
    from cis.seed import reset
    from urjamitra.outages import drain_voice
    from urjamitra.settings import Settings

    engine = pg_calls_engine
    reset(engine)
    queue_calls(engine, 8)
    settings = Settings(database_url="sqlite://", call_limit=3, secret_key="test")
    # Two worker processes, each with a dialer of its own that would take ten calls.
    dialers = [ami_dialer(ami, engine, limit=10) for _ in range(2)]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda d: drain_voice(settings, engine, d, now=NOW), dialers))
        for _ in range(3):
            for dialer in dialers:
                drain_voice(settings, engine, dialer, now=NOW)
        assert len(ami.originates()) == 3  # the trunk's three, though each dialer had ten free
        answer_and_hang_up(ami, ami.originates()[0], engine)
        eventually(lambda: sum(r.status == "delivered" for r in rows(engine)) == 1)
        drain_voice(settings, engine, dialers[1], now=NOW)
        assert len(ami.originates()) == 4
    finally:
        for dialer in dialers:
            dialer.close()
