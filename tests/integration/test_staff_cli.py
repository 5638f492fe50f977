"""`urjamitra staff`: a new password or a deactivation from the terminal ends the member's sessions at once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.migrate import upgrade
from cis.models import AuditLog
from cis.staff_auth import WrongCredentials, authenticate, session_staff, start_session
from tests import factories
from tests.integration.test_staff_login import PASSWORD, add_staff
from urjamitra.cli import main
from urjamitra.settings import Settings

NOW = factories.NOW


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'staff.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        add_staff(session, "desk.d01")
        session.commit()
    engine.dispose()
    return Settings(database_url=url)


def _signed_in(settings: Settings) -> str:
    """A session token of desk.d01, as the login page would have put it in a cookie."""
    engine = make_engine(settings.database_url)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        staff = authenticate(uow, "desk.d01", PASSWORD, "192.0.2.1", now=NOW)
        return start_session(uow, staff, remote_addr="192.0.2.1", now=NOW)
    finally:
        engine.dispose()


def _still_signed_in(settings: Settings, token: str) -> bool:
    engine = make_engine(settings.database_url)
    try:
        return session_staff(make_session_factory(engine), token, now=NOW) is not None
    finally:
        engine.dispose()


def test_a_new_password_from_stdin_ends_the_sessions_and_is_the_one_that_works(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _signed_in(settings)
    monkeypatch.setattr("sys.stdin", io.StringIO("a-longer-pass\n"))

    assert main(["staff", "password", "Desk.D01"], settings) == 0

    assert capsys.readouterr().out == "Desk.D01: password set; 1 session(s) ended\n"
    assert not _still_signed_in(settings, token)
    engine = make_engine(settings.database_url)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        with pytest.raises(WrongCredentials):
            authenticate(uow, "desk.d01", PASSWORD, "192.0.2.1", now=NOW)
        assert authenticate(uow, "desk.d01", "a-longer-pass", "192.0.2.1", now=NOW).username == "desk.d01"
        with make_session_factory(engine)() as s:
            assert s.scalars(select(AuditLog.action)).all() == ["staff.password"]
    finally:
        engine.dispose()


def test_a_short_password_changes_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _signed_in(settings)
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))

    assert main(["staff", "password", "desk.d01"], settings) == 2

    assert "at least 8 characters" in capsys.readouterr().err
    assert _still_signed_in(settings, token)


def test_deactivating_ends_the_sessions_and_an_unknown_name_is_said_plainly(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _signed_in(settings)

    assert main(["staff", "deactivate", "desk.d01"], settings) == 0
    assert main(["staff", "deactivate", "desk.d99"], settings) == 2

    out = capsys.readouterr()
    assert out.out == "desk.d01: deactivated; 1 session(s) ended\n"
    assert "No staff member is called 'desk.d99'." in out.err
    assert not _still_signed_in(settings, token)
