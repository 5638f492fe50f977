"""The console provider's outbox on the web: every SMS the embedded default 'sent', newest first.

GET /sms/console        an HTML page, 100 messages a page, `?to=<mobile>` to filter, `?before=<id>` for older
GET /sms/console.json   the same as JSON, for scripts and tests

It shows consumers' messages and numbers, so only a signed-in admin sees it, and only while the console
provider is the one configured (with a real provider both routes answer 404). OTP codes are blanked even
for the admin: an OTP proves a handset, and whoever reads this page is not that handset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, jsonify, make_response, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis import inputs
from cis.models import ConsoleSms
from cis.phones import mobile_or_none
from cis.web.auth import guard
from sms.templates import SmsTemplate, blank_secrets, load_templates

IST = ZoneInfo("Asia/Kolkata")
PAGE = 100


@dataclass(frozen=True)
class _Page:
    messages: list[ConsoleSms]
    to: str | None  # the recipient filtered on, as E.164
    older_before: int | None  # the id to page on from, when older messages exist


class _BadQuery(ValueError):
    pass


def ist_text(moment: dt.datetime) -> str:
    """'20 Nov 2026, 15:30:05 IST'."""
    local = moment.astimezone(IST)
    return f"{local.day} {local:%b %Y, %H:%M:%S} IST"


def _shown(m: ConsoleSms, templates: dict[str, SmsTemplate]) -> dict[str, Any]:
    return {
        "id": m.id,
        "outbox_id": m.outbox_id,
        "sent_at": m.sent_at.astimezone(dt.UTC).isoformat(),
        "sent_at_ist": ist_text(m.sent_at),
        "recipient": m.recipient,
        "sender": m.sender,
        "template": m.template,
        "dlt_template_id": m.dlt_template_id,
        "segments": m.segments,
        "text": blank_secrets(templates.get(m.template), m.text),
    }


def console_blueprint(session_factory: Callable[[], Session], *, enabled: bool) -> Blueprint:
    """The /sms/console page and its JSON, for signed-in admins; both 404 unless `enabled` (the console
    provider is configured). Registering it needs the auth blueprint (cis.web.auth) on the app."""
    bp = Blueprint(
        "sms_console",
        __name__,
        template_folder="console_templates",
        static_folder="console_static",
        static_url_path="/static/sms-console",
    )
    templates = load_templates()

    @bp.before_request
    def _only_with_the_console_provider_and_for_admins() -> Response | None:
        if not enabled:
            abort(404)
        return guard("admin")

    def page() -> _Page:
        raw_to = (request.args.get("to") or "").strip()
        to = mobile_or_none(raw_to) if raw_to else None
        if raw_to and to is None:
            raise _BadQuery(f"{raw_to!r} is not an Indian mobile number.")
        raw_before = (request.args.get("before") or "").strip()
        before = inputs.record_id(raw_before)
        if raw_before and before is None:
            raise _BadQuery("'before' must be a message id.")
        query = select(ConsoleSms).order_by(ConsoleSms.id.desc()).limit(PAGE + 1)
        if to is not None:
            query = query.where(ConsoleSms.recipient == to)
        if before is not None:
            query = query.where(ConsoleSms.id < before)
        with session_factory() as session:
            rows = list(session.scalars(query))
        older = rows[PAGE - 1].id if len(rows) > PAGE else None
        return _Page(rows[:PAGE], to, older)

    def older_url(found: _Page, endpoint: str) -> str | None:
        if found.older_before is None:
            return None
        args: dict[str, Any] = {"before": found.older_before}
        if found.to:
            args["to"] = found.to
        return url_for(endpoint, **args)

    def private(response: Response) -> Response:
        # Consumers' messages and OTPs: never cached by a browser or proxy, never indexed.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
        return response

    @bp.get("/sms/console")
    def messages() -> Response:
        try:
            found = page()
        except _BadQuery as exc:
            html = render_template("sms_console/messages.html", error=str(exc), rows=[], to=None, older=None, raw_to="")
            return private(make_response(html, 400))
        html = render_template(
            "sms_console/messages.html",
            error=None,
            rows=[_shown(m, templates) for m in found.messages],
            to=found.to,
            raw_to=found.to or "",
            older=older_url(found, "sms_console.messages"),
        )
        return private(make_response(html))

    @bp.get("/sms/console.json")
    def messages_json() -> Response:
        try:
            found = page()
        except _BadQuery as exc:
            return private(make_response(jsonify(error=str(exc)), 400))
        body = {
            "to": found.to,
            "messages": [_shown(m, templates) for m in found.messages],
            "older": older_url(found, "sms_console.messages_json"),
        }
        return private(make_response(jsonify(body)))

    return bp
