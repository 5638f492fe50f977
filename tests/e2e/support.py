"""What the end-to-end tests share: the live server (`urjamitra serve` on a seeded SQLite database), the SMS a
consumer's handset would have received (the console provider's store), screenshots, and page checks.

Fixtures (tests/e2e/conftest.py): `live_app` (one server for the session), `browser` (one Debian chromium for
the session), `page` (1280 x 800) and `phone_page` (360 x 800), each a fresh browser context (no cookies) with
`base_url` set, so `page.goto("/calculator")` works. Helpers here: `shot(page, name)`,
`no_horizontal_scroll(page)`, `every_field_labelled(page)`, `console_errors(page)`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cis.db import make_engine
from cis.models import Account, AccountMobile, Complaint, ConsoleSms
from cis.phones import normalise_mobile

CHROMIUM = "/usr/bin/chromium"
DEMO_PASSWORD = "demo1912"
CONSUMERS = 300
# Every rate limit of the settings is raised this high: the tests sign in and ask for pages far more often
# than one person would (cis.otp's own per-mobile limits are in the code and stay: use several consumers).
RAISED_LIMIT = "100000 per minute"
SHOTS = Path(os.environ.get("URJA_E2E_SHOTS") or Path(tempfile.gettempdir()) / "urja-e2e-shots")
OTP = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_environment(database: Path, port: int) -> dict[str, str]:
    """The settings the live server runs with: the embedded defaults (SQLite, no Redis, console SMS) on a port
    of its own, every rate limit raised."""
    from urjamitra.settings import LIMITS

    env = {k: v for k, v in os.environ.items() if not k.startswith("URJA_")}
    env.update(
        {
            "URJA_DATABASE_URL": f"sqlite:///{database}",
            "URJA_WEB_BIND": f"127.0.0.1:{port}",
            "URJA_SMS_PROVIDER": "console",
            "URJA_SECRET_KEY": "e2e-tests-only-" + "0" * 32,
            "URJA_DEMO_PASSWORD": DEMO_PASSWORD,
            "URJA_WEB_WORKERS": "2",
            "URJA_WEB_THREADS": "4",
            "URJA_WEB_GRACEFUL_TIMEOUT": "5",
            "URJA_FASTAGI_BIND": "127.0.0.1:0",
            "URJA_PROMPTS_DIR": str(database.parent / "prompts"),
            **{variable: RAISED_LIMIT for variable in LIMITS.values()},
        }
    )
    return env


def seed_database(env: dict[str, str], consumers: int = CONSUMERS) -> None:
    """Migrate and seed the database as an operator would (`urjamitra seed`, in this process)."""
    from urjamitra.cli import main
    from urjamitra.settings import Settings

    code = main(["seed", "--consumers", str(consumers), "--seed", "1"], settings=Settings.from_env(env))
    assert code == 0, "urjamitra seed failed"


@dataclass
class LiveApp:
    """`urjamitra serve` running for the session; its database is open to the tests for arranging and reading."""

    url: str
    database_url: str
    folder: Path
    process: subprocess.Popen[bytes]
    demo_password: str = DEMO_PASSWORD
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's stderr (gunicorn's and the app's log) and stdout (access log, console SMS)."""
        out = []
        for name in ("serve.err", "serve.out"):
            text = (self.folder / name).read_text(errors="replace").splitlines()
            out.append(f"--- {name}\n" + "\n".join(text[-lines:]))
        return "\n".join(out)

    def accounts(self, count: int = 3, *, skip: int = 0) -> list[tuple[str, str]]:
        """(account number, verified mobile as E.164) of active accounts; `skip` to take others than another
        test took (cis.otp limits sends per mobile and per account)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Account.account_no, AccountMobile.e164)
                .join(AccountMobile, AccountMobile.account_id == Account.id)
                .where(Account.status == "active", AccountMobile.verified.is_(True))
                .order_by(Account.id, AccountMobile.id)
                .offset(skip)
                .limit(count)
            ).all()
        return [(str(a), str(m)) for a, m in rows]

    def complaint_numbers(self, count: int = 1) -> list[str]:
        with self.engine.connect() as conn:
            return [str(n) for n in conn.scalars(select(Complaint.number).order_by(Complaint.id).limit(count))]

    def last_sms_id(self) -> int:
        """The newest console SMS's id: pass it as `after_id` to wait only for messages sent after now."""
        with self.engine.connect() as conn:
            return int(conn.scalar(select(ConsoleSms.id).order_by(ConsoleSms.id.desc()).limit(1)) or 0)

    def sms_to(self, mobile: str, *, after_id: int = 0, template: str = "", seconds: float = 20) -> ConsoleSms:
        """The first SMS to `mobile` (any form) sent after `after_id` whose template starts with `template`,
        waiting up to `seconds` for the outbox to be drained (a web worker does it every 3 s without Redis)."""
        to = normalise_mobile(mobile)
        deadline = time.monotonic() + seconds
        while True:
            # An ORM session: a Core connection's scalars() of an entity gives only its first column (the id).
            with Session(self.engine) as session:
                found = session.scalars(
                    select(ConsoleSms)
                    .where(
                        ConsoleSms.recipient == to,
                        ConsoleSms.id > after_id,
                        ConsoleSms.template.startswith(template),
                    )
                    .order_by(ConsoleSms.id)
                    .limit(1)
                ).first()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no SMS {template or ''}* to {to} after id {after_id} in {seconds} s\n{self.log_tail()}"
                )
            if self.process.poll() is not None:
                raise AssertionError(f"the server has stopped\n{self.log_tail()}")
            time.sleep(0.25)

    def otp(self, mobile: str, *, after_id: int = 0, seconds: float = 20) -> str:
        """The code of the first OTP SMS to `mobile` after `after_id`, as the handset shows it."""
        message = self.sms_to(mobile, after_id=after_id, template="otp.", seconds=seconds)
        code = OTP.search(message.text)
        assert code is not None, f"no 6-digit code in {message.text!r}"
        return code.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._engine is not None:
            self._engine.dispose()


