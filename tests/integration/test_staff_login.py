"""Staff sign-in: /login, /logout, lock-out after repeated failures, CSRF tokens and role checks (PostgreSQL+SQLite)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.migrate import upgrade
from cis.models import LoginAttempt, Staff
from cis.staff_auth import (
    TooManyFailedLogins,
    WerkzeugHasher,
    WrongCredentials,
    authenticate,
    set_active,
    set_password,
)
from cis.web.auth import auth_blueprint, login_required, safe_next
from tests import factories
from urjamitra.settings import Settings
from urjamitra.web import create_app

NOW = factories.NOW
PASSWORD = "demo1912"
# Cheap hashes: a test signs in many times, and the hash method is not what is tested.
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
CHEAP_HASHER = WerkzeugHasher("pbkdf2:sha256:1000")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """The time the app sees; a test moves it instead of sleeping."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def add_staff(
    session: Session,
    username: str,
    *,
    role: str = "outage_desk",
    scope_level: str | None = None,
    scope_id: int | None = None,
    password_hash: str = _HASH,
    active: bool = True,
) -> Staff:
    staff = Staff(
        username=username,
        name=f"Staff {username}",
        role=role,
        scope_level=scope_level,
        scope_id=scope_id,
        password_hash=password_hash,
        active=active,
        created_at=NOW,
    )
    session.add(staff)
    session.flush()
    return staff


