"""Pages anyone may use without an account: an anonymous theft report for the vigilance wing, and feedback.

GET/POST /theft             locality, landmark, what was seen, optionally the sub-division and a photo → a reference
GET      /theft/reported    the reference of the report just sent (once)
GET/POST /feedback          a rating from 1 to 5 and a comment (with the account, when a consumer is signed in)
GET      /feedback/thanks

Reports are limited per client address (URJA_LIMIT_THEFT, URJA_LIMIT_FEEDBACK: urjamitra/limits.py); nothing that
names the reporter is kept (cis.vigilance keeps a keyed hash of the address, for telling one source from many).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from cis import vigilance
from cis.db import UnitOfWork
from cis.documents import DocumentError
from cis.inputs import record_id
from cis.web.auth import csrf_valid
from cis.web.i18n import N_
from cis.web.portal.session import current_account
from cis.web.portal.views import Form
from cis.web.service_requests import document_message, office_options, read_text, too_large
from cis.web.uploads import takes_files, uploaded_file

REFERENCE = "urja_theft_ref"
# The fixed sentences of cis.vigilance.InvalidReport, for the catalogs (the view checks lengths itself).
REPORT_MESSAGES = (
    N_("Please say in which locality you saw it."),
    N_("Please describe what you saw."),
    N_("Please choose a sub-division from the list."),
    N_("Please choose a rating from 1 to 5."),
)
RATING_TITLES = {
    1: N_("1 – Very poor"),
    2: N_("2 – Poor"),
    3: N_("3 – Fair"),
    4: N_("4 – Good"),
    5: N_("5 – Very good"),
}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def tips_blueprint(
    session_factory: Callable[[], Session],
    *,
    upload_dir: Path,
    address_key: bytes,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> Blueprint:
    """The theft report and feedback pages. `address_key` keys the hash of a reporter's address."""
    bp = Blueprint("tips", __name__, template_folder="templates")

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    def page(template: str, form: Form, status: int = 200, **context: Any) -> Response:
        html = render_template(template, form=form, values=form.values, errors=form.errors, **context)
        return make_response(html, status)

    bp.register_error_handler(RequestEntityTooLarge, too_large)

    # --- theft ---------------------------------------------------------------------------------------------------

    def theft_page(form: Form, status: int = 200) -> Response:
        return page(
            "tips/theft.html",
            form,
            status,
            office_options=office_options(uow()),
            max_description=vigilance.MAX_DESCRIPTION,
        )

    @bp.get("/theft")
    def theft() -> ResponseReturnValue:
        return theft_page(Form())

    @bp.post("/theft")
    @takes_files(1)
    def theft_post() -> ResponseReturnValue:
        form = Form()
        if not csrf_valid():
            form.notice = _("The form had expired. Please try again.")
            return theft_page(form, 400)
        locality = read_text(form, "locality", vigilance.MAX_LOCALITY)
        if not locality and "locality" not in form.errors:
            form.fail("locality", _("Please say in which locality you saw it."))
        landmark = read_text(form, "landmark", vigilance.MAX_LANDMARK)
        description = read_text(form, "description", vigilance.MAX_DESCRIPTION, multiline=True)
        if not description and "description" not in form.errors:
            form.fail("description", _("Please describe what you saw."))
        raw_office = (request.form.get("sub_division_id") or "")[:20]
        form.values["sub_division_id"] = raw_office
        office = record_id(raw_office) if raw_office else None
        if raw_office and office is None:
            form.fail("sub_division_id", _("Please choose a sub-division from the list."))
        photo = uploaded_file("photo")
        if form.errors:
            if photo is not None:
                form.notice = _("Please choose the file again: a form sent with an error keeps no file.")
            return theft_page(form, 400)
        tip = vigilance.TheftTip(
            locality=locality,
            description=description,
            landmark=landmark or None,
            sub_division_id=office,
            photo=photo[0] if photo else None,
            photo_name=photo[1] if photo else None,
        )
        try:
            receipt = vigilance.report_theft(
                uow(),
                tip,
                reporter_address=request.remote_addr,
                address_key=address_key,
                upload_dir=upload_dir,
                now=clock(),
            )
        except DocumentError as exc:
            return theft_page(form.fail("photo", document_message(exc)), 400)
        except vigilance.InvalidReport as exc:
            return theft_page(form.fail(exc.field, _(str(exc))), 400)
        session[REFERENCE] = receipt.reference
        return redirect(url_for("tips.theft_reported"), code=303)

    @bp.get("/theft/reported")
    def theft_reported() -> ResponseReturnValue:
        reference = session.pop(REFERENCE, None)
        if not isinstance(reference, str):
            return redirect(url_for("tips.theft"), code=303)
        response = make_response(render_template("tips/theft_reported.html", reference=reference))
        response.headers["Cache-Control"] = "no-store"
        return response

    # --- feedback ------------------------------------------------------------------------------------------------

    def feedback_page(form: Form, status: int = 200) -> Response:
        ratings = [(str(value), _(title)) for value, title in RATING_TITLES.items()]
        return page("tips/feedback.html", form, status, ratings=ratings, max_text=vigilance.MAX_FEEDBACK)

    @bp.get("/feedback")
    def feedback() -> ResponseReturnValue:
        return feedback_page(Form())

    @bp.post("/feedback")
    def feedback_post() -> ResponseReturnValue:
        form = Form()
        if not csrf_valid():
            form.notice = _("The form had expired. Please try again.")
            return feedback_page(form, 400)
        raw = (request.form.get("rating") or "")[:2]
        form.values["rating"] = raw
        rating = int(raw) if raw in ("1", "2", "3", "4", "5") else None
        if rating is None:
            form.fail("rating", _("Please choose a rating from 1 to 5."))
        comment = read_text(form, "text", vigilance.MAX_FEEDBACK, multiline=True)
        if form.errors or rating is None:
            return feedback_page(form, 400)
        account = current_account()
        vigilance.give_feedback(
            uow(), rating, comment or None, account_id=account.account_id if account else None, now=clock()
        )
        return redirect(url_for("tips.feedback_thanks"), code=303)

    @bp.get("/feedback/thanks")
    def feedback_thanks() -> ResponseReturnValue:
        return render_template("tips/feedback_thanks.html")

    return bp
