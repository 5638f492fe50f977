"""My account through the whole app (create_app) on SQLite and PostgreSQL, as a signed-in consumer sees it: the
current bill's amounts are the stored ones, why it is high, the use chart, bills and payments, the bill PDF read
back; another consumer's bill is not found, a signed-out browser is sent to sign in, the Hindi page has every
string in Hindi, and each page costs a fixed handful of queries however long the account's history."""

from __future__ import annotations

import datetime as dt
import html
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from cis.bill_explain import explain_bill
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.models import Bill
from cis.my_account import current_bill
from cis.numbers import bill_no_for_id
from cis.printing import rupees
from cis.web.catalogs import page_messages
from tests import factories
from tests.conftest import own_postgres_database
from tests.pdf_support import Extracted
from tests.web_support import Site, build_site, give_portal_password, portal_sign_in, running


@dataclass(frozen=True)
class People:
    mine: str  # 14 cycles billed, the last but one revised, the current one estimated with arrears and surcharge
    theirs: str  # one bill
    new: str  # no bill yet
    current_id: int
    revised_id: int  # 2026-09, version 2
    replaced_id: int  # 2026-09, version 1
    their_bill_id: int


CYCLES = [f"{2025 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in range(9, 23)]  # 2025-09 .. 2026-10


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if request.param == "sqlite":
        yield build_site(tmp_path_factory.mktemp("account"))
        return
    with own_postgres_database(request.getfixturevalue("postgres_url"), "urja_account_pages") as engine:
        yield build_site(tmp_path_factory.mktemp("account_pg"), engine.url.render_as_string(hide_password=False))


@pytest.fixture(scope="module")
def people(site: Site) -> People:
    engine = make_engine(site.url)
    try:
        with Session(engine) as session:
            mine = factories.account(session, mobiles=("+919812345670",))
            factories.meter(session, mine, number="GEN20054321")
            ids: dict[tuple[str, int], int] = {}
            for cycle in CYCLES[:-1]:
                units = 150 + 10 * int(cycle[5:7])
                status = "superseded" if cycle == "2026-09" else "paid"
                ids[cycle, 1] = factories.priced_bill(session, mine, cycle=cycle, units=units, status=status).id
            revised = factories.priced_bill(session, mine, cycle="2026-09", units=260, version=2, status="paid")
            revised.supersedes_id = ids["2026-09", 1]
            revised.revision_reason = "Meter re-read"
            current = factories.priced_bill(
                session, mine, cycle="2026-10", units=420, basis="estimated", arrears_paise=50_000, lps_paise=625
            )
            for n, cycle in enumerate(CYCLES[-4:-1]):
                paid_at = dt.datetime(int(cycle[:4]), int(cycle[5:7]), 20, 11, tzinfo=dt.UTC)
                factories.payment(session, mine, amount_paise=150_000 + n, paid_at=paid_at, ref=f"UTR{mine.id}{n}")
            theirs = factories.account(session)
            their_bill = factories.priced_bill(session, theirs, cycle="2026-10", units=100)
            new = factories.account(session)
            session.commit()
            found = People(
                mine.account_no,
                theirs.account_no,
                new.account_no,
                current.id,
                revised.id,
                ids["2026-09", 1],
                their_bill.id,
            )
    finally:
        engine.dispose()
    for account_no in (found.mine, found.theirs, found.new):
        give_portal_password(site, account_no)
    return found


@pytest.fixture
def app(site: Site) -> Flask:
    return site.app()


@pytest.fixture
def client(app: Flask, people: People) -> Iterator[FlaskClient]:
    with running(app) as client:
        yield portal_sign_in(client, people.mine)


def _html(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def _text(page: str) -> str:
    """What a reader sees: tags, the chart and the page's own markup gone, entities decoded, spaces squeezed."""
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def _cells(page: str, attribute: str) -> dict[str, str]:
    return {name: html.unescape(value).strip() for name, value in re.findall(rf'{attribute}="([\w-]+)">([^<]*)<', page)}


def _stored(site: Site, bill_id: int) -> Bill:
    engine = make_engine(site.url)
    try:
        with Session(engine) as session:
            bill = session.scalars(select(Bill).where(Bill.id == bill_id)).one()
            session.expunge(bill)
            return bill
    finally:
        engine.dispose()


@contextmanager
def _uow(site: Site) -> Iterator[UnitOfWork]:
    engine = make_engine(site.url)
    try:
        yield UnitOfWork(make_session_factory(engine))
    finally:
        engine.dispose()


# --- the current bill -------------------------------------------------------------------------------------------


def test_the_current_bill_shows_every_stored_amount_with_its_bill_number(
    client: FlaskClient, site: Site, people: People
) -> None:
    page = _html(client, "/portal/bills")
    stored = _stored(site, people.current_id)
    lines, fields = _cells(page, "data-line"), _cells(page, "data-field")

    assert fields["bill-number"] == bill_no_for_id(stored.id)
    assert fields["account-number"] == people.mine
    assert fields["units"] == "420"
    assert fields["basis"] == "Estimated"
    slabs = [value for name, value in lines.items() if name.startswith("slab-")]
    assert slabs == [rupees(82_500), rupees(90_000), rupees(78_000)]  # 150 at ₹5.50, 150 at ₹6.00, 120 at ₹6.50
    assert stored.energy_paise == 82_500 + 90_000 + 78_000
    assert lines["fixed"] == rupees(stored.fixed_paise)
    assert lines["duty"] == rupees(stored.duty_paise)
    assert lines["rounding"] == rupees(stored.other_paise)
    assert lines["arrears"] == rupees(stored.arrears_paise) == "₹500.00"
    assert lines["lps"] == rupees(stored.lps_paise) == "₹6.25"
    assert lines["total"] == fields["amount-due"] == rupees(stored.amount_paise)
    with _uow(site) as uow:
        doc = current_bill(uow, stored.account_id)
    assert doc is not None
    assert fields["amount-after-due"] == rupees(doc.amount_after_due_paise)
    assert doc.amount_after_due_paise > stored.amount_paise
    assert f'<time datetime="{stored.due_date.isoformat()}">' in page
    text = _text(page)
    assert "Pay by the due date: 31 Oct 2026" in text
    assert "Billing period 15 Sept 2026 – 15 Oct 2026 (30 days)" in text
    assert "Previous reading 10,000 kWh Current reading 10,420 kWh" in text
    assert "Meter number GEN20054321" in text
    assert f'href="/portal/bills/{stored.id}.pdf"' in page


def test_why_is_my_bill_high_says_what_the_ivr_says(client: FlaskClient, site: Site, people: People) -> None:
    with _uow(site) as uow:
        explained = explain_bill(uow, people.mine)
    assert explained is not None
    assert (explained.units, explained.units_last_bill, explained.units_same_month_last_year) == (420, 260, 250)
    why = _text(page_section(_html(client, "/portal/bills"), "why"))

    assert "Why is my bill high?" in why
    assert "Your bill for October 2026 is for 420 units." in why
    assert "In the same month last year you used 250 units; this year you used 170 units more." in why
    assert "Your previous bill was for 260 units: this one has 160 units more." in why  # the revision's units
    assert "Your use reached the top slab, slab 3 (above 300 units), charged at ₹6.50 a unit" in why
    assert "It includes arrears of ₹500.00" in why
    assert "A late payment surcharge of ₹6.25 has been added" in why
    assert "This bill is based on an estimated reading: your meter was not read." in why
    assert "SMS READ" in why
    assert "call 1912 and press 5" in why


def page_section(page: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', page, flags=re.S)
    assert match is not None, f"no section #{section_id}"
    return match.group(0)


def test_the_use_chart_is_an_image_with_its_figures_in_a_table_and_a_sentence(client: FlaskClient) -> None:
    use = page_section(_html(client, "/portal/bills"), "use")

    assert re.search(r'<svg[^>]*role="img"', use)
    assert '<title id="use-title">Units billed, last 12 months</title>' in use
    summary = (
        "From November 2025 to October 2026, your highest bill was for 420 units (October 2026) and your lowest "
        "for 160 units (January 2026); the latest is for 420 units."
    )
    assert summary in _text(use)
    assert html.escape(summary, quote=False) in use  # the chart's <desc> says it too
    rows = re.findall(r"<tr><th scope=\"row\">([^<]+)</th><td class=\"num\">([^<]+)</td><td>([^<]+)</td>", use)
    assert len(rows) == 12
    assert rows[0] == ("Nov 2025", "260", "Meter read")
    assert rows[-2] == ("Sep 2026", "260", "Meter read")  # the revised bill's units
    assert rows[-1] == ("Oct 2026", "420", "Estimated")


def test_bill_history_marks_the_revised_bill_and_links_each_pdf(client: FlaskClient, people: People) -> None:
    history = page_section(_html(client, "/portal/bills"), "history")
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", history, flags=re.S)

    assert len(rows) == len(CYCLES)  # fewer than 24 cycles: all of them, the version in force of each
    assert "October 2026" in rows[0]
    assert "Revised bill" in rows[1]
    assert f"/portal/bills/{people.revised_id}.pdf" in rows[1]
    assert bill_no_for_id(people.revised_id) in rows[1]
    assert f"/portal/bills/{people.replaced_id}" not in history
    assert all(re.search(r'href="/portal/bills/\d+\.pdf" download', row) for row in rows)
    assert "Revised bill" not in "".join(rows[2:])


def test_payments_are_listed_newest_first(client: FlaskClient) -> None:
    payments = _text(page_section(_html(client, "/portal/bills"), "payments"))

    assert re.search(r"20 Sept 2026 ₹1,500.02 UPI – \d{11} Received", payments)
    assert payments.index("20 Sept 2026") < payments.index("20 Aug 2026") < payments.index("20 Jul 2026")


def test_each_payment_has_its_receipt_as_a_pdf_and_nobody_elses_is_found(app: Flask, people: People) -> None:
    with running(app) as client:
        portal_sign_in(client, people.mine)
        page = _html(client, "/portal/bills")
        links = re.findall(r'href="/portal/bills/receipts/(\d+)\.pdf" download>(\d{11})<', page)
        assert len(links) == 3
        payment_id, receipt_no = links[0]
        pdf = client.get(f"/portal/bills/receipts/{payment_id}.pdf")
        assert pdf.status_code == 200
        assert pdf.mimetype == "application/pdf"
        assert pdf.headers["Content-Disposition"] == f'attachment; filename="receipt-{receipt_no}.pdf"'
        printed = Extracted(pdf.get_data(), Path(tempfile.mkdtemp()))
        for text in (receipt_no, people.mine, "₹1,500.02", "भुगतान रसीद / Payment receipt", "यूपीआई / UPI"):
            assert printed.has(text), text
    with running(app) as other:
        portal_sign_in(other, people.theirs)
        assert other.get(f"/portal/bills/receipts/{payment_id}.pdf").status_code == 404


def test_a_revised_bill_shows_the_version_it_replaced_and_the_old_one_says_so(
    client: FlaskClient, people: People
) -> None:
    revised = _html(client, f"/portal/bills/{people.revised_id}")
    text = _text(revised)
    assert "Bill for September 2026" in text
    assert f"Bill number {bill_no_for_id(people.revised_id)} · Revised bill" in text
    assert f"Replaces bill number {bill_no_for_id(people.replaced_id)}. Reason: Meter re-read" in text
    versions = _text(page_section(revised, "versions"))
    assert f"Version 2 (shown above) {bill_no_for_id(people.revised_id)}" in versions
    assert f"Version 1 {bill_no_for_id(people.replaced_id)}" in versions
    assert "Replaced by a revised bill" in versions

    old = _text(_html(client, f"/portal/bills/{people.replaced_id}"))
    assert "This bill was replaced by a revised bill: pay the revised one." in old
    assert f"Bill number {bill_no_for_id(people.replaced_id)}" in old


def test_an_account_without_bills_says_so(app: Flask, people: People) -> None:
    with running(app) as client:
        portal_sign_in(client, people.new)
        text = _text(_html(client, "/portal/bills"))
    assert "No bill has been issued on this account yet." in text
    assert "No payment is on record for this account." in text
    assert "Why is my bill high?" not in text


# --- the PDF ------------------------------------------------------------------------------------------------------


def test_the_bill_pdf_is_a_download_with_the_bill_number_total_and_hindi_labels(
    client: FlaskClient, site: Site, people: People, tmp_path: Path
) -> None:
    response = client.get(f"/portal/bills/{people.current_id}.pdf")
    stored = _stored(site, people.current_id)

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="bill-{people.mine}-2026-10.pdf"'
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    assert response.data.startswith(b"%PDF-")
    printed = Extracted(response.data, tmp_path)
    assert printed.pages == 1
    for text in (
        "बिल संख्या / Bill number",
        bill_no_for_id(stored.id),
        people.mine,
        "कुल देय राशि / Total payable",
        rupees(stored.amount_paise),
        "देय तिथि तक भुगतान करें",
        "अनुमानित / Estimated",
        "बकाया / Arrears",
        "विलंब भुगतान अधिभार / Late payment surcharge",
    ):
        assert printed.has(text), text

    revised = client.get(f"/portal/bills/{people.revised_id}.pdf")
    assert revised.headers["Content-Disposition"] == f'attachment; filename="bill-{people.mine}-2026-09-v2.pdf"'
    assert Extracted(revised.data, tmp_path).has(f"Replaces bill number {bill_no_for_id(people.replaced_id)}")


# --- who may see what ---------------------------------------------------------------------------------------------


def test_another_consumers_bill_and_its_pdf_are_not_found(client: FlaskClient, people: People) -> None:
    for path in (
        f"/portal/bills/{people.their_bill_id}",
        f"/portal/bills/{people.their_bill_id}.pdf",
        "/portal/bills/987654321",
        "/portal/bills/987654321.pdf",
        "/portal/bills/99999999999999999999.pdf",
        "/portal/bills/-1.pdf",
        "/portal/bills/1e3.pdf",
    ):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/portal/bills/{people.current_id}").status_code == 200


def test_a_signed_out_browser_is_sent_to_sign_in_and_back(app: Flask, people: People) -> None:
    with running(app) as client:
        for path in ("/portal/bills", f"/portal/bills/{people.current_id}", f"/portal/bills/{people.current_id}.pdf"):
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["Location"] == f"/portal/login?next={path}"
        portal_sign_in(client, people.mine)
        assert client.get("/portal/bills").status_code == 200
        client.post("/portal/logout", data={"csrf_token": _token(client)})
        assert client.get(f"/portal/bills/{people.current_id}.pdf").status_code == 303


def _token(client: FlaskClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', _html(client, "/portal/bills"))
    assert match is not None
    return match.group(1)


def test_every_account_page_is_kept_by_no_cache(client: FlaskClient, people: People) -> None:
    for path in ("/portal/bills", f"/portal/bills/{people.current_id}", f"/portal/bills/{people.current_id}.pdf"):
        assert "no-store" in client.get(path).headers["Cache-Control"], path


# --- Hindi ----------------------------------------------------------------------------------------------------------

ACCOUNT_FILES = ("cis/web/templates/account/", "cis/web/account.py", "cis/web/templates/portal/")


def test_the_hindi_pages_have_no_english_left(client: FlaskClient, people: People) -> None:
    client.set_cookie("lang", "hi")
    pages = {
        "/portal/bills": _html(client, "/portal/bills"),
        "bill": _html(client, f"/portal/bills/{people.revised_id}"),
    }
    english = [
        m.msgid
        for m in page_messages().values()
        if m.where.startswith(ACCOUNT_FILES) and "%(" not in m.msgid and len(m.msgid) > 3 and m.msgid[0].isupper()
    ]
    assert len(english) > 40
    for name, page in pages.items():
        # Names from the database are shown as stored: the factories' sub-division has no Hindi name.
        text = _text(re.sub(r"<dd>Sub-division \d+</dd>", "", page))
        left = [msgid for msgid in english if re.search(rf"(?<![\w-]){re.escape(msgid)}(?![\w-])", text)]
        assert not left, f"{name} shows English: {left}"
    text = _text(pages["/portal/bills"])
    for hindi in (
        "मेरा बिल अधिक क्यों है?",
        "अक्टूबर 2026 के आपके बिल में 420 यूनिट की खपत है।",
        "पिछले वर्ष इसी महीने आपकी खपत 250 यूनिट थी; इस वर्ष 170 यूनिट अधिक है।",
        "आपके पिछले बिल में 260 यूनिट थीं: इस बिल में 160 यूनिट अधिक हैं।",
        "यह बिल अनुमानित रीडिंग पर आधारित है",
        "कुल देय राशि",
        "बिल संख्या",
        "देय तिथि के बाद देय राशि",
        "बिलों का इतिहास",
        "संशोधित बिल",
        "पिछले 12 महीनों में बिल की गई यूनिट",
    ):
        assert hindi in text, hindi
    assert '<html lang="hi">' in pages["/portal/bills"]


# --- cost ------------------------------------------------------------------------------------------------------------


def _selects(app: Flask, client: FlaskClient, path: str) -> int:
    engine = app.extensions["urja.engine"]
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql)

    client.get(path)  # warm: the stored schedule is parsed once per process
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len([sql for sql in statements if sql.lstrip().upper().startswith(("SELECT", "WITH"))])


def test_each_page_is_a_fixed_handful_of_queries_however_long_the_history(
    app: Flask, client: FlaskClient, people: People
) -> None:
    # The session (one), then cis.my_account: the account, its mobiles and meters (one), bills, payments (what
    # was paid since the current bill is counted from them). A bill: the account, mobiles and meters, the bill,
    # paid since it, and (its page) the versions of its cycle.
    assert _selects(app, client, "/portal/bills") == 5
    assert _selects(app, client, f"/portal/bills/{people.current_id}") <= 6
    assert _selects(app, client, f"/portal/bills/{people.current_id}.pdf") <= 5
    with running(app) as other:
        portal_sign_in(other, people.theirs)  # one bill against 15
        assert _selects(app, other, "/portal/bills") == 5
        assert _selects(app, other, f"/portal/bills/{people.their_bill_id}.pdf") == _selects(
            app, client, f"/portal/bills/{people.current_id}.pdf"
        )


# --- blank forms ---------------------------------------------------------------------------------------------------


def test_the_blank_forms_are_listed_and_each_downloads_as_a_pdf(app: Flask, tmp_path: Path) -> None:
    with running(app) as client:
        assert 'href="/forms"' in _html(client, "/")  # the footer of every page
        page = _html(client, "/forms")
        links = re.findall(r'href="(/forms/[a-z-]+\.pdf)"', page)
        assert links == [
            "/forms/new-connection.pdf",
            "/forms/load-change.pdf",
            "/forms/name-change.pdf",
            "/forms/perm-disconnection.pdf",
            "/forms/bill-revision.pdf",
        ]
        assert "Application for a new electricity connection" in page
        assert "Last updated:" in page
        first = client.get(links[0])
        assert first.status_code == 200
        assert first.mimetype == "application/pdf"
        assert first.headers["Content-Disposition"] == 'attachment; filename="form-new-connection.pdf"'
        assert Extracted(first.data, tmp_path).has("नए बिजली कनेक्शन के लिए आवेदन")
        for missing in ("/forms/new_connection.pdf", "/forms/nothing.pdf", "/forms/new-connection"):
            assert client.get(missing).status_code == 404, missing
        client.set_cookie("lang", "hi")
        assert "नए बिजली कनेक्शन के लिए आवेदन" in _html(client, "/forms")
