"""The app's edge: what every request meets whatever blueprint serves it, and every error in its channel's form.

Installed once by the app factory (`install`), before any blueprint is registered:

- `<int:...>` in any route takes 1 to 19 ASCII digits up to 2**63 - 1 (a BIGINT): a 30-digit id is a 404,
  never an overflow in the database;
- a request body is at most `URJA_MAX_BODY_BYTES` (413), or the limit its view declares to take file uploads
  (`cis.web.uploads.takes_files`): set before anything reads the body, so a larger one is never read whole;
- a query string, form or path holding a NUL or an unpaired surrogate is refused (400) before any view runs:
  no database column can store either;
- an HTTP error (400, 404, 405, 413, ...) and a database that cannot be reached, is locked or is too slow
  (503 with Retry-After) are answered in the form the caller reads (`channel_of`): JSON for the API, the
  gateway's webhooks and `.json` pages; TwiML for Twilio; `END` text for USSD; an HTML page for browsers.

Where a person is on the line, the provider only plays or shows an answer given with 200: the Twilio call
flow gets the Hindi apology (and the agents' number) and a USSD screen `END` with the apology, as every other
failure of a call does. The providers' machine callbacks (`/voice/status`, `/ussd/end`, the SMS webhooks) get
503 with Retry-After, so the provider may try again.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from flask import Flask, Response, render_template, request
from flask_babel import gettext
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from cis import inputs
from cis.logs import get_logger
from cis.printing import FontsMissing
from cis.web.i18n import N_
from cis.web.uploads import body_limit
from ivr.twiml import apology_twiml, empty_twiml
from ivr.ussd import apology_ussd
from prompts.catalog import catalog as packaged_catalog
from urjamitra.settings import Settings

log = get_logger(__name__)

Channel = Literal["json", "voice", "voice_callback", "twilio_sms", "ussd", "ussd_callback", "html"]
RETRY_AFTER_S = 30
UNAVAILABLE_MESSAGE = N_("The service is busy or under maintenance. Please try again in a minute.")
# What an HTTP error says when the code raising it gave no message of its own.
NO_PDF_MESSAGE = N_(
    "Bills and forms cannot be made as PDF files on this server just now. The bill page shows every figure; "
    "for a printed copy please call 1912 or visit your office."
)
PLAIN_MESSAGES = {
    400: N_("The request could not be understood. Please check what was entered and try again."),
    403: N_("You are not allowed to do this."),
    404: N_("There is nothing at this address. Please check the link."),
    405: N_("This address does not take that kind of request."),
    413: "The request is larger than the {limit} this site accepts.",
}
# The database could not be reached, was locked, or cancelled a statement that ran too long.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)


class BoundedIntConverter(IntegerConverter):
    """Werkzeug's `int` converter bounded to what a BIGINT id can be: 0 to 2**63 - 1, ASCII digits only."""

    regex = r"[0-9]{1,19}"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, 0 if min is None else min, inputs.MAX_ID if max is None else max, signed)


def channel_of(path: str) -> Channel:
    """Who reads the answer to a request for `path`, and so the form every error takes for it."""
    if path == "/voice/status":
        return "voice_callback"
    if path.startswith("/voice/"):
        return "voice"
    if path.startswith("/sms/twilio/"):
        return "twilio_sms"
    if path == "/ussd/end":
        return "ussd_callback"
    if path == "/ussd" or path.startswith("/ussd/"):
        return "ussd"
    if path.startswith(("/api/", "/sms/gateway/", "/webhooks/", "/sandbox/razorpay/v1/", "/bbps/")):
        return "json"
    if path.endswith(".json"):
        return "json"
    if path in ("/api", "/healthz"):
        return "json"
    return "html"


