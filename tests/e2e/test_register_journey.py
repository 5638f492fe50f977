"""A consumer registers on the portal in a real browser on the production server, as the UPPCL SOP describes: account
number and a recent bill's number → an OTP by SMS to the mobile on record → a password → signed in; then signs out
and in again with the password. Once on a desktop in English, once on a 360 px phone in Hindi switched back to
English at the end; every page labelled, without console errors, without sideways scrolling, and photographed."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from cis.models import Account, AccountMobile, Bill
from cis.models.portal import ConsumerLogin
from cis.numbers import bill_no_for_id
from tests.e2e.support import LiveApp, console_errors, every_field_labelled, no_horizontal_scroll, shot

PASSWORD = "Ganga Barrage 2026"
HEADINGS = {
    "en": {
        "register": "Register for the portal",
        "verify": "Enter the OTP and choose a password",
        "home": "My account",
    },
    "hi": {},  # in Hindi the test checks <html lang> and Devanagari in each heading
}
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


@pytest.fixture(scope="module")
def newcomers(live_app: LiveApp) -> list[tuple[str, str, str]]:
    """(account number, verified mobile, the number of its latest bill) of two accounts never registered on the
    portal; taken from the middle of the seeded accounts, where no other test looks."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=300)
    with live_app.engine.connect() as conn:
        rows = conn.execute(
            select(Account.account_no, func.min(AccountMobile.e164), func.max(Bill.id))
            .join(AccountMobile, AccountMobile.account_id == Account.id)
            .join(Bill, Bill.account_id == Account.id)
            .where(
                Account.status == "active",
                Account.sms_opt_out.is_(False),
                AccountMobile.verified.is_(True),
                Bill.issued_at >= since,
                Account.id.not_in(select(ConsumerLogin.account_id)),
            )
            .group_by(Account.account_no)
            .order_by(Account.account_no)
            .offset(100)
            .limit(2)
        ).all()
    assert len(rows) == 2, rows
    return [(str(a), str(m), bill_no_for_id(int(b))) for a, m, b in rows]


def _looks_right(page: Any, name: str, lang: str, *, status_error: bool = False) -> None:
    """Right language, labelled, fits the width; no console errors (a refused sign-in is itself answered 401,
    which chromium reports as a failed load: `status_error`)."""
    expect(page.locator("html")).to_have_attribute("lang", lang)
    if lang == "hi":
        assert DEVANAGARI.search(page.locator("h1").inner_text()), page.locator("h1").inner_text()
    every_field_labelled(page)
    errors = console_errors(page)
    if status_error:
        errors = [e for e in errors if "status of 401" not in e]
    assert errors == []
    shot(page, f"{name}-{lang}")
    no_horizontal_scroll(page)


def _heading(page: Any, lang: str, key: str) -> None:
    text = HEADINGS[lang].get(key)
    if text:
        expect(page.locator("h1")).to_have_text(text)


def _register(page: Any, live_app: LiveApp, who: tuple[str, str, str], lang: str) -> None:
    account_no, mobile, bill_no = who
    page.goto("/")
    if lang == "hi":
        page.locator(".lang-toggle a[hreflang=hi]").click()
    _looks_right(page, "journey-home", lang)
    page.locator("main a[href='/portal/register']").first.click()
    expect(page).to_have_url(re.compile(r"/portal/register$"))
    _heading(page, lang, "register")
    _looks_right(page, "journey-register", lang)

    sent_before = live_app.last_sms_id()
    page.locator("[name=account]").fill(account_no)
    page.locator("[name=bill]").fill(bill_no)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/portal/register/verify$"))
    _heading(page, lang, "verify")
    expect(page.locator("main")).to_contain_text(mobile[-4:])  # where the code went, the rest masked
    assert mobile[-10:-4] not in page.locator("main").inner_text()
    _looks_right(page, "journey-verify", lang)

    code = live_app.otp(mobile, after_id=sent_before)
    page.locator("[name=code]").fill(code)
    page.locator("[name=password]").fill(PASSWORD)
    page.locator("[name=repeat]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    _heading(page, lang, "home")
    expect(page.locator("main")).to_contain_text(account_no)
    _looks_right(page, "journey-signed-in", lang)


def _sign_out_and_in(page: Any, who: tuple[str, str, str], lang: str) -> None:
    account_no = who[0]
    page.locator("form[action='/portal/logout'] button[type=submit]").first.click()
    page.goto("/portal/")
    expect(page).to_have_url(re.compile(r"/portal/login"))  # signed out on the server: the portal asks again
    page.locator("[name=account]").fill(account_no)
    page.locator("[name=password]").fill(PASSWORD + "x")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main [role=alert], main .error").first).to_be_visible()  # a wrong password is refused
    _looks_right(page, "journey-wrong-password", lang, status_error=True)
    page.locator("[name=account]").fill(account_no)
    page.locator("[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.locator("main")).to_contain_text(account_no)


def test_register_with_a_bill_number_and_the_otp_then_sign_in_on_a_desktop(
    page: Any, live_app: LiveApp, newcomers: list[tuple[str, str, str]]
) -> None:
    _register(page, live_app, newcomers[0], "en")
    _sign_out_and_in(page, newcomers[0], "en")


def test_the_same_journey_on_a_phone_in_hindi_and_back_to_english(
    phone_page: Any, live_app: LiveApp, newcomers: list[tuple[str, str, str]]
) -> None:
    _register(phone_page, live_app, newcomers[1], "hi")
    _sign_out_and_in(phone_page, newcomers[1], "hi")
    phone_page.locator(".lang-toggle a[hreflang=en]").click()
    expect(phone_page.locator("html")).to_have_attribute("lang", "en")
    expect(phone_page).to_have_url(re.compile(r"/portal/$"))  # the switch comes back to the same page
    expect(phone_page.locator("h1")).to_have_text(HEADINGS["en"]["home"])
