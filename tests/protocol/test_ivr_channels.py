"""Every branch of the inbound menu through each transport, with the real dialog and the real CIS.

The same walks run through the FastAGI server (a caller speaking AGI over TCP as Asterisk does), the
AGI script form (the script's stdin/stdout carried over a socket), Twilio's voice webhooks (signed as
Twilio signs) and the USSD gateway webhook (with its shared secret), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import queue
import re
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Protocol

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from cis.db import make_engine, make_session_factory
from cis.migrate import upgrade
from cis.models import Complaint, IvrCall, Outbox, Reading
from ivr.agi_script import run_agi_script
from ivr.fastagi import start_in_thread
from ivr.phone import run_phone
from prompts.catalog import catalog
from tests.conftest import own_postgres_database
from tests.ivr_support import World, build_world
from urjamitra.settings import Settings
from urjamitra.telephony import make_dialog
from urjamitra.web import create_app

TOKEN = "test-auth-token"
PUBLIC = "https://ivr.example.test"
USSD_SECRET = "ussd-shared-secret"
_refs = itertools.count(1)


# --- databases -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    """(url, world): a migrated database of this module's own with the IVR's test consumers."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ivr') / 'urjamitra.db'}"
        engine = make_engine(url)
        upgrade(engine)
        yield url, _world(engine)
        engine.dispose()
    else:
        with own_postgres_database(request.getfixturevalue("postgres_url"), "urja_ivrch") as engine:
            yield engine.url.render_as_string(hide_password=False), _world(engine)


def _world(engine: Engine) -> World:
    with make_session_factory(engine)() as session:
        world = build_world(session)
        session.commit()
    return world


@pytest.fixture(scope="module")
def settings(database: tuple[str, World], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database[0],
        twilio_auth_token=TOKEN,
        public_url=PUBLIC,
        ussd_secret=USSD_SECRET,
        agent_dial="+915122000000",
        prompts_dir=str(tmp_path_factory.mktemp("no-audio")),  # no audio: Twilio falls back to <Say>
    )


@pytest.fixture(scope="module")
def world(database: tuple[str, World]) -> World:
    return database[1]


@pytest.fixture(scope="module")
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


# --- callers, one per transport ----------------------------------------------------------------------------


class Caller(Protocol):
    screen: bool  # True when the channel shows text (USSD) rather than speaking it

    def dial(self, mobile: str) -> str:
        """Call in and return what is said up to the main menu (the welcome waited out)."""

    def press(self, keys: str) -> str:
        """Press keys ('' waits out the timeout); what is said next."""

    @property
    def ended(self) -> bool: ...


class PhoneCaller:
    """A caller on a line speaking AGI (ivr.phone answers every command as Asterisk does)."""

    screen = False

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.lines: list[str] = []
        self.asks: queue.Queue[str | None] = queue.Queue()
        self.keys: queue.Queue[str] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.seen = 0

    def _keys(self) -> str:
        self.asks.put("ask")
        return self.keys.get(timeout=20)

    def _run(self, mobile: str) -> None:
        try:
            run_phone(self.host, self.port, mobile, keys=self._keys, show=self.lines.append, timeout=20)
        finally:
            self.asks.put(None)

    def _next(self) -> str:
        asked = self.asks.get(timeout=20)
        if asked is None:
            self.thread = None
        out = " ".join(self.lines[self.seen :])
        self.seen = len(self.lines)
        return out

    def dial(self, mobile: str) -> str:
        self.thread = threading.Thread(target=self._run, args=(mobile,), daemon=True)
        self.thread.start()
        self._next()  # the welcome
        return self.press("")

    def press(self, keys: str) -> str:
        self.keys.put(keys)
        return self._next()

    @property
    def ended(self) -> bool:
        return self.thread is None

    def hang_up(self) -> None:
        if self.thread is not None:
            self.keys.put("q")
            self.thread.join(10)
            self.thread = None


