"""The portal's mobiles and alert pages and the "supply on my feeder" card, through the whole app on SQLite and
PostgreSQL: a mobile added by the OTP read from the console SMS store, removed after a confirmation; alert
choices saved and then honoured by the outage fan-out; every form refused without its token; the pages in Hindi."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.models import Account, AccountMobile, AuditLog, Feeder, Outbox, RosterSubscription
from cis.seed import reset
from outage.events import Actor, Breakdown, publish_breakdown
from outage.fanout import fan_out_pending
from tests import factories
from tests.conftest import own_postgres_database
from tests.integration.test_staff_login import form_token
from tests.ivr_support import build_world
from tests.web_support import (
    DLT_ENTITY,
    GATEWAY_SECRET,
    PUBLIC,
    TWILIO_SID,
    TWILIO_TOKEN,
    USSD_SECRET,
    Site,
    build_site,
    console_sms,
    give_portal_password,
    portal_sign_in,
    running,
)
from urjamitra.settings import Settings

ACCOUNT = "4930000101"
NEIGHBOUR = "4930000102"  # on the same feeder
MINE = "+919876548113"
NEW = "+919812344455"
HINDI = {"Accept-Language": "hi-IN,hi;q=0.9"}


@pytest.fixture(scope="module")
def prefs_pg(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "urja_prefs_pages") as engine:
        yield engine


@pytest.fixture(params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    """The web_support site (SQLite), or the same consumers on this module's PostgreSQL database."""
    if request.param == "sqlite":
        return build_site(tmp_path)
    engine: Engine = request.getfixturevalue("prefs_pg")
    reset(engine)
    with make_session_factory(engine)() as session:
        world = build_world(session)
        session.commit()
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(
        database_url=url,
        secret_key="test",
        public_url=PUBLIC,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        sms_gateway_secret=GATEWAY_SECRET,
        ussd_secret=USSD_SECRET,
        dlt_entity_id=DLT_ENTITY,
        prompts_dir=str(tmp_path / "no-audio"),
    )
    return Site(url, world, "", settings)


@pytest.fixture
def ids(site: Site) -> dict[str, int]:
    """Two accounts on one feeder: mine with one verified mobile (and a portal password), a neighbour's."""
    engine = make_engine(site.url)
    try:
        with make_session_factory(engine)() as session:
            mine = factories.account(session, account_no=ACCOUNT, mobiles=(MINE,))
            dtr = factories.network(session)
            mine.dt_id = dtr.id
            neighbour = factories.account(session, account_no=NEIGHBOUR, mobiles=("+919800000102",), dtr=dtr)
            session.commit()
            found = {"account": mine.id, "neighbour": neighbour.id, "feeder": dtr.feeder_id}
    finally:
        engine.dispose()
    give_portal_password(site, ACCOUNT)
    return found


@pytest.fixture
def client(site: Site, ids: dict[str, int]) -> Iterator[FlaskClient]:
    with running(site.app()) as client:
        yield client


def _text(response: object) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))  # type: ignore[attr-defined]


def _otp(site: Site, mobile: str) -> str:
    texts = console_sms(site, mobile)
    assert texts, f"no SMS reached {mobile}"
    return texts[-1].split(" ", 1)[0]


def _rows(site: Site, model: type, *where: object) -> list:  # type: ignore[type-arg]
    engine = make_engine(site.url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(model).where(*where)))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def _mobile_ids(site: Site, account_id: int) -> dict[str, int]:
    return {m.e164: m.id for m in _rows(site, AccountMobile, AccountMobile.account_id == account_id)}


def _add(client: FlaskClient, site: Site, mobile: str = NEW) -> None:
    sent = client.post("/portal/mobiles", data={"mobile": mobile, "csrf_token": form_token(client, "/portal/mobiles")})
    assert (sent.status_code, sent.headers["Location"]) == (303, "/portal/mobiles/verify")
    token = form_token(client, "/portal/mobiles/verify")
    done = client.post("/portal/mobiles/verify", data={"code": _otp(site, mobile), "csrf_token": token})
    assert (done.status_code, done.headers["Location"]) == (303, "/portal/mobiles")


# --- mobiles -----------------------------------------------------------------------------------------------------


