"""Paying a bill in a real browser on the production server, through the sandbox gateway: the portal's "Pay now",
our pay page (its UPI QR code), the gateway's page, back to the receipt; the bill paid; the receipt SMS on the SMS
console. Screenshots of the pay page in English and Hindi, on a desktop and at phone width."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from cis.consumer_auth import set_password
from cis.db import UnitOfWork, make_session_factory
from cis.models import Account, AccountMobile, Bill, Payment
from cis.passwords import WerkzeugHasher
from tests.e2e.support import LiveApp, console_errors, every_field_labelled, forget, no_horizontal_scroll, shot
from tests.pdf_support import Extracted

PASSWORD = "Govind Nagar 208006"
SKIP = 3  # among the unpaid: accounts of our own, apart from those other journeys take


@pytest.fixture(scope="module")
def payer(live_app: LiveApp) -> tuple[str, str]:
    """(account number, mobile) of a seeded consumer whose latest bill is unpaid, with a portal password."""
    with live_app.engine.connect() as conn:
        newest = aliased(Bill)
        latest = select(func.max(newest.cycle)).where(newest.account_id == Account.id).scalar_subquery()
        unpaid = (
            select(Bill.id).where(Bill.account_id == Account.id, Bill.cycle == latest, Bill.status == "issued").exists()
        )
        row = conn.execute(
            select(Account.account_no, AccountMobile.e164)
            .join(AccountMobile, AccountMobile.account_id == Account.id)
            .where(Account.status == "active", AccountMobile.verified.is_(True), unpaid)
            .order_by(Account.id)
            .offset(SKIP)
            .limit(1)
        ).first()
    assert row is not None
    set_password(
        UnitOfWork(make_session_factory(live_app.engine)),
        row[0],
        PASSWORD,
        actor="e2e",
        now=dt.datetime.now(dt.UTC),
        hasher=WerkzeugHasher("pbkdf2:sha256:1000"),
    )
    return str(row[0]), str(row[1])


def _looks_right(page: Any, name: str) -> None:
    page.wait_for_load_state("load")
    every_field_labelled(page)
    assert console_errors(page) == []
    shot(page, name)
    no_horizontal_scroll(page)


def test_a_consumer_pays_the_bill_from_the_portal_through_the_gateway(
    page: Any, browser: Any, payer: tuple[str, str], live_app: LiveApp, tmp_path: Path
) -> None:
    account_no, mobile = payer
    after = live_app.last_sms_id()
    page.goto("/portal/login")
    page.locator("[name=account]").fill(account_no)
    page.locator("[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.goto("/portal/bills#pay")
    due = page.locator("#bill [data-field=amount-due]").inner_text()
    amount = page.locator("#amount")
    expect(amount).to_have_value(re.compile(r"^\d+\.\d\d$"))
    rupees, paise = amount.input_value().split(".")
    assert f"₹{int(rupees):,}.{paise}" == due  # what is due, filled in

    # A wrong amount is a form error, nothing is made.
    amount.fill("twelve")
    page.locator("#pay-now").click()
    expect(page.locator("#amount-error")).to_contain_text("Please enter an amount in rupees")
    forget(page)  # that 400 was asked for
    page.goto("/portal/bills#pay")

    page.locator("#pay-now").click()
    expect(page).to_have_url(re.compile(r"/p/[a-z2-9]{10}$"))
    pay_url = page.url
    expect(page.locator("[data-field=account]")).to_have_text(account_no)
    expect(page.locator("img.qr")).to_be_visible()
    assert page.locator("#upi-link").get_attribute("href").startswith("upi://pay?pa=")
    _looks_right(page, "pay-page-en-1280")

    for width, lang in ((360, "hi"), (1280, "hi"), (360, "en")):
        context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-IN", base_url=live_app.url)
        other = context.new_page()
        try:
            other.goto(f"/lang/{lang}?next={pay_url.split(live_app.url, 1)[1]}")
            if lang == "hi":
                expect(other.get_by_role("heading", level=1)).to_have_text("अपने बिजली बिल का भुगतान करें")
            _looks_right(other, f"pay-page-{lang}-{width}")
        finally:
            context.close()

    page.locator("#pay-now").click()
    expect(page).to_have_url(re.compile(r"/sandbox/razorpay/pay/plink_"))
    digits = re.sub(r"\D", "", due)  # the gateway writes ₹1,23,456.00 its own way (1,23,456 vs 123,456)
    assert re.sub(r"\D", "", page.locator("#amount").inner_text()) == digits
    shot(page, "sandbox-gateway-1280")
    page.get_by_label("UPI").check()
    page.locator("#sandbox-pay").click()

    expect(page).to_have_url(re.compile(r"/p/[a-z2-9]{10}/done\?razorpay_payment_id=pay_"))
    expect(page.locator("#paid")).to_contain_text("Paid. Thank you.", timeout=20_000)
    receipt = page.locator("[data-field=receipt]").inner_text()
    assert re.fullmatch(r"\d{11}", receipt)
    _looks_right(page, "pay-done-en-1280")

    page.goto("/portal/bills")
    expect(page.locator("#bill")).to_contain_text("This bill is paid")
    # The receipt, as a PDF from the payments table.
    with page.expect_download() as download_info:
        page.get_by_role("link", name=receipt).click()
    printed = Extracted(Path(download_info.value.path()).read_bytes(), tmp_path)
    assert printed.pages == 1
    for text in (receipt, account_no, due, "भुगतान रसीद", "Payment receipt", "UPI"):
        assert printed.has(text), text
    told = live_app.sms_to(mobile, after_id=after, template="payment.receipt")
    assert f"Receipt no {receipt}" in told.text
    with live_app.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Payment).where(Payment.gateway == "sandbox")) >= 1

    admin = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-IN", base_url=live_app.url)
    console = admin.new_page()
    try:
        console.goto("/login")
        console.locator("#username").fill("admin")
        console.locator("#password").fill(live_app.demo_password)
        console.locator("form button[type=submit]").click()
        expect(console).to_have_url(re.compile(r"/admin/system$"))
        console.goto("/sms/console")
        expect(console.locator("table")).to_contain_text(f"Receipt no {receipt}")
    finally:
        admin.close()
