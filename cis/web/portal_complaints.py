"""The portal's complaint pages: a signed-in consumer lodges complaints, lists them, follows each one's history
and says whether a resolution really fixed the problem.

GET  /portal/complaints                     my complaints, newest first (`?page=`), and the form to lodge one
POST /portal/complaints                     lodge (cis.complaints.register_complaint, channel "portal"): to the
                                            complaint's page with its number; the form's one-time token makes a
                                            double submit one complaint; an open one of that kind is named instead
GET  /portal/complaints/<number>            the complaint, its history (times in IST) and, while a resolution waits
                                            for the consumer's word, "Was it really fixed?"
POST /portal/complaints/<number>/confirm    yes: closed (cis.complaint_history.confirm_resolution)
POST /portal/complaints/<number>/reject     no, with what is still wrong: reopened one level up, due again

Only the signed-in account's complaints: any other number is a 404, the same as a number nobody has. Views parse
(cis.inputs), call the use cases and render; what a POST did is said once on the page it leads to.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from cis import compensation
from cis.complaint_history import (
    CONFIRM_WITHIN,
    MAX_REASON,
    ComplaintTimeline,
    complaint_timeline,
    confirm_resolution,
    my_complaints,
    reject_resolution,
)
from cis.complaints import CATEGORIES, MAX_TEXT, RegisterComplaint, register_complaint
from cis.consumer_auth import mask_hint
from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    ComplaintAlreadyOpen,
    ConfirmationWindowClosed,
    MissingDetails,
    ResolutionNotPending,
    TextTooLong,
    UnknownComplaint,
    UnknownComplaintCategory,
)
from cis.inputs import InvalidInput, text, whole_number
from cis.web.complaint_words import category_text, level_text, status_text, step_text
from cis.web.i18n import moment_text
from cis.web.portal import session as portal
from cis.web.portal.session import consumer_required

CHANNEL = "portal"
NOTICE = "complaint_notice"  # what the last POST did, said once on the page it redirects to
REQUEST_FIELD = "request_id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_PAGE = 100_000
# Where the problem is matters more than anything for these: the form asks for it.
NEEDS_WHERE = ("dangerous_line", "theft")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_request_id() -> str:
    return secrets.token_urlsafe(16)


def categories() -> list[tuple[str, str]]:
    """(code, words in the page's language) of every category, in cis.complaints' order."""
    return [(code, category_text(code)) for code in CATEGORIES]


def complaints_blueprint(
    session_factory: Callable[[], Session], *, clock: Callable[[], dt.datetime] = _utc_now
) -> Blueprint:
    bp = Blueprint("complaints", __name__, url_prefix="/portal/complaints", template_folder="templates")

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    # --- the list and the form to lodge -----------------------------------------------------------------------

    def list_page(
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        notice: str | None = None,
        status: int = 200,
        claimed: int | None = None,
    ) -> Response:
        account = portal.me()
        try:
            page = whole_number(request.args.get("page"), field="page", minimum=1, maximum=MAX_PAGE) or 1
        except InvalidInput:
            page = 1
        now = clock()
        found = my_complaints(uow(), account.account_id, page=page, now=now)
        rows = [
            {
                "number": c.number,
                "category": category_text(c.category),
                "status": _("Resolved: please tell us if it is fixed") if c.awaiting_answer else status_text(c.status),
                "lodged": moment_text(c.registered_at),
                "lodged_at": c.registered_at.isoformat(),
                "when": _when(c.status, c.sla_due_at, c.resolved_at, now),
                "waiting": c.awaiting_answer,
            }
            for c in found.items
        ]
        form_values = {"category": "", "description": "", REQUEST_FIELD: _new_request_id(), **(values or {})}
        html = render_template(
            "complaints/list.html",
            me=account,
            rows=rows,
            listing=found,
            categories=categories(),
            values=form_values,
            errors=errors or {},
            notice=notice,
            max_text=MAX_TEXT,
            needs_where=[category_text(code) for code in NEEDS_WHERE],
            owed=compensation.ledger(uow(), account.account_id),
            claimed=claimed,
        )
        return make_response(html, status)

    @bp.get("")
    @consumer_required
    def mine() -> ResponseReturnValue:
        return list_page()

    @bp.post("")
    @consumer_required
    def lodge() -> ResponseReturnValue:
        account = portal.me()
        values = {
            "category": (request.form.get("category") or "")[:40],
            "description": (request.form.get("description") or "")[: MAX_TEXT * 2],
            REQUEST_FIELD: (request.form.get(REQUEST_FIELD) or "")[:64],
        }
        errors: dict[str, str] = {}
        category = values["category"] if values["category"] in CATEGORIES else None
        if category is None:
            errors["category"] = _("Please choose what the complaint is about.")
        description = None
        try:
            description = text(
                request.form.get("description"),
                field="description",
                max_length=MAX_TEXT,
                label="description",
                multiline=True,
            )
        except InvalidInput:
            errors["description"] = _too_long_or_bad(MAX_TEXT, request.form.get("description"))
        else:
            if description is None and category in NEEDS_WHERE:
                errors["description"] = _("Please say where it is: the street, a landmark, the pole number.")
        request_id = values[REQUEST_FIELD]
        if not _REQUEST_ID.fullmatch(request_id):
            values[REQUEST_FIELD] = _new_request_id()
            return list_page(values=values, notice=_("The form had expired. Please try again."), status=400)
        if errors:
            return list_page(values=values, errors=errors, status=400)
        assert category is not None
        try:
            receipt = register_complaint(
                uow(),
                RegisterComplaint(
                    channel=CHANNEL,
                    category=category,
                    account_no=account.account_no,
                    mobile=account.mobile,
                    mobile_verified=account.mobile is not None,
                    text=description,
                    # The account in the key: a token seen elsewhere cannot fetch another account's complaint.
                    channel_request_id=f"{account.account_id}:{request_id}",
                ),
                now=clock(),
            )
        except AccountClosed:
            notice = _("This account is permanently disconnected: only a billing complaint can be lodged for it.")
            return list_page(values=values, notice=notice, status=409)
        except UnknownComplaintCategory:
            return list_page(values=values, errors={"category": _("Please choose what the complaint is about.")})
        except (TextTooLong, MissingDetails):
            errors["description"] = _too_long_or_bad(MAX_TEXT, description)
            return list_page(values=values, errors=errors, status=400)
        if receipt.already_open:
            session[NOTICE] = {"kind": "already_open", "number": receipt.number}
        else:
            sent = [mask_hint(m) for m in receipt.acknowledged_to]
            session[NOTICE] = {"kind": "lodged", "number": receipt.number, "sms": sent[0] if sent else ""}
        return redirect(url_for("complaints.show", number=receipt.number), code=303)

    # --- one complaint ----------------------------------------------------------------------------------------

    def complaint_page(
        number: str,
        *,
        notice: dict[str, Any] | None = None,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        account = portal.me()
        now = clock()
        try:
            found = complaint_timeline(uow(), account.account_id, number, now=now)
        except UnknownComplaint:
            html = render_template("complaints/missing.html", me=account, number=number)
            return make_response(html, 404)
        shown = _shown(found, now)
        said = notice
        if said is None:
            kept = session.pop(NOTICE, None)
            said = kept if isinstance(kept, dict) and kept.get("number") == found.complaint.number else None
        html = render_template(
            "complaints/show.html",
            me=account,
            c=shown,
            said=said,
            said_text=_notice_text(said) if said else None,
            said_ok=bool(said) and said.get("kind") in ("lodged", "confirmed", "reopened"),
            values=values or {},
            errors=errors or {},
            max_reason=MAX_REASON,
            days=CONFIRM_WITHIN.days,
        )
        return make_response(html, status)

    @bp.get("/<number>")
    @consumer_required
    def show(number: str) -> ResponseReturnValue:
        return complaint_page(number[:40])

    @bp.post("/claim")
    @consumer_required
    def claim() -> ResponseReturnValue:
        """The consumer claims the compensation waiting on the account (Standards of Performance)."""
        account = portal.me()
        try:
            total = compensation.claim(uow(), account.account_id, via=CHANNEL, now=clock())
        except compensation.NothingToClaim:
            return list_page(notice=_("Nothing is waiting to be claimed on this account."), status=409)
        return list_page(claimed=total)

    @bp.post("/<number>/confirm")
    @consumer_required
    def confirm(number: str) -> ResponseReturnValue:
        account = portal.me()
        number = number[:40]
        try:
            answer = confirm_resolution(uow(), account.account_id, number, channel=CHANNEL, now=clock())
        except UnknownComplaint:
            return complaint_page(number)
        except (ResolutionNotPending, ConfirmationWindowClosed) as exc:
            return complaint_page(number, notice=_refusal(exc), status=409)
        session[NOTICE] = {"kind": "confirmed", "number": answer.number}
        return redirect(url_for("complaints.show", number=answer.number), code=303)

    @bp.post("/<number>/reject")
    @consumer_required
    def reject(number: str) -> ResponseReturnValue:
        account = portal.me()
        number = number[:40]
        raw = request.form.get("reason")
        values = {"reason": (raw or "")[: MAX_REASON * 2]}
        try:
            reason = text(raw, field="reason", max_length=MAX_REASON, label="reason", multiline=True)
        except InvalidInput:
            errors = {"reason": _too_long_or_bad(MAX_REASON, raw)}
            return complaint_page(number, values=values, errors=errors, status=400)
        try:
            answer = reject_resolution(uow(), account.account_id, number, reason or "", channel=CHANNEL, now=clock())
        except UnknownComplaint:
            return complaint_page(number)
        except MissingDetails:
            errors = {"reason": _("Please tell us what is still wrong.")}
            return complaint_page(number, values=values, errors=errors, status=400)
        except TextTooLong:
            errors = {"reason": _too_long_or_bad(MAX_REASON, raw)}
            return complaint_page(number, values=values, errors=errors, status=400)
        except (ResolutionNotPending, ConfirmationWindowClosed, ComplaintAlreadyOpen) as exc:
            return complaint_page(number, notice=_refusal(exc), status=409)
        session[NOTICE] = {
            "kind": "reopened",
            "number": answer.number,
            "level": answer.escalation_level,
            "due": answer.sla_due_at.isoformat(),
        }
        return redirect(url_for("complaints.show", number=answer.number), code=303)

    return bp


def _too_long_or_bad(limit: int, given: object) -> str:
    if isinstance(given, str) and len(given.strip()) > limit:
        return _("Please keep it within %(limit)s characters (you wrote %(count)s).", limit=limit, count=len(given))
    return _("This contains characters that are not allowed. Please type it again.")


def _when(status: str, due: dt.datetime, resolved: dt.datetime | None, now: dt.datetime) -> str:
    """The one time that matters now: when it was resolved, or when it is due (or was, if that has passed)."""
    if status in ("resolved", "closed"):
        return _("Resolved %(when)s", when=moment_text(resolved)) if resolved is not None else ""
    if due < now:
        return _("Overdue: was due by %(when)s", when=moment_text(due))
    return _("Due by %(when)s", when=moment_text(due))


def _shown(found: ComplaintTimeline, now: dt.datetime) -> dict[str, Any]:
    c = found.complaint
    return {
        "number": c.number,
        "category": category_text(c.category),
        "status": c.status,
        "status_text": status_text(c.status),
        "open": c.status in ("open", "reopened"),
        "lodged": moment_text(c.registered_at),
        "due": moment_text(c.sla_due_at),
        "overdue": c.status in ("open", "reopened") and c.sla_due_at < now,
        "resolved": moment_text(c.resolved_at) if c.resolved_at is not None else None,
        "level": level_text(c.escalation_level),
        "text": found.text,
        "resolution": found.resolution,
        "answer_by": moment_text(c.answer_by) if c.answer_by is not None else None,
        "steps": [
            {
                "text": step_text(s.step, level=s.level, channel=s.channel, by=s.by),
                "at": s.at.isoformat(),
                "when": moment_text(s.at),
                "note": s.note,
                "note_label": _("What was done:") if s.step == "resolved" else _("What you said:"),
            }
            for s in found.steps
        ],
    }


def _refusal(error: Exception) -> dict[str, Any]:
    if isinstance(error, ConfirmationWindowClosed):
        return {"kind": "window_closed"}
    if isinstance(error, ComplaintAlreadyOpen):
        return {"kind": "newer_open", "open_number": error.open_number}
    return {"kind": "not_pending"}


def _with_number(message: str, number: str) -> Markup:
    """A translated sentence with the complaint number in bold: the one thing to note down."""
    return Markup(message) % {"number": Markup("<strong>%s</strong>") % number}


def _notice_text(said: dict[str, Any]) -> str:
    kind = said.get("kind")
    number = str(said.get("number") or "")
    if kind == "lodged":
        first = _with_number(_("Your complaint has been lodged. Its number is %(number)s."), number)
        if said.get("sms"):
            sent = _("We have sent it by SMS to your registered mobile %(mobile)s.", mobile=said["sms"])
        else:
            sent = _("No SMS could be sent (no mobile on record, or SMS turned off): please note the number.")
        return first + " " + sent
    if kind == "already_open":
        return _with_number(
            _(
                "You already have an open complaint of this kind, number %(number)s: we are working on it, and there "
                "is no need to lodge it again. Its progress is below."
            ),
            number,
        )
    if kind == "confirmed":
        return _("Thank you. You confirmed it is fixed, and the complaint is closed.")
    if kind == "reopened":
        due = dt.datetime.fromisoformat(str(said.get("due")))
        return _(
            "We are sorry it is not fixed. The complaint is reopened and is now with the %(officer)s, to be resolved "
            "by %(when)s.",
            officer=level_text(str(said.get("level"))),
            when=moment_text(due),
        )
    if kind == "window_closed":
        return _(
            "It was resolved more than %(days)s days ago, so it can no longer be reopened. If the problem is back, "
            "please lodge a new complaint.",
            days=CONFIRM_WITHIN.days,
        )
    if kind == "newer_open":
        return _(
            "You have lodged a newer complaint of this kind, number %(number)s, which is being worked on.",
            number=str(said.get("open_number") or ""),
        )
    return _("This complaint is not waiting for your answer any more.")