def install(app: Flask, settings: Settings) -> None:
    """Put the edge in front of every route of `app`; call it before any blueprint is registered."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = min(settings.max_body_bytes, 500_000)
    catalog = packaged_catalog()

    def answer(status: int, name: str, message: str, *, retry_after: int | None = None) -> Response:
        channel = channel_of(request.path)
        if channel == "json":
            response = Response(json.dumps({"error": name, "message": message}), status, mimetype="application/json")
        elif channel == "twilio_sms":
            response = Response(str(MessagingResponse()), status, mimetype="application/xml")
        elif channel in ("voice", "voice_callback"):
            response = Response(empty_twiml(), status, mimetype="text/xml")
        elif channel in ("ussd", "ussd_callback"):
            response = Response(f"END {message}" if channel == "ussd" else "", status, mimetype="text/plain")
        else:
            shown = gettext(message)  # the page's language where the catalogs have the message, else as given
            html = render_template("errors/error.html", status=status, name=name, message=message, shown=shown)
            response = Response(html, status, mimetype="text/html")
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.before_request
    def _route_body_limit() -> None:
        """A view taking file uploads reads a larger body than the app's limit; every other one, that limit."""
        own = body_limit(app.view_functions.get(request.endpoint or ""))
        if own is not None:
            request.max_content_length = own

    @app.before_request
    def _refuse_unstorable() -> Response | None:
        """Text no database can store (NUL, a lone surrogate) from a browser or an API client is refused.

        The providers' webhooks (Twilio, USSD) drop such characters themselves instead: a consumer's message
        or key press is answered whatever it holds.
        """
        if channel_of(request.path) not in ("html", "json"):
            return None
        values: list[str] = [*(request.view_args or {}).values()] if request.view_args else []
        values += [v for pair in request.args.items(multi=True) for v in pair]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += [v for pair in request.form.items(multi=True) for v in pair]
        if any(isinstance(v, str) and inputs.unstorable(v) for v in values):
            return answer(400, "BadRequest", "The request contains characters that are not allowed (NUL).")
        return None

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | HTTPException:
        if error.code is None or error.code < 400 or error.response is not None:
            return error  # a redirect, or an answer the view made itself
        name = type(error).__name__
        message = error.description or name
        if message == type(error).description:  # Werkzeug's own wording, written for developers
            message = PLAIN_MESSAGES.get(error.code, _first_sentence(message))
            if error.code == 413:
                limit = request.max_content_length or settings.max_body_bytes
                message = message.format(limit=f"{limit // 1024:,} KB")
        response = answer(error.code, name, message)
        for header, value in error.get_headers():  # Allow on a 405, Retry-After on a 429, ...
            if header.lower() not in ("content-type", "content-length"):
                response.headers[header] = value
        return response

    @app.errorhandler(inputs.InvalidInput)
    def _invalid(error: inputs.InvalidInput) -> Response:
        return answer(400, "InvalidInput", str(error))

    def unavailable(error: Exception) -> Response:
        log.error("database unavailable on %s %s: %s", request.method, request.path, _brief(error))
        channel = channel_of(request.path)
        if channel == "voice":
            twiml = apology_twiml("hi", audio_url=_no_audio, catalog=catalog, agent_dial=settings.agent_dial)
            return Response(twiml, 200, mimetype="text/xml")
        if channel == "ussd":
            return Response(apology_ussd(catalog), 200, mimetype="text/plain")
        return answer(503, "ServiceUnavailable", UNAVAILABLE_MESSAGE, retry_after=RETRY_AFTER_S)

    for kind in DATABASE_UNAVAILABLE:
        app.register_error_handler(kind, unavailable)

    @app.errorhandler(FontsMissing)
    def _no_fonts(error: FontsMissing) -> Response:
        """The server lacks the Noto fonts (fonts-noto-core): the PDF routes answer 503, not a crash."""
        log.error("no PDF on %s: %s", request.path, error)
        return answer(503, "ServiceUnavailable", NO_PDF_MESSAGE, retry_after=RETRY_AFTER_S)


def _no_audio(lang: str, stem: str) -> str | None:
    return None


def _first_sentence(text: str) -> str:
    """Werkzeug's descriptions run to several sentences about browsers; the first says what happened."""
    head = " ".join(text.split())
    end = head.find(". ")
    return head if end < 0 else head[: end + 1]


def _brief(error: Any) -> str:
    return " ".join(str(getattr(error, "orig", None) or error).split())[:200]
