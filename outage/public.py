"""The public page of live supply interruptions, feeder by feeder, and of planned shutdowns: no login needed.

GET /outages        HTML: feeders off now (division > feeder), then shutdowns planned for the next 7 days
GET /outages.json   the same as JSON
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Blueprint, Response, jsonify, make_response, render_template
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from cis.web.i18n import N_
from outage import queries

IST = ZoneInfo("Asia/Kolkata")
# Consumers reload it in a storm: let browsers and proxies keep it this long, not longer.
MAX_AGE_SECONDS = 30


def ist_text(moment: dt.datetime | None, *, empty: str = "not known yet") -> str:
    """'20 Nov 2026, 15:30 IST'."""
    if moment is None:
        return empty
    local = moment.astimezone(IST)
    return f"{local.day} {local:%b %Y, %H:%M} IST"


KINDS = {"breakdown": N_("breakdown"), "planned": N_("planned shutdown")}


def page_time(moment: dt.datetime | None) -> str:
    """'20 Nov 2026, 15:30 IST' (or '20 नव॰ 2026, 15:30 IST') in the page's language; for a page, not the JSON."""
    if moment is None:
        return _("not known yet")
    return f"{format_datetime(moment, 'd MMM y, HH:mm', tzinfo=IST, locale=get_locale() or 'en_IN')} IST"


def _shown(item: queries.PublicInterruption) -> dict[str, Any]:
    """A row of the page: the JSON's row with its times and kind in the page's language."""
    return {
        **_row(item),
        "kind_text": _(KINDS[item.kind]) if item.kind in KINDS else item.kind,
        "since_text": page_time(item.since),
        "expected_restore_text": page_time(item.expected_restore_at),
    }


def _row(item: queries.PublicInterruption) -> dict[str, Any]:
    return {
        "division": item.division,
        "feeder": item.feeder,
        "kind": item.kind,
        "since": item.since.astimezone(dt.UTC).isoformat(),
        "since_ist": ist_text(item.since),
        "expected_restore_at": item.expected_restore_at.astimezone(dt.UTC).isoformat()
        if item.expected_restore_at
        else None,
        "expected_restore_ist": ist_text(item.expected_restore_at),
        "reason": item.reason,
    }


def public_outages_blueprint(session_factory: Callable[[], Session], clock: Callable[[], dt.datetime]) -> Blueprint:
    """/outages and /outages.json: what is off now and what is planned, read from `feeder_interruption`."""
    bp = Blueprint(
        "public_outages",
        __name__,
        template_folder="templates",
    )

    def found() -> tuple[dt.datetime, list[queries.PublicInterruption], list[queries.PublicInterruption]]:
        now = clock()
        with session_factory() as db:
            live = queries.public_live(db, now=now)
            planned = queries.public_planned(db, now=now)
        return now, live, planned

    def public(response: Response) -> Response:
        response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
        return response

    @bp.get("/outages")
    def outages() -> ResponseReturnValue:
        now, live, planned = found()
        html = render_template(
            "public_outages/outages.html",
            live=[_shown(i) for i in live],
            planned=[_shown(i) for i in planned],
            as_of=page_time(now),
            as_of_iso=now.astimezone(dt.UTC).isoformat(),
        )
        return public(make_response(html))

    @bp.get("/outages.json")
    def outages_json() -> ResponseReturnValue:
        now, live, planned = found()
        body = {
            "as_of": now.astimezone(dt.UTC).isoformat(),
            "live": [_row(i) for i in live],
            "planned": [_row(i) for i in planned],
        }
        return public(make_response(jsonify(body)))

    return bp
