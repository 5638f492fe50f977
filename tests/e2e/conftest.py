"""End-to-end fixtures: one live `urjamitra serve` and one Debian chromium for the session (tests/e2e/support.py
says what each gives). Playwright drives /usr/bin/chromium by `executable_path`: never a browser download
(`playwright install` is not needed). Without chromium these tests fail, never skip: bin/test installs it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.support import CHROMIUM, SHOTS, LiveApp, clear_shots, forget, running_server, watch

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 800}
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with running_server(tmp_path_factory.mktemp("e2e")) as app:
        yield app


@pytest.fixture(scope="session")
def fresh_shots() -> None:
    """The screenshot folder emptied once a run."""
    clear_shots()


# One chromium per test module, not per session: Playwright's sync API keeps an asyncio loop running in the main
# thread while it is open, and every later test that calls asyncio.run() (the FastAGI tests) would fail with
# "cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser(fresh_shots: None) -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; bin/test does it)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


def _page(browser: Any, live_app: LiveApp, viewport: dict[str, int], locale: str = "en-IN") -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, locale=locale, base_url=live_app.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch(page)
    yield page
    forget(page)
    context.close()


@pytest.fixture
def page(browser: Any, live_app: LiveApp) -> Iterator[Any]:
    """A fresh desktop browser (1280 x 800, English) on the live server."""
    yield from _page(browser, live_app, DESKTOP)


@pytest.fixture
def phone_page(browser: Any, live_app: LiveApp) -> Iterator[Any]:
    """A fresh phone-sized browser (360 x 800, English) on the live server."""
    yield from _page(browser, live_app, PHONE)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    shots = sorted(SHOTS.glob("*.png")) if SHOTS.is_dir() else []
    if shots:
        terminalreporter.write_line(f"e2e screenshots ({len(shots)}): {SHOTS}")
