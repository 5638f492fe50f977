"""Payments: intents (what a consumer is asked to pay, at our short URL), posting what gateways report exactly
once, reversals; the gateways themselves are adapters at the web edge (`cis.web.pay`)."""

from cis.payments.intents import Due, Intent, account_due, intent_by_token, open_intent
from cis.payments.posting import (
    GatewayPayment,
    Posted,
    gateway_event_seen,
    paid_since,
    post_gateway_payment,
    record_failed_attempt,
    record_gateway_event,
    reverse_payment,
)

__all__ = [
    "Due",
    "GatewayPayment",
    "Intent",
    "Posted",
    "account_due",
    "gateway_event_seen",
    "intent_by_token",
    "open_intent",
    "paid_since",
    "post_gateway_payment",
    "record_failed_attempt",
    "record_gateway_event",
    "reverse_payment",
]
