"""My mobiles and SMS preferences in a real browser on the production server: sign in, see the supply on my feeder,
add a mobile with the OTP its SMS brings, switch alerts, remove the mobile again; at 1280 and 360 px, in English
and in Hindi, with a screenshot of every page."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from cis.consumer_auth import set_password
from cis.db import UnitOfWork, make_session_factory
from cis.models import Account, DistributionTransformer
from cis.passwords import WerkzeugHasher
from outage.errors import OverlappingOutage
from outage.events import Actor, Breakdown, publish_breakdown
from tests.e2e.support import LiveApp, console_errors, every_field_labelled, forget, no_horizontal_scroll, shot, watch

PASSWORD = "Kidwai Nagar 208011"
CHEAP = WerkzeugHasher("pbkdf2:sha256:1000")  # the server checks any werkzeug hash; a cheap one keeps this quick
TIMEOUT_MS = 15_000
# (viewport, browser locale, the first account this run takes: cis.otp allows 3 codes an hour per account, and
# other e2e tests take the first accounts of the seed)
RUNS = [
    pytest.param(({"width": 1280, "height": 800}, "en-IN", 60), id="1280-en"),
    pytest.param(({"width": 360, "height": 800}, "en-IN", 61), id="360-en"),
    pytest.param(({"width": 1280, "height": 800}, "hi-IN", 62), id="1280-hi"),
    pytest.param(({"width": 360, "height": 800}, "hi-IN", 63), id="360-hi"),
]
TEXT = {
    "en-IN": {
        "sign_in": "Sign in",
        "supply": "Supply on my feeder",
        "off": "Breakdown:",
        "added": "is added to your account and verified",
        "add": "Add this mobile",
        "send": "Send OTP",
        "save": "Save my choices",
        "saved": "Your choices are saved.",
        "remove": "Remove",
        "yes": "Yes, remove it",
        "removed": "is removed from your account",
    },
    "hi-IN": {
        "sign_in": "साइन इन",
        "supply": "मेरे फीडर पर बिजली",
        "off": "ब्रेकडाउन (खराबी):",
        "added": "आपके खाते में जुड़ गया है और सत्यापित है",
        "add": "यह मोबाइल जोड़ें",
        "send": "OTP भेजें",
        "save": "मेरी पसंद सहेजें",
        "saved": "आपकी पसंद सहेज ली गई है।",
        "remove": "हटाएँ",
        "yes": "हाँ, हटाएँ",
        "removed": "आपके खाते से हटा दिया गया है",
    },
}


@pytest.fixture
def browser_page(request: pytest.FixtureRequest, browser: Any, live_app: LiveApp) -> Iterator[Any]:
    viewport, locale, _skip = request.node.callspec.params["run"]
    context = browser.new_context(viewport=viewport, locale=locale, base_url=live_app.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch(page)
    yield page
    forget(page)
    context.close()


def _consumer(live_app: LiveApp, skip: int) -> tuple[str, str]:
    """An account (and its verified mobile) with a portal password, and a breakdown on its feeder."""
    [(account_no, mobile)] = live_app.accounts(1, skip=skip)
    factory = make_session_factory(live_app.engine)
    now = dt.datetime.now(dt.UTC)
    set_password(UnitOfWork(factory), account_no, PASSWORD, actor="test:e2e", now=now, hasher=CHEAP)
    with live_app.engine.connect() as conn:
        feeder_id = conn.scalar(
            select(DistributionTransformer.feeder_id)
            .join(Account, Account.dt_id == DistributionTransformer.id)
            .where(Account.account_no == account_no)
        )
    breakdown = Breakdown(
        since=now - dt.timedelta(minutes=35),
        cause="Jumper snapped on the 11 kV line",
        feeder_ids=(int(feeder_id),),
        expected_restore_at=now + dt.timedelta(hours=2),
    )
    with contextlib.suppress(OverlappingOutage):  # another run (or test) broke this feeder already
        publish_breakdown(UnitOfWork(factory), breakdown, actor=Actor("staff:e2e"), now=now)
    return account_no, mobile


def _looks_right(page: Any, name: str) -> None:
    assert page.title().strip()
    expect(page.locator("h1").first).to_be_visible()
    every_field_labelled(page)
    assert console_errors(page) == []
    shot(page, name)
    no_horizontal_scroll(page)


@pytest.mark.parametrize("run", RUNS)
def test_mobiles_and_alerts_in_a_browser(browser_page: Any, live_app: LiveApp, run: Any) -> None:
    page = browser_page
    _viewport, locale, skip = run
    words = TEXT[locale]
    lang = locale[:2]
    account_no, _mobile = _consumer(live_app, skip)
    new_mobile = f"+9198990000{skip:02d}"

    page.goto("/portal/login")
    page.locator("[name=account]").fill(account_no)
    page.locator("[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#supply")).to_contain_text(words["supply"])
    expect(page.locator("#supply")).to_contain_text(words["off"])
    _looks_right(page, f"prefs-home-{lang}")

    page.goto("/portal/mobiles")
    _looks_right(page, f"prefs-mobiles-{lang}")
    sent_after = live_app.last_sms_id()
    page.locator("[name=mobile]").fill(new_mobile[3:])
    page.get_by_role("button", name=words["send"]).click()
    expect(page.get_by_role("button", name=words["add"])).to_be_visible()
    _looks_right(page, f"prefs-mobile-otp-{lang}")
    page.locator("[name=code]").fill(live_app.otp(new_mobile, after_id=sent_after))
    page.get_by_role("button", name=words["add"]).click()
    expect(page.locator(".notice.ok")).to_contain_text(words["added"])
    ending = new_mobile[-4:]
    expect(page.locator("#mobiles")).to_contain_text(f"******{ending}")
    _looks_right(page, f"prefs-mobile-added-{lang}")

    page.goto("/portal/alerts")
    _looks_right(page, f"prefs-alerts-{lang}")
    page.locator("[name=bill]").uncheck()
    page.locator("[name=channel][value=voice]").check()
    page.locator("[name=roster_mobile]").first.check()
    page.get_by_role("button", name=words["save"]).click()
    expect(page.locator(".notice.ok")).to_have_text(words["saved"])
    expect(page.locator("[name=bill]")).not_to_be_checked()
    expect(page.locator("[name=channel][value=voice]")).to_be_checked()
    _looks_right(page, f"prefs-alerts-saved-{lang}")
    with live_app.engine.connect() as conn:
        saved = conn.execute(
            select(Account.alert_bill, Account.alert_channel).where(Account.account_no == account_no)
        ).one()
    assert tuple(saved) == (False, "voice")

    page.goto("/portal/mobiles")
    page.locator("#mobiles tr", has_text=f"******{ending}").get_by_role("link").click()
    expect(page.get_by_role("button", name=words["yes"])).to_be_visible()
    _looks_right(page, f"prefs-mobile-remove-{lang}")
    page.get_by_role("button", name=words["yes"]).click()
    expect(page.locator(".notice.ok")).to_contain_text(words["removed"])
    expect(page.locator("#mobiles")).not_to_contain_text(f"******{ending}")
