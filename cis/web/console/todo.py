"""The officers' to-do (JE, SDO, EE, SE), scoped to their part of the network.

GET  /todo/                                   complaints (`?scope=level|mine|all`) and requests of the officer's area
GET  /todo/complaints/<number>                one complaint: the consumer, its history, and what the officer can do
POST /todo/complaints/<number>/resolve        resolved with a closure code and a note; the consumer is asked to confirm
POST /todo/complaints/<number>/site-code      closed with the code the consumer gave the lineman on site
POST /todo/complaints/<number>/escalate       sent one level up by hand, with the reason
POST /todo/complaints/<number>/reassign       given to another officer of the area
GET  /todo/requests/<number>                  a bill revision or an application, with the bills or the steps
POST /todo/requests/<number>/approve          bill revision: the bill revised (units or reading), the request completed
POST /todo/requests/<number>/reject           turned down with a reason, which the consumer's SMS says
POST /todo/requests/<number>/step             an application moved to its next step (SMS at each)

Anything outside the officer's scope is a 404, as a number nobody has. Every change commits with its history step
and audit row (the use cases in cis.escalation and cis.service_requests), and is said once on the page it leads to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from cis import compensation, escalation, service_requests, vigilance
from cis.billing import BillingError
from cis.db import UnitOfWork
from cis.documents import Viewer
from cis.errors import CisError, MissingDetails, ResolutionNotPending, TextTooLong, UnknownComplaint
from cis.inputs import InvalidInput, whole_number
from cis.models import Staff
from cis.web.auth import current_staff, login_required
from cis.web.complaint_words import category_text, level_text, status_text, step_text
from cis.web.i18n import N_, moment_text
from cis.web.service_requests import REASON_TITLES, STATUS_TITLES

OFFICERS = ("je", "sdo", "ee", "se", "admin")
NOTICE = "todo_notice"
SCOPES = ("level", "mine", "all")
CLOSURE_WORDS = {
    "fuse_replaced": N_("Fuse replaced"),
    "line_repaired": N_("Line repaired"),
    "dt_repaired": N_("Transformer repaired"),
    "dt_replaced": N_("Transformer replaced"),
    "meter_replaced": N_("Meter replaced"),
    "meter_tested_ok": N_("Meter tested and found correct"),
    "bill_corrected": N_("Bill corrected"),
    "voltage_corrected": N_("Voltage corrected"),
    "hazard_removed": N_("Hazard made safe"),
    "theft_inspected": N_("Site inspected by vigilance"),
    "no_fault_found": N_("No fault found on site"),
}
REJECTION_WORDS = {
    "reading_correct": N_("The meter reading is correct"),
    "bill_correct": N_("The bill was found correct"),
    "documents_missing": N_("Documents were missing"),
    "not_eligible": N_("Not eligible"),
    "duplicate": N_("Repeats another request"),
    "dues_pending": N_("Dues are pending"),
}
STEP_WORDS = {
    "documents_verified": N_("Documents verified"),
    "site_inspected": N_("Site inspection done"),
    "demand_note_issued": N_("Demand note issued"),
    "paid": N_("Payment received"),
    "released": N_("Released (work done)"),
}
KIND_WORDS = {
    "bill_revision": N_("Bill revision"),
    "new_connection": N_("New connection"),
    "load_change": N_("Load change"),
    "name_change": N_("Name change"),
    "perm_disconnection": N_("Permanent disconnection"),
}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def todo_blueprint(session_factory: Callable[[], Session], *, clock: Callable[[], dt.datetime] = _utc_now) -> Blueprint:
    bp = Blueprint("todo", __name__, url_prefix="/todo")

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    def me() -> Any:
        staff = current_staff()
        assert staff is not None
        return staff

    def page(template: str, status: int = 200, **context: Any) -> Response:
        html = render_template(
            template,
            me=me(),
            moment=moment_text,
            category_text=category_text,
            status_text=status_text,
            level_text=level_text,
            step_text=step_text,
            closure_words=CLOSURE_WORDS,
            rejection_words=REJECTION_WORDS,
            step_words=STEP_WORDS,
            kind_words=KIND_WORDS,
            status_titles=STATUS_TITLES,
            reason_titles=REASON_TITLES,
            **context,
        )
        response = make_response(html, status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def said(message: str, kind: str = "ok") -> None:
        session[NOTICE] = [kind, message]

    def notice() -> list[str] | None:
        value = session.pop(NOTICE, None)
        return value if isinstance(value, list) and len(value) == 2 else None

    @bp.get("/")
    @login_required(*OFFICERS)
    def index() -> ResponseReturnValue:
        scope = request.args.get("scope") or ("all" if me().role == "admin" else "level")
        if scope not in SCOPES:
            scope = "level"
        now = clock()
        complaints = escalation.complaint_todo(uow(), me().id, scope=scope, now=now)
        with session_factory() as s:
            staff = s.get(Staff, me().id)
            from cis.scopes import covered_sub_divisions

            covered = covered_sub_divisions(s, staff.scope_level, staff.scope_id) if staff else []
        requests = service_requests.officer_todo(uow(), covered, now=now, limit=200)
        # Theft reports of the area (and those that named no place) for the vigilance wing.
        thefts = vigilance.vigilance_queue(uow(), covered, limit=100)
        claims = compensation.claims_waiting(uow(), covered)
        return page(
            "todo/index.html",
            claims=claims,
            complaints=complaints,
            requests=requests,
            thefts=thefts,
            scope=scope,
            notice=notice(),
            now=now,
        )

    # --- a complaint --------------------------------------------------------------------------------------------

    def back(number: str) -> Response:
        return redirect(url_for("todo.complaint", number=number))

    @bp.get("/complaints/<number>")
    @login_required(*OFFICERS)
    def complaint(number: str) -> ResponseReturnValue:
        try:
            c = escalation.officer_view(uow(), number, staff_id=me().id, now=clock())
            officers = escalation.officers_of_area(uow(), number, me().id)
        except UnknownComplaint:
            abort(404)
        return page("todo/complaint.html", c=c, officers=officers, notice=notice(), now=clock())

    def act(number: str, action: Callable[[], str]) -> Response:
        try:
            said(action())
        except UnknownComplaint:
            abort(404)
        except escalation.ComplaintNotOpen:
            said(_("This complaint is no longer open: nothing was changed."), "warning")
        except escalation.UnknownClosureCode:
            said(_("Choose what was done from the list."), "warning")
        except escalation.AlreadyAtTop:
            said(_("The complaint is with the Superintending Engineer already."), "warning")
        except escalation.UnknownOfficer:
            said(_("Choose an officer of this complaint's area."), "warning")
        except escalation.WrongSiteCode as exc:
            said(_("That is not the code the consumer was sent. Tries left: %(n)s.", n=exc.tries_left), "warning")
        except escalation.NoSiteCode:
            said(_("This resolution has no code left to check: the consumer's own answer will close it."), "warning")
        except ResolutionNotPending:
            said(_("The complaint is not waiting for the consumer's confirmation."), "warning")
        except MissingDetails:
            said(_("Please write the reason."), "warning")
        except TextTooLong:
            said(_("Please keep the note under %(n)s characters.", n=escalation.MAX_NOTE), "warning")
        return back(number)

    @bp.post("/complaints/<number>/resolve")
    @login_required(*OFFICERS)
    def resolve(number: str) -> ResponseReturnValue:
        def run() -> str:
            done = escalation.resolve_complaint(
                uow(),
                number,
                staff_id=me().id,
                code=request.form.get("code") or "",
                note=request.form.get("note"),
                now=clock(),
            )
            if done.asked:
                return _("Marked resolved. The consumer was asked by SMS to confirm, and sent a code for the lineman.")
            return _("Marked resolved. Nobody could be asked to confirm: it closes when the wait runs out.")

        return act(number, run)

    @bp.post("/complaints/<number>/site-code")
    @login_required(*OFFICERS)
    def site_code(number: str) -> ResponseReturnValue:
        def run() -> str:
            escalation.close_with_site_code(
                uow(), number, request.form.get("code") or "", staff_id=me().id, now=clock()
            )
            return _("The code is right: the complaint is closed as confirmed on site.")

        return act(number, run)

    @bp.post("/complaints/<number>/escalate")
    @login_required(*OFFICERS)
    def escalate(number: str) -> ResponseReturnValue:
        def run() -> str:
            moved = escalation.escalate_by_hand(
                uow(), number, staff_id=me().id, note=request.form.get("note") or "", now=clock()
            )
            return _("Sent up to the %(level)s.", level=level_text(moved.level))

        return act(number, run)

    @bp.post("/complaints/<number>/reassign")
    @login_required(*OFFICERS)
    def reassign(number: str) -> ResponseReturnValue:
        def run() -> str:
            moved = escalation.reassign(
                uow(),
                number,
                staff_id=me().id,
                to_username=request.form.get("officer") or "",
                note=request.form.get("note"),
                now=clock(),
            )
            return _("Given to %(who)s.", who=moved.assignee)

        return act(number, run)

    # --- compensation claims ---------------------------------------------------------------------------------

    @bp.post("/compensation/<int:compensation_id>")
    @login_required(*OFFICERS)
    def decide(compensation_id: int) -> ResponseReturnValue:
        approve = request.form.get("decision") == "approve"
        try:
            status = compensation.decide(
                uow(), compensation_id, staff_id=me().id, approve=approve, note=request.form.get("note"), now=clock()
            )
        except compensation.UnknownCompensation:
            abort(404)
        except MissingDetails:
            said(_("Please write why the claim is rejected."), "warning")
        else:
            said(_("Approved: it is credited on the next bill.") if status == "approved" else _("Claim rejected."))
        return redirect(url_for("todo.index") + "#claims")

    # --- a request ----------------------------------------------------------------------------------------------

    def timeline(number: str) -> service_requests.RequestTimeline:
        try:
            return service_requests.request_timeline(uow(), number, Viewer(staff_id=me().id), now=clock())
        except service_requests.UnknownRequest:
            abort(404)

    @bp.get("/requests/<number>")
    @login_required(*OFFICERS)
    def request_page(number: str) -> ResponseReturnValue:
        t = timeline(number)
        # The timeline's details are the request's payload, which keeps the step an application has reached.
        next_step = service_requests.next_application_step(t.details) if t.kind != "bill_revision" else None
        return page("todo/request.html", t=t, next_step=next_step, notice=notice())

    def request_act(number: str, action: Callable[[], str]) -> Response:
        try:
            said(action())
        except service_requests.UnknownRequest:
            abort(404)
        except service_requests.StatusChangeNotAllowed:
            said(_("This request has been decided already: nothing was changed."), "warning")
        except service_requests.StepOutOfOrder:
            said(_("That is not the application's next step."), "warning")
        except (BillingError, InvalidInput, CisError) as exc:
            said(_("The bill could not be revised: %(why)s", why=str(exc)), "warning")
        return redirect(url_for("todo.request_page", number=number))

    @bp.post("/requests/<number>/approve")
    @login_required(*OFFICERS)
    def approve(number: str) -> ResponseReturnValue:
        def run() -> str:
            reason = " ".join((request.form.get("reason") or "").split())
            if not reason:
                raise MissingDetails("the reason")
            units = whole_number(request.form.get("units"), field="units", minimum=0, maximum=10_000_000)
            reading = whole_number(request.form.get("reading"), field="reading", minimum=0, maximum=100_000_000)
            service_requests.approve_revision(
                uow(), number, staff_id=me().id, reason=reason[:300], units=units, current_kwh=reading, now=clock()
            )
            return _("The bill is revised and the request completed. The consumer is told the new amount by SMS.")

        return request_act(number, run)

    @bp.post("/requests/<number>/reject")
    @login_required(*OFFICERS)
    def reject(number: str) -> ResponseReturnValue:
        def run() -> str:
            because = request.form.get("because") or ""
            if because not in REJECTION_WORDS:
                raise MissingDetails("the reason")
            service_requests.advance_request(
                uow(),
                number,
                "rejected",
                staff_id=me().id,
                note=request.form.get("note"),
                rejected_because=because,
                now=clock(),
            )
            return _("The request is rejected; the consumer is told why by SMS.")

        return request_act(number, run)

    @bp.post("/requests/<number>/step")
    @login_required(*OFFICERS)
    def step(number: str) -> ResponseReturnValue:
        def run() -> str:
            code = request.form.get("step") or ""
            service_requests.advance_application(
                uow(), number, code, staff_id=me().id, note=request.form.get("note"), now=clock()
            )
            return _("Moved on to: %(step)s. The applicant is told by SMS.", step=_(STEP_WORDS.get(code, code)))

        return request_act(number, run)

    return bp