def form_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on `path`, as a browser would read it from the page."""
    found = _TOKEN.search(client.get(path).get_data(as_text=True))
    assert found, f"no form token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD, **extra: str) -> tuple[int, str, str]:
    """(status, Location, page text) of signing in through the login form."""
    data = {"username": username, "password": password, "csrf_token": form_token(client), **extra}
    response = client.post("/login", data=data)
    return response.status_code, response.headers.get("Location", ""), response.get_data(as_text=True)


def staff_app(session_factory: Callable[[], Session], clock: Clock, **options: Any) -> Flask:
    """An app with the auth blueprint and two guarded pages: one for the desk role, one for any staff."""
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="test-secret")
    options.setdefault("hasher", CHEAP_HASHER)
    app.register_blueprint(auth_blueprint(session_factory, clock=clock, landing={"outage_desk": "/work"}, **options))

    @app.route("/work", methods=["GET", "POST"])
    @login_required("outage_desk")
    def work() -> str:
        return "desk work"

    @app.get("/anyone")
    @login_required()
    def anyone() -> str:
        return "staff page"

    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(session_factory: Callable[[], Session], session: Session, clock: Clock) -> FlaskClient:
    add_staff(session, "desk.kn1", scope_level="division", scope_id=None)
    add_staff(session, "agent1", role="agent")
    add_staff(session, "desk.gone", active=False)
    add_staff(session, "je.nopass", role="je", password_hash="!")
    session.commit()
    return staff_app(session_factory, clock).test_client()


def _attempts(session: Session, username: str) -> list[bool]:
    session.expire_all()
    return list(
        session.scalars(select(LoginAttempt.ok).where(LoginAttempt.username == username).order_by(LoginAttempt.id))
    )


def test_right_password_signs_in_and_goes_to_the_roles_landing_page(client: FlaskClient, session: Session) -> None:
    status, location, _ = sign_in(client, "desk.kn1")

    assert (status, location) == (302, "/work")
    assert client.get("/work").get_data(as_text=True) == "desk work"
    assert _attempts(session, "desk.kn1") == [True]


def test_username_is_matched_without_regard_to_case_or_spaces(client: FlaskClient) -> None:
    status, _, _ = sign_in(client, "  Desk.KN1 ")

    assert status == 302
    assert client.get("/work").status_code == 200


def test_wrong_password_is_refused_politely_and_recorded(client: FlaskClient, session: Session) -> None:
    status, _, page = sign_in(client, "desk.kn1", "demo1913")

    assert status == 401
    assert "The username or password is not correct." in page
    assert 'value="desk.kn1"' in page  # the username stays filled in
    assert client.get("/work").status_code == 302
    assert _attempts(session, "desk.kn1") == [False]


@pytest.mark.parametrize(
    ("username", "password"),
    [("nobody", PASSWORD), ("desk.gone", PASSWORD), ("je.nopass", "!"), ("je.nopass", ""), ("", "")],
    ids=["unknown", "inactive", "no-password-set", "empty-password", "empty"],
)
def test_no_match_gets_the_same_answer(client: FlaskClient, username: str, password: str) -> None:
    status, _, page = sign_in(client, username, password)

    assert status == 401
    assert "The username or password is not correct." in page


def test_five_failures_lock_the_username_even_against_the_right_password(
    client: FlaskClient, session: Session, clock: Clock
) -> None:
    for minute in range(5):
        clock.now = NOW + dt.timedelta(minutes=minute)
        assert sign_in(client, "desk.kn1", f"guess{minute}")[0] == 401

    clock.now = NOW + dt.timedelta(minutes=6)
    status, _, page = sign_in(client, "desk.kn1")

    assert status == 429
    assert "Too many failed sign-ins" in page
    assert "please try again in 15 minutes" in page
    assert client.get("/work").status_code == 302
    assert _attempts(session, "desk.kn1") == [False] * 5  # the refused try is not a sixth failure
    # Another username from the same address is not locked by these five.
    assert sign_in(client, "agent1")[0] == 302


def test_the_lock_lifts_when_the_failures_are_older_than_fifteen_minutes(client: FlaskClient, clock: Clock) -> None:
    for _ in range(5):
        sign_in(client, "desk.kn1", "wrong")

    clock.now = NOW + dt.timedelta(minutes=14)
    assert sign_in(client, "desk.kn1")[0] == 429
    # Tries while it holds do not extend it: it lifts 15 minutes after the last real failure.
    clock.now = NOW + dt.timedelta(minutes=15, seconds=1)
    assert sign_in(client, "desk.kn1")[0] == 302


def test_a_success_clears_the_usernames_earlier_failures(client: FlaskClient) -> None:
    for _ in range(4):
        sign_in(client, "desk.kn1", "wrong")
    assert sign_in(client, "desk.kn1")[0] == 302

    for _ in range(4):
        assert sign_in(client, "desk.kn1", "wrong")[0] == 401
    assert sign_in(client, "desk.kn1")[0] == 302


def test_twenty_failures_from_one_address_lock_that_address(client: FlaskClient) -> None:
    for n in range(20):
        assert sign_in(client, f"guess{n}", "wrong")[0] == 401

    assert sign_in(client, "agent1")[0] == 429
    other = client.application.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert sign_in(other, "agent1")[0] == 302


def test_authenticate_records_the_address_and_raises_the_errors(uow: UnitOfWork, session: Session) -> None:
    add_staff(session, "desk.tn1")
    session.commit()

    with pytest.raises(WrongCredentials):
        authenticate(uow, "desk.tn1", "nope", "192.0.2.7", now=NOW)
    for _ in range(4):
        with pytest.raises(WrongCredentials):
            authenticate(uow, "desk.tn1", "nope", "192.0.2.7", now=NOW)
    with pytest.raises(TooManyFailedLogins):
        authenticate(uow, "desk.tn1", PASSWORD, "192.0.2.8", now=NOW + dt.timedelta(minutes=1))
    staff = authenticate(uow, "desk.tn1", PASSWORD, "192.0.2.8", now=NOW + dt.timedelta(minutes=17))

    assert (staff.username, staff.role) == ("desk.tn1", "outage_desk")
    session.expire_all()
    addresses = session.scalars(select(LoginAttempt.remote_addr).where(LoginAttempt.username == "desk.tn1")).all()
    assert sorted(set(addresses)) == ["192.0.2.7", "192.0.2.8"]


def test_login_without_the_form_token_is_refused_and_not_counted(client: FlaskClient, session: Session) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "desk.kn1", "password": PASSWORD})

    assert response.status_code == 400
    assert "The form had expired" in response.get_data(as_text=True)
    assert client.get("/work").status_code == 302
    assert _attempts(session, "desk.kn1") == []


def test_a_guarded_post_needs_the_sessions_token(client: FlaskClient) -> None:
    sign_in(client, "desk.kn1")

    forged = client.post("/work", data={"csrf_token": "x" * 43})
    missing = client.post("/work")
    good = client.post("/work", data={"csrf_token": form_token(client)})

    assert forged.status_code == 400
    assert missing.status_code == 400
    assert "Nothing was saved" in missing.get_data(as_text=True)
    assert good.status_code == 200


def test_not_signed_in_goes_to_the_login_page_and_comes_back(client: FlaskClient) -> None:
    response = client.get("/work?tab=2")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/work?tab%3D2"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/work?tab=2"' in page
    status, location, _ = sign_in(client, "agent1", next="/anyone")
    assert (status, location) == (302, "/anyone")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"])
def test_only_local_next_paths_are_followed(client: FlaskClient, target: str) -> None:
    status, location, _ = sign_in(client, "desk.kn1", next=target)

    assert (status, location) == (302, "/work")
    assert safe_next(target) is None


def test_a_wrong_role_gets_403(client: FlaskClient) -> None:
    sign_in(client, "agent1")

    response = client.get("/work")

    assert response.status_code == 403
    assert "not part of that role" in " ".join(response.get_data(as_text=True).split())
    assert client.get("/anyone").status_code == 200


def test_a_member_deactivated_after_signing_in_is_out(client: FlaskClient, session: Session) -> None:
    sign_in(client, "desk.kn1")
    session.execute(Staff.__table__.update().where(Staff.username == "desk.kn1").values(active=False))
    session.commit()

    assert client.get("/work").status_code == 302


def test_logout_ends_the_session_and_needs_the_token(client: FlaskClient) -> None:
    sign_in(client, "desk.kn1")
    token = form_token(client)

    assert client.post("/logout").status_code == 400
    assert client.get("/work").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/work").status_code == 302


def _copy_cookie(source: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `source`'s session cookie, as a thief or a shared PC would."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    other = source.application.test_client()
    other.set_cookie("session", cookie.value)
    return other


def test_a_cookie_copied_before_logout_opens_nothing_after_it(client: FlaskClient) -> None:
    sign_in(client, "desk.kn1")
    copy = _copy_cookie(client)
    assert copy.get("/work").get_data(as_text=True) == "desk work"

    client.post("/logout", data={"csrf_token": form_token(client)})

    response = copy.get("/work")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert copy.get("/anyone").status_code == 302


def test_logging_out_ends_only_that_session(client: FlaskClient) -> None:
    sign_in(client, "desk.kn1")
    elsewhere = client.application.test_client()
    sign_in(elsewhere, "desk.kn1")

    client.post("/logout", data={"csrf_token": form_token(client)})

    assert client.get("/work").status_code == 302
    assert elsewhere.get("/work").status_code == 200


def test_a_session_unused_for_thirty_minutes_ends(client: FlaskClient, clock: Clock) -> None:
    sign_in(client, "desk.kn1")
    copy = _copy_cookie(client)
    clock.now = NOW + dt.timedelta(minutes=29)
    assert client.get("/work").status_code == 200  # used: it lives on
    clock.now = NOW + dt.timedelta(minutes=58)
    assert client.get("/work").status_code == 200

    clock.now = NOW + dt.timedelta(minutes=88)

    assert client.get("/work").status_code == 302
    assert copy.get("/work").status_code == 302
    assert sign_in(client, "desk.kn1")[0] == 302  # signing in again starts a new one
    assert client.get("/work").status_code == 200


def test_the_idle_time_out_is_a_setting(
    session_factory: Callable[[], Session], client: FlaskClient, clock: Clock
) -> None:
    short = staff_app(session_factory, clock, idle=dt.timedelta(minutes=5)).test_client()
    sign_in(short, "desk.kn1")

    clock.now = NOW + dt.timedelta(minutes=5)

    assert short.get("/work").status_code == 302


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(client: FlaskClient, clock: Clock) -> None:
    sign_in(client, "desk.kn1")
    for quarter in range(1, 48):
        clock.now = NOW + dt.timedelta(minutes=15 * quarter)
        assert client.get("/work").status_code == 200, f"refused after {15 * quarter} minutes"

    clock.now = NOW + dt.timedelta(hours=12)

    assert client.get("/work").status_code == 302


def test_a_new_password_ends_every_session_of_that_member(
    client: FlaskClient, session_factory: Callable[[], Session], clock: Clock
) -> None:
    sign_in(client, "desk.kn1")
    elsewhere = client.application.test_client()
    sign_in(elsewhere, "desk.kn1")
    colleague = client.application.test_client()
    sign_in(colleague, "agent1")

    ended = set_password(
        UnitOfWork(session_factory),
        "Desk.KN1",
        "new-shift-pass",
        actor="staff:admin",
        now=clock.now,
        hasher=WerkzeugHasher("pbkdf2:sha256:1000"),
    )

    assert ended == 2
    assert client.get("/work").status_code == 302
    assert elsewhere.get("/work").status_code == 302
    assert colleague.get("/anyone").status_code == 200
    assert sign_in(client, "desk.kn1")[0] == 401
    assert sign_in(client, "desk.kn1", "new-shift-pass")[0] == 302


def test_deactivating_a_member_ends_their_sessions_for_good(
    client: FlaskClient, session_factory: Callable[[], Session], clock: Clock
) -> None:
    sign_in(client, "desk.kn1")
    uow = UnitOfWork(session_factory)

    assert set_active(uow, "desk.kn1", False, actor="staff:admin", now=clock.now) == 1
    assert client.get("/work").status_code == 302
    set_active(uow, "desk.kn1", True, actor="staff:admin", now=clock.now)

    assert client.get("/work").status_code == 302  # reactivation revives no old session
    assert sign_in(client, "desk.kn1")[0] == 302


class CountingHasher(WerkzeugHasher):
    """Werkzeug's hashes (cheap ones), counting each password check."""

    def __init__(self) -> None:
        super().__init__("pbkdf2:sha256:1000")
        self.checks = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.checks += 1
        return super().verify(password_hash, password)


