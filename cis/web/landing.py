"""The public front door: the landing page anyone may open, and complaint status by number as a page.

GET /                     where to look (live outages, reliability, the calculator, complaint status, how to
                          pay, the 1912 helpline), in Hindi and English; the consumer portal fills it later
GET /complaints/status    `?number=` a complaint's status and the steps of its history with their times, with
                          nothing about who lodged it or who works on it, and no notes (see api.public_status
                          and cis.complaint_history.public_steps)

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

from cis.complaint_history import public_steps
from cis.complaints import complaint_status
from cis.db import UnitOfWork
from cis.errors import UnknownComplaint
from cis.web.api import public_status
from cis.web.complaint_words import CATEGORY_TITLES, LEVELS, STATUSES, category_text, level_text, status_text, step_text
from cis.web.i18n import moment_text

IST = ZoneInfo("Asia/Kolkata")
MAX_NUMBER = 32  # longer than any complaint number with spaces or dashes typed in it
__all__ = ["CATEGORY_TITLES", "LEVELS", "STATUSES", "landing_blueprint"]


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
        shown = {
            **found,
            "category_title": category_text(found["category"]),
            "status_text": status_text(found["status"]),
            "level": level_text(found["escalation_level"]),
            "registered": ist(dt.datetime.fromisoformat(found["registered_at"])),
            "due": ist(dt.datetime.fromisoformat(found["sla_due_at"])),
            "resolved": ist(dt.datetime.fromisoformat(found["resolved_at"])) if found["resolved_at"] else None,
            "steps": [
                {"text": step_text(step.step, level=step.level), "at": step.at.isoformat(), "when": ist(step.at)}
                for step in public_steps(UnitOfWork(session_factory), raw)
            ],
        }
        response = make_response(
            render_template("landing/complaint.html", number=raw, found=shown, error=None, helpline=helpline)
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
