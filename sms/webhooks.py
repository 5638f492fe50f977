"""SMS webhooks: inbound messages and delivery receipts from Twilio (signed) and the DLT gateway (HMAC).

Routes, relative to `public_url`:
  POST /sms/twilio/inbound    Twilio's incoming-message webhook (form: MessageSid, From, To, Body, ...)
  POST /sms/twilio/status     Twilio's status callback, `?ref=<outbox id>` (form: MessageSid, MessageStatus, ...)
  POST /sms/gateway/inbound   the gateway's MO post (JSON: id, from, to, text)
  POST /sms/gateway/receipt   the gateway's delivery reports (JSON: {"receipts": [{ref, id, status, code, error}]})

Every request is authenticated before anything is read: Twilio's X-Twilio-Signature over the public URL and
all form fields; the gateway's `X-Urja-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` with its
`X-Urja-Timestamp` no more than five minutes off. A reply to a command goes through the outbox like every
other SMS, keyed by the inbound message's id, so a webhook retried by the provider is answered once.

A mobile that sends more than its limit (`throttle`, counted once the request is authenticated) is not
answered; the first message over the limit in a window gets one SMS saying when to try again. A STOP over
the limit is still carried out (an opt-out is never ignored), without a reply. The provider still gets its
usual 200, so it does not retry.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Collection
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from cis import inputs, notify
from cis.logs import get_logger
from cis.phones import mask_mobile, mobile_or_none
from outage.feedback import DEFAULT_REOPEN_AFTER
from sms import commands
from sms.dispatch import Receipt, record_receipts
from sms.providers import SIGNATURE_HEADER, TIMESTAMP_HEADER, gateway_signature
from sms.service import Reply, handle_inbound
from sms.templates import load_templates, render

log = get_logger(__name__)

TWILIO_SIGNATURE = "X-Twilio-Signature"
MAX_SKEW_S = 300
MAX_REQUEST_ID = 80
MAX_TEXT = 2000  # longer than any concatenated SMS; anything beyond is not a message
XML = "application/xml"
SLOW_DOWN = "reply.slow_down"
# (mobile, kind) -> None to answer, else (tell the sender once, seconds to wait); kind "otp" for a REG.
Throttle = Callable[[str, str], tuple[bool, int] | None]


def receive(
    session_factory: Callable[[], Session],
    *,
    provider: str,
    mobile: str,
    text: str,
    message_id: str,
    now: dt.datetime,
    portal_url: str,
    allowed_urls: Collection[str] | None = None,
    allowed_numbers: Collection[str] = (),
    send_reply: bool = True,
    check_reopen: int = DEFAULT_REOPEN_AFTER,
) -> Reply:
    """Answer one inbound SMS and put the reply in the outbox for the sender (once per message id);
    with `send_reply` False the command is carried out and the reply only returned."""
    # Whatever the provider passed on is answered: characters no database can store are dropped, not refused.
    text = inputs.cleaned(text, max_length=MAX_TEXT, multiline=True)
    request_id = _request_id(provider, message_id)
    reply = handle_inbound(
        session_factory,
        mobile=mobile,
        text=text,
        message_id=request_id,
        now=now,
        portal_url=portal_url,
        allowed_urls=allowed_urls,
        allowed_numbers=allowed_numbers,
        check_reopen=check_reopen,
    )
    recipient = mobile_or_none(mobile)
    if reply.already_queued or recipient is None or not send_reply:
        return reply
    with session_factory() as session:
        notify.enqueue(
            session,
            channel="sms",
            template=reply.template_key,
            recipient=recipient,
            dedupe_key=f"sms.reply:{request_id}",
            payload=dict(reply.variables),
            at=now,
            priority=0,  # the consumer is waiting for it
            expires_at=reply.rendered.valid_until,
        )
        try:
            session.commit()
        except IntegrityError:  # the provider's retry of this message got there first: one reply is enough
            session.rollback()
    return reply


def _request_id(provider: str, message_id: str) -> str:
    request_id = f"{provider}:{message_id}"
    # The CIS keeps 80 storable characters of a request id: a longer or unstorable id is kept as its digest.
    if len(request_id) > MAX_REQUEST_ID or inputs.cleaned(message_id, max_length=MAX_REQUEST_ID) != message_id:
        request_id = f"{provider}:{hashlib.sha256(message_id.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"
    return request_id


def tell_to_slow_down(
    session_factory: Callable[[], Session],
    *,
    provider: str,
    mobile: str,
    message_id: str,
    wait_s: int,
    now: dt.datetime,
) -> None:
    """Queue the one SMS a mobile over its limit gets: how many minutes until its messages are answered again."""
    recipient = mobile_or_none(mobile)
    if recipient is None:
        return
    variables = {"minutes": max(1, round(wait_s / 60))}
    rendered = render(load_templates()[SLOW_DOWN], variables, allowed_urls=(), allowed_numbers=(), now=now)
    with session_factory() as session:
        notify.enqueue(
            session,
            channel="sms",
            template=SLOW_DOWN,
            recipient=recipient,
            dedupe_key=f"sms.reply:{_request_id(provider, message_id)}",
            payload=variables,
            at=now,
            priority=0,
            expires_at=rendered.valid_until,
        )
        try:
            session.commit()
        except IntegrityError:  # the provider's retry of this message got there first
            session.rollback()


def _kind(text: str) -> str:
    """What a message asks for, as the limits see it: "otp" (REG asks for an OTP), "stop", else "sms"."""
    try:
        command = commands.parse(text[:MAX_TEXT])
    except Exception:  # the parser answers HELP for anything; a crash here must not cost the consumer a reply
        return "sms"
    return "otp" if isinstance(command, commands.Register) else "stop" if isinstance(command, commands.Stop) else "sms"


def sms_blueprint(
    session_factory: Callable[[], Session],
    engine: Engine,
    *,
    twilio_auth_token: str | None,
    gateway_secret: str | None,
    public_url: str | None,
    portal_url: str,
    allowed_numbers: Collection[str] = (),
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    name: str = "sms",
    throttle: Throttle | None = None,
    check_reopen: int = DEFAULT_REOPEN_AFTER,
) -> Blueprint:
    bp = Blueprint(name, __name__)
    validator = RequestValidator(twilio_auth_token) if twilio_auth_token else None
    if validator is None:
        log.warning("SMS: no TWILIO_AUTH_TOKEN, so every Twilio webhook request will be refused")
    if not gateway_secret:
        log.warning("SMS: no URJA_SMS_GATEWAY_SECRET, so every gateway webhook request will be refused")
    base = (public_url or "").rstrip("/")

    def twilio_signed(view: Callable[[], Response]) -> Callable[[], Response]:
        @functools.wraps(view)
        def wrapper() -> Response:
            query = request.query_string.decode("latin-1")
            url = (base or request.url_root.rstrip("/")) + request.path + (f"?{query}" if query else "")
            signature = request.headers.get(TWILIO_SIGNATURE, "")
            if validator is None or not signature or not validator.validate(url, request.form, signature):
                log.warning(
                    "refused Twilio SMS request to %s: %s signature", request.path, "bad" if signature else "no"
                )
                return Response("", status=403)
            return view()

        return wrapper

    def gateway_signed(view: Callable[[Any], Response]) -> Callable[[], Response]:
        @functools.wraps(view)
        def wrapper() -> Response:
            body = request.get_data(cache=True)
            stamp = request.headers.get(TIMESTAMP_HEADER, "")
            given = request.headers.get(SIGNATURE_HEADER, "")
            fresh = stamp.isascii() and stamp.isdigit() and abs(clock().timestamp() - int(stamp)) <= MAX_SKEW_S
            expected = gateway_signature(gateway_secret, stamp, body) if gateway_secret and fresh else ""
            matches = bool(expected) and hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())
            if not gateway_secret or not given or not fresh or not matches:
                log.warning("refused gateway SMS request to %s", request.path)
                return Response("", status=403)
            try:
                # NUL and lone surrogates dropped: a consumer's message is answered whatever it holds.
                document = inputs.json_document(body, clean=True)
            except inputs.InvalidInput as exc:  # not JSON, or nested too deep
                return _json({"error": str(exc)}, 400)
            if not isinstance(document, dict):
                return _json({"error": "the body is not a JSON object"}, 400)
            return view(document)

        return wrapper

    def over_limit(provider: str, mobile: str, text: str, message_id: str) -> str | None:
        """None to answer the message; else `mobile` is over its limit and the message is not answered:
        "told" (the first such message in the window: the sender is sent SLOW_DOWN) or "quiet"."""
        kind = _kind(text)
        refused = throttle(mobile, kind) if throttle is not None else None
        if refused is None:
            return None
        tell, wait_s = refused
        log.info("sms %s from %s over its limit%s", message_id[:40], mask_mobile(mobile[:20]), ", told" if tell else "")
        if kind == "stop":  # an opt-out is carried out whatever the count
            answer(provider, mobile, text, message_id, send_reply=False)
        if not tell:
            return "quiet"
        tell_to_slow_down(
            session_factory, provider=provider, mobile=mobile, message_id=message_id, wait_s=wait_s, now=clock()
        )
        return "told"

    def answer(provider: str, mobile: str, text: str, message_id: str, *, send_reply: bool = True) -> Reply:
        return receive(
            session_factory,
            provider=provider,
            mobile=mobile,
            text=text,
            message_id=message_id,
            now=clock(),
            portal_url=portal_url,
            allowed_urls=(portal_url,),
            allowed_numbers=allowed_numbers,
            send_reply=send_reply,
            check_reopen=check_reopen,
        )

    @bp.post("/sms/twilio/inbound")
    @twilio_signed
    def twilio_inbound() -> Response:
        sid, sender = request.form.get("MessageSid", ""), request.form.get("From", "")
        body = request.form.get("Body", "")
        if sid and sender and over_limit("twilio", sender, body, sid) is None:
            reply = answer("twilio", sender, body, sid)
            log.info("sms %s from %s answered with %s", sid, mask_mobile(sender), reply.template_key)
        # The reply leaves through the outbox (DLT-checked, rate-limited, receipted), not in this TwiML.
        return Response(str(MessagingResponse()), mimetype=XML)

    @bp.post("/sms/twilio/status")
    @twilio_signed
    def twilio_status() -> Response:
        form = request.form
        # What the report names is stored: characters no database can store are dropped (a provider's report).
        status = inputs.cleaned(form.get("MessageStatus") or form.get("SmsStatus") or "", max_length=40)
        error = inputs.cleaned(form.get("ErrorCode") or "", max_length=40)
        receipt = Receipt(
            status=status,
            ref=request.args.get("ref"),
            provider_id=inputs.cleaned(form.get("MessageSid") or "", max_length=64) or None,
            error=f"twilio error {error}" if error else None,
        )
        record_receipts(engine, "twilio", [receipt], now=clock())
        return Response("", status=204)

    @bp.post("/sms/gateway/inbound")
    @gateway_signed
    def gateway_inbound(document: Any) -> Response:
        message_id, sender, text = document.get("id"), document.get("from"), document.get("text")
        if isinstance(message_id, int) and not isinstance(message_id, bool):
            message_id = str(message_id)
        if not isinstance(message_id, str) or not message_id.strip() or not isinstance(sender, str):
            return _json({"error": "id and from are required"}, 400)
        if not isinstance(text, str):
            return _json({"error": "text is required"}, 400)
        refused = over_limit("dlt", sender, text, message_id.strip())
        if refused is not None:
            return _json({"status": "ok", "reply_template": SLOW_DOWN if refused == "told" else None})
        reply = answer("dlt", sender, text, message_id.strip())
        return _json({"status": "ok", "reply_template": reply.template_key})

    @bp.post("/sms/gateway/receipt")
    @gateway_signed
    def gateway_receipt(document: Any) -> Response:
        items = document.get("receipts")
        if not isinstance(items, list):
            return _json({"error": "receipts must be a list"}, 400)
        receipts = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("status"), str):
                continue
            code, error = item.get("code"), item.get("error")
            receipts.append(
                Receipt(
                    status=item["status"],
                    ref=str(item["ref"]) if item.get("ref") is not None else None,
                    provider_id=str(item["id"]) if item.get("id") is not None else None,
                    error=": ".join(str(x) for x in (code, error) if x) or None,
                )
            )
        changed = record_receipts(engine, "dlt", receipts, now=clock())
        return _json({"status": "ok", "received": len(receipts), "updated": changed})

    return bp


def _json(document: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(document), status=status, mimetype="application/json")