class TwilioCaller:
    """Twilio's side of a call: signed webhook requests, TwiML back, read out as the caller hears it."""

    screen = False

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.sid = f"CA{next(_refs):032d}"
        self.action: str | None = None
        self.mobile = ""

    def _post(self, url: str, form: dict[str, str]) -> str:
        signature = RequestValidator(TOKEN).compute_signature(url, form)
        path = url.removeprefix(PUBLIC)
        response = self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.text
        assert response.mimetype == "text/xml"
        return self._hear(ET.fromstring(response.text))

    def _hear(self, root: ET.Element) -> str:
        said: list[str] = []
        self.action = None
        for node in root.iter():
            if node.tag == "Say":
                said.append(node.text or "")
            elif node.tag == "Play":
                stem = (node.text or "").split("/prompts/", 1)[1].split("/", 1)[1].removesuffix(".mp3")
                prompt = catalog().by_stem(stem)
                said.append(prompt.hi if prompt else f"[{stem}]")
            elif node.tag == "Gather":
                self.action = node.get("action")
            elif node.tag == "Dial":
                said.append("-- transferred to the agents")
        return " ".join(said)

    def _form(self, **extra: str) -> dict[str, str]:
        return {
            "AccountSid": "AC" + "1" * 32,
            "CallSid": self.sid,
            "From": self.mobile,
            "To": "+911800180000",
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **extra,
        }

    def dial(self, mobile: str) -> str:
        self.mobile = mobile
        self._post(PUBLIC + "/voice/incoming", self._form())
        return self.press("")

    def press(self, keys: str) -> str:
        assert self.action is not None, "the call has ended"
        if keys == "":
            return self._post(self.action.split("?")[0] + "?timeout=1", self._form())
        # Twilio ends the entry at finishOnKey and does not send the key itself.
        return self._post(self.action, self._form(Digits=keys.removesuffix("#")))

    @property
    def ended(self) -> bool:
        return self.action is None


class UssdCaller:
    """A USSD gateway: each request carries every input of the session so far, joined by '*'."""

    screen = True

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.session = f"ATUid_{next(_refs)}"
        self.inputs: list[str] = []
        self.mobile = ""
        self._ended = False

    def _post(self) -> str:
        form = {"sessionId": self.session, "serviceCode": "*1912#", "phoneNumber": self.mobile}
        form["text"] = "*".join(self.inputs)
        response = self.client.post("/ussd", data=form, headers={"X-USSD-Secret": USSD_SECRET})
        assert response.status_code == 200
        kind, _, screen = response.text.partition(" ")
        assert kind in ("CON", "END")
        self._ended = kind == "END"
        return screen

    def dial(self, mobile: str) -> str:
        self.mobile = mobile
        return self._post()

    def press(self, keys: str) -> str:
        assert not self._ended
        self.inputs.append(keys.removesuffix("#"))
        return self._post()

    @property
    def ended(self) -> bool:
        return self._ended


