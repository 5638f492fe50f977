"""Bill revisions, single-window applications, theft reports and feedback through the whole app (create_app on
SQLite and on PostgreSQL): what a consumer sees, the SMS they get, and what an attacker tries: uploads that lie
about their type, a body far too large, someone else's request or document, forms posted without their token,
reports sent again and again."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Engine, func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from cis.billing import revise_bill
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.documents import MAX_BYTES
from cis.models import Document, Feedback, ServiceRequest, TheftReport
from cis.numbers import bill_no_for_id
from tests import factories
from tests import support_files as files
from tests.integration.test_staff_login import form_token
from tests.web_support import Site, build_site, console_sms, give_portal_password, portal_sign_in, running

ACCOUNT = "4930000001"
MOBILE = "+919876548113"
OTHER = "4930000002"
OTHER_MOBILE = "+919876548114"
APPLICANT = "+919811122233"
HINDI = {"Accept-Language": "hi-IN,hi;q=0.9"}


@pytest.fixture(scope="module")
def pages_pg(postgres_url: str) -> Iterator[Engine]:
    from tests.conftest import own_postgres_database

    with own_postgres_database(postgres_url, "urja_rpages") as engine:
        yield engine


def _site(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Site:
    if backend == "postgres":
        from cis.seed import reset

        engine: Engine = request.getfixturevalue("pages_pg")
        reset(engine)
        return build_site(tmp_path, engine.url.render_as_string(hide_password=False))
    return build_site(tmp_path)


@pytest.fixture(params=["postgres", "sqlite"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    """The site on each database."""
    return _site(request, tmp_path, request.param)


@pytest.fixture
def lite(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    """The site on SQLite, for what does not depend on the database."""
    return _site(request, tmp_path, "sqlite")


def _arrange(site: Site) -> dict[str, Any]:
    """Two consumers with portal passwords: ACCOUNT with a bill of last week and one of six weeks ago, OTHER with
    a bill of its own. The ids and numbers of their bills."""
    engine = make_engine(site.url)
    try:
        with make_session_factory(engine)() as session:
            now = dt.datetime.now(dt.UTC)
            mine = factories.account(session, account_no=ACCOUNT, mobiles=(MOBILE,), name="Ramesh Verma")
            recent = factories.bill(
                session, mine, cycle="2026-11", amount_paise=245_050, units=310, issued_at=now - dt.timedelta(days=7)
            )
            older = factories.bill(session, mine, cycle="2026-10", issued_at=now - dt.timedelta(days=40))
            theirs = factories.account(session, account_no=OTHER, mobiles=(OTHER_MOBILE,), name="Sunita Devi")
            their_bill = factories.bill(session, theirs, issued_at=now - dt.timedelta(days=7))
            session.commit()
            found = {
                "recent": recent.id,
                "recent_no": bill_no_for_id(recent.id),
                "older": older.id,
                "theirs": their_bill.id,
                "sub_division": factories.sub_division_of(session, mine),
            }
    finally:
        engine.dispose()
    give_portal_password(site, ACCOUNT)
    give_portal_password(site, OTHER)
    return found


@pytest.fixture
def bills(site: Site) -> dict[str, Any]:
    return _arrange(site)


@pytest.fixture
def lite_bills(lite: Site) -> dict[str, Any]:
    return _arrange(lite)


@pytest.fixture
def app(site: Site) -> Flask:
    return site.app()


@pytest.fixture
def client(app: Flask, bills: dict[str, Any]) -> Iterator[FlaskClient]:
    with running(app) as client:
        yield client


@pytest.fixture
def lite_client(lite: Site, lite_bills: dict[str, Any]) -> Iterator[FlaskClient]:
    with running(lite.app()) as client:
        yield client


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _words(response: Any) -> str:
    """The page's main text as a reader sees it: tags removed, entities of quotes undone, spaces squeezed."""
    html = response.get_data(as_text=True)
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    plain = re.sub(r"<[^>]+>", " ", main).replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
    return re.sub(r"\s+", " ", plain)