@contextmanager
def running_server(folder: Path) -> Iterator[LiveApp]:
    """A seeded database in `folder` and `urjamitra serve` on it until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "urjamitra.db"
    port = _free_port()
    env = server_environment(database, port)
    seed_database(env)
    with (folder / "serve.out").open("wb") as out, (folder / "serve.err").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "urjamitra.cli", "serve"], cwd=folder, env=env, stdout=out, stderr=err
        )
    app = LiveApp(url=f"http://127.0.0.1:{port}", database_url=env["URJA_DATABASE_URL"], folder=folder, process=process)
    try:
        deadline = time.monotonic() + 60
        while "serving on " not in (folder / "serve.out").read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"urjamitra serve did not start\n{app.log_tail()}")
            time.sleep(0.1)
        yield app
    finally:
        app.stop()


# --- pages -------------------------------------------------------------------------------------------------


_ERRORS: dict[int, list[str]] = {}


def watch(page: Any) -> None:
    """Remember what the page reports as errors: script errors, and console errors such as a blocked inline
    style or script (the Content-Security-Policy forbids them) or a resource that failed to load."""
    errors = _ERRORS.setdefault(id(page), [])

    def on_console(message: Any) -> None:
        where = (message.location or {}).get("url", "")
        # The browser asks every site for /favicon.ico on its own; that is no page's error.
        if message.type == "error" and not where.endswith("/favicon.ico"):
            errors.append(f"{message.text} ({where})" if where else message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))


def console_errors(page: Any) -> list[str]:
    return list(_ERRORS.get(id(page), []))


def forget(page: Any) -> None:
    _ERRORS.pop(id(page), None)


def clear_shots() -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot in the shots folder (printed at the end of the run), named by `name` and the
    viewport's width: look at them before saying a page is done."""
    width = (page.viewport_size or {}).get("width", 0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


_OVERFLOWING = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      wide.push(name + ' right=' + Math.round(box.right));
    }
  }
  return {scroll: document.scrollingElement.scrollWidth, inner: width, wide: wide.slice(0, 10)};
}"""


def no_horizontal_scroll(page: Any) -> None:
    """The page fits its viewport's width (no sideways scrolling); else the widest culprits are named."""
    found = page.evaluate(_OVERFLOWING)
    assert found["scroll"] <= found["inner"], (
        f"{page.url} scrolls sideways at {found['inner']} px: {found['scroll']} px wide; "
        f"too wide: {', '.join(found['wide']) or '(none found)'}"
    )


_UNLABELLED = """() => {
  const missing = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type)) continue;
    const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') ||
      el.getAttribute('aria-labelledby');
    if (!named) missing.push(el.outerHTML.slice(0, 120));
  }
  return missing;
}"""


def every_field_labelled(page: Any) -> None:
    """Every form field has a label (or an aria-label): screen readers say what to type."""
    missing = page.evaluate(_UNLABELLED)
    assert not missing, f"{page.url} has fields without a label: {missing}"
