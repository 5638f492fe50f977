"""The MIS pages for officers and management, scoped by role: the figures of the last 7, 30 or 90 days for the
part of the network the viewer covers, each as a server-rendered SVG chart with its table, and as CSV.

GET /mis/?days=30                 every figure on one page
GET /mis/<table>.csv?days=30      one table (cis.mis.CSV_NAMES) as CSV
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from cis import mis
from cis.db import UnitOfWork
from cis.web.auth import current_staff, login_required
from cis.web.charts import hbar_chart_svg
from cis.web.complaint_words import category_text, level_text
from cis.web.i18n import N_, moment_text

MIS_ROLES = ("je", "sdo", "ee", "se", "admin")


RECON_KINDS = {
    "posted_now": N_("Settled but not posted: posted now"),
    "unmatched": N_("Settled, naming no payment link of ours"),
    "amount_mismatch": N_("The amounts differ"),
    "not_settled": N_("Posted, not settled after T+2"),
}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _days() -> int:
    raw = request.args.get("days", "30")
    return int(raw) if raw.isdigit() and int(raw) in mis.PERIODS else 30


def _pct(rate: mis.Rate) -> str:
    return "—" if rate.percent is None else f"{rate.percent:.1f}%"


def mis_blueprint(session_factory: Callable[[], Session], *, clock: Callable[[], dt.datetime] = _utc_now) -> Blueprint:
    bp = Blueprint("mis", __name__, url_prefix="/mis")

    def report() -> mis.Mis:
        staff = current_staff()
        assert staff is not None
        return mis.mis(UnitOfWork(session_factory), staff.id, days=_days(), now=clock())

    @bp.get("/")
    @login_required(*MIS_ROLES)
    def index() -> ResponseReturnValue:
        r = report()
        rates = [
            (_("Complaints past a level's time (SLA breach)"), r.breach),
            (_("Reopened after being resolved"), r.reopened),
            (_("Closed without the consumer's confirmation"), r.not_confirmed),
            (_("IVR calls served without an agent"), r.contained),
        ]
        charts: dict[str, Any] = {
            "pendency": hbar_chart_svg(
                [(name, n, f"{n} ({late})") for name, n, late in r.pendency_by_sub_division[:15]],
                title=_("Open complaints by sub-division"),
                description=_("Open complaints in each sub-division, the overdue ones in brackets."),
                chart_id="pendency",
            ),
            "rates": hbar_chart_svg(
                [(words, rate.percent or 0.0, _pct(rate)) for words, rate in rates],
                title=_("Rates of the period"),
                description=_("Each rate as a percentage of its whole; the table gives both numbers."),
                chart_id="rates",
            ),
            "drop_outs": hbar_chart_svg(
                [(node, n, str(n)) for node, n in r.drop_outs],
                title=_("Where callers left the IVR"),
                description=_("Calls that ended without being served, by the menu node they were at."),
                chart_id="drops",
            ),
            "sms": hbar_chart_svg(
                [(t, 100.0 * d / n if n else 0.0, f"{100.0 * d / n:.0f}%" if n else "—") for t, n, d, _f in r.sms[:15]],
                title=_("SMS delivered, by template"),
                description=_("The share of each template's SMS that reached the handset."),
                chart_id="sms",
            ),
            "outages": hbar_chart_svg(
                [(name, m, str(m)) for name, m, _cm in r.outage_minutes[:15]],
                title=_("Outage minutes by sub-division"),
                description=_("Minutes of interruption on the sub-division's feeders in the period."),
                chart_id="outages",
            ),
            "revisions": hbar_chart_svg(
                [(_("%(span)s days", span=label), n, str(n)) for label, n in r.revisions_pending],
                title=_("Bill revisions pending, by age"),
                description=_("Open bill-revision requests by how many days they have waited."),
                chart_id="revisions",
            ),
        }
        html = render_template(
            "mis/index.html",
            r=r,
            rates=rates,
            pct=_pct,
            charts=charts,
            periods=mis.PERIODS,
            csv_names=mis.CSV_NAMES,
            category_text=category_text,
            level_text=level_text,
            moment=moment_text,
            recon_kinds={kind: _(words) for kind, words in RECON_KINDS.items()},
        )
        response = make_response(html)
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/<name>.csv")
    @login_required(*MIS_ROLES)
    def export(name: str) -> ResponseReturnValue:
        if name not in mis.CSV_NAMES:
            abort(404)
        out = io.StringIO()
        writer = csv.writer(out)
        for row in mis.csv_rows(report(), name):
            # A cell a spreadsheet would run as a formula (=, +, -, @) is written as text.
            writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
        response = Response(out.getvalue(), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="mis-{name}-{_days()}d.csv"'
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
