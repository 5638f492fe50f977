"""The portal's sign-in pages: register, sign in (password or mobile OTP), forgotten password, sign out, switch
account, and the "My account" home that the other portal sections link from.

GET/POST /portal/register            account number + bill number → /portal/register/verify (OTP + new password)
GET/POST /portal/login               account number + password (and `next`, a local path)
GET/POST /portal/login/otp           mobile → /portal/login/otp/verify (OTP)
GET/POST /portal/forgot              account number + registered mobile → /portal/forgot/verify (OTP + password)
POST     /portal/logout              ends the session (its cookie opens nothing after)
GET/POST /portal/switch              the accounts the session may show; choose one
GET      /portal/                    My account

Views parse the form (cis.inputs), call cis.consumer_auth and render; each error becomes a message in the page's
language, tied to its field. The ticket of an OTP asked for waits in Flask's signed session cookie.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, g, make_response, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from cis import consumer_auth as auth
from cis.db import UnitOfWork
from cis.errors import (
    MalformedAccountNumber,
    MalformedBillNumber,
    MalformedMobile,
    NoPendingOtp,
    NotYourAccount,
    NoVerifiedMobile,
    RegistrationMismatch,
    TooManyOtpRequests,
    TooManySignInTries,
    WeakPassword,
    WrongAccountPassword,
    WrongOtp,
)
from cis.inputs import InvalidInput, text
from cis.otp import VALID_MINUTES
from cis.passwords import HASHER, MIN_LENGTH, PasswordHasher
from cis.web.auth import CSRF_FIELD, CSRF_KEY, csrf_token, csrf_valid, safe_next
from cis.web.portal import session as portal
from cis.web.portal.session import consumer_required, current_account

FLOW = "portal_flow"  # the OTP step under way in this browser: {"kind", "ticket", "hint", "account"}
_PASSWORD_MAX = 1024  # longer than any password (128), short enough that hashing it costs nothing extra
KINDS = ("register", "forgot", "login")


@dataclass
class Form:
    """What a page's form shows back: the values typed (never a password) and an error per field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    notice: str | None = None  # an error about the whole form

    def fail(self, name: str, message: str) -> Form:
        self.errors[name] = message
        return self


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _field(name: str, max_length: int, label: str) -> str:
    value = text(request.form.get(name), field=name, max_length=max_length, label=label)
    return value or ""


def _password(name: str = "password") -> str:
    value = request.form.get(name) or ""
    return value[:_PASSWORD_MAX]


def weak_message(error: WeakPassword) -> str:
    return {
        "short": _("A password needs at least %(n)s characters.", n=error.min_length),
        "long": _("A password can have at most 128 characters."),
        "characters": _("The password contains characters that are not allowed."),
        "common": _("This password is too common and easy to guess. Please choose another."),
        "account": _("The password may not contain your account number or mobile number."),
    }[error.reason]


def _otp_failed() -> str:
    return _("The OTP is not correct or has expired. Check the SMS, or ask for a new OTP.")


def _too_many_otps() -> str:
    return _("Too many OTPs were asked for this mobile or account in the last hour. Please try again later.")


def _too_many_tries(error: TooManySignInTries) -> str:
    return _(
        "Too many failed tries. For your security this is paused for %(minutes)s minutes. You can sign in with an "
        "OTP to your registered mobile meanwhile.",
        minutes=error.minutes,
    )


def _account_format() -> str:
    return _("An account number has 10 digits. It is printed on your bill.")


def _mobile_format() -> str:
    return _("A mobile number has 10 digits and starts with 6, 7, 8 or 9.")


