"""The public pages anyone opens without signing in, in a real browser on the production server."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from cis.db import UnitOfWork, make_session_factory
from cis.models import Feeder
from outage.events import Actor, Breakdown, publish_breakdown
from tests.e2e.support import LiveApp, console_errors, every_field_labelled, no_horizontal_scroll, shot


@pytest.fixture(scope="module")
def breakdown(live_app: LiveApp) -> str:
    """A breakdown on two feeders, as a desk publishes it: the outage page then has a table to show."""
    with live_app.engine.connect() as conn:
        feeders = conn.execute(select(Feeder.id, Feeder.name).order_by(Feeder.id).limit(2)).all()
    now = dt.datetime.now(dt.UTC)
    publish_breakdown(
        UnitOfWork(make_session_factory(live_app.engine)),
        Breakdown(
            since=now - dt.timedelta(minutes=40),
            cause="Jumper snapped on the 11 kV line",
            feeder_ids=tuple(f.id for f in feeders),
            expected_restore_at=now + dt.timedelta(hours=2),
        ),
        actor=Actor("staff:e2e"),
        now=now,
    )
    return str(feeders[0].name)


def _opens(page: Any, path: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, f"{path} answered {response.status}"


def _looks_right(page: Any, name: str) -> None:
    """A title, a heading, labelled fields, nothing the browser refused, no sideways scrolling; a screenshot."""
    assert page.title().strip()
    expect(page.locator("h1, h2").first).to_be_visible()
    every_field_labelled(page)
    assert console_errors(page) == []
    shot(page, name)
    no_horizontal_scroll(page)


def _visit_public_pages(page: Any, live_app: LiveApp, feeder: str) -> None:
    _opens(page, "/")
    _looks_right(page, "home")

    _opens(page, "/calculator")
    page.locator("[name=category]").select_option("LMV-1U")
    page.locator("[name=load]").fill("2")
    page.locator("[name=units]").fill("250")
    page.locator("form button[type=submit]").click()
    total = page.locator("[data-component=total]")
    expect(total).to_have_text(re.compile(r"₹\s?[\d,]+\.\d\d"))
    _looks_right(page, "calculator")

    _opens(page, "/outages")
    expect(page.get_by_text(feeder).first).to_be_visible()
    _looks_right(page, "outages")

    _opens(page, "/complaints/status")
    _looks_right(page, "complaint-status-form")
    number = live_app.complaint_numbers(1)[0]
    page.locator("[name=number]").fill(number)
    page.locator("form button[type=submit]").click()
    expect(page.get_by_role("heading", name=f"Complaint {number}")).to_be_visible()
    _looks_right(page, "complaint-status")


def test_the_public_pages_load_and_read_well_on_a_desktop(page: Any, live_app: LiveApp, breakdown: str) -> None:
    _visit_public_pages(page, live_app, breakdown)


def test_the_public_pages_fit_a_360_px_phone_without_sideways_scrolling(
    phone_page: Any, live_app: LiveApp, breakdown: str
) -> None:
    _visit_public_pages(phone_page, live_app, breakdown)
