"""The notification outbox: every SMS, voice call or e-mail to a consumer is a row here first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, Json, UtcDateTime

OUTBOX_CHANNELS = ("sms", "voice", "email")
# "sending": claimed by a dispatcher and handed to the provider; "unknown": the dispatcher died while the
# provider held the batch, so the row is never sent again and waits for a delivery receipt to settle it.
OUTBOX_STATUSES = ("pending", "sending", "sent", "delivered", "failed", "cancelled", "expired", "unknown")


PENDING = text("status = 'pending'")
IN_FLIGHT = text("status IN ('sending', 'unknown')")
HAS_ID = text("provider_id IS NOT NULL")
PENDING_VOICE = text("status = 'pending' AND channel = 'voice'")
FAILED_SMS = text("status = 'failed' AND channel = 'sms'")


class Outbox(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # Partial indexes: a row leaves the queue index once claimed, and enters the provider index only once
        # the provider named it, so the claim's update maintains neither (measured: bench/sms_bench.py).
        Index("ix_outbox_pending_priority_id", "priority", "id", postgresql_where=PENDING, sqlite_where=PENDING),
        Index("ix_outbox_in_flight_claimed_at", "claimed_at", postgresql_where=IN_FLIGHT, sqlite_where=IN_FLIGHT),
        # The call dispatcher's queue: a few calls must not be looked for among a million pending SMS.
        Index(
            "ix_outbox_pending_voice_priority_id",
            "priority",
            "id",
            postgresql_where=PENDING_VOICE,
            sqlite_where=PENDING_VOICE,
        ),
        # Failed alert SMS fall back to a voice call: the sweep reads the recently failed ones only.
        Index("ix_outbox_failed_sms_updated_at", "updated_at", postgresql_where=FAILED_SMS, sqlite_where=FAILED_SMS),
        Index("ix_outbox_provider_id", "provider", "provider_id", postgresql_where=HAS_ID, sqlite_where=HAS_ID),
        # The consumer 360 lists what an account was sent, newest first.
        Index("ix_outbox_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    template: Mapped[str] = mapped_column(String(60))
    recipient: Mapped[str] = mapped_column(String(254))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # Unique: whatever retries happen, one event reaches one recipient on one channel once.
    dedupe_key: Mapped[str] = mapped_column(Code(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    priority: Mapped[int] = mapped_column(SmallInteger, default=5)  # 0 most urgent (OTP, alerts)
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    segments: Mapped[int | None] = mapped_column(SmallInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
