"""Twilio voice webhooks: a signed request in, the dialog's next Turn out as TwiML.

Routes (the paths Twilio is configured with, relative to `public_url`):
- POST /voice/incoming  a new call (From, To, CallSid, Direction); outbound calls placed by `TwilioDialer` carry
                        `flow`, `ref` and `params` in the query
- POST /voice/gather    the keys the caller pressed (Digits); `timeout=1` in the query means nothing was pressed
- POST /voice/status    the call's status callback; a final CallStatus ends the call record (and frees the
                        outbound slot through `on_call_ended`, and tells `on_call_status(CallSid, CallStatus)`
                        how a call we placed ended, for its outbox row)
- POST /voice/agent-answered  the `<Dial>` to the agents was answered (with `on_agent_answered` only): `To`
                        names the agent, `call` in the query the caller's CallSid; the screen-pop's cue
- GET  /prompts/<lang>/<stem>.mp3  the built prompt audio that `<Play>` fetches

Signatures. Every webhook's `X-Twilio-Signature` is checked over the URL Twilio called and all the form fields.
That URL is rebuilt as `public_url` + the request's path within the app + its query string, so a TLS proxy in
front (which changes scheme, host and port) needs no ProxyFix; `public_url` is the public address of the app's
root (include any path prefix the proxy strips). Without `public_url` the request's own URL is used, which is
right only when the app is reached directly or behind ProxyFix. A missing or wrong signature gets 403 and
nothing is called; with no auth token configured every webhook is refused. The prompt audio is not signed: it is
the same public recording for every caller, and Twilio's media fetches are plain GETs.

Failures. Whatever goes wrong while handling a call, Twilio gets valid TwiML: the apology (`common.sorry_error`)
and the agents' number. Responses are `text/xml`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from flask import Blueprint, Response, abort, request, send_file, url_for
from twilio.request_validator import RequestValidator

from cis import inputs
from ivr.dialog import WebhookDialog
from ivr.logs import get_logger
from ivr.outbound import decode_params
from ivr.turns import Lang, Turn
from ivr.twiml import VOICES, apology_twiml, empty_twiml, render_twiml
from prompts.catalog import LANGS, Catalog
from prompts.catalog import catalog as packaged_catalog

log = get_logger(__name__)

CHANNEL = "twilio"
FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
SIGNATURE_HEADER = "X-Twilio-Signature"
XML = "text/xml"
RETRY_AFTER_S = 30  # what a callback that could not be recorded is told to wait before trying again
MAX_CALL_SID = 100  # what the CIS keeps of a call reference (Twilio's are 34 characters)
STEM = re.compile(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*")


class AudioFiles(Protocol):
    """What the blueprint needs of `prompts.build.AudioLibrary`."""

    def has(self, lang: str, stem: str, ext: str) -> bool: ...

    def path(self, lang: str, stem: str, ext: str) -> Path: ...


def voice_blueprint(
    dialog: WebhookDialog,
    *,
    auth_token: str | None,
    audio: AudioFiles | None,
    public_url: str | None,
    agent_dial: str | None,
    catalog: Catalog | None = None,
    voices: Mapping[str, str] | None = VOICES,
    apology_lang: Lang = "hi",
    on_call_ended: Callable[[str], object] | None = None,
    on_call_status: Callable[[str, str], object] | None = None,
    on_agent_answered: Callable[[str, str], object] | None = None,
    name: str = "twilio_voice",
) -> Blueprint:
    """The Twilio voice webhooks, handing every call to `dialog` (see the module's docstring)."""
    bp = Blueprint(name, __name__)
    validator = RequestValidator(auth_token) if auth_token else None
    if validator is None:
        log.warning("Twilio voice webhooks have no auth token (TWILIO_AUTH_TOKEN): every request will be refused")
    base_setting = (public_url or "").rstrip("/")
    cat = catalog if catalog is not None else packaged_catalog()

    def public(path_in_app: str) -> str:
        return (base_setting or request.url_root.rstrip("/")) + path_in_app

    def path_of(endpoint: str, **values: Any) -> str:
        """The endpoint's path within the app (any url_prefix included, the WSGI script root left out)."""
        return url_for(endpoint, **values)[len(request.script_root) :]

    def audio_url(lang: str, stem: str) -> str | None:
        if audio is None or not audio.has(lang, stem, "mp3"):
            return None
        return public(path_of(".prompt", lang=lang, stem=stem))

    def signed(view: Callable[[], Response]) -> Callable[[], Response]:
        @functools.wraps(view)
        def wrapper() -> Response:
            if validator is None:
                log.error("refused Twilio request to %s: no auth token configured", request.path)
                return Response("", status=403)
            query = request.query_string.decode("latin-1")
            url = public(request.path) + (f"?{query}" if query else "")
            signature = request.headers.get(SIGNATURE_HEADER, "")
            if not signature or not validator.validate(url, request.form, signature):
                log.warning("refused Twilio request to %s: %s signature", request.path, "bad" if signature else "no")
                return Response("", status=403)
            return view()

        return wrapper

    def twiml(body: str, status: int = 200) -> Response:
        return Response(body, status=status, mimetype=XML)

    def answer(call_sid: str, run: Callable[[], Turn]) -> Response:
        try:
            if not call_sid:
                raise ValueError("no CallSid in the request")
            turn = run()
            body = render_twiml(
                turn,
                action_url=public(path_of(".gather")),
                audio_url=audio_url,
                catalog=cat,
                agent_dial=agent_dial,
                voices=voices,
                # The agent's answer is reported back, for the screen-pop (signed like every webhook).
                answered_url=public(path_of(".agent_answered", call=call_sid)) if on_agent_answered else None,
            )
        except Exception:
            log.exception("Twilio call %s: handling failed, apologising and transferring", call_sid or "?")
            body = apology_twiml(apology_lang, audio_url=audio_url, catalog=cat, agent_dial=agent_dial, voices=voices)
        return twiml(body)

    def parties() -> tuple[str, str]:
        """(consumer, our number): Twilio's From is the consumer on inbound calls, To on calls we placed."""
        form = request.form
        if form.get("Direction", "inbound").startswith("outbound"):
            return form.get("To", ""), form.get("From", "")
        return form.get("From", ""), form.get("To", "")

    @bp.post("/voice/incoming")
    @signed
    def incoming() -> Response:
        call_sid = request.form.get("CallSid", "")
        caller, called = parties()
        outbound: dict[str, Any] = {}

        def run() -> Turn:
            if "flow" in request.args:
                # A call we placed (TwilioDialer.answer_url); the same keywords the AGI transport passes.
                outbound.update(flow=request.args["flow"], params=decode_params(request.args.get("params", "")))
                if request.args.get("ref"):
                    outbound["outbound_ref"] = request.args["ref"]
            return dialog.handle(
                channel=CHANNEL,
                call_ref=call_sid,
                caller=caller,
                digits=None,
                lang=_lang(request.args.get("lang")),
                called=called,
                **outbound,
            )

        return answer(call_sid, run)

    @bp.post("/voice/gather")
    @signed
    def gather() -> Response:
        call_sid = request.form.get("CallSid", "")
        caller, called = parties()
        digits = "" if request.args.get("timeout") else request.form.get("Digits", "")
        return answer(
            call_sid,
            lambda: dialog.handle(
                channel=CHANNEL, call_ref=call_sid, caller=caller, digits=digits, lang=None, called=called
            ),
        )

    @bp.post("/voice/agent-answered")
    @signed
    def agent_answered() -> Response:
        """The `<Dial>` to the agents was answered: `To` names the agent, `call` (ours) or ParentCallSid the
        caller's call. Hands both to `on_agent_answered(agent, call_sid)` for the screen-pop."""
        form = request.form
        call_sid = request.args.get("call") or form.get("ParentCallSid", "")
        agent = form.get("To", "")
        if len(call_sid) > MAX_CALL_SID or inputs.unstorable(call_sid) or len(agent) > 200 or inputs.unstorable(agent):
            return twiml(empty_twiml(), status=400)
        if on_agent_answered is not None and call_sid and agent and form.get("CallStatus") == "in-progress":
            try:
                on_agent_answered(agent, call_sid)
            except Exception:
                log.exception("Twilio call %s: the screen-pop failed", call_sid)
        return twiml(empty_twiml())

    @bp.post("/voice/status")
    @signed
    def status() -> Response:
        form = request.form
        call_sid, call_status = form.get("CallSid", ""), form.get("CallStatus", "")
        if len(call_sid) > MAX_CALL_SID or inputs.unstorable(call_sid):
            return twiml(empty_twiml(), status=400)  # not a call of Twilio's
        if not call_sid or call_status not in FINAL_STATUSES:
            return twiml(empty_twiml())
        duration = form.get("CallDuration", "")
        failed = False
        if on_call_ended is not None:
            try:
                on_call_ended(call_sid)
            except Exception:
                failed = True
                log.exception("Twilio call %s: releasing its outbound slot failed", call_sid)
        if on_call_status is not None and form.get("Direction") != "inbound":
            try:
                on_call_status(call_sid, call_status)
            except Exception:
                failed = True
                log.exception("Twilio call %s: recording its outcome (%s) failed", call_sid, call_status)
        try:
            dialog.hangup(CHANNEL, call_sid, duration_s=int(duration) if duration.isdigit() else None)
        except Exception:
            failed = True
            log.exception("Twilio call %s: ending the call record failed (status %s)", call_sid, call_status)
        if failed:  # the database is down or slow: Twilio may call back again later
            response = twiml(empty_twiml(), status=503)
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        return twiml(empty_twiml())

    @bp.get("/prompts/<lang>/<path:stem>.mp3")
    def prompt(lang: str, stem: str) -> Response:
        # Only files the library lists are served: the pattern refuses '..' and absolute paths before any lookup.
        if audio is None or lang not in LANGS or not STEM.fullmatch(stem) or not audio.has(lang, stem, "mp3"):
            abort(404)
        return send_file(audio.path(lang, stem, "mp3"), mimetype="audio/mpeg", max_age=86_400)

    return bp


def _lang(value: str | None) -> Lang | None:
    """The `lang` a caller may pass in the answer URL (`?lang=en`), if it is one of ours."""
    if value == "hi":
        return "hi"
    if value == "en":
        return "en"
    return None
