"""The public page of live supply interruptions, feeder by feeder, and of planned shutdowns: no login needed.

GET /outages        HTML: feeders off now (division > feeder), then shutdowns planned for the next 7 days
GET /outages.json   the same as JSON
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, make_response, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

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
        static_folder="static",
        static_url_path="/static/outages",
    )

    def found() -> tuple[dt.datetime, list[dict[str, Any]], list[dict[str, Any]]]:
        now = clock()
        with session_factory() as db:
            live = queries.public_live(db, now=now)
            planned = queries.public_planned(db, now=now)
        return now, [_row(i) for i in live], [_row(i) for i in planned]

    def public(response: Response) -> Response:
        response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
        return response

    @bp.get("/outages")
    def outages() -> ResponseReturnValue:
        now, live, planned = found()
        html = render_template("public_outages/outages.html", live=live, planned=planned, as_of=ist_text(now))
        return public(make_response(html))

    @bp.get("/outages.json")
    def outages_json() -> ResponseReturnValue:
        now, live, planned = found()
        return public(make_response(jsonify(as_of=now.astimezone(dt.UTC).isoformat(), live=live, planned=planned)))

    return bp