@pytest.fixture(scope="module")
def fastagi(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[tuple[str, int]]:
    with start_in_thread(make_dialog(settings, sessions), "127.0.0.1", 0) as server:
        yield server.host, server.port


@pytest.fixture(scope="module")
def agi_script_line(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[tuple[str, int]]:
    """Each connection runs the AGI script form on the connection's two directions, as Asterisk pipes them."""
    dialog = make_dialog(settings, sessions)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return

            def script(conn: socket.socket = conn) -> None:
                with conn, conn.makefile("r", encoding="utf-8") as stdin, conn.makefile("w", encoding="utf-8") as out:
                    run_agi_script(dialog, stdin, out)

            threading.Thread(target=script, daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()
    stop.set()
    listener.close()
    thread.join(5)


@pytest.fixture(scope="module")
def app_client(settings: Settings) -> Iterator[FlaskClient]:
    app = create_app(settings)
    yield app.test_client()
    app.extensions["urja.engine"].dispose()


@pytest.fixture(params=["fastagi", "agi_script", "twilio", "ussd"])
def caller(request: pytest.FixtureRequest) -> Iterator[Caller]:
    c: Caller
    if request.param == "fastagi":
        c = PhoneCaller(*request.getfixturevalue("fastagi"))
    elif request.param == "agi_script":
        c = PhoneCaller(*request.getfixturevalue("agi_script_line"))
    elif request.param == "twilio":
        c = TwilioCaller(request.getfixturevalue("app_client"))
    else:
        c = UssdCaller(request.getfixturevalue("app_client"))
    yield c
    if isinstance(c, PhoneCaller):
        c.hang_up()


# --- what a caller hears -------------------------------------------------------------------------------------


def text(caller: Caller, key: str, lang: str | None = None) -> str:
    prompt = catalog()[key]
    if caller.screen:
        return prompt.screen_text("en" if lang is None else lang)  # type: ignore[arg-type]
    return prompt.text("hi" if lang is None else lang)  # type: ignore[arg-type]


def number_as_heard(caller: Caller, digits: str) -> str:
    if caller.screen:
        return digits
    return " ".join(catalog().text(f"num.{d}", "hi") for d in digits)


def no_open_complaints(sessions: Callable[[], Session]) -> None:
    """Every channel calls in on one world, and an account holds one open complaint of a kind: resolve the
    earlier channels' complaints, so this one registers a new complaint."""
    with sessions() as s:
        s.execute(update(Complaint).where(Complaint.status == "open").values(status="resolved"))
        s.commit()


def latest_complaint(sessions: Callable[[], Session], account_no: str) -> Complaint:
    from cis.models import Account

    with sessions() as s:
        account_id = s.scalars(select(Account.id).where(Account.account_no == account_no)).one()
        return s.scalars(
            select(Complaint).where(Complaint.account_id == account_id).order_by(Complaint.id.desc()).limit(1)
        ).one()


# --- the branches --------------------------------------------------------------------------------------


def test_bill_inquiry_and_why(caller: Caller, world: World) -> None:
    menu = caller.dial(world.single_mobile)
    assert text(caller, "menu.main") in menu
    bill = caller.press("1")
    assert text(caller, "bill.amount_due") in bill
    assert text(caller, "bill.options") in bill
    why = caller.press("1")
    assert text(caller, "explain.this_bill") in why
    assert text(caller, "explain.estimated") in why
    assert text(caller, "menu.main") in caller.press("8")


def test_pay_reads_the_amount_and_1_sends_the_payment_link(
    caller: Caller, world: World, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s:
        before = len(s.scalars(select(Outbox).where(Outbox.template == "payment.link")).all())
    caller.dial(world.single_mobile)
    offer = caller.press("2")
    assert text(caller, "bill.amount_due") in offer
    assert text(caller, "pay.offer") in offer
    with sessions() as s:  # nothing is sent before the caller asks for it
        assert len(s.scalars(select(Outbox).where(Outbox.template == "payment.link")).all()) == before
    assert text(caller, "pay.sent") in caller.press("1")
    with sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.template == "payment.link")).all()
    assert len(rows) == before + 1
    assert rows[-1].recipient == world.single_mobile
    assert len(rows[-1].payload["token"]) == 10


def test_complaint_is_registered_and_its_number_told(
    caller: Caller, world: World, sessions: sessionmaker[Session]
) -> None:
    no_open_complaints(sessions)
    caller.dial(world.single_mobile)
    assert text(caller, "complaint.choose") in caller.press("3")
    told = caller.press("2")
    complaint = latest_complaint(sessions, world.single)
    assert complaint.category == "voltage"
    assert complaint.channel == ("ussd" if caller.screen else "ivr")
    # Said twice; a screen shows it once, for as long as it is needed.
    assert told.count(number_as_heard(caller, complaint.number)) == (1 if caller.screen else 2)
    assert text(caller, "complaint.due_by") in told  # when it is due to be resolved
    with sessions() as s:
        ack = s.scalars(select(Outbox).where(Outbox.template == "complaint.ack").order_by(Outbox.id.desc())).first()
    assert ack is not None
    assert ack.payload["number"] == complaint.number


def test_complaint_status(caller: Caller, world: World, sessions: sessionmaker[Session]) -> None:
    caller.dial(world.single_mobile)
    caller.press("3")
    caller.press("1")
    number = latest_complaint(sessions, world.single).number
    assert text(caller, "menu.main") in caller.press("8")
    assert text(caller, "status.enter") in caller.press("4")
    status = caller.press(number + "#")
    assert text(caller, "status.open") in status


def test_meter_reading(caller: Caller, world: World, sessions: sessionmaker[Session]) -> None:
    caller.dial(world.single_mobile)
    assert text(caller, "reading.enter") in caller.press("5")
    low = caller.press(f"{world.last_kwh - 5}#")
    assert text(caller, "reading.below_last") in low
    saved = caller.press(f"{world.last_kwh + 250}#")
    assert text(caller, "reading.saved") in saved
    with sessions() as s:
        kwh = s.scalars(select(Reading.kwh).where(Reading.kind == "consumer").order_by(Reading.id.desc())).first()
    assert kwh == world.last_kwh + 250


def test_agent_on_0(caller: Caller, world: World) -> None:
    caller.dial(world.single_mobile)
    out = caller.press("0")
    assert "1912" in out if caller.screen else text(caller, "common.transfer") in out
    if not isinstance(caller, PhoneCaller):
        assert caller.ended
    else:
        assert "transferred" in " ".join(caller.lines)


def test_an_unknown_caller_keys_in_the_account_number(caller: Caller, world: World) -> None:
    first = caller.dial(world.stranger_mobile)
    assert text(caller, "account.enter") in first
    assert text(caller, "account.not_found") in caller.press("9999999999#")
    menu = caller.press(world.single + "#")
    assert text(caller, "menu.main") in menu
    assert text(caller, "bill.amount_due") in caller.press("1")


def test_a_hash_after_the_full_account_number_is_no_wrong_choice(caller: Caller, world: World) -> None:
    caller.dial(world.stranger_mobile)
    if isinstance(caller, TwilioCaller):
        # Gather ends at the tenth digit; the "#" pressed after it reaches the main menu's Gather.
        caller.press(world.single)
        assert caller.action is not None
        menu = caller._post(caller.action, caller._form(Digits="#"))
    elif isinstance(caller, UssdCaller):
        caller.inputs.append(world.single + "#")  # typed on the screen with the number
        menu = caller._post()
    else:
        menu = caller.press(world.single + "#")  # the "#" is pressed while the main menu plays
    assert text(caller, "menu.main") in menu
    assert text(caller, "common.invalid") not in menu
    assert text(caller, "bill.amount_due") in caller.press("1")


def test_two_accounts_on_one_mobile_are_chosen_from(caller: Caller, world: World) -> None:
    choose = caller.dial(world.pair_mobile)
    assert text(caller, "identify.several") in choose
    assert text(caller, "menu.main") in caller.press("2")


def test_an_outage_on_the_feeder_is_announced_first(caller: Caller, world: World) -> None:
    menu = caller.dial(world.outage_mobile)
    assert menu.index(text(caller, "outage.breakdown")) < menu.index(text(caller, "menu.main"))


def test_invalid_keys_three_times_then_the_agent(caller: Caller, world: World) -> None:
    caller.dial(world.single_mobile)
    for _ in range(3):
        assert text(caller, "common.invalid") in caller.press("7")
    last = caller.press("7")
    assert text(caller, "common.too_many_tries") in last


def test_the_language_switches_on_9(caller: Caller, world: World) -> None:
    caller.dial(world.single_mobile)
    other = "en" if not caller.screen else "hi"
    menu = caller.press("9")
    assert text(caller, "menu.main", other) in menu


def test_each_call_leaves_a_record(caller: Caller, world: World, sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        before = len(s.scalars(select(IvrCall)).all())
    caller.dial(world.single_mobile)
    caller.press("1")
    caller.press("0")
    if isinstance(caller, PhoneCaller):
        caller.hang_up()
    with sessions() as s:
        calls = s.scalars(select(IvrCall).order_by(IvrCall.id)).all()
    assert len(calls) == before + 1
    record = calls[-1]
    assert record.caller == world.single_mobile
    assert "bill" in record.path
    assert record.outcome == "bill+transfer"


def test_a_call_keeps_every_service_it_used_before_the_agent(
    caller: Caller, world: World, sessions: sessionmaker[Session]
) -> None:
    caller.dial(world.single_mobile)
    assert text(caller, "bill.amount_due") in caller.press("1")
    caller.press("8")
    caller.press("3")
    caller.press("3")  # a meter complaint
    number = latest_complaint(sessions, world.single).number
    caller.press("8")
    caller.press("4")
    assert text(caller, "status.open") in caller.press(number + "#")
    caller.press("8")
    caller.press("5")
    assert text(caller, "reading.saved") in caller.press(f"{world.last_kwh + 250}#")
    caller.press("0")
    if isinstance(caller, PhoneCaller):
        caller.hang_up()
    with sessions() as s:
        record = s.scalars(select(IvrCall).order_by(IvrCall.id.desc())).first()
    assert record is not None
    assert record.outcome == "bill+complaint+status+reading+transfer"
    assert record.fault is None


def test_no_prompt_is_missing_from_the_catalog(world: World, fastagi: tuple[str, int]) -> None:
    unknown: list[str] = []
    keys = iter(["", "1", "1", "8", "3", "1", "8", "5", "1#", "q"])
    transcript = run_phone(*fastagi, world.single_mobile, keys=lambda: next(keys), show=lambda _: None)
    unknown += transcript.unknown_sounds
    assert unknown == []


def test_a_ussd_retry_reaching_another_web_process_gets_the_same_screen(
    settings: Settings, world: World, sessions: sessionmaker[Session]
) -> None:
    first, second = create_app(settings), create_app(settings)  # two web workers, one database
    try:
        session = f"ATUid_retry_{next(_refs)}"

        def post(app: object, text: str) -> str:
            form = {"sessionId": session, "serviceCode": "*1912#", "phoneNumber": world.single_mobile, "text": text}
            client = app.test_client()  # type: ignore[attr-defined]
            return str(client.post("/ussd", data=form, headers={"X-USSD-Secret": USSD_SECRET}).text)

        no_open_complaints(sessions)
        post(first, "")
        post(first, "3")
        registered = post(first, "3*1")
        assert post(second, "3*1") == registered  # the gateway's retry, on the other worker
        with sessions() as s:
            ussd = s.scalars(select(Complaint).where(Complaint.channel == "ussd")).all()
        assert sum(1 for c in ussd if c.number in registered) == 1
        assert post(second, "3*1*8").startswith("CON ")
    finally:
        for app in (first, second):
            app.extensions["urja.engine"].dispose()


def test_ussd_in_hindi_shows_hindi_screens_a_page_at_a_time(app_client: FlaskClient, world: World) -> None:
    from ivr.ussd import fits

    caller = UssdCaller(app_client)
    caller.dial(world.single_mobile)
    assert "1 बिल" in caller.press("9")  # 9: Hindi
    pages = [caller.press("1")]  # the bill
    while pages[-1].endswith("\n# आगे"):
        caller.inputs.append("#")  # the next page
        pages.append(caller._post())
    assert len(pages) > 1
    shown = "\n".join(pages)
    assert "बकाया: रु " in shown
    assert "अंतिम तिथि" in shown
    assert set(re.findall(r"[A-Za-z]+", shown)) == set()  # Hindi, not English in Hindi word order
    assert all(fits(page) for page in pages)
    assert "1 विवरण" in pages[-1]  # the bill's options end its last page
    why = caller.press("1")  # the choice after the pages is the bill's "why"
    assert why.startswith("इस बिल में खपत")
