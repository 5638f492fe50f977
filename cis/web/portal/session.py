"""Who is signed in on the consumer portal, for every portal page: `current_account()` and `@consumer_required`.

How to use it in a portal view (bills, complaints, requests, mobiles & preferences):

    from cis.web.portal.session import consumer_required, me

    @bp.get("/portal/bills")
    @consumer_required
    def bills() -> ResponseReturnValue:
        account = me()                  # current_account(), never None behind the decorator: a SignedIn
        ... account.account_id, .account_no, .name, .name_hi, .mobile (E.164 proven by OTP, or None) ...

- `consumer_required` sends a browser that is not signed in (no cookie, signed out, 30 minutes idle, a new
  password set elsewhere) to /portal/login?next=<this page> (GET) or /portal/login (other methods), and refuses
  a POST (PUT, PATCH, DELETE) without this browser's form token with 400: every form posts
  `<input type="hidden" name="{{ csrf_field }}" value="{{ csrf_token() }}">`.
- Show only what belongs to `me.account_id`; an id in the URL that belongs to another account is a 404 (look it
  up with the account in the WHERE clause, never fetch and compare afterwards).
- Every portal response is `Cache-Control: no-store` (the portal blueprint sets it).
- Templates get `current_account()` too, and `portal/_account_bar.html` (the signed-in account and a sign-out
  button) to include under a page's heading.

The cookie `portal_session` carries only a random token (HttpOnly, SameSite=Lax, Secure on https, path /); the
`consumer_session` row holds its SHA-256, so signing out, a new password or an idle half hour ends it on the
server, whatever copies of the cookie exist. A new token is issued at every sign-in (no session fixation). The
form token lives in Flask's signed session cookie, shared with the staff pages (cis/web/auth.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import current_app, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from cis.consumer_auth import SignedIn, session_account
from cis.web.auth import SAFE_METHODS, csrf_valid, safe_next

COOKIE = "portal_session"
EXTENSION = "urja.portal"
F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


@dataclass(frozen=True)
class PortalStore:
    """What finding the session behind a cookie needs: the database, the clock and the idle limit."""

    factory: Callable[[], Session]
    clock: Callable[[], dt.datetime]
    idle: dt.timedelta


def store() -> PortalStore:
    return cast(PortalStore, current_app.extensions[EXTENSION])


def cookie_token() -> str | None:
    """The token of this browser's portal cookie, if it sent one."""
    token = request.cookies.get(COOKIE)
    return token if token else None


def current_account() -> SignedIn | None:
    """The consumer signed in on this request (the account shown now), or None. Looked up once per request."""
    if "urja_portal" in g:
        return cast(SignedIn | None, g.urja_portal)
    token = cookie_token()
    found: SignedIn | None = None
    if token is not None:
        portal = store()
        found = session_account(portal.factory, token, now=portal.clock(), idle=portal.idle)
        if found is None:
            g.urja_portal_forget = True  # ended: the browser need not keep sending it
    g.urja_portal = found
    return found


def me() -> SignedIn:
    """`current_account()` in a view behind `consumer_required`, where it is never None."""
    found = current_account()
    if found is None:
        raise RuntimeError("portal.session.me() is for views decorated with @consumer_required")
    return found


def _csrf_refused() -> Response:
    return make_response(render_template("portal/csrf.html"), 400)


def consumer_required(view: F) -> F:
    """Decorate a portal view so that only a signed-in consumer reaches it, and its POSTs carry the form token."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if current_account() is None:
            here = request.full_path.rstrip("?") if request.method in SAFE_METHODS else None
            return redirect(url_for("portal.login", next=safe_next(here)), code=303)
        if request.method not in SAFE_METHODS and not csrf_valid():
            return _csrf_refused()
        return view(*args, **kwargs)

    return cast(F, guarded)


def set_cookie(response: Response, token: str) -> None:
    """Give the browser its new session token (after a sign-in)."""
    secure = request.is_secure or bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", secure=secure, path="/")


def forget_cookie(response: Response) -> None:
    """Tell the browser to drop its session token (signed out, or the session has ended)."""
    secure = request.is_secure or bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Lax", secure=secure)


def after_request(response: Response) -> Response:
    """Drop a cookie whose session has ended; never let a cache keep a portal page."""
    if g.pop("urja_portal_forget", False) and COOKIE not in _set_cookie_names(response):
        forget_cookie(response)
    if "no-store" not in response.headers.get("Cache-Control", ""):  # a view may say more ("private, no-store")
        response.headers["Cache-Control"] = "no-store"
    return response


def _set_cookie_names(response: Response) -> set[str]:
    return {header.split("=", 1)[0].strip() for header in response.headers.getlist("Set-Cookie")}
