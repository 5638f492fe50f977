"""Payment intents (what a consumer was asked to pay, and the link that pays it) and the gateways' webhook
events as received (each once: the gateway's event id is unique)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, UtcDateTime

INTENT_PURPOSES = ("due", "partial", "advance")
INTENT_STATUSES = ("open", "paid", "expired", "cancelled")


class PaymentIntent(Base):
    """An amount an account was asked to pay through one channel, reachable at our short URL /p/<token>.

    `gateway_link_id` is the gateway's own link (Razorpay's `plink_...`), made when the payer first opens the
    short URL; the gateway sends it back as the link's `reference_id` = `token`. One open intent per account,
    bill and amount is reused rather than a second made.
    """

    __tablename__ = "payment_intent"
    __table_args__ = (Index("ix_payment_intent_account_id_status", "account_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(Code(16), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id"))
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="open")
    gateway: Mapped[str | None] = mapped_column(String(20))
    gateway_link_id: Mapped[str | None] = mapped_column(Code(64), unique=True)
    gateway_url: Mapped[str | None] = mapped_column(String(300))
    mobile: Mapped[str | None] = mapped_column(String(16))  # where its link was sent, and its receipt goes
    failed_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_failure: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class GatewayEvent(Base):
    """A webhook event as a gateway sent it, recorded once (its event id) with what it did here."""

    __tablename__ = "gateway_event"
    __table_args__ = (UniqueConstraint("gateway", "event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(Code(64))
    kind: Mapped[str] = mapped_column(String(40))
    payment_ref: Mapped[str | None] = mapped_column(Code(64))
    outcome: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


RECON_KINDS = ("posted_now", "unmatched", "amount_mismatch", "not_settled")


class PaymentReconIssue(Base):
    """What a day's reconciliation against the gateway's settlement report found, once per kind and payment."""

    __tablename__ = "payment_recon_issue"
    __table_args__ = (UniqueConstraint("gateway", "day", "kind", "gateway_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20))
    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    gateway_ref: Mapped[str] = mapped_column(Code(64))
    ours_paise: Mapped[int | None] = mapped_column(BigInteger)
    theirs_paise: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(String(200))
    found_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
