"""The payment gateway as the settings choose it, for the CLI and the workers (the web app builds its own)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cis.payments.reconcile import Settled
from cis.web.pay.razorpay import GatewayConfig, Razorpay, read_settlement_csv, settlement_report
from urjamitra.settings import Settings


def gateway_of(settings: Settings) -> Razorpay:
    api_url, key_id, key_secret, webhook_secret = settings.gateway_keys()
    return Razorpay(GatewayConfig(settings.pay_gateway, api_url, key_id, key_secret, webhook_secret))


def settlement_items(gateway: Razorpay, day: dt.date, file: str | None = None) -> list[Settled]:
    """The day's settlement lines: from `file` (the gateway's CSV columns) or the gateway's API."""
    if file:
        return read_settlement_csv(Path(file).read_text(encoding="utf-8"))
    return settlement_report(gateway, day)
