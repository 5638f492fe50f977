"""Calls and sessions on the IVR channels (Asterisk, Twilio, USSD): one row each, for the dialog's state and the MIS."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, Json, UtcDateTime

CALL_CHANNELS = ("asterisk", "twilio", "ussd")
CALL_DIRECTIONS = ("inbound", "outbound")
# What a caller came for, or how the call ended: the MIS counts calls by these. A call's outcome joins every
# service it used with "+", in order, a transfer to the agents last ("bill+complaint+transfer").
CALL_OUTCOMES = (
    "bill",
    "pay",
    "complaint",
    "status",
    "outage",
    "reading",
    "alert",
    "transfer",
    "abandoned",
    "no_service",
    "system_fault",
)
CALLER_MAX = 32
FAULT_MAX = 200
OUTBOUND_REF_MAX = 64


class IvrCall(Base):
    """One call (or USSD session): where the caller went, what came of it and, while it lasts, its dialog state."""

    __tablename__ = "ivr_call"
    __table_args__ = (
        # A provider's retry of the same call (a webhook delivered twice) finds the one row.
        UniqueConstraint("channel", "call_ref"),
        Index("ix_ivr_call_started_at", "started_at"),
        # The consumer 360 lists a caller's recent calls, also those that never named an account.
        Index("ix_ivr_call_caller_started_at", "caller", "started_at"),
        # Whether an alert call we placed ran its flow is looked up by our reference of it.
        Index(
            "ix_ivr_call_outbound_ref",
            "outbound_ref",
            postgresql_where=text("outbound_ref IS NOT NULL"),
            sqlite_where=text("outbound_ref IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    call_ref: Mapped[str] = mapped_column(Code(100))  # Asterisk uniqueid, Twilio CallSid, USSD sessionId
    direction: Mapped[str] = mapped_column(String(8), default="inbound")
    caller: Mapped[str] = mapped_column(String(CALLER_MAX))  # E.164 when it is a mobile, else as given
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    lang: Mapped[str | None] = mapped_column(String(2))
    path: Mapped[list[str]] = mapped_column(Json, default=list)  # the dialog nodes visited, in order
    outcome: Mapped[str | None] = mapped_column(String(60))  # what was done: "bill+complaint", "bill+transfer"
    # What went wrong on our side (a prompt Asterisk could not play, no reply, a failed step): a system fault,
    # counted apart from what callers chose.
    fault: Mapped[str | None] = mapped_column(String(FAULT_MAX))
    # A call we placed: our own reference of it (an alert's `outbox:<row>:<attempt>`), given when it was placed.
    outbound_ref: Mapped[str | None] = mapped_column(Code(OUTBOUND_REF_MAX))
    state: Mapped[dict[str, Any] | None] = mapped_column(Json)  # a webhook-driven call's live dialog state
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    duration_s: Mapped[int | None] = mapped_column(Integer)
