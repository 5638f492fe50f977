"""The 1912 console and the officers' to-do through the whole app: what an agent and an officer see and do, what
the consumer is sent, and who may reach which page (the role table)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cis import screen_pop
from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.models import Account, AuditLog, Bill, Complaint, Outbox, ServiceRequest
from cis.service_requests import Application, apply, request_bill_revision
from tests import factories
from tests.integration.test_staff_login import add_staff, form_token
from tests.web_support import Site, build_site, give_portal_password, portal_sign_in, running, signed_in

NOW = factories.NOW
CALLER = "+919876543210"


@dataclass(frozen=True)
class Desk:
    """The site, with staff of two sub-divisions: `near` holds world.single, `far` does not."""

    site: Site
    near: int  # sub-division id of world.single
    far_account: str  # an account of another sub-division
    revision: str  # an open bill-revision request on world.single
    application: str  # an open load-change application on world.pair[0]
    complaint: str  # an open voltage complaint on world.single (the site's)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    site = build_site(tmp_path_factory.mktemp("console"))
    engine = make_engine(site.url)
    factory = make_session_factory(engine)
    try:
        with factory() as s:
            single = s.scalars(select(Account).where(Account.account_no == site.world.single)).one()
            near = factories.sub_division_of(s, single)
            pair = s.scalars(select(Account).where(Account.account_no == site.world.pair[0])).one()
            pair_sub = factories.sub_division_of(s, pair)
            far = factories.account(s, account_no="7100000999", mobiles=("+919811112222",), name="Far Away")
            far_sub = factories.sub_division_of(s, far)
            add_staff(s, "agent1", role="agent")
            for role in ("je", "sdo"):
                add_staff(s, f"{role}.near", role=role, scope_level="sub_division", scope_id=near)
                add_staff(s, f"{role}.pair", role=role, scope_level="sub_division", scope_id=pair_sub)
                add_staff(s, f"{role}.far", role=role, scope_level="sub_division", scope_id=far_sub)
            bill = s.scalars(
                select(Bill).where(Bill.account_id == single.id, Bill.cycle == "2026-10").order_by(Bill.version.desc())
            ).first()
            assert bill is not None
            s.commit()
            single_id, bill_id, pair_id = single.id, bill.id, pair.id
        uow = UnitOfWork(factory)
        revision = request_bill_revision(
            uow, single_id, bill_id, "wrong_reading", "Reading taken from the neighbour's meter", now=NOW
        ).number
        application = apply(
            uow, Application(kind="load_change", account_id=pair_id, load_kw=Decimal("3")), now=NOW
        ).number
    finally:
        engine.dispose()
    return Desk(site, near, "7100000999", revision, application, site.complaint)


@pytest.fixture
def client(desk: Desk) -> Iterator[FlaskClient]:
    with running(desk.site.app()) as c:
        yield c


def _notice(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'id="notice"><p>([^<]+)', html)
    return unescape(found.group(1)) if found else ""


def _sms(desk: Desk, template: str) -> list[Outbox]:
    engine = make_engine(desk.site.url)
    try:
        with make_session_factory(engine)() as s:
            return list(s.scalars(select(Outbox).where(Outbox.template == template).order_by(Outbox.id)))
    finally:
        engine.dispose()


# --- the agent --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["+919876543210", "98765 43210", "0-9876543210", "919876543210"])
def test_an_agent_finds_the_caller_by_mobile_in_any_format(client: FlaskClient, desk: Desk, typed: str) -> None:
    signed_in(client, "agent1")
    response = client.get("/console/", query_string={"q": typed})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/console/accounts/{desk.site.world.single}"


def test_an_agent_finds_consumers_by_name_in_english_or_hindi(client: FlaskClient, desk: Desk) -> None:
    signed_in(client, "agent1")
    english = client.get("/console/", query_string={"q": "rAMesh v"}).get_data(as_text=True)
    hindi = client.get("/console/", query_string={"q": "रमेश"}).get_data(as_text=True)
    nobody = client.get("/console/", query_string={"q": "Zzyzx"}).get_data(as_text=True)
    assert desk.site.world.single in english
    assert desk.site.world.single in hindi
    assert 'id="no-hits"' in nobody
    short = client.get("/console/", query_string={"q": "r"}).get_data(as_text=True)
    assert 'id="q-error"' in short


def test_the_360_shows_what_the_consumer_heard_and_received_with_secrets_blanked(
    client: FlaskClient, desk: Desk
) -> None:
    engine = make_engine(desk.site.url)
    try:
        factory = make_session_factory(engine)
        with factory() as s:
            single = s.scalars(select(Account).where(Account.account_no == desk.site.world.single)).one()
            call = factories.call(s, acc=single, outcome="bill+transfer", duration_s=95)
            call.path = ["main", "bill.amount", "menu.agent"]
            s.add(
                Outbox(
                    channel="sms",
                    template="otp.register",
                    recipient="+919876543210",
                    account_id=single.id,
                    payload={"otp": "482913", "account_no": single.account_no, "minutes": 10},
                    dedupe_key="test:otp",
                    status="sent",
                    priority=0,
                    attempts=1,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            s.commit()
    finally:
        engine.dispose()
    signed_in(client, "agent1")
    html = client.get(f"/console/accounts/{desk.site.world.single}").get_data(as_text=True)
    calls = html[html.index('id="calls"') : html.index('id="sms"')]
    assert "main › bill.amount › menu.agent" in calls
    assert "bill+transfer" in calls
    sms = html[html.index('id="sms"') : html.index('id="actions"')]
    assert "482913" not in html
    assert "******" in sms
    assert "Ramesh Verma" in html


def test_an_agent_logs_a_complaint_for_the_caller_once(client: FlaskClient, desk: Desk) -> None:
    signed_in(client, "agent1")
    page = f"/console/accounts/{desk.site.world.single}"
    data = {
        "csrf_token": form_token(client, page),
        "category": "meter",
        "mobile": "+919876543210",
        "text": "Meter display blank since Sunday",
        "request_id": "console-test-request-0001",
    }
    first = client.post(f"{page}/complaint", data=data)
    again = client.post(f"{page}/complaint", data=data)  # a double click
    assert first.status_code == again.status_code == 302
    said = _notice(client, page)
    number = re.search(r"Complaint (\d+) logged", said)
    assert number, said
    engine = make_engine(desk.site.url)
    try:
        with make_session_factory(engine)() as s:
            rows = s.execute(select(Complaint.channel, Complaint.text).where(Complaint.category == "meter")).all()
    finally:
        engine.dispose()
    assert rows == [("console", "Meter display blank since Sunday")]
    assert any(o.payload["number"] == number.group(1) for o in _sms(desk, "complaint.ack"))


def test_an_agent_sends_the_bill_sms_again_and_notes_the_account(client: FlaskClient, desk: Desk) -> None:
    signed_in(client, "agent1")
    page = f"/console/accounts/{desk.site.world.single}"
    client.post(f"{page}/sms", data={"csrf_token": form_token(client, page), "what": "bill", "request_id": "r-bill-1"})
    assert "Bill SMS sent" in _notice(client, page)
    resent = [o for o in _sms(desk, "bill.issued") if o.dedupe_key.startswith("bill.issued:resend:")]
    assert resent
    assert resent[-1].recipient == "+919876543210"
    client.post(f"{page}/note", data={"csrf_token": form_token(client, page), "text": "Meter box locked; call first"})
    assert "Meter box locked; call first" in client.get(page).get_data(as_text=True)


def test_a_transferred_call_pops_on_the_agent_who_answered(client: FlaskClient, desk: Desk) -> None:
    engine = make_engine(desk.site.url)
    try:
        factory = make_session_factory(engine)
        with factory() as s:
            single = s.scalars(select(Account).where(Account.account_no == desk.site.world.single)).one()
            call = factories.call(s, acc=single, outcome=None)
            call.path = ["main", "complaint.category"]
            s.commit()
            call_id = call.id
        screen_pop.set_extension(UnitOfWork(factory), "agent1", "PJSIP/agent1", actor="test", now=NOW)
        pop = screen_pop.record_answer(UnitOfWork(factory), extension="pjsip/AGENT1", call_id=call_id, source="ami")
    finally:
        engine.dispose()
    assert pop is not None
    signed_in(client, "agent1")
    polled = client.get("/console/pop.json").get_json()
    assert polled["pop"]["call_id"] == call_id
    assert client.get("/console/pop.json", query_string={"after": polled["pop"]["id"]}).get_json() == {"pop": None}
    opened = client.get(polled["pop"]["url"])
    assert opened.headers["Location"] == f"/console/accounts/{desk.site.world.single}?call={call_id}"
    banner = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert "main › complaint.category" in banner
    assert "do not ask for it again" in banner


# --- the officers ---------------------------------------------------------------------------------------------


def test_the_je_resolves_and_the_consumers_code_closes_it(client: FlaskClient, desk: Desk) -> None:
    number = register_complaint(
        UnitOfWork(make_session_factory(make_engine(desk.site.url))),
        RegisterComplaint(
            channel="ivr", category="no_supply", account_no=desk.site.world.single, mobile="+919876543210"
        ),
        now=NOW,
    ).number
    signed_in(client, "je.near")
    assert number in client.get("/todo/").get_data(as_text=True)
    page = f"/todo/complaints/{number}"
    client.post(
        f"{page}/resolve", data={"csrf_token": form_token(client, page), "code": "fuse_replaced", "note": "32 A"}
    )
    assert "Marked resolved" in _notice(client, page)
    asked = [o for o in _sms(desk, "complaint.resolved") if o.payload.get("number") == number]
    assert len(asked) == 1
    code = asked[0].payload["code"]
    client.post(f"{page}/site-code", data={"csrf_token": form_token(client, page), "code": code})
    assert "closed as confirmed on site" in _notice(client, page)


def test_the_sdo_approves_a_revision_and_the_consumer_sees_both_bills(client: FlaskClient, desk: Desk) -> None:
    signed_in(client, "sdo.near")
    assert desk.revision in client.get("/todo/").get_data(as_text=True)
    page = f"/todo/requests/{desk.revision}"
    data = {"csrf_token": form_token(client, page), "units": "120", "reason": "Reading re-taken on site"}
    client.post(f"{page}/approve", data=data)
    assert "bill is revised" in _notice(client, page)
    [told] = [o for o in _sms(desk, "bill.revised_on_request") if o.payload["account_no"] == desk.site.world.single]
    assert told.payload["amount_paise"] < told.payload["old_amount_paise"]
    give_portal_password(desk.site, desk.site.world.single)
    with running(desk.site.app()) as consumer:
        portal_sign_in(consumer, desk.site.world.single)
        html = consumer.get(f"/portal/requests/{desk.revision}").get_data(as_text=True)
    assert "120" in html
    assert html.count("2026") >= 2


def test_an_application_moves_step_by_step_with_an_sms_each(client: FlaskClient, desk: Desk) -> None:
    signed_in(client, "sdo.pair")
    page = f"/todo/requests/{desk.application}"
    for step in ("documents_verified", "site_inspected"):
        client.post(f"{page}/step", data={"csrf_token": form_token(client, page), "step": step})
    client.post(f"{page}/step", data={"csrf_token": form_token(client, page), "step": "released"})  # out of order
    assert "not the application's next step" in _notice(client, page)
    steps = [o.payload["status"] for o in _sms(desk, "request.status") if o.payload["number"] == desk.application]
    assert steps == ["documents verified", "site inspection done"]


# --- who may see what: the role table -----------------------------------------------------------------------------

ROLES = ("anonymous", "agent1", "je.near", "sdo.near", "je.far", "admin", "desk.d1")
# GET pages: what each role gets, for an account or item of `near` (in scope) and of `far`.
# For each page, what each of ROLES gets (in that order), for an account or item of `near` (in scope) and of `far`.
EXPECTED_GET = {
    "/console/": (302, 200, 200, 200, 200, 200, 403),
    "/console/accounts/{near}": (302, 200, 200, 200, 404, 200, 403),
    "/console/accounts/{far}": (302, 200, 404, 404, 200, 200, 403),
    "/todo/": (302, 403, 200, 200, 200, 200, 403),
    "/todo/complaints/{complaint}": (302, 403, 200, 200, 404, 200, 403),
    "/todo/requests/{revision}": (302, 403, 200, 200, 404, 200, 403),
    "/mis/": (302, 403, 200, 200, 200, 200, 403),
    "/mis/pendency.csv": (302, 403, 200, 200, 200, 200, 403),
    "/mis/nothing.csv": (302, 403, 404, 404, 404, 404, 403),
}


@pytest.mark.parametrize("who", ROLES)
def test_every_page_answers_each_role_as_the_table_says(desk: Desk, who: str) -> None:
    with running(desk.site.app()) as client:
        if who != "anonymous":
            signed_in(client, who)
        for template, expected in EXPECTED_GET.items():
            path = template.format(
                near=desk.site.world.single, far=desk.far_account, complaint=desk.complaint, revision=desk.revision
            )
            assert client.get(path).status_code == expected[ROLES.index(who)], (who, path)


@pytest.mark.parametrize("who", ["agent1", "je.far", "desk.d1", "anonymous"])
def test_no_one_out_of_scope_changes_a_complaint_or_a_request(desk: Desk, who: str) -> None:
    engine = make_engine(desk.site.url)
    factory = make_session_factory(engine)

    def state() -> tuple[object, ...]:
        with factory() as s:
            return (
                s.scalar(select(Complaint.status).where(Complaint.number == desk.complaint)),
                s.scalar(select(ServiceRequest.status).where(ServiceRequest.number == desk.revision)),
                s.scalar(select(func.count()).select_from(AuditLog)),
            )

    try:
        before = state()
        with running(desk.site.app()) as client:
            if who == "anonymous":
                token = form_token(client, "/login")
            else:
                signed_in(client, who)
                token = form_token(client, "/console/") if who != "desk.d1" else form_token(client, "/desk/")
            near = f"/console/accounts/{desk.site.world.single}"
            console_posts = {
                f"{near}/complaint": {"category": "meter", "request_id": "x" * 20},
                f"{near}/sms": {"what": "bill", "request_id": "y" * 20},
                f"{near}/mobile": {"mobile": "+919898989898", "request_id": "z" * 20},
                f"{near}/note": {"text": "should not be kept"},
            }
            if who != "agent1":  # an agent may act on any account: not out of scope
                for path, data in console_posts.items():
                    status = client.post(path, data={"csrf_token": token, **data}).status_code
                    assert status in (302, 403, 404), (who, path, status)
                    if status == 302:  # only the login page for someone not signed in
                        assert who == "anonymous"
            posts = {
                f"/todo/complaints/{desk.complaint}/resolve": {"code": "voltage_corrected"},
                f"/todo/complaints/{desk.complaint}/escalate": {"note": "up"},
                f"/todo/requests/{desk.revision}/approve": {"units": "1", "reason": "x"},
                f"/todo/requests/{desk.revision}/reject": {"because": "bill_correct"},
            }
            for path, data in posts.items():
                status = client.post(path, data={"csrf_token": token, **data}).status_code
                assert status in ((302,) if who == "anonymous" else (403, 404)), (who, path, status)
        assert state() == before
    finally:
        engine.dispose()


def test_every_change_an_officer_makes_writes_an_audit_row(client: FlaskClient, desk: Desk) -> None:
    engine = make_engine(desk.site.url)
    factory = make_session_factory(engine)
    try:
        number = register_complaint(
            UnitOfWork(factory),
            RegisterComplaint(
                channel="sms", category="dangerous_line", account_no=desk.site.world.single, mobile="+919876543210"
            ),
            now=NOW,
        ).number
        signed_in(client, "je.near")
        page = f"/todo/complaints/{number}"
        client.post(f"{page}/reassign", data={"csrf_token": form_token(client, page), "officer": "sdo.near"})
        client.post(f"{page}/escalate", data={"csrf_token": form_token(client, page), "note": "Pole to be replaced"})
        client.post(f"{page}/resolve", data={"csrf_token": form_token(client, page), "code": "hazard_removed"})
        with factory() as s:
            actions = list(s.scalars(select(AuditLog.action).where(AuditLog.entity_id == number).order_by(AuditLog.id)))
    finally:
        engine.dispose()
    assert actions == ["complaint.registered", "complaint.reassigned", "complaint.escalated", "complaint.resolved"]


def test_console_pages_are_in_hindi_for_a_hindi_browser(client: FlaskClient, desk: Desk) -> None:
    signed_in(client, "agent1")
    html = client.get(
        f"/console/accounts/{desk.site.world.single}", headers={"Accept-Language": "hi-IN,hi;q=0.9"}
    ).get_data(as_text=True)
    assert 'lang="hi"' in html
    assert "शिकायत" in html  # "complaint"


def test_the_mis_shows_an_officers_area_with_charts_tables_and_csv(client: FlaskClient, desk: Desk) -> None:
    signed_in(client, "sdo.near")
    html = client.get("/mis/", query_string={"days": "90"}).get_data(as_text=True)
    assert html.count("<svg") == 6
    assert 'role="img"' in html
    assert "Open complaints by sub-division" in html
    csv = client.get("/mis/pendency.csv").get_data(as_text=True).splitlines()
    assert csv[0] == "sub_division,open,overdue"
    assert len(csv) >= 2  # the site's open voltage complaint, at least


def test_the_to_do_lists_the_areas_theft_reports_in_the_page_not_its_title(client: FlaskClient, desk: Desk) -> None:
    signed_in(client, "sdo.near")
    html = client.get("/todo/").get_data(as_text=True)
    title = html[html.index("<title>") : html.index("</title>")]
    assert "Theft" not in title
    main = html[html.index("<main") :]
    assert main.count('id="thefts-title"') == 1
    assert main.count('id="claims-title"') == 1
