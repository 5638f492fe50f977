"""A bill revision with an upload (and once revised, both bills side by side), then a new-connection application and
its public status, a theft report and feedback, in a real browser on the production server: on a desktop and on a
360 px phone, in English and in Hindi, a screenshot of every page."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from sqlalchemy import select

from cis.billing import revise_bill
from cis.consumer_auth import set_password
from cis.db import UnitOfWork, make_session_factory
from cis.models import Bill, ServiceRequest
from cis.passwords import WerkzeugHasher
from tests.e2e.support import LiveApp, console_errors, every_field_labelled, no_horizontal_scroll, shot

PASSWORD = "Govind Nagar 208006"
# Accounts and applicant mobiles of this module's own (cis.otp limits codes per mobile; one open revision a bill).
RUNS = {
    ("en", "desktop"): (60, "+919800011001"),
    ("en", "phone"): (61, "+919800011002"),
    ("hi", "desktop"): (62, "+919800011003"),
    ("hi", "phone"): (63, "+919800011004"),
}
WORDS = {
    "en": {
        "revision": "Ask for a bill revision",
        "registered": "Your request is registered",
        "bill_revision": "Bill revision",
        "requests": "My requests",
        "new": "Apply for a new connection",
        "otp": "Enter the OTP",
        "form": "Your application for a new connection",
        "application": "Application",
        "app_registered": "Your application is registered",
        "status": "Application status",
        "theft": "Report electricity theft",
        "theft_done": "Report received",
        "feedback": "Feedback",
        "thanks": "Thank you",
    },
    "hi": {
        "revision": "बिल संशोधन के लिए अनुरोध करें",
        "registered": "आपका अनुरोध दर्ज हो गया है",
        "bill_revision": "बिल संशोधन",
        "requests": "मेरे अनुरोध",
        "new": "नए कनेक्शन के लिए आवेदन करें",
        "otp": "OTP दर्ज करें",
        "form": "नए कनेक्शन के लिए आपका आवेदन",
        "application": "आवेदन",
        "app_registered": "आपका आवेदन दर्ज हो गया है",
        "status": "आवेदन की स्थिति",
        "theft": "बिजली चोरी की सूचना दें",
        "theft_done": "सूचना मिल गई",
        "feedback": "प्रतिक्रिया",
        "thanks": "धन्यवाद",
    },
}


def _meter_photo() -> bytes:
    """A small real PNG, as a phone would send a photo of the meter's display."""
    image = Image.new("RGB", (320, 200), (236, 240, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 60, 280, 140), outline=(30, 30, 30), width=4)
    draw.text((70, 90), "kWh 001180", fill=(10, 10, 10))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _id_card() -> bytes:
    image = Image.new("RGB", (300, 190), (250, 250, 245))
    ImageDraw.Draw(image).text((20, 20), "IDENTITY CARD", fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _deed() -> bytes:
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=14)
    doc.cell(text="Sale deed: 12/4 Shastri Nagar, Kanpur")
    return bytes(doc.output())


def _consumer(live_app: LiveApp, skip: int) -> str:
    """An account of the seeded discom with a portal password of the test's own."""
    [(account_no, _mobile)] = live_app.accounts(1, skip=skip)
    set_password(
        UnitOfWork(make_session_factory(live_app.engine)),
        account_no,
        PASSWORD,
        actor="test:e2e",
        now=dt.datetime.now(dt.UTC),
        hasher=WerkzeugHasher("pbkdf2:sha256:1000"),
    )
    return account_no


def _revise(live_app: LiveApp, account_no: str, number: str) -> None:
    """Revise the disputed bill of request `number` as the SDO would (fewer units: the reading was estimated)."""
    with live_app.engine.connect() as conn:
        cycle, units = conn.execute(
            select(Bill.cycle, Bill.units)
            .join(ServiceRequest, ServiceRequest.disputed_bill_id == Bill.id)
            .where(ServiceRequest.number == number)
        ).one()
    revise_bill(
        UnitOfWork(make_session_factory(live_app.engine)),
        account_no,
        cycle,
        reason="Actual reading 1180 kWh taken",
        actor="staff:e2e",
        units=max(1, units - 60),
    )


def _submit(page: Any, action: str) -> None:
    page.locator(f"form[action='{action}'] button[type=submit]").click()


def _looks_right(page: Any, name: str, heading: str) -> None:
    """The heading shown, labelled fields, nothing the browser refused, no sideways scrolling; a screenshot."""
    expect(page.locator("h1")).to_contain_text(heading)
    every_field_labelled(page)
    assert console_errors(page) == [], console_errors(page)
    shot(page, name)
    no_horizontal_scroll(page)


