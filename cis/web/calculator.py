"""The bill calculator on the web: a plain form, and the same as JSON at /api/calc."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from cis.calculator import categories, quote
from cis.errors import CisError

bp = Blueprint(
    "calculator", __name__, template_folder="templates", static_folder="static", static_url_path="/static/calculator"
)


def _int(name: str) -> int | None:
    raw = (request.values.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError(f"'{name.replace('_', ' ')}' must be a whole number.")
    return int(raw)


def _date(name: str) -> dt.date | None:
    raw = (request.values.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"'{name}' must be a date, YYYY-MM-DD.") from exc


def _quote_from_request():  # type: ignore[no-untyped-def]
    units = _int("units")
    previous, current = _int("previous_reading"), _int("current_reading")
    readings = (previous, current) if previous is not None or current is not None else None
    if readings is not None and (previous is None or current is None):
        raise ValueError("Give both the previous and the current reading.")
    start, end = _date("from"), _date("to")
    period = (start, end) if start or end else None
    if period is not None and (start is None or end is None):
        raise ValueError("Give both the 'from' and the 'to' date.")
    return quote(
        request.values.get("category", ""),
        request.values.get("load", ""),
        units=units,
        readings=readings,
        days=None if period else _int("days"),
        period=period,
    )  # type: ignore[arg-type]


@bp.route("/calculator", methods=["GET", "POST"])
def form() -> ResponseReturnValue:
    result = error = None
    if request.method == "POST":
        try:
            result = _quote_from_request()
        except (CisError, ValueError) as exc:
            error = str(exc)
    status = 400 if error else 200
    return render_template(
        "calculator/form.html", categories=categories(), result=result, error=error, values=request.values
    ), status


@bp.get("/api/calc")
def api() -> ResponseReturnValue:
    """?category=LMV-1U&load=2&units=250&days=30 (or previous_reading/current_reading; from/to win over days)."""
    try:
        result = _quote_from_request()
    except (CisError, ValueError) as exc:
        return jsonify(error=type(exc).__name__, message=str(exc)), 400
    return jsonify(
        category=result.category,
        load_kw=str(result.load_kw),
        units=result.units,
        days=result.days,
        schedule=result.schedule,
        rupees=result.rupees(),
        slabs=[
            {"slab": label, "units": u, "paise_per_unit": rate, "rupees": paise / 100}
            for label, u, rate, paise in result.charges.slab_lines
        ],
    )


@bp.get("/api/calc/categories")
def api_categories() -> ResponseReturnValue:
    return jsonify([{"code": code, "description": text} for code, text in categories()])
