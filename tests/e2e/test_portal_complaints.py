"""A consumer's complaint on the portal in a real browser on the production server: sign in, lodge, find it in the
list with its number (also by SMS), follow its timeline, and say "not fixed" to a resolution, which reopens it.
Once on a desktop in English and once on a 360 px phone in Hindi, each page also seen in the other language."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from cis.consumer_auth import set_password
from cis.db import UnitOfWork, make_session_factory
from cis.models import Account, AccountMobile, Complaint, ComplaintEvent
from tests.e2e.support import LiveApp, console_errors, every_field_labelled, no_horizontal_scroll, shot

NUMBER_URL = re.compile(r"/portal/complaints/(\d+)$")
# What each language calls the same things, as the pages show them.
WORDS = {
    "en": {
        "lodged": "Your complaint has been lodged. Its number is {number}.",
        "fixed": "Was it really fixed?",
        "reopened": "Reopened",
        "rejected": "You said it was not fixed: reopened",
        "heading": "Complaint {number}",
        "public": "The consumer said it was not fixed: reopened",
    },
    "hi": {
        "lodged": "आपकी शिकायत दर्ज हो गई है। इसकी संख्या {number} है।",
        "fixed": "क्या समस्या सच में ठीक हो गई?",
        "reopened": "फिर से खोली गई",
        "rejected": "आपने बताया कि समस्या ठीक नहीं हुई: शिकायत फिर से खोली गई",
        "heading": "शिकायत {number}",
        "public": "उपभोक्ता ने बताया कि समस्या ठीक नहीं हुई: शिकायत फिर से खोली गई",
    },
}
OTHER = {"en": "hi", "hi": "en"}


@pytest.fixture(scope="module")
def consumers(live_app: LiveApp) -> list[tuple[str, str]]:
    """Two seeded accounts that get SMS on a verified mobile and have no open meter complaint, with the demo
    password set as their portal password (as `urjamitra up` does for its demo consumer)."""
    with live_app.engine.connect() as conn:
        open_meter = select(Complaint.account_id).where(
            Complaint.category == "meter", Complaint.status.in_(("open", "reopened")), Complaint.account_id.is_not(None)
        )
        rows = conn.execute(
            select(Account.account_no, func.min(AccountMobile.e164))
            .join(AccountMobile, AccountMobile.account_id == Account.id)
            .where(
                Account.status == "active",
                Account.sms_opt_out.is_(False),
                AccountMobile.verified.is_(True),
                Account.id.not_in(open_meter),
            )
            .group_by(Account.account_no)
            .order_by(Account.account_no.desc())  # from the end: other tests take the first accounts
            .limit(2)
        ).all()
    assert len(rows) == 2
    uow = UnitOfWork(make_session_factory(live_app.engine))
    for account_no, _mobile in rows:
        set_password(uow, account_no, live_app.demo_password, actor="e2e", now=dt.datetime.now(dt.UTC))
    return [(str(a), str(m)) for a, m in rows]


def _looks_right(page: Any, name: str) -> None:
    """A labelled, error-free page that fits its width; a screenshot to look at."""
    every_field_labelled(page)
    assert console_errors(page) == []
    shot(page, name)
    no_horizontal_scroll(page)


def _in(page: Any, lang: str) -> None:
    """Switch the page's language with the toggle in the header, coming back to the same page."""
    page.locator(f".lang-toggle a[hreflang={lang}]").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


def _both_languages(page: Any, lang: str, name: str) -> None:
    """A screenshot of this page in `lang`, then in the other language, then back in `lang`."""
    _looks_right(page, f"{name}-{lang}")
    _in(page, OTHER[lang])
    _looks_right(page, f"{name}-{OTHER[lang]}")
    _in(page, lang)


def _resolve(live_app: LiveApp, number: str) -> None:
    """The JE resolves it (the officers' pages come with the console issue): the row and its history step."""
    at = dt.datetime.now(dt.UTC)
    with make_session_factory(live_app.engine)() as session:
        complaint = session.scalars(select(Complaint).where(Complaint.number == number)).one()
        complaint.status = "resolved"
        complaint.resolved_at = at
        complaint.resolution = "Meter replaced; it records again."
        note = "Meter replaced"
        session.add(ComplaintEvent(complaint_id=complaint.id, step="resolved", actor="je.sd01", at=at, note=note))
        session.commit()


def _status(live_app: LiveApp, number: str) -> str:
    with live_app.engine.connect() as conn:
        return str(conn.scalar(select(Complaint.status).where(Complaint.number == number)))


def _journey(page: Any, live_app: LiveApp, account: tuple[str, str], lang: str) -> None:
    words = WORDS[lang]
    account_no, mobile = account
    page.goto(f"/lang/{lang}?next=/portal/login")
    page.locator("[name=account]").fill(account_no)
    page.locator("[name=password]").fill(live_app.demo_password)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))

    page.locator("main a[href='/portal/complaints']").first.click()
    expect(page).to_have_url(re.compile(r"/portal/complaints$"))
    _both_languages(page, lang, "portal-complaints")

    # Lodge: the number on the page and by SMS to the registered mobile.
    sent_before = live_app.last_sms_id()
    form = page.locator("form[action='/portal/complaints']")
    form.locator("[name=category]").select_option("meter")
    form.locator("[name=description]").fill("Meter display blank since Monday; the disc does not turn.")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(NUMBER_URL)
    found = NUMBER_URL.search(page.url)
    assert found is not None
    number = found.group(1)
    expect(page.locator("#notice")).to_contain_text(words["lodged"].format(number=number))
    expect(page.locator("h1")).to_have_text(words["heading"].format(number=number))
    expect(page.locator("ol.timeline li")).not_to_have_count(0)
    sms = live_app.sms_to(mobile, after_id=sent_before, template="complaint.ack")
    assert f"complaint {number} for A/c {account_no}" in sms.text
    _both_languages(page, lang, "portal-complaint-lodged")

    # The list has it first.
    page.locator("main a[href='/portal/complaints']").first.click()
    first_row = page.locator("table.complaints tbody tr").first
    expect(first_row.locator("th a")).to_have_text(number)
    expect(first_row).to_be_visible()
    _both_languages(page, lang, "portal-complaints-listed")

    # Resolved by the JE: "Was it really fixed?" -- no, with what is still wrong.
    _resolve(live_app, number)
    page.goto(f"/portal/complaints/{number}")
    expect(page.get_by_role("heading", name=words["fixed"])).to_be_visible()
    _both_languages(page, lang, "portal-complaint-resolved")
    page.locator("[name=reason]").fill("The display is still blank.")
    page.locator("form[action$='/reject'] button[type=submit]").click()
    expect(page).to_have_url(NUMBER_URL)
    expect(page.locator("#complaint")).to_contain_text(words["reopened"])
    expect(page.locator("ol.timeline")).to_contain_text(words["rejected"])
    assert _status(live_app, number) == "reopened"
    _both_languages(page, lang, "portal-complaint-reopened")

    # Anyone with the number sees the steps, and nothing about who.
    page.goto(f"/complaints/status?number={number}")
    expect(page.locator("ol.timeline")).to_contain_text(words["public"])
    assert account_no not in page.content()
    assert "The display is still blank." not in page.content()
    _both_languages(page, lang, "complaint-status-steps")


def test_a_consumer_lodges_follows_and_reopens_a_complaint_on_a_desktop_and_a_phone(
    page: Any, phone_page: Any, live_app: LiveApp, consumers: list[tuple[str, str]]
) -> None:
    _journey(page, live_app, consumers[0], "en")
    _journey(phone_page, live_app, consumers[1], "hi")