def _journey(page: Any, live_app: LiveApp, lang: str, size: str) -> None:
    skip, applicant = RUNS[(lang, size)]
    words = WORDS[lang]
    tag = f"requests-{lang}"
    if lang == "hi":
        page.goto("/lang/hi?next=/")
    account_no = _consumer(live_app, skip)

    # Sign in, and ask for a bill revision with a photo of the meter.
    page.goto("/portal/login?next=/portal/revision")
    page.locator("[name=account]").fill(account_no)
    page.locator("[name=password]").fill(PASSWORD)
    _submit(page, "/portal/login")
    expect(page).to_have_url(re.compile(r"/portal/revision$"))
    _looks_right(page, f"{tag}-revision-form", words["revision"])
    page.locator("input[name=bill]").first.check()
    page.locator("[name=reason]").select_option("estimated_bill")
    page.locator("[name=description]").fill("The bill is estimated, but the meter was read: it shows 1180 kWh.")
    page.set_input_files(
        "input[name=document]", {"name": "meter.png", "mimeType": "image/png", "buffer": _meter_photo()}
    )
    sms_before = live_app.last_sms_id()
    _submit(page, "/portal/revision")
    expect(page.locator("#receipt")).to_contain_text(words["registered"])
    number = re.search(r"/portal/requests/(\d+)$", page.url)
    assert number is not None, page.url
    _looks_right(page, f"{tag}-revision-timeline", words["bill_revision"])
    expect(page.locator("#documents")).to_contain_text("meter.png")
    expect(page.locator("#timeline li")).to_have_count(2)  # submitted, and the date it is due by
    [(_account, mobile)] = live_app.accounts(1, skip=skip)
    sms = live_app.sms_to(mobile, after_id=sms_before, template="request.")
    assert f"Bill revision request {number.group(1)}" in sms.text

    # The office revises the bill: both versions stand side by side.
    _revise(live_app, account_no, number.group(1))
    page.reload()
    expect(page.locator("#bills th[scope=col]")).to_have_count(2)
    _looks_right(page, f"{tag}-revision-revised", words["bill_revision"])

    page.goto("/portal/requests")
    expect(page.locator("#requests")).to_contain_text(number.group(1))
    _looks_right(page, f"{tag}-my-requests", words["requests"])

    # A new connection for other premises: the mobile first, proven by OTP, then the application.
    page.goto("/apply/new_connection")
    _looks_right(page, f"{tag}-new-connection-mobile", words["new"])
    otp_before = live_app.last_sms_id()
    page.locator("[name=mobile]").fill(applicant.removeprefix("+91"))
    _submit(page, "/apply/new_connection")
    _looks_right(page, f"{tag}-new-connection-otp", words["otp"])
    page.locator("[name=code]").fill(live_app.otp(applicant, after_id=otp_before))
    _submit(page, "/apply/new_connection/verify")
    _looks_right(page, f"{tag}-new-connection-form", words["form"])
    page.locator("[name=applicant_name]").fill("Meena Kumari")
    page.set_input_files(
        "input[name=id_proof]", {"name": "aadhaar.jpg", "mimeType": "image/jpeg", "buffer": _id_card()}
    )
    page.locator("[name=address]").fill("12/4 Shastri Nagar, Kanpur")
    page.locator("[name=pin_code]").fill("208005")
    page.locator("[name=sub_division_id]").select_option(index=1)
    page.locator("input[name=area_class][value=metro]").check()
    page.set_input_files(
        "input[name=ownership_proof]", {"name": "deed.pdf", "mimeType": "application/pdf", "buffer": _deed()}
    )
    page.locator("[name=category]").select_option("LMV-1U")
    page.locator("[name=load_kw]").fill("3")
    _submit(page, "/apply/new_connection/form")
    expect(page.locator("#receipt")).to_contain_text(words["app_registered"])
    application = re.search(r"number=(\d+)$", page.url)
    assert application is not None, page.url
    _looks_right(page, f"{tag}-new-connection-registered", words["application"])

    # The public status by number, as anyone sees it: nothing about who applied or where.
    page.goto(f"/applications/status?number={application.group(1)}")
    _looks_right(page, f"{tag}-application-status", words["application"])
    shown = page.locator("main").inner_text()
    for private in ("Meena", "Shastri", "208005", applicant[-4:]):
        assert private not in shown, private
    page.goto("/applications/status")
    _looks_right(page, f"{tag}-application-status-form", words["status"])

    # Anyone: a theft report with a photo, and feedback.
    page.goto("/theft")
    _looks_right(page, f"{tag}-theft-form", words["theft"])
    page.locator("[name=locality]").fill("Govind Nagar")
    page.locator("[name=landmark]").fill("Behind the water tank")
    page.locator("[name=description]").fill("A hook on the LT line to the dairy, every night after 10 pm.")
    page.set_input_files("input[name=photo]", {"name": "hook.png", "mimeType": "image/png", "buffer": _meter_photo()})
    _submit(page, "/theft")
    expect(page.locator("#reference")).to_be_visible()
    _looks_right(page, f"{tag}-theft-reported", words["theft_done"])
    page.goto("/feedback")
    _looks_right(page, f"{tag}-feedback-form", words["feedback"])
    page.locator("label[for=rating-4]").click()
    page.locator("[name=text]").fill("The new connection page was easy to use.")
    _submit(page, "/feedback")
    _looks_right(page, f"{tag}-feedback-thanks", words["thanks"])


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_bill_revision_and_a_new_connection_on_a_desktop(page: Any, live_app: LiveApp, lang: str) -> None:
    _journey(page, live_app, lang, "desktop")


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_bill_revision_and_a_new_connection_on_a_360_px_phone(phone_page: Any, live_app: LiveApp, lang: str) -> None:
    _journey(phone_page, live_app, lang, "phone")
