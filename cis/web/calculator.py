"""The bill calculator on the web: a plain form, and the same as JSON at /api/calc."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from cis import tariffs
from cis.calculator import categories, quote_from_text
from cis.errors import CisError
from cis.inputs import InvalidInput
from cis.web.i18n import N_, inr, number, page_lang

bp = Blueprint("calculator", __name__, template_folder="templates")

# What each line of the bill is called on the page, in bill order.
LINE_NAMES = {
    "energy": N_("Energy charge"),
    "fixed": N_("Fixed charge"),
    "minimum": N_("Minimum charge top-up"),
    "duty": N_("Electricity duty"),
    "rounding": N_("Rounded off to the whole rupee"),
    "total": N_("Total"),
}
FORM_FIELDS = frozenset({"category", "load", "units", "previous_reading", "current_reading", "days", "from", "to"})


def rupees(paise: int) -> str:
    """'₹1,727.00', '₹1,23,456.50', '−₹0.25': Indian digit grouping, a real minus sign."""
    return inr(paise)


def units_text(units: int) -> str:
    return number(units)


@bp.app_template_filter("rupees")
def _rupees_filter(paise: int) -> str:
    return rupees(paise)


@bp.route("/calculator", methods=["GET", "POST"])
def form() -> ResponseReturnValue:
    result = error = error_field = None
    error_in_english = False
    if request.method == "POST":
        try:
            result = quote_from_text(request.values)
        except CisError as exc:
            error = _(str(exc))  # the messages of cis are English; a catalog may give one in Hindi
            error_in_english = page_lang() == "hi" and error == str(exc)
            field = getattr(exc, "field", None) if isinstance(exc, InvalidInput) else None
            error_field = field if field in FORM_FIELDS else None
    status = 400 if error else 200
    lines = []
    if result is not None:
        lines = [
            (name, _(LINE_NAMES[name]) if name in LINE_NAMES else name.capitalize(), paise)
            for name, paise in result.charges.components().items()
            if paise or name in ("energy", "fixed", "duty", "total")
        ]
    return render_template(
        "calculator/form.html",
        in_force=tariffs.schedule_on(tariffs.load_schedules(), dt.date.today()),
        categories_shown=[(code, f"{code} — {text}") for code, text in categories()],
        result=result,
        lines=lines,
        units_text=units_text,
        error=error,
        error_field=error_field,
        error_in_english=error_in_english,
        values=request.values,
    ), status


@bp.get("/api/calc")
def api() -> ResponseReturnValue:
    """?category=LMV-1U&load=2&units=250&days=30 (or previous_reading/current_reading; from/to win over days)."""
    try:
        result = quote_from_text(request.values)
    except CisError as exc:
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
