"""`urjamitra up` gives the portal a demo consumer who can sign in with URJA_DEMO_PASSWORD, and says who."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from cis import consumer_auth
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.errors import WrongAccountPassword
from tests.integration.test_cli import URJAMITRA, _env


def _up(tmp_path: Path, password: str) -> str:
    env = _env(tmp_path, URJA_DEMO_PASSWORD=password, URJA_DEMO_CONSUMERS="60")
    done = subprocess.run(
        [*URJAMITRA, "up", "--no-serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _sign_in(tmp_path: Path, account_no: str, password: str) -> int:
    engine = make_engine(f"sqlite:///{tmp_path / 'urjamitra.db'}")
    try:
        uow = UnitOfWork(make_session_factory(engine))
        now = dt.datetime.now(dt.UTC)
        return consumer_auth.sign_in_password(uow, account_no, password, remote_addr="127.0.0.1", now=now)
    finally:
        engine.dispose()


def test_up_prints_the_portal_and_a_demo_consumer_who_signs_in_with_the_demo_password(tmp_path: Path) -> None:
    output = _up(tmp_path, "training-room-7")

    shown = re.search(r"Portal: (http://\S+/portal/login) — account (\d{10}), password (\S+)", output)
    assert shown is not None, output
    url, account_no, password = shown.groups()
    assert url == "http://127.0.0.1:8080/portal/login"
    assert password == "training-room-7"
    assert _sign_in(tmp_path, account_no, password) > 0
    assert re.search(r"sign in by OTP to its mobile \+91\d{10}", output), output

    # A password too weak for a consumer is said plainly, and the one set before stays.
    weak = _up(tmp_path, "password")
    assert "Portal: " in weak
    assert "URJA_DEMO_PASSWORD cannot be a consumer's password" in weak
    assert _sign_in(tmp_path, account_no, "training-room-7") > 0

    # A changed setting is set again on the next `up`.
    changed = _up(tmp_path, "training-room-8")
    assert f"account {account_no}, password training-room-8" in changed
    assert _sign_in(tmp_path, account_no, "training-room-8") > 0
    with pytest.raises(WrongAccountPassword):
        _sign_in(tmp_path, account_no, "training-room-7")