def test_a_mobile_is_added_by_the_otp_sent_to_it(client: FlaskClient, site: Site, ids: dict[str, int]) -> None:
    portal_sign_in(client, ACCOUNT)
    listed = _text(client.get("/portal/mobiles"))
    assert '<th scope="row">******8113</th>' in listed
    assert "Your only verified mobile: it cannot be removed." in listed
    assert "Your alerts and bill SMS go to this mobile." in listed
    assert "9876548113" not in listed  # only the last four digits are shown

    sent = client.post(
        "/portal/mobiles", data={"mobile": "98123 44455", "csrf_token": form_token(client, "/portal/mobiles")}
    )
    assert sent.headers["Location"] == "/portal/mobiles/verify"
    code_page = _text(client.get("/portal/mobiles/verify"))
    assert "We have sent an OTP by SMS to ******4455. It is valid for 10 minutes." in code_page
    [sms] = console_sms(site, NEW)  # to the new mobile itself; nothing to the one on record
    assert f"is your OTP to link a new mobile to A/c {ACCOUNT}" in sms
    assert console_sms(site, MINE) == []

    token = form_token(client, "/portal/mobiles/verify")
    wrong = f"{(int(sms[:6]) + 1) % 1_000_000:06d}"
    refused = client.post("/portal/mobiles/verify", data={"code": wrong, "csrf_token": token})
    assert refused.status_code == 400
    assert 'id="code-error" role="alert">The OTP is not correct. You can try 4 more times.' in _text(refused)
    assert 'aria-describedby="code-hint code-error" aria-invalid="true"' in _text(refused)

    done = client.post("/portal/mobiles/verify", data={"code": sms[:6], "csrf_token": token})
    assert done.headers["Location"] == "/portal/mobiles"
    page = _text(client.get("/portal/mobiles"))
    assert "The mobile ******4455 is added to your account and verified." in page
    assert '<th scope="row">******4455</th>' in page
    assert "cannot be removed" not in page  # two verified mobiles now: either may go
    assert "Gets OTPs. Alerts go to the first mobile listed." in page
    assert "is added to your account" not in _text(client.get("/portal/mobiles"))  # said once
    assert _mobile_ids(site, ids["account"]).keys() == {MINE, NEW}
    [audit] = _rows(site, AuditLog, AuditLog.action == "mobile.registered")
    assert (audit.actor, audit.entity_id, audit.detail["via"]) == ("consumer:portal", ACCOUNT, "portal")


def test_what_cannot_be_added_is_told_at_the_field(client: FlaskClient, site: Site) -> None:
    portal_sign_in(client, ACCOUNT)
    token = form_token(client, "/portal/mobiles")
    bad = client.post("/portal/mobiles", data={"mobile": "0512 2540000", "csrf_token": token})
    mine = client.post("/portal/mobiles", data={"mobile": MINE, "csrf_token": token})
    assert bad.status_code == 400
    assert 'id="mobile-error" role="alert">A mobile number has 10 digits and starts with 6, 7, 8 or 9.' in _text(bad)
    assert mine.status_code == 409
    assert "This mobile is already registered on your account." in _text(mine)


def test_three_codes_an_hour_go_to_a_mobile(client: FlaskClient, site: Site) -> None:
    portal_sign_in(client, ACCOUNT)
    token = form_token(client, "/portal/mobiles")
    for _ in range(3):
        assert client.post("/portal/mobiles", data={"mobile": NEW, "csrf_token": token}).status_code == 303
    fourth = client.post("/portal/mobiles", data={"mobile": NEW, "csrf_token": token})
    assert fourth.status_code == 429
    assert "Too many OTPs were asked for this mobile or account in the last hour." in _text(fourth)
    assert len(console_sms(site, NEW)) == 3
    # Past the address's own limit (URJA_LIMIT_OTP, 5 an hour), the page says so before anything is counted.
    client.post("/portal/mobiles", data={"mobile": "+919812300000", "csrf_token": token})
    limited = client.post("/portal/mobiles", data={"mobile": "+919812300001", "csrf_token": token})
    assert limited.status_code == 429
    assert console_sms(site, "+919812300001") == []


