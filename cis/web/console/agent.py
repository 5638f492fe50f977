"""The 1912 agents' console: find the caller, see everything about their account on one page, act for them.

GET  /console/                                  search (`?q=` account, mobile, name, complaint or request number)
GET  /console/accounts/<account no>             the consumer 360 (`?call=<id>`: the transferred call's banner)
POST /console/accounts/<account no>/complaint   log a complaint for the caller (channel "console")
POST /console/accounts/<account no>/sms         send the bill SMS or the payment SMS again
POST /console/accounts/<account no>/mobile      start registering the caller's mobile (OTP to the account's mobile)
POST /console/accounts/<account no>/note        a note on the account
GET  /console/calls/<call id>                   a transferred call: its caller's 360, or the search for them
GET  /console/pop.json?after=<pop id>           the newest call popped for this agent (the page asks every 3 s)

Agents and the administrator see every account; officers (JE, SDO, EE, SE) may use it for the accounts of their
own area, and any other account is a 404 like one nobody has. Every action goes through the use case every channel
uses, commits, and is said once on the page it leads to.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, jsonify, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from cis import compensation, consumer360, otp, payment_info, screen_pop
from cis.complaints import CATEGORIES, MAX_TEXT, RegisterComplaint, register_complaint
from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    CisError,
    MalformedAccountNumber,
    MalformedMobile,
    MissingDetails,
    NoMobileForAccount,
    NothingDue,
    TextTooLong,
    UnknownAccount,
)
from cis.web.auth import current_staff, login_required
from cis.web.complaint_words import category_text, level_text, status_text, step_text
from cis.web.i18n import inr, moment_text
from cis.web.service_requests import KIND_TITLES, STATUS_TITLES

CONSOLE_ROLES = ("agent", "admin", "je", "sdo", "ee", "se")
NOTICE = "console_notice"
CHANNEL = "console"
SmsPreview = Callable[[str, dict[str, Any]], tuple[str, int]]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _no_preview(template: str, payload: dict[str, Any]) -> tuple[str, int]:
    return template, 0


def console_blueprint(
    session_factory: Callable[[], Session],
    *,
    clock: Callable[[], dt.datetime] = _utc_now,
    sms_preview: SmsPreview = _no_preview,
    portal_url: str = "",
) -> Blueprint:
    bp = Blueprint("console", __name__, url_prefix="/console")

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    def me() -> Any:
        staff = current_staff()
        assert staff is not None  # login_required ran first
        return staff

    def page(template: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("moment", moment_text)
        response = make_response(render_template(template, me=me(), **context), status)
        response.headers["Cache-Control"] = "no-store"  # consumers' details: never kept by a browser or proxy
        return response

    def said(message: str, kind: str = "ok") -> None:
        session[NOTICE] = [kind, message]

    def notice() -> list[str] | None:
        value = session.pop(NOTICE, None)
        return value if isinstance(value, list) and len(value) == 2 else None

    # --- search -------------------------------------------------------------------------------------------------

    @bp.get("/")
    @login_required(*CONSOLE_ROLES)
    def search() -> ResponseReturnValue:
        query = (request.args.get("q") or "").strip()[: consumer360.MAX_QUERY]
        hits: list[consumer360.Hit] = []
        error = None
        if query:
            try:
                hits = consumer360.search(uow(), query, staff_id=me().id)
            except consumer360.QueryTooShort:
                error = _(
                    "Type an account number, a mobile, a complaint or request number, or at least two letters of a name."  # noqa: E501
                )
            if len(hits) == 1 and not error:
                return redirect(url_for("console.account", account_no=hits[0].account_no))
        return page("console/search.html", query=query, hits=hits, error=error, notice=notice())

    # --- the consumer 360 -----------------------------------------------------------------------------------------

    def view_360(account_no: str) -> consumer360.Consumer360:
        try:
            return consumer360.consumer_360(uow(), account_no, staff_id=me().id, now=clock())
        except (UnknownAccount, MalformedAccountNumber):
            abort(404)

    @bp.get("/accounts/<account_no>")
    @login_required(*CONSOLE_ROLES)
    def account(account_no: str) -> ResponseReturnValue:
        view = view_360(account_no)
        call = None
        call_arg = request.args.get("call", "")
        if call_arg.isdigit() and len(call_arg) < 19:
            call = screen_pop.caller_view(uow(), int(call_arg))
        return page(
            "console/account.html",
            v=view,
            call=call,
            notice=notice(),
            sms=[(s, *sms_preview(s.template, s.payload)) for s in view.sms],
            categories=[(code, category_text(code)) for code in CATEGORIES],
            request_id=secrets.token_urlsafe(16),
            max_text=MAX_TEXT,
            category_text=category_text,
            status_text=status_text,
            level_text=level_text,
            step_text=step_text,
            levels=("je", "sdo", "ee", "se"),
            kind_titles=KIND_TITLES,
            status_titles=STATUS_TITLES,
        )

    def back(account_no: str) -> Response:
        return redirect(url_for("console.account", account_no=account_no) + "#actions")

    def request_id() -> str:
        given = (request.form.get("request_id") or "").strip()
        return given[:64] if given.replace("-", "").replace("_", "").isalnum() else secrets.token_urlsafe(16)

    @bp.post("/accounts/<account_no>/complaint")
    @login_required(*CONSOLE_ROLES)
    def log_complaint(account_no: str) -> ResponseReturnValue:
        view = view_360(account_no)
        category = request.form.get("category") or ""
        cmd = RegisterComplaint(
            channel=CHANNEL,
            category=category,
            account_no=view.account_no,
            mobile=(request.form.get("mobile") or "").strip() or None,
            text=request.form.get("text"),
            channel_request_id=f"{me().username}:{request_id()}",
        )
        try:
            receipt = register_complaint(uow(), cmd, now=clock())
        except MalformedMobile:
            said(_("That mobile number is not a valid Indian mobile."), "warning")
            return back(view.account_no)
        except TextTooLong:
            said(_("Please keep the description under %(n)s characters.", n=MAX_TEXT), "warning")
            return back(view.account_no)
        except AccountClosed:
            said(_("This connection is permanently disconnected: only a billing complaint can be lodged."), "warning")
            return back(view.account_no)
        except CisError:
            said(_("Choose what the complaint is about."), "warning")
            return back(view.account_no)
        if receipt.already_open:
            said(
                _("This account already has an open complaint of this kind: number %(n)s.", n=receipt.number), "warning"
            )
        else:
            said(_("Complaint %(n)s logged. Tell the caller the number; it is also sent by SMS.", n=receipt.number))
        return back(view.account_no)

    @bp.post("/accounts/<account_no>/sms")
    @login_required(*CONSOLE_ROLES)
    def send_sms(account_no: str) -> ResponseReturnValue:
        view = view_360(account_no)
        what = request.form.get("what")
        ref = f"{me().username}:{request_id()}"
        try:
            if what == "pay":
                sent = payment_info.send_payment_info(
                    uow(), view.account_no, None, channel=CHANNEL, request_id=ref, now=clock(), portal_url=portal_url
                )
                said(_("Payment link sent by SMS to %(m)s.", m=sent.mobile_masked))
            elif what == "bill":
                to = consumer360.resend_bill_sms(uow(), view.account_no, staff_id=me().id, request_id=ref, now=clock())
                said(_("Bill SMS sent to %(m)s.", m=to))
            else:
                abort(400)
        except NothingDue:
            said(_("Nothing is due on this account: no payment link was sent."), "warning")
        except NoMobileForAccount:
            said(_("No mobile is registered on this account: start a registration first."), "warning")
        except consumer360.NoBill:
            said(_("This account has no bill yet."), "warning")
        return back(view.account_no)

    @bp.post("/accounts/<account_no>/mobile")
    @login_required(*CONSOLE_ROLES)
    def register_mobile(account_no: str) -> ResponseReturnValue:
        view = view_360(account_no)
        try:
            sent = otp.request_link_otp(
                uow(),
                view.account_no,
                request.form.get("mobile") or "",
                via=CHANNEL,
                now=clock(),
                request_id=f"{me().username}:{request_id()}",
            )
        except MalformedMobile:
            said(_("That mobile number is not a valid Indian mobile."), "warning")
        except NoMobileForAccount:
            said(
                _("No mobile is registered on this account to send the code to: the consumer must visit the office."),
                "warning",
            )
        except CisError as exc:
            said(str(exc), "warning")
        else:
            said(
                _(
                    "A code was sent to the account's mobile ending %(e)s. Ask the caller to send it by SMS from the new mobile.",  # noqa: E501
                    e=sent.sent_to_ending,
                )
            )
        return back(view.account_no)

    @bp.post("/accounts/<account_no>/note")
    @login_required(*CONSOLE_ROLES)
    def note(account_no: str) -> ResponseReturnValue:
        view = view_360(account_no)
        try:
            consumer360.add_note(uow(), view.account_no, request.form.get("text") or "", staff_id=me().id, now=clock())
        except MissingDetails:
            said(_("Write the note first."), "warning")
        except TextTooLong:
            said(_("Please keep the note under %(n)s characters.", n=consumer360.MAX_NOTE), "warning")
        else:
            said(_("Note saved."))
        return redirect(url_for("console.account", account_no=view.account_no) + "#notes")

    @bp.post("/accounts/<account_no>/claim")
    @login_required(*CONSOLE_ROLES)
    def claim(account_no: str) -> ResponseReturnValue:
        view = view_360(account_no)
        try:
            total = compensation.claim(uow(), view.account_id, via=CHANNEL, now=clock())
        except compensation.NothingToClaim:
            said(_("Nothing is waiting to be claimed on this account."), "warning")
        else:
            said(
                _(
                    "Claim registered for %(amount)s. An officer decides it; approved, it is credited on the next bill.",  # noqa: E501
                    amount=inr(total),
                )
            )
        return redirect(url_for("console.account", account_no=view.account_no) + "#compensation")

    # --- screen-pop ---------------------------------------------------------------------------------------------

    @bp.get("/calls/<int:call_id>")
    @login_required(*CONSOLE_ROLES)
    def call(call_id: int) -> ResponseReturnValue:
        found = screen_pop.caller_view(uow(), call_id)
        if found is None:
            abort(404)
        if found.account_no:
            return redirect(url_for("console.account", account_no=found.account_no, call=call_id))
        if len(found.accounts_on_mobile) == 1:
            return redirect(url_for("console.account", account_no=found.accounts_on_mobile[0], call=call_id))
        hits: list[consumer360.Hit] = []
        if found.caller.startswith("+91"):
            hits = consumer360.search(uow(), found.caller, staff_id=me().id)
        return page("console/search.html", query=found.caller, hits=hits, error=None, notice=None, call=found)

    @bp.get("/pop.json")
    @login_required(*CONSOLE_ROLES)
    def pop() -> ResponseReturnValue:
        after = request.args.get("after", "0")
        pop = screen_pop.latest_pop(
            uow(), me().id, after=int(after) if after.isdigit() and len(after) < 19 else 0, now=clock()
        )
        body = {"pop": None}
        if pop is not None:
            body = {"pop": {"id": pop.id, "call_id": pop.call_id, "url": url_for("console.call", call_id=pop.call_id)}}
        response = jsonify(body)
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