def portal_blueprint(
    session_factory: Callable[[], Session],
    *,
    clock: Callable[[], dt.datetime] = _utc_now,
    idle: dt.timedelta = auth.DEFAULT_IDLE,
    hasher: PasswordHasher = HASHER,
) -> Blueprint:
    """The portal's sign-in pages and home (under /portal). Sessions end after `idle` unused."""
    bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="../templates")

    @bp.record_once
    def _configure(state: BlueprintSetupState) -> None:
        state.app.extensions[portal.EXTENSION] = portal.PortalStore(session_factory, clock, idle)
        # The form token and an OTP's ticket wait in Flask's session cookie: never readable by scripts.
        state.app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")

    @bp.after_app_request
    def _no_store(response: Response) -> Response:
        if request.path == "/portal" or request.path.startswith("/portal/"):
            return portal.after_request(response)
        return response

    @bp.app_context_processor
    def _helpers() -> dict[str, Any]:
        return {"csrf_token": csrf_token, "csrf_field": CSRF_FIELD, "current_account": current_account}

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    def page(template: str, form: Form, status: int = 200, **context: Any) -> Response:
        html = render_template(template, form=form, values=form.values, errors=form.errors, **context)
        return make_response(html, status)

    def expired_form(template: str, form: Form, **context: Any) -> Response:
        form.notice = _("The form had expired. Please try again.")
        return page(template, form, 400, **context)

    def signed_in(account_id: int, mobile: str | None, target: str | None) -> Response:
        """Sign this browser in: the old session (if any) ends, a new token is issued, the form token renewed."""
        old = portal.cookie_token()
        if old is not None:
            auth.end_session(uow(), old, now=clock())
        token = auth.start_session(uow(), account_id, mobile=mobile, remote_addr=request.remote_addr, now=clock())
        session.pop(FLOW, None)
        session.pop(CSRF_KEY, None)
        csrf_token()
        g.pop("urja_portal", None)
        g.pop("urja_portal_forget", None)
        response = redirect(safe_next(target) or url_for("portal.home"), code=303)
        portal.set_cookie(response, token)
        return response

    def start_flow(kind: str, step: auth.OtpStep, account: str = "") -> Response:
        session[FLOW] = {"kind": kind, "ticket": step.ticket, "hint": step.hint or "", "account": account}
        return redirect(url_for(f"portal.{kind}_verify"), code=303)

    def flow(kind: str) -> dict[str, str] | None:
        found = session.get(FLOW)
        if isinstance(found, dict) and found.get("kind") == kind and isinstance(found.get("ticket"), str):
            return found
        return None

    # --- My account ---------------------------------------------------------------------------------------

    @bp.get("/")
    @consumer_required
    def home() -> ResponseReturnValue:
        account = portal.me()
        choices = auth.switchable_accounts(uow(), account) if account.mobile else []
        return render_template(
            "portal/home.html", me=account, masked_name=auth.masked_name(account.name), can_switch=len(choices) > 1
        )

    # --- register -----------------------------------------------------------------------------------------

    @bp.get("/register")
    def register() -> ResponseReturnValue:
        return page("portal/register.html", Form())

    @bp.post("/register")
    def register_post() -> ResponseReturnValue:
        form = Form()
        try:
            form.values = {
                "account": _field("account", 20, "account number"),
                "bill": _field("bill", 24, "bill number"),
            }
        except InvalidInput as exc:
            return page("portal/register.html", form.fail(exc.field, _("Please check what you typed.")), 400)
        if not csrf_valid():
            return expired_form("portal/register.html", form)
        try:
            step = auth.start_registration(
                uow(), form.values["account"], form.values["bill"], remote_addr=request.remote_addr, now=clock()
            )
        except MalformedAccountNumber:
            return page("portal/register.html", form.fail("account", _account_format()), 400)
        except MalformedBillNumber:
            message = _("A bill number has 12 digits. Please copy it from any bill of the last 12 months.")
            return page("portal/register.html", form.fail("bill", message), 400)
        except RegistrationMismatch:
            message = _(
                "The account number and bill number do not match a bill of the last 12 months. Please check both."
            )
            return page("portal/register.html", form.fail("bill", message), 400)
        except NoVerifiedMobile as exc:
            return page("portal/register.html", form, 409, no_mobile=exc.account_no)
        except TooManySignInTries as exc:
            form.notice = _too_many_tries(exc)
            return page("portal/register.html", form, 429)
        except TooManyOtpRequests:
            form.notice = _too_many_otps()
            return page("portal/register.html", form, 429)
        return start_flow("register", step, form.values["account"])

    def verify_page(kind: str, form: Form, status: int = 200) -> Response:
        found = flow(kind)
        return page(
            "portal/verify.html",
            form,
            status,
            kind=kind,
            hint=(found or {}).get("hint") or None,
            minutes=VALID_MINUTES,
            min_length=MIN_LENGTH,
        )

    def set_password_post(kind: str) -> ResponseReturnValue:
        found = flow(kind)
        if found is None:
            return redirect(url_for("portal.register" if kind == "register" else "portal.forgot"), code=303)
        form = Form()
        code = (request.form.get("code") or "").strip()[:12]
        password, repeat = _password(), _password("repeat")
        if not csrf_valid():
            form.notice = _("The form had expired. Please try again.")
            return verify_page(kind, form, 400)
        if password != repeat:
            return verify_page(kind, form.fail("repeat", _("The two passwords are not the same.")), 400)
        finish = auth.finish_registration if kind == "register" else auth.finish_reset
        try:
            done = finish(uow(), found["ticket"], code, password, now=clock(), hasher=hasher)
        except WeakPassword as exc:
            return verify_page(kind, form.fail("password", weak_message(exc)), 400)
        except (WrongOtp, NoPendingOtp):
            return verify_page(kind, form.fail("code", _otp_failed()), 400)
        return signed_in(done.account_id, None, None)

    @bp.get("/register/verify")
    def register_verify() -> ResponseReturnValue:
        if flow("register") is None:
            return redirect(url_for("portal.register"), code=303)
        return verify_page("register", Form())

    @bp.post("/register/verify")
    def register_verify_post() -> ResponseReturnValue:
        return set_password_post("register")

    # --- sign in by password ---------------------------------------------------------------------------------

    @bp.get("/login")
    def login() -> ResponseReturnValue:
        return page("portal/login.html", Form(), next=safe_next(request.args.get("next")))

    @bp.post("/login")
    def login_post() -> ResponseReturnValue:
        form = Form()
        target = safe_next(request.form.get("next"))
        try:
            form.values = {"account": _field("account", 20, "account number")}
        except InvalidInput:
            return page("portal/login.html", form.fail("account", _account_format()), 400, next=target)
        if not csrf_valid():
            return expired_form("portal/login.html", form, next=target)
        try:
            account_id = auth.sign_in_password(
                uow(),
                form.values["account"],
                _password(),
                remote_addr=request.remote_addr,
                now=clock(),
                hasher=hasher,
            )
        except MalformedAccountNumber:
            return page("portal/login.html", form.fail("account", _account_format()), 400, next=target)
        except TooManySignInTries as exc:
            form.notice = _too_many_tries(exc)
            return page("portal/login.html", form, 429, next=target)
        except WrongAccountPassword:
            form.notice = _("The account number or password is not correct.")
            return page("portal/login.html", form, 401, next=target)
        return signed_in(account_id, None, target)

    # --- sign in by mobile OTP ---------------------------------------------------------------------------------

    @bp.get("/login/otp")
    def login_otp() -> ResponseReturnValue:
        return page("portal/login_otp.html", Form())

    @bp.post("/login/otp")
    def login_otp_post() -> ResponseReturnValue:
        form = Form()
        try:
            form.values = {"mobile": _field("mobile", 20, "mobile number")}
        except InvalidInput:
            return page("portal/login_otp.html", form.fail("mobile", _mobile_format()), 400)
        if not csrf_valid():
            return expired_form("portal/login_otp.html", form)
        try:
            step = auth.sign_in_otp(uow(), form.values["mobile"], now=clock())
        except MalformedMobile:
            return page("portal/login_otp.html", form.fail("mobile", _mobile_format()), 400)
        except TooManyOtpRequests:
            form.notice = _too_many_otps()
            return page("portal/login_otp.html", form, 429)
        return start_flow("login", step)

    @bp.get("/login/otp/verify")
    def login_verify() -> ResponseReturnValue:
        if flow("login") is None:
            return redirect(url_for("portal.login_otp"), code=303)
        return verify_page("login", Form())

    @bp.post("/login/otp/verify")
    def login_verify_post() -> ResponseReturnValue:
        found = flow("login")
        if found is None:
            return redirect(url_for("portal.login_otp"), code=303)
        form = Form()
        if not csrf_valid():
            form.notice = _("The form had expired. Please try again.")
            return verify_page("login", form, 400)
        code = (request.form.get("code") or "").strip()[:12]
        try:
            proven = auth.confirm_sign_in_otp(uow(), found["ticket"], code, now=clock())
        except (WrongOtp, NoPendingOtp):
            return verify_page("login", form.fail("code", _otp_failed()), 400)
        return signed_in(proven.account_id, proven.mobile, None)

    # --- forgotten password --------------------------------------------------------------------------------------

    @bp.get("/forgot")
    def forgot() -> ResponseReturnValue:
        return page("portal/forgot.html", Form())

    @bp.post("/forgot")
    def forgot_post() -> ResponseReturnValue:
        form = Form()
        try:
            form.values = {
                "account": _field("account", 20, "account number"),
                "mobile": _field("mobile", 20, "mobile number"),
            }
        except InvalidInput as exc:
            return page("portal/forgot.html", form.fail(exc.field, _("Please check what you typed.")), 400)
        if not csrf_valid():
            return expired_form("portal/forgot.html", form)
        try:
            step = auth.start_reset(
                uow(), form.values["account"], form.values["mobile"], remote_addr=request.remote_addr, now=clock()
            )
        except MalformedAccountNumber:
            return page("portal/forgot.html", form.fail("account", _account_format()), 400)
        except MalformedMobile:
            return page("portal/forgot.html", form.fail("mobile", _mobile_format()), 400)
        except TooManyOtpRequests:
            form.notice = _too_many_otps()
            return page("portal/forgot.html", form, 429)
        return start_flow("forgot", step, form.values["account"])

    @bp.get("/forgot/verify")
    def forgot_verify() -> ResponseReturnValue:
        if flow("forgot") is None:
            return redirect(url_for("portal.forgot"), code=303)
        return verify_page("forgot", Form())

    @bp.post("/forgot/verify")
    def forgot_verify_post() -> ResponseReturnValue:
        return set_password_post("forgot")

    # --- sign out, switch -------------------------------------------------------------------------------------

    @bp.post("/logout")
    def logout() -> ResponseReturnValue:
        if not csrf_valid():
            return make_response(render_template("portal/csrf.html"), 400)
        token = portal.cookie_token()
        if token is not None:
            auth.end_session(uow(), token, now=clock())
        session.pop(FLOW, None)
        g.pop("urja_portal", None)
        response = redirect(url_for("portal.login"), code=303)
        portal.forget_cookie(response)
        return response

    @bp.get("/switch")
    @consumer_required
    def switch() -> ResponseReturnValue:
        account = portal.me()
        choices = auth.switchable_accounts(uow(), account)
        return render_template("portal/switch.html", me=account, choices=choices, error=None)

    @bp.post("/switch")
    @consumer_required
    def switch_post() -> ResponseReturnValue:
        account = portal.me()
        try:
            chosen = text(request.form.get("account"), field="account", max_length=20) or ""
            auth.switch_account(uow(), portal.cookie_token() or "", chosen, now=clock())
        except (NotYourAccount, MalformedAccountNumber, InvalidInput):
            choices = auth.switchable_accounts(uow(), account)
            error = _("Please choose one of the accounts listed.")
            page_html = render_template("portal/switch.html", me=account, choices=choices, error=error)
            return make_response(page_html, 400)
        return redirect(url_for("portal.home"), code=303)

    return bp
