"""The screen-pop on the wire: the IVR names the call in URJA_CALL_ID before `Queue` (AGI), Asterisk's AMI
AgentConnect carries it with the member who answered, Twilio's `<Dial>` reports the agent's answer; each ends with
the call popped on that agent's console."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cis import screen_pop
from cis.db import UnitOfWork
from cis.models import IvrCall, ScreenPop
from ivr.agent_events import AgentConnectListener, call_id_of
from ivr.fastagi import start_in_thread
from ivr.turns import Gather, Say, Transfer, Turn
from ivr.twilio_voice import voice_blueprint
from prompts.catalog import catalog
from tests import factories
from tests.integration.test_staff_login import add_staff
from tests.ivr_support import build_world, dialog_on
from tests.protocol.fake_ami import FakeAmi
from tests.protocol.fake_asterisk import FakeAsterisk
from tests.protocol.test_twilio_voice import CALL_SID, PUBLIC, TOKEN, FakeDialog, call_form, post

NOW = factories.NOW


def _factory(engine: Engine) -> Callable[[], Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def test_the_ivr_names_the_call_record_just_before_it_queues_the_caller(sqlite_engine: Engine) -> None:
    factory = _factory(sqlite_engine)
    with factory() as s:
        world = build_world(s)
        s.commit()
    with start_in_thread(dialog_on(factory), "127.0.0.1", 0, executor_workers=1) as server:
        call = FakeAsterisk(server.host, server.port).call(
            ["0"], callerid=world.single_mobile.removeprefix("+"), uniqueid="1767000500.7"
        )
    with factory() as s:
        (record,) = s.scalars(select(IvrCall)).all()
    assert call.commands[-2:] == [f'SET VARIABLE URJA_CALL_ID "{record.id}"', "EXEC Queue 1912"]


def test_agent_connect_on_ami_pops_the_call_on_the_agent_who_answered(sqlite_engine: Engine) -> None:
    factory = _factory(sqlite_engine)
    with factory() as s:
        acc = factories.account(s, mobiles=("+919876543210",))
        call = factories.call(s, acc=acc)
        add_staff(s, "agent7", role="agent")
        s.commit()
        call_id = call.id
    screen_pop.set_extension(UnitOfWork(factory), "agent7", "PJSIP/agent7", actor="test", now=NOW)
    answered: list[tuple[str, int]] = []

    def record(interface: str, cid: int) -> None:
        answered.append((interface, cid))
        screen_pop.record_answer(UnitOfWork(factory), extension=interface, call_id=cid, source="ami")

    with FakeAmi() as ami:
        listener = AgentConnectListener(ami.url, record, retry_s=0.2).start()
        try:
            assert listener.connected.wait(5)
            time.sleep(0.2)  # the Events action is answered
            ami.emit(
                "AgentConnect",
                Channel="PJSIP/trunk-0001",
                Queue="1912",
                MemberName="Agent 7",
                Interface="PJSIP/agent7",
                ChanVariable=f"URJA_CALL_ID={call_id}",
            )
            ami.emit("AgentConnect", Channel="PJSIP/trunk-0002", Queue="1912", Interface="PJSIP/agent7")
            deadline = time.monotonic() + 5
            while not answered and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            listener.stop()
    assert answered == [("PJSIP/agent7", call_id)]  # the event without URJA_CALL_ID pops nothing
    logins = [a for a in ami.actions if a["Action"] == "Login"]
    assert logins
    assert any(a["Action"] == "Events" for a in ami.actions)
    with factory() as s:
        pops = s.execute(select(ScreenPop.call_id, ScreenPop.source)).all()
    assert [tuple(p) for p in pops] == [(call_id, "ami")]


def test_the_call_variable_is_read_in_both_of_asterisks_forms() -> None:
    assert call_id_of({"ChanVariable": ["OTHER=1", "URJA_CALL_ID=42"]}) == 42
    assert call_id_of({"ChanVariable": "URJA_CALL_ID=43"}) == 43
    assert call_id_of({"ChanVariable(URJA_CALL_ID)": "44"}) == 44
    assert call_id_of({"ChanVariable": "URJA_CALL_ID="}) is None
    assert call_id_of({"DestChanVariable": "URJA_CALL_ID=45"}) is None  # the agent's leg, not the caller's


def test_twilio_reports_the_agents_answer_and_the_call_pops(sqlite_engine: Engine) -> None:
    factory = _factory(sqlite_engine)
    with factory() as s:
        acc = factories.account(s, mobiles=("+919876543210",))
        call = factories.call(s, acc=acc, channel="twilio", call_ref=CALL_SID)
        add_staff(s, "agent8", role="agent")
        s.commit()
        call_id = call.id
    screen_pop.set_extension(UnitOfWork(factory), "agent8", "sip:agent8@pbx.example.in", actor="test", now=NOW)
    popped: list[tuple[str, str]] = []

    def answered(agent: str, sid: str) -> None:
        popped.append((agent, sid))
        screen_pop.record_answer_for_call(
            UnitOfWork(factory), extension=agent, channel="twilio", call_ref=sid, source="twilio"
        )

    dialog = FakeDialog()
    dialog.turn = Turn("hi", (Say("common.transfer"),), Transfer())
    app = Flask(__name__)
    app.register_blueprint(
        voice_blueprint(
            dialog,
            auth_token=TOKEN,
            audio=None,
            public_url=PUBLIC,
            agent_dial="sip:agents@pbx.example.in",
            catalog=catalog(),
            on_agent_answered=answered,
        )
    )
    client = app.test_client()
    document = ET.fromstring(post(client, "/voice/incoming", call_form()).get_data(as_text=True))
    sip = document.find("./Dial/Sip")
    assert sip is not None
    assert sip.text == "sip:agents@pbx.example.in"
    assert sip.get("statusCallbackEvent") == "answered"
    callback = urlsplit(sip.get("statusCallback") or "")
    assert f"{callback.scheme}://{callback.netloc}" == PUBLIC
    assert parse_qs(callback.query) == {"call": [CALL_SID]}

    child = {
        "CallSid": "CA" + "9" * 32,
        "ParentCallSid": CALL_SID,
        "CallStatus": "in-progress",
        "To": "sip:agent8@pbx.example.in",
        "From": "+911800123456",
        "AccountSid": "AC" + "f" * 32,
    }
    unsigned = client.post(f"{callback.path}?{callback.query}", data=child)
    assert unsigned.status_code == 403
    answer = post(client, callback.path, child, query=callback.query)
    assert answer.status_code == 200
    assert popped == [("sip:agent8@pbx.example.in", CALL_SID)]
    with factory() as s:
        assert s.execute(select(ScreenPop.call_id, ScreenPop.source)).all() == [(call_id, "twilio")]


def test_a_gather_turn_carries_no_agent_callback(sqlite_engine: Engine) -> None:
    dialog = FakeDialog()
    dialog.turn = Turn("hi", (Say("menu.main"),), Gather(max_digits=1, timeout_ms=5000))
    app = Flask(__name__)
    app.register_blueprint(
        voice_blueprint(
            dialog,
            auth_token=TOKEN,
            audio=None,
            public_url=PUBLIC,
            agent_dial="+915122000000",
            catalog=catalog(),
            on_agent_answered=lambda agent, sid: None,
        )
    )
    body = post(app.test_client(), "/voice/incoming", call_form()).get_data(as_text=True)
    assert "statusCallback" not in body
