"""The reliability indices on the web: a public page and its JSON, per month and optionally per division.

GET /reliability?month=YYYY-MM&division=CODE   an HTML table (default: the current IST month, every division)
GET /reliability.json?month=...&division=...    the same figures as JSON

Public and without a login: discoms publish these indices to their regulator and on their websites anyway,
and they name no consumer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.models import Division
from outage.errors import InvalidMonth, UnknownDivision
from outage.reliability import Report, current_month, division_id_of, reliability, report_as_dict


def reliability_blueprint(session_factory: Callable[[], Session], clock: Callable[[], dt.datetime]) -> Blueprint:
    """The /reliability page and /reliability.json; `clock` gives the current month when none is asked for."""
    bp = Blueprint(
        "reliability",
        __name__,
        template_folder="templates",
    )

    def build(session: Session) -> tuple[str, str | None, Report]:
        month = (request.args.get("month") or "").strip() or current_month(clock())
        code = (request.args.get("division") or "").strip() or None
        division_id = division_id_of(session, code) if code else None
        return month, code, reliability(session, month, division_id=division_id)

    @bp.get("/reliability")
    def page() -> ResponseReturnValue:
        with session_factory() as session:
            divisions = session.execute(select(Division.code, Division.name).order_by(Division.code)).all()
            try:
                month, code, report = build(session)
            except (InvalidMonth, UnknownDivision) as exc:
                status = 400 if isinstance(exc, InvalidMonth) else 404
                message = (
                    _("'%(given)s' is not a month: give it as YYYY-MM, for example 2026-11.", given=exc.given)
                    if isinstance(exc, InvalidMonth)
                    else _("No division %(code)s is on record.", code=exc.code)
                )
                return render_template(
                    "reliability/report.html",
                    report=None,
                    error=message,
                    month=request.args.get("month", ""),
                    division=request.args.get("division", ""),
                    divisions=divisions,
                ), status
        return render_template(
            "reliability/report.html",
            as_of=clock(),
            report=report,
            error=None,
            month=month,
            division=code or "",
            divisions=divisions,
        )

    @bp.get("/reliability.json")
    def as_json() -> ResponseReturnValue:
        with session_factory() as session:
            try:
                _, _, report = build(session)
            except InvalidMonth as exc:
                return jsonify(error="InvalidMonth", message=str(exc)), 400
            except UnknownDivision as exc:
                return jsonify(error="UnknownDivision", message=str(exc)), 404
        return jsonify(report_as_dict(report))

    return bp