def _count(site: Site, model: Any) -> int:
    engine = make_engine(site.url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def _stored_files(site: Site) -> list[Path]:
    folder = Path(site.settings.upload_dir or "")
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _revision(client: FlaskClient, bill_id: int, upload: tuple[bytes, str] | None = None, **fields: str) -> Any:
    data: dict[str, Any] = {
        "csrf_token": form_token(client, "/portal/revision"),
        "bill": str(bill_id),
        "reason": "wrong_reading",
        "description": "The meter reads 1180 today, the bill says 1310.",
        **fields,
    }
    if upload is not None:
        data["document"] = FileStorage(io.BytesIO(upload[0]), filename=upload[1])
    # Encoded in memory: the test client would spool a body over 500 KB to a file it never closes.
    boundary, body = encode_multipart(data)
    return client.post("/portal/revision", data=body, content_type=f'multipart/form-data; boundary="{boundary}"')


# --- bill revision ---------------------------------------------------------------------------------------------


def test_a_bill_revision_with_a_photo_gets_a_number_an_sms_and_a_timeline(
    client: FlaskClient, site: Site, bills: dict[str, Any]
) -> None:
    portal_sign_in(client, ACCOUNT)
    form = _words(client.get("/portal/revision"))
    assert f"November 2026: ₹2,450.50 Bill number {bills['recent_no']} · 310 units · Actual reading" in form
    assert "October 2026: ₹1,727.00" in form
    assert "Wrong meter reading" in form
    assert "Payment not credited" in form
    photo = files.png()

    sent = _revision(client, bills["recent"], (photo, "meter reading.png"))

    assert sent.status_code == 303, _words(sent)
    number = sent.headers["Location"].rsplit("/", 1)[-1]
    page = _words(client.get(sent.headers["Location"]))
    assert f"Bill revision {number}" in page
    assert f"Your request is registered. Its number is {number}." in page
    assert "We have sent the number by SMS to your registered mobile ending 8113." in page
    assert "Status Submitted" in page
    assert "Reason Wrong meter reading" in page
    assert "within 7 days of filing" in page
    assert "The time limit ends" in page
    assert "Disputed bill Month November 2026" in page
    assert "When the bill is revised, the new bill appears here beside it." in page
    [sms] = console_sms(site, MOBILE)
    assert sms.startswith(f"Bill revision request {number} for A/c {ACCOUNT}, bill of Nov 2026, is registered.")
    # The receipt is said once; the timeline stays.
    again = _words(client.get(sent.headers["Location"]))
    assert "Your request is registered" not in again
    assert f"Bill revision {number}" in again

    [link] = re.findall(
        r'href="(/portal/documents/\d+)"', client.get(f"/portal/requests/{number}").get_data(as_text=True)
    )
    download = client.get(link)
    assert download.status_code == 200
    assert download.data == photo
    assert download.mimetype == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "meter" in download.headers["Content-Disposition"]
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.headers["Cache-Control"] == "no-store"

    mine = _words(client.get("/portal/requests"))
    assert f"{number} Bill revision" in mine
    assert "Submitted" in mine
    # The same bill twice: the open request's number, not a second request.
    twice = _revision(client, bills["recent"])
    assert twice.status_code == 409
    assert f"A request of this kind is already being processed: number {number} ." in _words(twice)
    assert f'<a href="/portal/requests/{number}">{number}</a>' in twice.get_data(as_text=True)


def test_once_the_bill_is_revised_both_versions_stand_side_by_side(
    client: FlaskClient, site: Site, bills: dict[str, Any]
) -> None:
    portal_sign_in(client, ACCOUNT)
    sent = _revision(client, bills["recent"])
    number = sent.headers["Location"].rsplit("/", 1)[-1]
    engine = make_engine(site.url)
    try:
        revise_bill(
            UnitOfWork(make_session_factory(engine)),
            ACCOUNT,
            "2026-11",
            reason="Reading corrected to 1180",
            actor="staff:sdo",
            units=180,
        )
    finally:
        engine.dispose()

    page = _words(client.get(f"/portal/requests/{number}"))

    assert "The bill you disputed and the revised bill" in page
    assert re.search(r"Version 1 2 Units 310 180 ", page), page
    amounts = re.search(r"Amount (₹[\d,.]+) (₹[\d,.]+) ", page)
    assert amounts is not None
    assert amounts.group(1) == "₹2,450.50"
    assert amounts.group(2) != "₹2,450.50"
    assert "The revised bill is ₹" in page
    assert " less." in page
    assert "Why it was revised: Reading corrected to 1180" in page


def test_the_form_says_what_is_missing_at_each_field(lite_client: FlaskClient, lite: Site) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    token = form_token(lite_client, "/portal/revision")
    empty = lite_client.post(
        "/portal/revision", data={"csrf_token": token, "bill": "", "reason": "", "description": " "}
    )
    assert empty.status_code == 400
    html = empty.get_data(as_text=True)
    for name, message in (
        ("bill", "Please choose the bill you dispute."),
        ("reason", "Please choose why the bill is wrong."),
        ("description", "Please describe what is wrong with the bill."),
    ):
        assert f'<p class="error" id="{name}-error" role="alert">{message}</p>' in html
    assert 'aria-describedby="bill-error"' in html
    assert 'aria-describedby="description-hint description-error" aria-invalid="true"' in html
    assert _count(lite, ServiceRequest) == 0


def test_another_accounts_bill_cannot_be_disputed(
    lite_client: FlaskClient, lite: Site, lite_bills: dict[str, Any]
) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    refused = _revision(lite_client, lite_bills["theirs"])
    assert refused.status_code == 400
    assert "Please choose the bill you dispute." in _words(refused)
    assert _count(lite, ServiceRequest) == 0


def test_the_revision_form_reads_in_hindi(lite_client: FlaskClient, lite: Site) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    page = _words(lite_client.get("/portal/revision", headers=HINDI))
    assert "बिल संशोधन के लिए अनुरोध करें" in page
    assert "नवंबर 2026: ₹2,450.50" in page
    assert "मीटर की गलत रीडिंग" in page
    assert "भुगतान जमा नहीं हुआ" in page
    refused = lite_client.post(
        "/portal/revision",
        data={"csrf_token": form_token(lite_client, "/portal/revision"), "description": ""},
        headers=HINDI,
    )
    assert "कृपया बताएँ कि बिल में क्या गलत है।" in _words(refused)


# --- uploads that lie ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (files.HTML_PAGE, "meter.png", "“meter.png” is a web page (HTML), not a PDF, JPEG or PNG."),
        (files.SVG_IMAGE, "meter.png", "“meter.png” is an SVG drawing, not a PDF, JPEG or PNG."),
        (
            files.pdf_with_open_action(b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"),
            "receipt.pdf",
            "The PDF contains JavaScript, which we do not accept.",
        ),
        (files.pdf_with_javascript_in_object_stream(), "receipt.pdf", "The PDF contains JavaScript"),
        (files.png()[:60], "meter.png", "The file looks like a PNG but cannot be read."),
        (b"", "meter.png", "The file is empty. Please choose the file again."),
        (files.png() + b"\0" * (MAX_BYTES + 10 - len(files.png())), "big.png", "The file is larger than 2 MB."),
    ],
)
def test_an_upload_that_is_not_what_it_claims_is_refused_at_its_field_and_nothing_is_kept(
    lite_client: FlaskClient, lite: Site, lite_bills: dict[str, Any], data: bytes, name: str, message: str
) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    refused = _revision(lite_client, lite_bills["recent"], (data, name))
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    found = re.search(r'<p class="error" id="document-error" role="alert">(.*?)</p>', html)
    assert found is not None, _words(refused)
    assert message in found.group(1).replace("&#34;", '"').replace("&#8220;", "“")
    assert (_count(lite, ServiceRequest), _count(lite, Document), _stored_files(lite)) == (0, 0, [])
    assert "The meter reads 1180 today" in html  # what was typed stays


