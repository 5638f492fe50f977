"""The Razorpay adapter: Payment Links made through the official `razorpay` package, and its webhooks read.

The same contract is spoken by the local sandbox (`cis.web.pay.sandbox`), so `urjamitra up` and the tests run this
very code against it: only the API address and the keys differ.

Razorpay's contract, as documented (docs/payments.md has the sources):
- POST /v1/payment_links with HTTP Basic key_id:key_secret; `reference_id` (at most 40 characters, unique per link)
  carries our intent's token, and so do the link's `notes` (Razorpay copies them onto the payment, which is how a
  `payment.captured` or `payment.failed` event names its intent: those events carry no reference_id).
- Webhooks: `X-Razorpay-Signature` is the hex HMAC-SHA256 of the raw body keyed with the webhook secret (not the
  API secret); `X-Razorpay-Event-Id` is the same on every retry. Delivered at least once, retried for 24 hours,
  in no particular order; only a 2xx answer within 5 s counts as received.
- The payer comes back to `callback_url` with razorpay_payment_id, razorpay_payment_link_id, _reference_id,
  _status and razorpay_signature = HMAC-SHA256(key_secret, "plink_id|reference_id|status|payment_id").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cis.payments import GatewayPayment, Intent
from cis.payments.reconcile import Settled

API_URL = "https://api.razorpay.com"
NOTE_KEY = "urja_intent"  # the link's note naming our intent; Razorpay copies it onto the payment
METHODS = {"upi", "card", "netbanking", "wallet", "emi", "bank_transfer"}
TIMEOUT_S = 10


class GatewayUnavailable(Exception):
    """The gateway did not make the link (down, refused our keys, answered nonsense)."""


class MalformedEvent(ValueError):
    """A webhook body that is not one of the gateway's events as documented."""


@dataclass(frozen=True)
class GatewayConfig:
    name: str  # what payments record as their gateway: "razorpay", or "sandbox" for the local one
    api_url: str
    key_id: str
    key_secret: str
    webhook_secret: str


@dataclass(frozen=True)
class Link:
    id: str
    url: str


@dataclass(frozen=True)
class Failure:
    reference: str | None
    link_id: str | None
    reason: str


@dataclass(frozen=True)
class Refund:
    payment_ref: str
    refund_id: str
    amount_paise: int


@dataclass(frozen=True)
class Event:
    """One webhook, read: at most one of `paid`, `failure`, `refund` is set (none for an event we do not act on)."""

    kind: str
    paid: GatewayPayment | None = None
    failure: Failure | None = None
    refund: Refund | None = None


