"""The 1912 console and the officers' to-do in a real browser on the production server: an agent finds a caller by
mobile and logs a complaint; a transferred IVR call pops the caller's page on the agent's screen; an SDO approves a
bill revision and the consumer sees the revised bill on the portal and its SMS; an overdue complaint moves up the
matrix (the sweep run with an injected clock); "2" on the closure SMS reopens a resolved complaint. Pages on a
desktop and a 360 px phone, in English and Hindi, each shot."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis import screen_pop
from cis.complaints import RegisterComplaint, register_complaint
from cis.consumer_auth import set_password
from cis.db import UnitOfWork, make_session_factory
from cis.escalation import sweep
from cis.models import (
    Account,
    AccountMobile,
    Bill,
    Complaint,
    DistributionTransformer,
    Feeder,
    IvrCall,
    Outbox,
    SubDivision,
    Substation,
)
from cis.passwords import WerkzeugHasher
from cis.service_requests import request_bill_revision
from sms.service import handle_inbound
from tests.e2e.support import LiveApp, console_errors, every_field_labelled, no_horizontal_scroll, shot

PORTAL_PASSWORD = "Arya Nagar 208002"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _factory(live_app: LiveApp) -> Any:
    return make_session_factory(live_app.engine)


def _consumers(live_app: LiveApp, count: int, skip: int) -> list[tuple[str, str, str]]:
    """(account no, verified mobile, sub-division code in lower case) of active accounts whose mobile holds only
    that account, skipping `skip` (each test takes its own: one open complaint of a kind per account)."""
    with Session(live_app.engine) as s:
        rows = s.execute(
            select(Account.account_no, AccountMobile.e164, SubDivision.code)
            .join(AccountMobile, AccountMobile.account_id == Account.id)
            .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
            .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
            .join(Substation, Substation.id == Feeder.substation_id)
            .join(SubDivision, SubDivision.id == Substation.sub_division_id)
            .where(Account.status == "active", AccountMobile.verified.is_(True), Account.sms_opt_out.is_(False))
            .order_by(Account.id.desc())
            .offset(skip)
            .limit(count * 4)
        ).all()
        alone = []
        for account_no, mobile, code in rows:
            holders = s.scalars(select(AccountMobile.account_id).where(AccountMobile.e164 == mobile)).all()
            if len(holders) == 1:
                alone.append((str(account_no), str(mobile), str(code).lower()))
        return alone[:count]


def _staff_sign_in(page: Any, username: str, password: str, landing: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(landing) + "$"))


def _looks_right(page: Any, name: str) -> None:
    page.wait_for_load_state("load")
    every_field_labelled(page)
    assert console_errors(page) == []
    shot(page, name)
    no_horizontal_scroll(page)


def _spaced(mobile: str) -> str:
    """A mobile as a caller reads it out: 98765 43210."""
    digits = mobile.removeprefix("+91")
    return f"{digits[:5]} {digits[5:]}"


WORDS = {
    "en": {"find": "Find a consumer", "logged": "logged", "complaints": "Complaints"},
    "hi": {"find": "उपभोक्ता खोजें", "logged": "दर्ज", "complaints": "शिकायतें"},
}


@pytest.mark.parametrize(("lang", "width"), [("en", 1280), ("hi", 1280), ("en", 360), ("hi", 360)])
def test_an_agent_finds_a_caller_by_mobile_and_logs_a_complaint(
    browser: Any, live_app: LiveApp, lang: str, width: int
) -> None:
    skip = {("en", 1280): 0, ("hi", 1280): 8, ("en", 360): 16, ("hi", 360): 24}[(lang, width)]
    account_no, mobile, _ = _consumers(live_app, 1, skip)[0]
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="hi-IN" if lang == "hi" else "en-IN", base_url=live_app.url
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"/lang/{lang}?next=/login")
        _staff_sign_in(page, "agent1", live_app.demo_password, "/console/")
        expect(page.locator("h1")).to_have_text(WORDS[lang]["find"])
        _looks_right(page, f"console-search-{lang}")
        page.locator("#q").fill(_spaced(mobile))
        page.locator("form.search button[type=submit]").click()
        expect(page).to_have_url(re.compile(rf"/console/accounts/{account_no}$"))
        expect(page.locator("#profile")).to_contain_text(account_no)
        _looks_right(page, f"console-360-{lang}")
        page.locator("#category").select_option("voltage")
        page.locator("#complaint-text").fill("Voltage drops every evening after 7 pm")
        page.locator("#log-complaint button[type=submit]").click()
        expect(page.locator("#notice")).to_contain_text(WORDS[lang]["logged"])
        number = re.search(r"\d{8,}", page.locator("#notice").inner_text())
        assert number is not None
        expect(page.locator("#complaints")).to_contain_text(number.group(0))
        shot(page, f"console-logged-{lang}")
    finally:
        context.close()
    with Session(live_app.engine) as s:
        logged = s.scalars(select(Complaint).where(Complaint.number == number.group(0))).one()
    assert (logged.channel, logged.category) == ("console", "voltage")


def test_a_transferred_ivr_call_pops_the_callers_page_on_the_agents_screen(page: Any, live_app: LiveApp) -> None:
    account_no, mobile, _ = _consumers(live_app, 1, 32)[0]
    factory = _factory(live_app)
    with factory() as s:
        account_id = s.scalar(select(Account.id).where(Account.account_no == account_no))
        call = IvrCall(
            channel="asterisk", call_ref=f"e2e-pop-{account_no}", direction="inbound", caller=mobile,
            account_id=account_id, path=["main", "bill.amount", "menu.agent"], started_at=_now(),
        )  # fmt: skip
        s.add(call)
        s.commit()
        call_id = call.id
    screen_pop.set_extension(UnitOfWork(factory), "agent2", "PJSIP/agent2", actor="e2e", now=_now())
    _staff_sign_in(page, "agent2", live_app.demo_password, "/console/")
    # The call is answered while the agent looks at the console: Asterisk's AgentConnect, as urjamitra screen-pop
    # records it.
    assert screen_pop.record_answer(UnitOfWork(factory), extension="PJSIP/agent2", call_id=call_id, source="ami")
    expect(page).to_have_url(re.compile(rf"/console/accounts/{account_no}\?call={call_id}$"), timeout=15_000)
    banner = page.locator("#call")
    expect(banner).to_contain_text(mobile)
    expect(banner).to_contain_text("main › bill.amount › menu.agent")
    expect(banner).to_contain_text("menu.agent")
    _looks_right(page, "console-screen-pop")


def test_an_sdo_approves_a_bill_revision_and_the_consumer_sees_the_revised_bill(
    browser: Any, live_app: LiveApp
) -> None:
    account_no, mobile, sub = _consumers(live_app, 1, 40)[0]
    factory = _factory(live_app)
    with factory() as s:
        account_id = s.scalar(select(Account.id).where(Account.account_no == account_no))
        bill = s.scalars(
            select(Bill).where(Bill.account_id == account_id, Bill.status != "superseded").order_by(Bill.cycle.desc())
        ).first()
        assert bill is not None
        bill_id, old_units = bill.id, bill.units
    number = request_bill_revision(
        UnitOfWork(factory), account_id, bill_id, "wrong_reading", "The reader noted my neighbour's meter", now=_now()
    ).number
    set_password(UnitOfWork(factory), account_no, PORTAL_PASSWORD, actor="e2e", now=_now(),
                 hasher=WerkzeugHasher("pbkdf2:sha256:1000"))  # fmt: skip
    after = live_app.last_sms_id()
    officer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-IN", base_url=live_app.url)
    officer.set_default_timeout(15_000)
    page = officer.new_page()
    try:
        _staff_sign_in(page, f"sdo.{sub}", live_app.demo_password, "/todo/")
        _looks_right(page, "todo-sdo")
        page.locator(f"#requests a:text('{number}')").click()
        expect(page.locator("#bills")).to_contain_text("Disputed bill")
        _looks_right(page, "todo-revision")
        new_units = max(1, old_units // 2)
        page.locator("#units").fill(str(new_units))
        page.locator("#approve-reason").fill("Reading re-taken on site")
        page.locator("#approve button[type=submit]").click()
        expect(page.locator("#notice")).to_contain_text("bill is revised")
        expect(page.locator("#bills")).to_contain_text("Revised bill")
        shot(page, "todo-revision-approved")
    finally:
        officer.close()
    told = live_app.sms_to(mobile, after_id=after, template="bill.revised_on_request")
    assert "revised to Rs" in told.text
    consumer = browser.new_context(viewport={"width": 360, "height": 800}, locale="en-IN", base_url=live_app.url)
    consumer.set_default_timeout(15_000)
    page = consumer.new_page()
    try:
        page.goto("/portal/login")
        page.locator("[name=account]").fill(account_no)
        page.locator("[name=password]").fill(PORTAL_PASSWORD)
        page.locator("form button[type=submit]").click()
        page.goto(f"/portal/requests/{number}")
        body = page.locator("main")
        expect(body).to_contain_text(str(new_units))
        expect(body).to_contain_text(str(old_units))
        shot(page, "portal-revised-bill")
    finally:
        consumer.close()
    admin = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-IN", base_url=live_app.url)
    page = admin.new_page()
    try:
        _staff_sign_in(page, "admin", live_app.demo_password, "/admin/system")
        page.goto("/sms/console")
        expect(page.locator("table")).to_contain_text(f"A/c {account_no}: bill for")
    finally:
        admin.close()


def test_an_overdue_complaint_moves_up_and_a_2_on_the_closure_sms_reopens_it(browser: Any, live_app: LiveApp) -> None:
    account_no, mobile, sub = _consumers(live_app, 1, 48)[0]
    factory = _factory(live_app)
    # No supply: the JE has 4 hours in a town, 8 in a village, some left (the server's own sweep, on the real clock,
    # leaves it alone).
    registered = _now() - dt.timedelta(hours=3)
    number = register_complaint(
        UnitOfWork(factory),
        RegisterComplaint(channel="ivr", category="no_supply", account_no=account_no, mobile=mobile),
        now=registered,
    ).number
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-IN", base_url=live_app.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        _staff_sign_in(page, f"je.{sub}", live_app.demo_password, "/todo/")
        expect(page.locator("#complaints tr", has_text=number)).to_contain_text("Junior Engineer")
        # A minute past the JE's time the sweep (Celery beat's, every 2 minutes) finds it run out: an injected clock.
        with Session(live_app.engine) as s:
            due = s.scalar(select(Complaint.sla_due_at).where(Complaint.number == number))
        assert due is not None
        report = sweep(live_app.engine, now=due + dt.timedelta(minutes=1))
        assert report.escalated >= 1
        page.goto("/todo/?scope=all")
        expect(page.locator("#complaints tr", has_text=number)).to_contain_text("Sub-Divisional Officer")
        page.locator(f"#complaints a:text('{number}')").click()
        expect(page.locator("ol.timeline")).to_contain_text("Sub-Divisional Officer")
        page.locator("#code").select_option("fuse_replaced")
        page.locator("#resolve-note").fill("New fuse on the DT")
        page.locator("#resolve button[type=submit]").click()
        expect(page.locator("#notice")).to_contain_text("Marked resolved")
        _looks_right(page, "todo-resolved")
        with Session(live_app.engine) as s:
            asked = s.scalars(
                select(Outbox).where(Outbox.template == "complaint.resolved", Outbox.recipient == mobile)
            ).all()
        assert len(asked) == 1
        reply = handle_inbound(factory, mobile=mobile, text="2", message_id=f"e2e-{number}-2", now=_now())
        assert reply.template_key == "reply.complaint_reopened", reply.text
        page.reload()
        expect(page.locator("#status")).to_have_text("Reopened")
        expect(page.locator("#complaint")).to_contain_text("Executive Engineer")
        shot(page, "todo-reopened")
        # The MIS of the JE's sub-division counts it: moved up once by the sweep, reopened once.
        page.goto("/mis/?days=7")
        expect(page.locator("#rates table")).to_contain_text("Reopened after being resolved")
        assert page.locator("svg.chart").count() == 6
        _looks_right(page, "mis-en")
        page.set_viewport_size({"width": 360, "height": 800})
        page.goto("/lang/hi?next=/mis/%3Fdays%3D7")
        _looks_right(page, "mis-hi")
    finally:
        context.close()
