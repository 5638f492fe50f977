"""The public front door: the landing page anyone may open, and complaint status by number as a page.

GET /                     where to look (live outages, reliability, the calculator, complaint status, how to
                          pay, the 1912 helpline), in Hindi and English; the consumer portal fills it later
GET /complaints/status    `?number=` a complaint's status, with nothing about who lodged it (see api.public_status)

Nothing here shows how the system is configured: that is the admin's system page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from flask import Blueprint, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from cis.complaints import CATEGORIES, complaint_status
from cis.db import UnitOfWork
from cis.errors import UnknownComplaint
from cis.web.api import public_status
from cis.web.i18n import N_, moment_text

IST = ZoneInfo("Asia/Kolkata")
MAX_NUMBER = 32  # longer than any complaint number with spaces or dashes typed in it
LEVELS = {
    "je": N_("Junior Engineer"),
    "sdo": N_("Sub-Divisional Officer"),
    "ee": N_("Executive Engineer"),
    "se": N_("Superintending Engineer"),
}
STATUSES = {"open": N_("Open"), "in_progress": N_("In progress"), "resolved": N_("Resolved"), "closed": N_("Closed")}
# The titles of cis.complaints.CATEGORIES, marked here so that the catalogs hold them (a test keeps them equal).
CATEGORY_TITLES = (
    N_("No supply"),
    N_("Low or fluctuating voltage"),
    N_("Meter defective, burnt or stopped"),
    N_("Wrong bill or bill not received"),
    N_("Dangerous line, sparking or broken pole"),
    N_("Electricity theft"),
)


def ist(moment: dt.datetime | None) -> str | None:
    """'20 Nov 2026, 3:30 pm IST' in the page's language."""
    return moment_text(moment) if moment is not None else None


def landing_blueprint(session_factory: Callable[[], Session], *, helpline: str = "1912") -> Blueprint:
    bp = Blueprint("landing", __name__, template_folder="templates")

    @bp.get("/")
    def home() -> ResponseReturnValue:
        return render_template("landing/home.html", helpline=helpline)

    @bp.get("/complaints/status", endpoint="complaint_status")
    def status_page() -> ResponseReturnValue:
        raw = (request.args.get("number") or "").strip()[:MAX_NUMBER]
        if not raw:
            return render_template("landing/complaint.html", number="", found=None, error=None, helpline=helpline)
        try:
            found = public_status(complaint_status(UnitOfWork(session_factory), raw))
        except UnknownComplaint:
            html = render_template(
                "landing/complaint.html",
                number=raw,
                found=None,
                error=_("No complaint has the number %(number)s. Please check the number in your SMS.", number=raw),
                helpline=helpline,
            )
            return make_response(html, 404)
        category = CATEGORIES.get(found["category"])
        shown = {
            **found,
            "category_title": _(category.title) if category else found["category"],
            "status_text": _(STATUSES[found["status"]]) if found["status"] in STATUSES else found["status"],
            "level": _(LEVELS[found["escalation_level"]]) if found["escalation_level"] in LEVELS else "",
            "registered": ist(dt.datetime.fromisoformat(found["registered_at"])),
            "due": ist(dt.datetime.fromisoformat(found["sla_due_at"])),
            "resolved": ist(dt.datetime.fromisoformat(found["resolved_at"])) if found["resolved_at"] else None,
        }
        response = make_response(
            render_template("landing/complaint.html", number=raw, found=shown, error=None, helpline=helpline)
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