class Razorpay:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    def _client(self) -> Any:
        import razorpay

        return razorpay.Client(auth=(self.config.key_id, self.config.key_secret), base_url=self.config.api_url)

    def create_link(self, intent: Intent, *, callback_url: str, now: dt.datetime) -> Link:
        """A Payment Link for the intent (its token as reference_id), or the one an earlier try already made."""
        import razorpay.errors
        import requests

        # Razorpay wants expire_by at least 15 minutes ahead: an intent about to lapse gets those 15 minutes.
        expire_by = max(intent.expires_at, now + dt.timedelta(minutes=16))
        body = {
            "amount": intent.amount_paise,
            "currency": "INR",
            "accept_partial": False,
            "reference_id": intent.token,
            "description": f"Electricity A/c {intent.account_no}"
            + (f", bill {intent.bill_no}" if intent.bill_no else ""),
            "expire_by": int(expire_by.timestamp()),
            "notify": {"sms": False, "email": False},  # our own SMS carries our own short link
            "reminder_enable": False,
            "notes": {NOTE_KEY: intent.token, "account": intent.account_no},
            "callback_url": callback_url,
            "callback_method": "get",
        }
        if intent.mobile:
            body["customer"] = {"contact": intent.mobile}
        client = self._client()
        try:
            made = client.payment_link.create(body, timeout=TIMEOUT_S)
        except razorpay.errors.BadRequestError as exc:
            if "reference id already attempted" not in str(exc).lower():
                raise GatewayUnavailable(str(exc)) from exc
            made = self._by_reference(client, intent.token)
        except (razorpay.errors.ServerError, razorpay.errors.GatewayError, requests.RequestException) as exc:
            raise GatewayUnavailable(str(exc) or type(exc).__name__) from exc
        if not isinstance(made, dict) or not made.get("id") or not made.get("short_url"):
            raise GatewayUnavailable("the gateway answered without a link")
        return Link(str(made["id"]), str(made["short_url"]))

    def _by_reference(self, client: Any, token: str) -> dict[str, Any]:
        import razorpay.errors
        import requests

        try:
            found = client.payment_link.all({"reference_id": token}, timeout=TIMEOUT_S)
        except (razorpay.errors.BadRequestError, razorpay.errors.ServerError, requests.RequestException) as exc:
            raise GatewayUnavailable(str(exc)) from exc
        links = found.get("payment_links") if isinstance(found, dict) else None
        if not links:
            raise GatewayUnavailable("a link for this reference exists but cannot be found")
        link: dict[str, Any] = links[0]
        return link

    # --- what the gateway sends us ------------------------------------------------------------------------------

    def signature_ok(self, raw_body: bytes, signature: str | None) -> bool:
        """The webhook's X-Razorpay-Signature over the raw body, compared in constant time."""
        if not signature:
            return False
        expected = hmac.new(self.config.webhook_secret.encode(), raw_body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.strip())

    def callback_ok(self, params: Mapping[str, str]) -> bool:
        """The payer's return to our callback URL, signed with the API secret."""
        parts = [
            params.get("razorpay_payment_link_id"),
            params.get("razorpay_payment_link_reference_id"),
            params.get("razorpay_payment_link_status"),
            params.get("razorpay_payment_id"),
        ]
        signature = params.get("razorpay_signature")
        if not signature or not all(parts):
            return False
        message = "|".join(str(p) for p in parts).encode()
        expected = hmac.new(self.config.key_secret.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def read_event(self, raw_body: bytes) -> Event:
        """The webhook body (already verified) as an Event; MalformedEvent when it is not one."""
        try:
            doc = json.loads(raw_body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedEvent("not JSON") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("event"), str):
            raise MalformedEvent("no event name")
        kind = doc["event"][:40]
        payload = doc.get("payload")
        if not isinstance(payload, dict):
            raise MalformedEvent("no payload")
        payment = _entity(payload, "payment")
        if kind == "payment_link.paid":
            link = _entity(payload, "payment_link")
            if payment is None or link is None:
                raise MalformedEvent("payment_link.paid without its link or payment")
            return Event(kind, paid=self._paid(payment, reference=_text(link.get("reference_id")), link=link))
        if kind == "payment.captured":
            if payment is None:
                raise MalformedEvent("payment.captured without its payment")
            return Event(kind, paid=self._paid(payment, reference=_note(payment), link=None))
        if kind == "payment.failed":
            if payment is None:
                raise MalformedEvent("payment.failed without its payment")
            reason = _text(payment.get("error_description")) or _text(payment.get("error_reason")) or "failed"
            return Event(kind, failure=Failure(_note(payment), None, reason))
        if kind in ("refund.processed", "payment.dispute.lost"):
            refund = _entity(payload, "refund") or _entity(payload, "dispute")
            if refund is None:
                raise MalformedEvent(f"{kind} without its refund")
            payment_ref = _text(refund.get("payment_id")) or (_text(payment.get("id")) if payment else None)
            if not payment_ref:
                raise MalformedEvent(f"{kind} without a payment id")
            return Event(
                kind, refund=Refund(payment_ref, _text(refund.get("id")) or "", _paise(refund.get("amount"), kind))
            )
        return Event(kind)

    def _paid(
        self, payment: Mapping[str, Any], *, reference: str | None, link: Mapping[str, Any] | None
    ) -> GatewayPayment:
        ref = _text(payment.get("id"))
        if not ref or not ref.startswith("pay_") or len(ref) > 64:
            raise MalformedEvent("a payment without a payment id")
        created = payment.get("created_at")
        if isinstance(created, bool) or not isinstance(created, int) or created <= 0:
            raise MalformedEvent("a payment without its time")
        method = _text(payment.get("method"))
        return GatewayPayment(
            gateway=self.name,
            payment_ref=ref,
            reference=reference,
            link_id=_text(link.get("id")) if link else None,
            amount_paise=_paise(payment.get("amount"), "payment"),
            method=method if method in METHODS else None,
            paid_at=dt.datetime.fromtimestamp(created, dt.UTC),
        )


def _entity(payload: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    wrapper = payload.get(name)
    entity = wrapper.get("entity") if isinstance(wrapper, dict) else None
    return entity if isinstance(entity, dict) else None


def _note(payment: Mapping[str, Any]) -> str | None:
    notes = payment.get("notes")  # an object, or [] when empty (Razorpay's PHP heritage)
    return _text(notes.get(NOTE_KEY)) if isinstance(notes, dict) else None


def _text(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) and value else None


def _paise(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**12:
        raise MalformedEvent(f"a {what} without a whole positive amount in paise")
    return value


# --- the settlement report --------------------------------------------------------------------------------------


def settlement_report(gateway: Razorpay, day: dt.date) -> list[Settled]:
    """The day's settlement reconciliation items from the gateway's API (GET /v1/settlements/recon/combined)."""
    import razorpay.errors
    import requests

    try:
        found = gateway._client().settlement.report({"year": day.year, "month": day.month, "day": day.day})
    except (razorpay.errors.BadRequestError, razorpay.errors.ServerError, requests.RequestException) as exc:
        raise GatewayUnavailable(str(exc) or type(exc).__name__) from exc
    items = found.get("items") if isinstance(found, dict) else None
    if not isinstance(items, list):
        raise GatewayUnavailable("the settlement report has no items")
    return [settled_from(item) for item in items if isinstance(item, dict)]


def read_settlement_csv(text: str) -> list[Settled]:
    """Razorpay's settlement reconciliation report as a CSV file (its column names; amounts in paise, or in rupees
    with a decimal point as the dashboard exports them; times as unix seconds or dd/mm/YYYY HH:MM:SS in IST)."""
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    missing = {"entity_id", "type", "amount"} - set(reader.fieldnames or ())
    if missing:
        raise MalformedEvent(f"the settlement file lacks the column(s) {', '.join(sorted(missing))}")
    return [settled_from(dict(row)) for row in reader]


def settled_from(item: Mapping[str, Any]) -> Settled:
    entity = str(item.get("entity_id") or "")
    if not entity:
        raise MalformedEvent("a settlement line without its entity_id")
    return Settled(
        entity_id=entity,
        kind=str(item.get("type") or ""),
        amount_paise=_report_paise(item.get("amount")),
        fee_paise=_report_paise(item.get("fee") or 0),
        created_at=_report_time(item.get("created_at")) or dt.datetime.now(dt.UTC),
        settled_at=_report_time(item.get("settled_at")),
        settlement_id=str(item.get("settlement_id") or "") or None,
        order_receipt=str(item.get("order_receipt") or "") or None,
        method=str(item.get("method") or "") or None,
    )


_IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def _report_paise(value: Any) -> int:
    if isinstance(value, bool):
        raise MalformedEvent("an amount that is not a number")
    if isinstance(value, int):
        return value
    text = str(value or "0").strip().replace(",", "")
    try:
        if "." in text:
            rupees, _, fraction = text.partition(".")
            return int(rupees or "0") * 100 + int((fraction + "00")[:2])
        return int(text)
    except ValueError as exc:
        raise MalformedEvent(f"an amount that is not a number: {text[:20]!r}") from exc


def _report_time(value: Any) -> dt.datetime | None:
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    for form in ("%d/%m/%Y %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(str(value), form).replace(tzinfo=_IST).astimezone(dt.UTC)
        except ValueError:
            continue
    raise MalformedEvent(f"a time the settlement report should not hold: {str(value)[:30]!r}")
