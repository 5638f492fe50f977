"""Staff sign-in on the web: the /login and /logout pages, the `login_required` guard and CSRF tokens for forms.

The Flask session cookie (signed with SECRET_KEY, HttpOnly, SameSite=Lax) holds only a random session token and
the form token. The token names a `staff_session` row (by its hash), which signing out revokes, as do changing
the member's password or deactivating them; a session also ends after `idle` unused (URJA_STAFF_IDLE_MINUTES,
30 by default) and 12 hours after sign-in. Who the staff member is, and whether they are still active, is read
from the database on each request that asks. Every POST form carries `csrf_token()` in a hidden field named
`csrf_token`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from cis.db import UnitOfWork
from cis.staff_auth import (
    DEFAULT_IDLE,
    HASHER,
    SESSION_LIFETIME,
    PasswordHasher,
    StaffRef,
    TooManyFailedLogins,
    WrongCredentials,
    authenticate,
    end_session,
    session_staff,
    start_session,
)

TOKEN_KEY = "staff_session"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSIONS = "urja.staff_sessions"
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


@dataclass(frozen=True)
class _SessionStore:
    """What `current_staff` needs to find the session behind a cookie: the database, the clock, the idle limit."""

    factory: Callable[[], Session]
    clock: Callable[[], dt.datetime]
    idle: dt.timedelta


def csrf_token() -> str:
    """This browser session's form token (made on first use)."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_valid() -> bool:
    """True when the request carries this session's form token (form field, or header for scripts)."""
    expected = session.get(CSRF_KEY)
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not isinstance(expected, str) or not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site (so a login link cannot send staff elsewhere), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def current_staff() -> StaffRef | None:
    """The staff member signed in on this request, or None (also when deactivated since they signed in)."""
    if "urja_staff" in g:
        return cast(StaffRef | None, g.urja_staff)
    token = session.get(TOKEN_KEY)
    found: StaffRef | None = None
    if isinstance(token, str):
        store: _SessionStore = current_app.extensions[_SESSIONS]
        found = session_staff(store.factory, token, now=store.clock(), idle=store.idle)
        if found is None:
            session.pop(TOKEN_KEY, None)  # ended: the browser need not keep sending it
    g.urja_staff = found
    return found


def _forbidden(staff: StaffRef) -> Response:
    return make_response(render_template("auth/forbidden.html", staff=staff), 403)


def _csrf_refused() -> Response:
    return make_response(render_template("auth/csrf.html"), 400)


def guard(*roles: str) -> Response | None:
    """None when the request may go on; else the answer: the login page (not signed in), 403 (another role),
    or 400 (a form without this session's token). With no roles named any signed-in staff member may pass.
    """
    staff = current_staff()
    if staff is None:
        here = request.full_path.rstrip("?") if request.method in SAFE_METHODS else None
        return redirect(url_for("auth.login", next=safe_next(here)))
    if roles and staff.role not in roles:
        return _forbidden(staff)
    if request.method not in SAFE_METHODS and not csrf_valid():
        return _csrf_refused()
    return None


def login_required(*roles: str) -> Callable[[F], F]:
    """Decorate a view so that only signed-in staff of one of `roles` reach it, and its POSTs carry the token."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            refused = guard(*roles)
            if refused is not None:
                return refused
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def auth_blueprint(
    session_factory: Callable[[], Session],
    *,
    clock: Callable[[], dt.datetime] = _utc_now,
    landing: Mapping[str, str] | None = None,
    idle: dt.timedelta = DEFAULT_IDLE,
    hasher: PasswordHasher = HASHER,
) -> Blueprint:
    """GET/POST /login and POST /logout. After signing in staff go to `next` (a local path) or to the page
    `landing` names for their role, else "/". A session ends when signed out, after `idle` unused, or 12 hours
    after sign-in. Registering it sets the session cookie's flags for the app.
    """
    bp = Blueprint(
        "auth", __name__, template_folder="templates", static_folder="static", static_url_path="/static/staff"
    )
    landings = dict(landing or {})

    @bp.record_once
    def _configure(state: BlueprintSetupState) -> None:
        app = state.app
        app.extensions[_SESSIONS] = _SessionStore(session_factory, clock, idle)
        app.config.update(
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        )

    @bp.app_context_processor
    def _template_helpers() -> dict[str, Any]:
        return {"csrf_token": csrf_token, "current_staff": current_staff, "csrf_field": CSRF_FIELD}

    def form(*, error: str | None = None, username: str = "", status: int = 200) -> Response:
        html = render_template(
            "auth/login.html", error=error, username=username, next=safe_next(request.values.get("next"))
        )
        response = make_response(html, status)
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/login")
    def login() -> ResponseReturnValue:
        return form()

    @bp.post("/login")
    def login_post() -> ResponseReturnValue:
        username = (request.form.get("username") or "").strip()
        if not csrf_valid():
            return form(error="The form had expired. Please sign in again.", username=username, status=400)
        address = request.remote_addr or "unknown"
        try:
            staff = authenticate(
                UnitOfWork(session_factory),
                username,
                request.form.get("password") or "",
                address,
                now=clock(),
                hasher=hasher,
            )
        except TooManyFailedLogins as exc:
            return form(error=str(exc), username=username, status=429)
        except WrongCredentials as exc:
            return form(error=str(exc), username=username, status=401)
        # A fresh session on sign-in: a session id or token planted before it is worth nothing after.
        session.clear()
        session.permanent = True
        session[TOKEN_KEY] = start_session(UnitOfWork(session_factory), staff, remote_addr=address, now=clock())
        csrf_token()
        target = safe_next(request.form.get("next")) or landings.get(staff.role) or "/"
        return redirect(target)

    @bp.post("/logout")
    def logout() -> ResponseReturnValue:
        if not csrf_valid():
            return _csrf_refused()
        token = session.get(TOKEN_KEY)
        if isinstance(token, str):
            end_session(UnitOfWork(session_factory), token, now=clock())
        session.clear()
        g.pop("urja_staff", None)
        return redirect(url_for("auth.login"))

    return bp