@pytest.mark.parametrize(
    ("username", "password", "outcome"),
    [
        ("desk.kn1", PASSWORD, None),
        ("desk.kn1", "demo1913", WrongCredentials),
        ("desk.kn1", "", WrongCredentials),
        ("nobody", PASSWORD, WrongCredentials),
        ("nobody", "", WrongCredentials),
        ("", "", WrongCredentials),
        ("desk.gone", PASSWORD, WrongCredentials),
        ("je.nopass", "!", WrongCredentials),
        ("locked.out", PASSWORD, TooManyFailedLogins),
    ],
    ids=["right", "wrong", "empty-password", "unknown", "unknown-empty", "empty", "inactive", "no-password", "locked"],
)
def test_every_answer_costs_exactly_one_password_check(
    client: FlaskClient,
    uow: UnitOfWork,
    session: Session,
    username: str,
    password: str,
    outcome: type[Exception] | None,
) -> None:
    add_staff(session, "locked.out")
    session.commit()
    for _ in range(5):
        with pytest.raises(WrongCredentials):
            authenticate(uow, "locked.out", "guess", "192.0.2.9", now=NOW, hasher=CountingHasher())
    hasher = CountingHasher()

    if outcome is None:
        assert authenticate(uow, username, password, "192.0.2.7", now=NOW, hasher=hasher).username == username
    else:
        with pytest.raises(outcome):
            authenticate(uow, username, password, "192.0.2.7", now=NOW, hasher=hasher)

    assert hasher.checks == 1