def test_a_mobile_is_removed_after_a_confirmation_but_never_the_last_verified_one(
    client: FlaskClient, site: Site, ids: dict[str, int]
) -> None:
    portal_sign_in(client, ACCOUNT)
    mine_id = _mobile_ids(site, ids["account"])[MINE]
    alone = client.post(f"/portal/mobiles/{mine_id}/remove", data={"csrf_token": form_token(client, "/portal/mobiles")})
    assert alone.status_code == 409
    assert "This is the only verified mobile on your account, so it cannot be removed." in _text(alone)

    _add(client, site)
    confirm = _text(client.get(f"/portal/mobiles/{mine_id}/remove"))
    assert "Remove the mobile ******8113?" in confirm
    assert "Yes, remove it" in confirm
    assert "signs you out" not in confirm  # signed in by password
    assert _mobile_ids(site, ids["account"]).keys() == {MINE, NEW}  # looking at the question removes nothing
    token = form_token(client, f"/portal/mobiles/{mine_id}/remove")
    removed = client.post(f"/portal/mobiles/{mine_id}/remove", data={"csrf_token": token})
    assert removed.headers["Location"] == "/portal/mobiles"
    assert "The mobile ******8113 is removed from your account." in _text(client.get("/portal/mobiles"))
    assert _mobile_ids(site, ids["account"]).keys() == {NEW}
    # Someone else's mobile, or one already gone, is not found.
    theirs = _mobile_ids(site, ids["neighbour"])["+919800000102"]
    assert client.get(f"/portal/mobiles/{theirs}/remove").status_code == 404
    assert client.post(f"/portal/mobiles/{theirs}/remove", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/portal/mobiles/{mine_id}/remove", data={"csrf_token": token}).status_code == 404
    assert _mobile_ids(site, ids["neighbour"]).keys() == {"+919800000102"}


def test_removing_the_mobile_you_signed_in_with_signs_you_out(
    client: FlaskClient, site: Site, ids: dict[str, int]
) -> None:
    sent = client.post(
        "/portal/login/otp",
        data={"mobile": MINE, "csrf_token": form_token(client, "/portal/login/otp")},
    )
    assert sent.headers["Location"] == "/portal/login/otp/verify"
    token = form_token(client, "/portal/login/otp/verify")
    assert (
        client.post("/portal/login/otp/verify", data={"code": _otp(site, MINE), "csrf_token": token}).status_code == 303
    )
    _add(client, site)
    mine_id = _mobile_ids(site, ids["account"])[MINE]
    listed = _text(client.get("/portal/mobiles"))
    assert "You signed in with this mobile." in listed
    confirm = _text(client.get(f"/portal/mobiles/{mine_id}/remove"))
    assert "You signed in with this mobile, so removing it also signs you out." in confirm

    token = form_token(client, f"/portal/mobiles/{mine_id}/remove")
    gone = client.post(f"/portal/mobiles/{mine_id}/remove", data={"csrf_token": token})

    assert gone.headers["Location"] == "/portal/login"
    assert client.get_cookie("portal_session") is None
    assert client.get("/portal/").headers["Location"] == "/portal/login?next=/portal/"


# --- alerts ------------------------------------------------------------------------------------------------------


def test_alert_choices_are_saved_and_the_outage_fan_out_honours_them(
    client: FlaskClient, site: Site, ids: dict[str, int]
) -> None:
    portal_sign_in(client, ACCOUNT)
    mine_id = _mobile_ids(site, ids["account"])[MINE]
    form = _text(client.get("/portal/alerts"))
    for box in ("outage", "roster", "bill"):
        assert f'name="{box}" value="on" aria-describedby="{box}-hint" checked' in form
    assert 'name="channel" value="sms" checked' in form
    assert f'name="roster_mobile" value="{mine_id}">' in form  # not subscribed yet

    token = form_token(client, "/portal/alerts")
    saved = client.post(
        "/portal/alerts",
        data={"roster": "on", "bill": "on", "channel": "voice", "roster_mobile": str(mine_id), "csrf_token": token},
    )
    assert (saved.status_code, saved.headers["Location"]) == (303, "/portal/alerts")
    page = _text(client.get("/portal/alerts"))
    assert "Your choices are saved." in page
    assert 'name="outage" value="on" aria-describedby="outage-hint">' in page  # unticked
    assert 'name="channel" value="voice" aria-describedby="voice-hint" checked' in page
    assert f'name="roster_mobile" value="{mine_id}" checked' in page
    [account] = _rows(site, Account, Account.id == ids["account"])
    assert (account.alert_outage, account.alert_roster, account.alert_bill, account.alert_channel) == (
        False,
        True,
        True,
        "voice",
    )
    assert [s.e164 for s in _rows(site, RosterSubscription, RosterSubscription.account_id == ids["account"])] == [MINE]

    # A breakdown on our feeder: the neighbour is told, we are not (by neither channel).
    engine = make_engine(site.url)
    try:
        now = dt.datetime.now(dt.UTC)
        publish_breakdown(
            UnitOfWork(make_session_factory(engine)),
            Breakdown(since=now - dt.timedelta(minutes=5), cause="Jumper snapped", feeder_ids=(ids["feeder"],),
                      expected_restore_at=now + dt.timedelta(hours=2)),
            actor=Actor("staff:desk.test"),
            now=now,
        )  # fmt: skip
        fan_out_pending(engine, now=now)
    finally:
        engine.dispose()
    told = {r.account_id for r in _rows(site, Outbox, Outbox.template.like("outage.%"))}
    assert told == {ids["neighbour"]}


def test_voice_needs_a_number_and_a_tampered_form_saves_nothing(
    client: FlaskClient, site: Site, ids: dict[str, int]
) -> None:
    portal_sign_in(client, ACCOUNT)
    token = form_token(client, "/portal/alerts")
    theirs = _mobile_ids(site, ids["neighbour"])["+919800000102"]
    odd = client.post("/portal/alerts", data={"channel": "email", "csrf_token": token})
    foreign = client.post("/portal/alerts", data={"channel": "sms", "roster_mobile": str(theirs), "csrf_token": token})
    assert odd.status_code == 400
    assert 'id="channel-error" role="alert">Please choose SMS or a voice call.' in _text(odd)
    assert 'fieldset id="channel" aria-describedby="channel-error"' in _text(odd)
    assert foreign.status_code == 400
    assert "Please tick only the mobiles listed." in _text(foreign)
    [account] = _rows(site, Account, Account.id == ids["account"])
    assert (account.alert_outage, account.alert_bill) == (True, True)
    assert _rows(site, AuditLog, AuditLog.action.like("alerts.%")) == []


# --- the form token, the feeder card, Hindi ------------------------------------------------------------------------


def test_every_form_is_refused_without_its_token_and_changes_nothing(
    client: FlaskClient, site: Site, ids: dict[str, int]
) -> None:
    portal_sign_in(client, ACCOUNT)
    _add(client, site)
    mine_id = _mobile_ids(site, ids["account"])[MINE]
    client.post(
        "/portal/mobiles", data={"mobile": "+919812300000", "csrf_token": form_token(client, "/portal/mobiles")}
    )
    for path, data in (
        ("/portal/mobiles", {"mobile": "+919812399999"}),
        ("/portal/mobiles/verify", {"code": "123456"}),
        (f"/portal/mobiles/{mine_id}/remove", {}),
        ("/portal/alerts", {"channel": "voice"}),
    ):
        refused = client.post(path, data=data)
        assert refused.status_code == 400, path
        assert "The form had expired" in _text(refused)
    assert _mobile_ids(site, ids["account"]).keys() == {MINE, NEW}
    assert console_sms(site, "+919812399999") == []
    [account] = _rows(site, Account, Account.id == ids["account"])
    assert account.alert_channel == "sms"


def test_the_home_page_shows_the_supply_on_my_feeder(client: FlaskClient, site: Site, ids: dict[str, int]) -> None:
    portal_sign_in(client, ACCOUNT)
    [feeder] = _rows(site, Feeder, Feeder.id == ids["feeder"])
    home = _text(client.get("/portal/"))
    assert "Supply on my feeder" in home
    assert f"Feeder: {feeder.name}" in home
    assert "No interruption is reported on your feeder." in home
    assert 'href="/portal/alerts"' in home

    engine = make_engine(site.url)
    try:
        now = dt.datetime.now(dt.UTC)
        publish_breakdown(
            UnitOfWork(make_session_factory(engine)),
            Breakdown(since=now - dt.timedelta(minutes=30), cause="Jumper snapped", feeder_ids=(ids["feeder"],),
                      expected_restore_at=now + dt.timedelta(hours=2)),
            actor=Actor("staff:desk.test"),
            now=now,
        )  # fmt: skip
    finally:
        engine.dispose()
    home = _text(client.get("/portal/"))
    assert "Breakdown:</strong> supply is off since" in home
    assert "Expected back by" in home
    hindi = _text(client.get("/portal/", headers=HINDI))
    assert "मेरे फीडर पर बिजली" in hindi
    assert "बिजली आने का अनुमानित समय" in hindi


def test_the_pages_read_in_hindi(client: FlaskClient, site: Site) -> None:
    portal_sign_in(client, ACCOUNT)
    mobiles = _text(client.get("/portal/mobiles", headers=HINDI))
    assert '<html lang="hi">' in mobiles
    assert "पंजीकृत मोबाइल" in mobiles
    assert "नया मोबाइल नंबर" in mobiles
    alerts = _text(client.get("/portal/alerts", headers=HINDI))
    assert "बिजली बंद होने की सूचना कैसे मिले?" in alerts
    assert "हिंदी में वॉइस कॉल से" in alerts
    token = form_token(client, "/portal/mobiles")
    bad = client.post("/portal/mobiles", data={"mobile": "12345", "csrf_token": token}, headers=HINDI)
    assert "मोबाइल नंबर 10 अंकों का होता है" in _text(bad)
