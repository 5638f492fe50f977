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
from sqlalchemy.orm import Session

from cis.complaints import CATEGORIES, complaint_status
from cis.db import UnitOfWork
from cis.errors import UnknownComplaint
from cis.web.api import public_status

IST = ZoneInfo("Asia/Kolkata")
MAX_NUMBER = 32  # longer than any complaint number with spaces or dashes typed in it
LEVELS = {
    "je": "Junior Engineer",
    "sdo": "Sub-Divisional Officer",
    "ee": "Executive Engineer",
    "se": "Superintending Engineer",
}
STATUS_HI = {"open": "खुली", "in_progress": "कार्यवाही में", "resolved": "निस्तारित", "closed": "बंद"}


def ist(moment: dt.datetime | None) -> str | None:
    """'20 Nov 2026, 3:30 PM IST'."""
    if moment is None:
        return None
    local = moment.astimezone(IST)
    return f"{local.day} {local:%b %Y}, {local:%I:%M %p}".replace(", 0", ", ") + " IST"


def landing_blueprint(session_factory: Callable[[], Session], *, helpline: str = "1912") -> Blueprint:
    bp = Blueprint(
        "landing", __name__, template_folder="templates", static_folder="static", static_url_path="/static/site"
    )

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
                error=f"No complaint has the number {raw}. Please check the number in your SMS.",
                helpline=helpline,
            )
            return make_response(html, 404)
        category = CATEGORIES.get(found["category"])
        shown = {
            **found,
            "category_title": category.title if category else found["category"],
            "status_hi": STATUS_HI.get(found["status"], found["status"]),
            "level": LEVELS.get(found["escalation_level"], found["escalation_level"]),
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