def test_signing_in_starts_a_fresh_session_with_a_new_token(client: FlaskClient) -> None:
    before = form_token(client)
    sign_in(client, "desk.kn1")

    assert form_token(client, "/login") != before


def test_the_real_app_serves_login_with_a_httponly_lax_cookie(tmp_path: Path, redis_url: str) -> None:
    url = f"sqlite:///{tmp_path / 'login.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        add_staff(session, "desk.kn1", scope_level="division", scope_id=1)
        session.commit()
    engine.dispose()
    settings = Settings(database_url=url, redis_url=redis_url, secret_key="test", rate_limit_prefix="test-cookie")
    app = create_app(settings)
    try:
        client = app.test_client()
        page = client.get("/login")
        cookie = page.headers["Set-Cookie"]
        status, location, _ = sign_in(client, "desk.kn1")
        home = client.get("/").get_data(as_text=True)
        with app.extensions["urja.engine"].connect() as conn:
            attempts = conn.scalar(select(func.count()).select_from(LoginAttempt))
    finally:
        app.extensions["urja.engine"].dispose()
        app.extensions["urja.celery"].close()
        from tests.web_support import forget_counts  # it imports this module's helpers

        forget_counts(settings)

    assert page.status_code == 200
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert (status, location) == (302, "/desk/")
    assert attempts == 1
    assert 'href="/login"' in home  # the public landing page: staff sign in from its footer
    assert 'href="/outages"' in home
