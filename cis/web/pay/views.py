"""The pay link and the gateway's webhooks.

GET  /p/<token>           the amount, the account (its holder's name masked, as bill-payment apps show it), the bill
                          and its due date; "Pay" (the gateway's hosted page: UPI, card, net banking) and any UPI app
                          (the intent link, and its QR code for a phone other than the one reading)
POST /p/<token>           makes the gateway's link the first time (kept on the intent) and goes there
GET  /p/<token>/done      where the gateway sends the payer back: paid (with the receipt number) or being confirmed
POST /webhooks/razorpay   the gateway's events, signature checked over the raw body before anything is read; each
                          event id acted on once, each payment posted once (cis.payments)

Anyone holding the link may pay it; the page shows no more than a bill-payment app would to whoever types the
account number (the holder's name masked, the amount), and the links are 10 random characters.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import segno
from flask import Blueprint, Response, abort, jsonify, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.errors import UnknownPaymentLink
from cis.logs import get_logger
from cis.payments import (
    Intent,
    gateway_event_seen,
    intent_by_token,
    post_gateway_payment,
    record_failed_attempt,
    record_gateway_event,
    reverse_payment,
)
from cis.payments.intents import attach_gateway_link
from cis.payments.posting import paid_receipt
from cis.web.auth import csrf_token, csrf_valid
from cis.web.i18n import N_
from cis.web.i18n import gettext as _
from cis.web.pay.razorpay import GatewayUnavailable, MalformedEvent, Razorpay

log = get_logger(__name__)

EVENT_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
PURPOSES = {"due": N_("The amount due"), "partial": N_("Part of the amount due"), "advance": N_("An advance payment")}


@dataclass(frozen=True)
class Upi:
    vpa: str
    payee: str


def pay_blueprint(
    session_factory: Callable[[], Session],
    *,
    gateway: Razorpay,
    upi: Upi,
    clock: Callable[[], dt.datetime],
) -> Blueprint:
    bp = Blueprint("pay", __name__, template_folder="../templates")

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    def found(token: str) -> Intent:
        try:
            return intent_by_token(uow(), token, now=clock())
        except UnknownPaymentLink:
            abort(404)

    def page(intent: Intent, status: int = 200, notice: str | None = None) -> Response:
        upi_link = intent.upi_link(vpa=upi.vpa, payee=upi.payee) if intent.status == "open" else None
        qr = segno.make(upi_link, error="m").svg_data_uri(scale=4, border=4) if upi_link else None
        receipt = paid_receipt(uow(), intent.token) if intent.status == "paid" else None
        html = render_template(
            "pay/page.html",
            intent=intent,
            upi_link=upi_link,
            qr=qr,
            receipt=receipt,
            purpose=_(PURPOSES.get(intent.purpose, PURPOSES["due"])),
            notice=notice,
            csrf=csrf_token(),
        )
        response = make_response(html, status)
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/p/<token>")
    def show(token: str) -> ResponseReturnValue:
        return page(found(token))

    @bp.post("/p/<token>")
    def go(token: str) -> ResponseReturnValue:
        intent = found(token)
        if not csrf_valid():
            return page(intent, 400, _("The page had expired. Please press Pay again."))
        if intent.status != "open":
            return page(intent, 409)
        if intent.gateway_url:
            return redirect(intent.gateway_url, code=303)
        callback = url_for("pay.done", token=intent.token, _external=True)
        try:
            link = gateway.create_link(intent, callback_url=callback, now=clock())
        except GatewayUnavailable as exc:
            log.warning("payment gateway refused a link for %s: %s", intent.token, exc)
            return page(
                intent,
                503,
                _(
                    "The payment gateway is not answering just now. "
                    "Please try again in a few minutes, or pay by UPI below."
                ),
            )
        _kept, url = attach_gateway_link(uow(), intent.token, gateway=gateway.name, link_id=link.id, url=link.url)
        return redirect(url, code=303)

    @bp.get("/p/<token>/done")
    def done(token: str) -> ResponseReturnValue:
        intent = found(token)
        came_back_paid = (
            gateway.callback_ok(request.args) and request.args.get("razorpay_payment_link_status") == "paid"
        )
        response = page(intent)
        if intent.status == "open" and came_back_paid:
            # The gateway said "paid" to the browser; the webhook that posts it is on its way: look again shortly.
            response = page(
                intent,
                notice=_(
                    "Your payment went through. We are recording it: this page will show the receipt in a moment."
                ),
            )
            response.headers["Refresh"] = "3"
        return response

    @bp.post("/webhooks/razorpay")
    def webhook() -> ResponseReturnValue:
        status, body = receive_webhook(uow, gateway, request.get_data(cache=False), request.headers, clock())
        response = jsonify(body)
        response.status_code = status
        return response

    return bp


def receive_webhook(
    uow: Callable[[], UnitOfWork],
    gateway: Razorpay,
    raw: bytes,
    headers: dict[str, str] | object,
    now: dt.datetime,
) -> tuple[int, dict[str, str]]:
    """One webhook delivery: (HTTP status, JSON body). Nothing is read or written before the signature holds."""
    get = headers.get  # type: ignore[attr-defined]
    if not gateway.signature_ok(raw, get("X-Razorpay-Signature")):
        return 400, {"error": "signature", "message": "The X-Razorpay-Signature header does not sign this body."}
    event_id = get("X-Razorpay-Event-Id") or ""
    if not EVENT_ID.fullmatch(event_id):
        return 400, {"error": "event_id", "message": "The X-Razorpay-Event-Id header is missing or malformed."}
    try:
        event = gateway.read_event(raw)
    except MalformedEvent as exc:
        return 400, {"error": "payload", "message": str(exc)}
    if event.paid is not None and (event.paid.reference is not None or event.paid.link_id is not None):
        # The busy path: the event recorded and the payment posted in one transaction.
        try:
            posted = post_gateway_payment(uow(), event.paid, now=now, event=(event_id, event.kind))
        except UnknownPaymentLink:
            log.warning("%s payment %s names no intent of ours", gateway.name, event.paid.payment_ref)
            record_gateway_event(uow(), gateway.name, event_id, event.kind, "unmatched", event.paid.payment_ref, at=now)
            return 200, {"status": "unmatched"}
        return 200, {"status": "posted" if not posted.duplicate else posted.kind}
    if gateway_event_seen(uow(), gateway.name, event_id):
        return 200, {"status": "duplicate"}
    payment_ref = None
    if event.paid is not None:
        payment_ref = event.paid.payment_ref
        outcome = "no_reference"
    elif event.failure is not None:
        noted = record_failed_attempt(uow(), event.failure.reference, event.failure.link_id, event.failure.reason)
        outcome = "failure_noted" if noted else "ignored"
    elif event.refund is not None:
        payment_ref = event.refund.payment_ref
        reversed_no = reverse_payment(
            uow(),
            payment_ref,
            reason=f"{event.kind} {event.refund.refund_id}".strip(),
            actor=f"gateway:{gateway.name}",
            status="refunded" if event.kind.startswith("refund") else "reversed",
            now=now,
        )
        outcome = "reversed" if reversed_no else "ignored"
    else:
        outcome = "ignored"
    record_gateway_event(uow(), gateway.name, event_id, event.kind, outcome, payment_ref, at=now)
    return 200, {"status": outcome}
