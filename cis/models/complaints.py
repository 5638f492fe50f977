"""Complaints from every channel, with the escalation state of the 1912 matrix."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, UtcDateTime

COMPLAINT_STATUSES = ("open", "resolved", "closed", "reopened")
# The steps of a complaint's history (`complaint_event.step`), in the order they usually come.
COMPLAINT_STEPS = (
    "registered",  # lodged, by the channel named in `actor`
    "assigned",  # given to an officer (`level`: 0 JE, 1 SDO, 2 EE, 3 SE)
    "escalated",  # moved up the 1912 matrix to `level`
    "linked_to_outage",  # a no-supply complaint belongs to a live outage: its restoration resolves it
    "unlinked_from_outage",  # that outage was withdrawn: the complaint goes back to the field
    "resolved",  # the work is done; the consumer may confirm or reject it
    "resolution_confirmed",  # the consumer said it is fixed: closed
    "resolution_rejected",  # the consumer said it is not fixed: reopened (`level` the one it is reopened at)
    "closed",  # closed without the consumer's word (a duplicate, the confirmation window passed)
    "reassigned",  # given to another officer of the area by hand (`note` says to whom and why)
    "noted",  # an officer's or agent's remark, for the office
)
_OPEN = "status IN ('open', 'reopened') AND account_id IS NOT NULL"
_ASKED = "status = 'resolved' AND closure_asked_to IS NOT NULL"
# How a complaint came to be closed (`complaint.closed_how`).
CLOSED_HOW = (
    "confirmed",  # the consumer said it is fixed (an SMS 1, the portal, an IVR call)
    "site_otp",  # the consumer gave the lineman on site the code sent with the resolution
    "not_confirmed",  # nobody answered within the closure wait: closed, and reported apart in the MIS
)


class Complaint(Base):
    __tablename__ = "complaint"
    __table_args__ = (
        # The same request from a channel (an IVR call's step, an SMS id, a form token) is one complaint.
        UniqueConstraint("channel", "channel_request_id"),
        Index("ix_complaint_status_sla_due_at", "status", "sla_due_at"),
        # The officers' to-do: the complaints of their sub-divisions by status.
        Index("ix_complaint_sub_division_id_status", "sub_division_id", "status"),
        # A bare "1" or "2" by SMS answers the closure question this mobile was asked last.
        Index(
            "ix_complaint_closure_asked_to",
            "closure_asked_to",
            postgresql_where=text(_ASKED),
            sqlite_where=text(_ASKED),
        ),
        # One open complaint of a category per account: a second one from any channel, even at the same
        # moment, is answered with the first one's number (cis.complaints.register_complaint).
        Index(
            "uq_complaint_open_account_category",
            "account_id",
            "category",
            unique=True,
            postgresql_where=text(_OPEN),
            sqlite_where=text(_OPEN),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str | None] = mapped_column(Code(16), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    mobile: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    channel_request_id: Mapped[str | None] = mapped_column(Code(80))
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 JE, 1 SDO, 2 EE, 3 SE
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    sub_division_id: Mapped[int | None] = mapped_column(ForeignKey("sub_division.id"))
    feeder_id: Mapped[int | None] = mapped_column(ForeignKey("feeder.id"))
    # A no-supply complaint on a feeder already under a published outage belongs to that outage.
    outage_event_id: Mapped[int | None] = mapped_column(ForeignKey("outage_event.id"), index=True)
    sla_due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    # What the officer found and did, from cis.escalation.CLOSURE_CODES.
    resolution_code: Mapped[str | None] = mapped_column(String(24))
    # A resolution waits for the consumer's word until then; unanswered, the sweep closes it as not confirmed.
    confirm_by: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # The mobile asked "reply 1 if fixed, 2 if not", and the SHA-256 of the code it was sent for the lineman.
    closure_asked_to: Mapped[str | None] = mapped_column(Code(16))
    closure_code_hash: Mapped[str | None] = mapped_column(String(64))
    closed_how: Mapped[str | None] = mapped_column(String(16))  # one of CLOSED_HOW


class ComplaintEvent(Base):
    """One step of a complaint's history: what happened, who did it (a channel, a staff username, the system),
    when, and why. Written in the same transaction as the change it records."""

    __tablename__ = "complaint_event"
    __table_args__ = (Index("ix_complaint_event_complaint_id_at", "complaint_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    step: Mapped[str] = mapped_column(String(24))
    level: Mapped[int | None] = mapped_column(SmallInteger)  # the escalation level the step put it at
    actor: Mapped[str] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
