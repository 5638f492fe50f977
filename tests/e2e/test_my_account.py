"""My account in a real browser on the production server: sign in, the bill page, the bill PDF downloaded, "why is
my bill high?", in English and Hindi, on a desktop and at phone width (a screenshot of each)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from cis.consumer_auth import set_password
from cis.db import UnitOfWork, make_session_factory
from cis.models import Account, Bill
from cis.numbers import bill_no_for_id
from cis.passwords import WerkzeugHasher
from tests.e2e.support import LiveApp, console_errors, every_field_labelled, no_horizontal_scroll, shot
from tests.pdf_support import Extracted

PASSWORD = "Shastri Nagar 208005"
SKIP = 40  # accounts of our own, apart from those other journeys take (cis.otp counts sends per account)


@pytest.fixture(scope="module")
def consumer(live_app: LiveApp) -> tuple[str, str]:
    """(account number, bill number of its current bill) of a seeded consumer with a portal password."""
    with live_app.engine.connect() as conn:
        billed = select(Bill.account_id).where(Bill.account_id == Account.id).exists()
        account_no = conn.scalar(
            select(Account.account_no).where(Account.status == "active", billed).order_by(Account.id).offset(SKIP)
        )
        assert account_no is not None
        bill_id = conn.scalar(
            select(Bill.id)
            .join(Account, Account.id == Bill.account_id)
            .where(Account.account_no == account_no, Bill.status != "superseded")
            .order_by(Bill.cycle.desc(), Bill.version.desc())
            .limit(1)
        )
    set_password(
        UnitOfWork(make_session_factory(live_app.engine)),
        account_no,
        PASSWORD,
        actor="e2e",
        now=dt.datetime.now(dt.UTC),
        hasher=WerkzeugHasher("pbkdf2:sha256:1000"),
    )
    return str(account_no), bill_no_for_id(int(str(bill_id)))


def _sign_in(page: Any, account_no: str) -> None:
    page.goto("/portal/bills")
    expect(page).to_have_url(re.compile(r"/portal/login\?next=/portal/bills$"))
    page.locator("[name=account]").fill(account_no)
    page.locator("[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/portal/bills$"))  # back where it was asked for


def _looks_right(page: Any, name: str) -> None:
    page.wait_for_load_state("load")  # stylesheets too: a page shot half-styled after a language switch misleads
    every_field_labelled(page)
    assert console_errors(page) == []
    shot(page, name)
    no_horizontal_scroll(page)


def test_my_account_the_bill_pdf_and_why_it_is_high(
    page: Any, consumer: tuple[str, str], live_app: LiveApp, tmp_path: Path
) -> None:
    account_no, bill_no = consumer
    _sign_in(page, account_no)
    expect(page.get_by_role("heading", name="Bills and payments", level=1)).to_be_visible()
    expect(page.locator("#bill [data-field=bill-number]")).to_have_text(bill_no)
    expect(page.locator("#bill [data-line=total]")).to_have_text(re.compile(r"^₹[\d,]+\.\d\d$"))
    total = page.locator("#bill [data-line=total]").inner_text()
    expect(page.locator("#use svg[role=img]")).to_be_visible()
    expect(page.locator("#history tbody tr").first).to_be_visible()
    _looks_right(page, "my-account-en")

    page.get_by_role("link", name="Why is my bill high?").click()
    expect(page).to_have_url(re.compile(r"#why$"))
    why = page.locator("#why")
    expect(why).to_be_in_viewport()
    expect(why.locator("li").first).to_contain_text(re.compile(r"Your bill for \w+ \d{4} is for [\d,]+ units\."))
    expect(why.locator("li").last).to_contain_text("This bill is based on")

    with page.expect_download() as download_info:
        page.locator("#bill").get_by_role("link", name="Download the bill (PDF)").click()
    download = download_info.value
    assert re.fullmatch(rf"bill-{account_no}-\d{{4}}-\d\d(-v\d+)?\.pdf", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    printed = Extracted(data, tmp_path)
    assert printed.has(bill_no)
    assert printed.has("बिल संख्या / Bill number")
    assert printed.has(total)

    with page.expect_navigation():
        page.locator(".lang-toggle a[lang=hi]").click()
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    expect(page.get_by_role("heading", name="बिल और भुगतान", level=1)).to_be_visible()
    expect(page.locator("#why h2")).to_have_text("मेरा बिल अधिक क्यों है?")
    expect(page.locator("#bill [data-field=bill-number]")).to_have_text(bill_no)
    _looks_right(page, "my-account-hi")

    page.locator("#history tbody tr th a").first.click()
    expect(page.locator("h1")).to_contain_text("का बिल")
    _looks_right(page, "bill-hi")
    with page.expect_navigation():
        page.locator(".lang-toggle a[lang=en]").click()
    expect(page.locator("h1")).to_contain_text("Bill for")
    _looks_right(page, "bill-en")


def test_my_account_at_phone_width_in_both_languages(phone_page: Any, consumer: tuple[str, str]) -> None:
    account_no, bill_no = consumer
    page = phone_page
    _sign_in(page, account_no)
    expect(page.locator("#bill [data-field=bill-number]")).to_have_text(bill_no)
    # The history's rows are stacked cards: each cell says what it is.
    first = page.locator("#history tbody tr").first
    expect(first.locator("td[data-label]").first).to_be_visible()
    _looks_right(page, "my-account-en")
    with page.expect_navigation():
        page.locator(".lang-toggle a[lang=hi]").click()
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    _looks_right(page, "my-account-hi")
    page.goto("/forms")
    expect(page.locator("h1")).to_have_text("आवेदन फ़ॉर्म")
    _looks_right(page, "forms-hi")