def test_an_upload_refusal_reads_in_hindi(lite_client: FlaskClient, lite_bills: dict[str, Any]) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    lite_client.set_cookie("lang", "hi")
    refused = _revision(lite_client, lite_bills["recent"], (files.HTML_PAGE, "meter.png"))
    assert "“meter.png” एक वेब पेज (HTML) है, PDF, JPEG या PNG नहीं।" in _words(refused)


def test_a_scan_above_the_sites_1_mb_body_limit_is_taken_by_the_upload_form(
    lite_client: FlaskClient, lite: Site, lite_bills: dict[str, Any]
) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    big = io.BytesIO()
    noise = random.Random(1).randbytes(700 * 700 * 3)  # a photo of noise: PNG cannot make it smaller
    Image.frombytes("RGB", (700, 700), noise).save(big, format="PNG")
    assert 1_048_576 < len(big.getvalue()) < MAX_BYTES
    sent = _revision(lite_client, lite_bills["recent"], (big.getvalue(), "scan.png"))
    assert sent.status_code == 303, _words(sent)
    assert len(_stored_files(lite)) == 1


class _Endless(io.RawIOBase):
    """A request body of `size` bytes (never held in memory) that counts how much of it was read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: 0, 1: self.position, 2: self.size}[whence] + offset
        return self.position

    def readinto(self, buffer: Any) -> int:
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"a" * n
        self.position += n
        self.read_bytes += n
        return n


@pytest.mark.parametrize("path", ["/portal/revision", "/portal/apply/name_change", "/theft"])
def test_a_50_mb_body_gets_a_413_page_and_is_never_read(lite_client: FlaskClient, lite: Site, path: str) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    token = form_token(lite_client, path)
    body = _Endless(50 * 1024 * 1024)
    refused = lite_client.post(
        path,
        input_stream=body,
        content_length=body.size,
        content_type="multipart/form-data; boundary=----urja",
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 413
    page = _words(refused)
    assert "The files are too large" in page
    assert "Each file may be at most 2 MB: a PDF, JPEG or PNG." in page
    assert body.read_bytes < 3 * 1024 * 1024
    assert (_count(lite, ServiceRequest), _count(lite, Document), _count(lite, TheftReport)) == (0, 0, 0)
    hindi = lite_client.post(
        path,
        input_stream=_Endless(50 * 1024 * 1024),
        content_length=50 * 1024 * 1024,
        content_type="multipart/form-data; boundary=----urja",
        headers=HINDI,
    )
    assert "फ़ाइलें बहुत बड़ी हैं" in _words(hindi)


def test_other_routes_keep_the_sites_own_body_limit(lite_client: FlaskClient) -> None:
    body = _Endless(3 * 1024 * 1024)
    refused = lite_client.post(
        "/feedback", input_stream=body, content_length=body.size, content_type="application/x-www-form-urlencoded"
    )
    assert refused.status_code == 413
    assert body.read_bytes < 1_100_000


# --- someone else's ---------------------------------------------------------------------------------------------


def test_another_accounts_request_and_document_are_not_found(
    client: FlaskClient, site: Site, bills: dict[str, Any]
) -> None:
    portal_sign_in(client, ACCOUNT)
    sent = _revision(client, bills["recent"], (files.pdf(), "receipt.pdf"))
    number = sent.headers["Location"].rsplit("/", 1)[-1]
    [link] = re.findall(r'href="(/portal/documents/\d+)"', client.get(sent.headers["Location"]).get_data(as_text=True))
    client.post("/portal/logout", data={"csrf_token": form_token(client, "/portal/")})

    portal_sign_in(client, OTHER)
    for path in (f"/portal/requests/{number}", link):
        stranger = client.get(path)
        assert stranger.status_code == 404, path
        assert "Ramesh" not in stranger.get_data(as_text=True)
    assert client.get("/portal/documents/99999999").status_code == 404
    assert client.get("/portal/requests/123456789").status_code == 404
    assert number not in _words(client.get("/portal/requests"))
    # A bill revision is not public either.
    assert client.get("/applications/status", query_string={"number": number}).status_code == 404


def test_the_pages_of_a_request_need_a_signed_in_consumer(lite_client: FlaskClient) -> None:
    for path in ("/portal/revision", "/portal/requests", "/portal/requests/500000018", "/portal/documents/1"):
        answer = lite_client.get(path)
        assert answer.status_code == 303
        assert answer.headers["Location"].startswith("/portal/login?next=")


# --- applications of a consumer ---------------------------------------------------------------------------------


def test_a_load_change_above_4_kw_is_sent_to_the_office_and_one_within_it_gets_a_number(
    lite_client: FlaskClient, lite: Site
) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    form = _words(lite_client.get("/portal/apply/load_change"))
    assert "Your sanctioned load now: 2.00 kW." in form
    assert "For a higher load, please apply at your sub-division office" in form
    token = form_token(lite_client, "/portal/apply/load_change")

    high = lite_client.post("/portal/apply/load_change", data={"csrf_token": token, "load_kw": "7"})
    assert high.status_code == 400
    assert re.search(
        r'id="load_kw-error" role="alert">A load of more than 4 kW is changed at your sub-division office\.',
        high.get_data(as_text=True),
    )
    sent = lite_client.post(
        "/portal/apply/load_change",
        data={"csrf_token": token, "load_kw": "3.5", "description": "An air conditioner"},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303, _words(sent)
    page = _words(lite_client.get(sent.headers["Location"]))
    assert "Change of load" in page
    assert "Load asked for 3.50 kW (now 2.00 kW)" in page
    assert "within 3 days of filing" in page  # an urban feeder, KESCO's metro class
    number = sent.headers["Location"].rsplit("/", 1)[-1]
    assert any(number in sms for sms in console_sms(lite, MOBILE))


def test_a_name_change_needs_its_proof_and_a_disconnection_its_confirmation(lite_client: FlaskClient) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    token = form_token(lite_client, "/portal/apply/name_change")
    no_proof = lite_client.post(
        "/portal/apply/name_change",
        data={"csrf_token": token, "applicant_name": "Sita Verma"},
        content_type="multipart/form-data",
    )
    assert "Please attach a proof of the change (a sale deed, a will)." in _words(no_proof)
    with_proof = lite_client.post(
        "/portal/apply/name_change",
        data={"csrf_token": token, "applicant_name": "Sita Verma", "document": (io.BytesIO(files.pdf()), "deed.pdf")},
        content_type="multipart/form-data",
    )
    assert with_proof.status_code == 303
    page = _words(lite_client.get(with_proof.headers["Location"]))
    assert "New name Sita Verma" in page
    assert "deed.pdf (Proof of ownership or occupancy, PDF)" in page

    unconfirmed = lite_client.post("/portal/apply/perm_disconnection", data={"csrf_token": token})
    assert "Please confirm that the supply is to be disconnected for good." in _words(unconfirmed)
    confirmed = lite_client.post("/portal/apply/perm_disconnection", data={"csrf_token": token, "confirm": "yes"})
    assert confirmed.status_code == 303
    assert "within 30 days of filing" in _words(lite_client.get(confirmed.headers["Location"]))
    assert lite_client.get("/portal/apply/anything").status_code == 404
    assert lite_client.get("/portal/apply/new_connection").headers["Location"] == "/apply/new_connection"


# --- a new connection, for anyone --------------------------------------------------------------------------------


def _otp(site: Site, mobile: str = APPLICANT) -> str:
    texts = console_sms(site, mobile)
    assert texts, f"no SMS reached {mobile}"
    code = re.match(r"(\d{6}) is your OTP to apply for a new electricity connection", texts[-1])
    assert code is not None, texts[-1]
    return code.group(1)


def _new_connection_form(bills: dict[str, Any], **changes: Any) -> dict[str, Any]:
    form = {
        "applicant_name": "Meena Kumari",
        "address": "12/4 Shastri Nagar, Kanpur",
        "pin_code": "208005",
        "sub_division_id": str(bills["sub_division"]),
        "area_class": "municipal",
        "category": "LMV-1U",
        "load_kw": "2",
        "id_proof": (io.BytesIO(files.jpeg()), "aadhaar.jpg"),
        "ownership_proof": (io.BytesIO(files.pdf("Sale deed")), "deed.pdf"),
    }
    form.update(changes)
    return form


def test_a_new_connection_proves_its_mobile_by_otp_then_applies_and_anyone_sees_its_status(
    client: FlaskClient, site: Site, bills: dict[str, Any], app: Flask
) -> None:
    assert client.get("/apply/new_connection/form").headers["Location"] == "/apply/new_connection"
    token = form_token(client, "/apply/new_connection")
    asked = client.post("/apply/new_connection", data={"csrf_token": token, "mobile": "98111 22233"})
    assert asked.headers["Location"] == "/apply/new_connection/verify"
    assert "We have sent an OTP by SMS to your mobile ending 2233." in _words(client.get(asked.headers["Location"]))
    code = _otp(site)

    wrong = client.post(
        "/apply/new_connection/verify", data={"csrf_token": token, "code": "000000" if code != "000000" else "111111"}
    )
    assert wrong.status_code == 400
    assert 'id="code-error" role="alert">The OTP is not correct' in wrong.get_data(as_text=True)
    assert client.get("/apply/new_connection/form").status_code == 303  # not proven yet
    proven = client.post("/apply/new_connection/verify", data={"csrf_token": token, "code": code})
    assert proven.headers["Location"] == "/apply/new_connection/form"
    form_page = _words(client.get("/apply/new_connection/form"))
    assert "Your mobile ending 2233 is confirmed." in form_page
    assert "A metropolitan city" in form_page
    assert "LMV-1U: Domestic, urban, metered" in form_page

    missing = client.post(
        "/apply/new_connection/form",
        data=_new_connection_form(
            bills, csrf_token=token, applicant_name="", ownership_proof=(io.BytesIO(b""), ""), load_kw="0"
        ),
        content_type="multipart/form-data",
    )
    assert missing.status_code == 400
    html = missing.get_data(as_text=True)
    assert 'id="applicant_name-error" role="alert">Please give the applicant&#39;s name.' in html
    assert 'id="ownership_proof-error" role="alert">Please attach a proof of ownership or occupancy' in html
    assert 'id="load_kw-error" role="alert">Please give the load in kW, more than 0' in html
    assert _count(site, ServiceRequest) == 0

    sent = client.post(
        "/apply/new_connection/form",
        data=_new_connection_form(bills, csrf_token=token),
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303, _words(sent)
    assert sent.headers["Location"].startswith("/applications/status?number=")
    number = sent.headers["Location"].rsplit("=", 1)[-1]
    page = _words(client.get(sent.headers["Location"]))
    assert f"Application {number}" in page
    assert f"Your application is registered. Its number is {number}." in page
    assert "We have sent the number by SMS to your mobile ending 2233." in page
    assert "New connection Status Submitted" in page
    assert "allow 3 days in a metropolitan city, 7 in other towns and 15 in a village" in page
    assert console_sms(site, APPLICANT)[-1].startswith(f"Your application {number} for a new connection is registered.")
    assert client.get("/apply/new_connection/form").status_code == 303  # one proof, one application

    # Anyone with the number: the status, and nothing about who applied or where.
    with running(app) as stranger:
        public = stranger.get("/applications/status", query_string={"number": number})
        assert public.status_code == 200
        shown = public.get_data(as_text=True)
        assert "Submitted" in shown
        assert "Due by" in shown
        for private in ("Meena", "Kumari", "Shastri", "208005", "2233", "98111", "aadhaar", "deed"):
            assert private not in shown, private
        assert "Your application is registered" not in shown
        assert stranger.get("/applications/status", query_string={"number": "123456789"}).status_code == 404


def test_the_public_status_page_reads_in_hindi(lite_client: FlaskClient) -> None:
    page = _words(lite_client.get("/applications/status", query_string={"number": "123456789"}, headers=HINDI))
    assert "123456789 संख्या का कोई आवेदन नहीं है।" in page


# --- theft reports and feedback ----------------------------------------------------------------------------------


def test_a_theft_report_with_a_photo_gets_a_reference_and_keeps_nothing_about_the_reporter(
    lite_client: FlaskClient, lite: Site
) -> None:
    token = form_token(lite_client, "/theft")
    sent = lite_client.post(
        "/theft",
        data={
            "csrf_token": token,
            "locality": "Govind Nagar",
            "landmark": "Behind the water tank",
            "description": "A hook on the LT line to the dairy, every night.",
            "photo": (io.BytesIO(files.jpeg()), "hook.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert sent.headers["Location"] == "/theft/reported"
    page = _words(lite_client.get("/theft/reported"))
    reference = re.search(r"reference number is (\d+)\.", page)
    assert reference is not None
    assert lite_client.get("/theft/reported").headers["Location"] == "/theft"  # said once
    engine = make_engine(lite.url)
    try:
        with engine.connect() as conn:
            report = conn.execute(select(TheftReport)).one()
    finally:
        engine.dispose()
    assert (report.reference, report.locality, report.document_id is not None) == (
        reference.group(1),
        "Govind Nagar",
        True,
    )
    assert re.fullmatch(r"[0-9a-f]{64}", report.reporter_hash or "")  # a keyed hash, never the address
    # The photo is for vigilance officers: a consumer cannot open it by its id.
    portal_sign_in(lite_client, ACCOUNT)
    assert lite_client.get(f"/portal/documents/{report.document_id}").status_code == 404


def test_theft_reports_from_one_address_stop_at_the_limit_with_a_page_in_its_language(lite: Site) -> None:
    with running(lite.app(limit_theft="2 per minute")) as client:
        token = form_token(client, "/theft")
        data = {"csrf_token": token, "locality": "Govind Nagar", "description": "Meter bypassed."}
        assert [client.post("/theft", data=data).status_code for _ in range(2)] == [303, 303]
        refused = client.post("/theft", data=data)
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
        assert "Too many requests came from your address" in _words(refused)
        hindi = client.post("/theft", data=data, headers=HINDI)
        assert hindi.status_code == 429
        assert "बहुत" in _words(hindi)
        assert client.get("/theft").status_code == 200  # the form itself is not counted
    assert _count(lite, TheftReport) == 2


def test_feedback_takes_a_rating_from_radio_buttons(lite_client: FlaskClient, lite: Site) -> None:
    html = lite_client.get("/feedback").get_data(as_text=True)
    assert html.count('type="radio" id="rating-') == 5
    assert '<label for="rating-5">5 – Very good</label>' in html
    token = form_token(lite_client, "/feedback")
    none = lite_client.post("/feedback", data={"csrf_token": token, "text": "ok"})
    assert 'id="rating-error" role="alert">Please choose a rating from 1 to 5.' in none.get_data(as_text=True)
    assert lite_client.post("/feedback", data={"csrf_token": token, "rating": "9"}).status_code == 400
    sent = lite_client.post("/feedback", data={"csrf_token": token, "rating": "4", "text": "Quick reconnection."})
    assert sent.headers["Location"] == "/feedback/thanks"
    assert "We have your feedback." in _words(lite_client.get("/feedback/thanks"))
    assert _count(lite, Feedback) == 1


# --- the form token -------------------------------------------------------------------------------------------------


POST_ROUTES = {
    "/portal/revision": {"bill": "1", "reason": "other", "description": "x"},
    "/portal/apply/load_change": {"load_kw": "3"},
    "/portal/apply/name_change": {"applicant_name": "Sita"},
    "/portal/apply/perm_disconnection": {"confirm": "yes"},
    "/apply/new_connection": {"mobile": APPLICANT},
    "/apply/new_connection/verify": {"code": "123456"},
    "/apply/new_connection/form": {"applicant_name": "Meena"},
    "/theft": {"locality": "Govind Nagar", "description": "A hook"},
    "/feedback": {"rating": "5"},
}


def test_every_post_route_of_these_pages_is_in_the_token_table(lite: Site) -> None:
    app = lite.app()
    try:
        posts = {
            re.sub(r"<[^>]*kind>", "load_change", rule.rule)
            for rule in app.url_map.iter_rules()
            if "POST" in (rule.methods or ()) and rule.endpoint.split(".")[0] in ("requests", "tips")
        }
    finally:
        app.extensions["urja.engine"].dispose()
        app.extensions["urja.celery"].close()
    assert posts <= set(POST_ROUTES), posts - set(POST_ROUTES)


@pytest.mark.parametrize("path", sorted(POST_ROUTES))
def test_a_form_without_its_token_is_refused_and_does_nothing(lite_client: FlaskClient, lite: Site, path: str) -> None:
    portal_sign_in(lite_client, ACCOUNT)
    lite_client.get("/portal/revision")  # the browser has a form token; this post does not carry it
    refused = lite_client.post(path, data=POST_ROUTES[path])
    assert refused.status_code in (400, 303), path
    if refused.status_code == 303:  # the OTP steps send a browser without the step before back to its start
        assert refused.headers["Location"] == "/apply/new_connection"
    else:
        assert "The form had expired" in _words(refused)
    counts = [_count(lite, model) for model in (ServiceRequest, Document, TheftReport, Feedback)]
    assert counts == [0, 0, 0, 0]
    assert console_sms(lite, APPLICANT) == []


def test_the_otp_steps_refuse_a_post_without_its_token_midway(lite_client: FlaskClient, lite: Site) -> None:
    token = form_token(lite_client, "/apply/new_connection")
    lite_client.post("/apply/new_connection", data={"csrf_token": token, "mobile": APPLICANT})
    code = _otp(lite)
    refused = lite_client.post("/apply/new_connection/verify", data={"code": code})
    assert refused.status_code == 400
    assert "The form had expired" in _words(refused)
    lite_client.post("/apply/new_connection/verify", data={"csrf_token": token, "code": code})
    refused = lite_client.post("/apply/new_connection/form", data={"applicant_name": "Meena"})
    assert refused.status_code == 400
    assert "The form had expired" in _words(refused)
    assert _count(lite, ServiceRequest) == 0


# --- the words of the pages match the CIS's codes -------------------------------------------------------------------


def test_the_pages_name_every_reason_category_and_refusal_the_cis_knows() -> None:
    import inspect

    from cis import documents, service_requests
    from cis.models.accounts import CATEGORIES
    from cis.web import service_requests as pages

    assert pages.REASON_TITLES == service_requests.REVISION_REASONS
    assert pages.CATEGORY_TITLES == CATEGORIES
    assert set(documents._PDF_ACTIVE.values()) <= set(pages.UNSAFE_TITLES)
    source = inspect.getsource(service_requests) + inspect.getsource(documents)
    for what in re.findall(r'UnsafeDocument\("([^"]+)"\)', source):
        assert what in pages.UNSAFE_TITLES, what
    for found in re.findall(r'return "(an? [^"]+)"', inspect.getsource(documents._what_it_is)):
        assert found in pages.FOUND_TITLES, found
    fixed = set(pages.REQUEST_MESSAGES)
    for message in re.findall(r'InvalidRequest\(\s*"\w+",\s*"([^"{]+)"\s*\)', source):
        assert message in fixed, message


def test_the_home_page_the_footer_and_the_portal_lead_to_these_pages(lite_client: FlaskClient) -> None:
    home = lite_client.get("/").get_data(as_text=True)
    for path in ("/apply/new_connection", "/applications/status", "/theft", "/feedback"):
        assert f'href="{path}"' in home, path
    footer = lite_client.get("/faq").get_data(as_text=True).split('<footer class="site-footer">', 1)[1]
    for path in ("/applications/status", "/theft", "/feedback"):
        assert f'href="{path}"' in footer, path
    portal_sign_in(lite_client, ACCOUNT)
    mine = lite_client.get("/portal/").get_data(as_text=True)
    assert 'href="/portal/requests"' in mine
    assert 'href="/portal/revision"' in mine


def test_the_status_page_and_the_applicants_otp_are_limited_per_address(lite: Site) -> None:
    with running(lite.app(limit_complaint_status="2 per minute", limit_otp="1 per hour")) as client:
        pages = [client.get("/applications/status", query_string={"number": "123456789"}).status_code for _ in range(3)]
        assert pages == [404, 404, 429]
        token = form_token(client, "/apply/new_connection")
        first = client.post("/apply/new_connection", data={"csrf_token": token, "mobile": APPLICANT})
        assert first.status_code == 303
        again = client.post("/apply/new_connection", data={"csrf_token": token, "mobile": "+919811122234"})
        assert again.status_code == 429
    assert len(console_sms(lite, APPLICANT)) == 1
    assert console_sms(lite, "+919811122234") == []
