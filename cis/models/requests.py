"""Service requests (new connection, disconnection, load or name change, bill revision) and their history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, Json, UtcDateTime

REQUEST_KINDS = ("new_connection", "perm_disconnection", "load_change", "name_change", "bill_revision")
REQUEST_STATUSES = ("submitted", "under_review", "approved", "rejected", "completed", "withdrawn")
# A request still being worked on; the rest are final.
OPEN_REQUEST_STATUSES = ("submitted", "under_review", "approved")
# Where the premises are, as the statutory time limits tell areas apart (cis/data/time_limits.toml).
AREA_CLASSES = ("metro", "municipal", "rural")
_OPEN = "status IN ('submitted', 'under_review', 'approved')"
_OPEN_BILL = f"{_OPEN} AND disputed_bill_id IS NOT NULL"
_OPEN_KIND = f"{_OPEN} AND account_id IS NOT NULL AND kind <> 'bill_revision'"


class ServiceRequest(Base):
    __tablename__ = "service_request"
    __table_args__ = (
        Index("ix_service_request_status_kind", "status", "kind"),
        # An officer's to-do: the open requests of their sub-divisions, oldest due first.
        Index("ix_service_request_sub_division_id_status_due_at", "sub_division_id", "status", "due_at"),
        # One open revision request per bill, and one open application of a kind per account, however many
        # arrive at once (cis.service_requests answers a second one with the first one's number).
        Index(
            "uq_service_request_open_disputed_bill",
            "disputed_bill_id",
            unique=True,
            postgresql_where=text(_OPEN_BILL),
            sqlite_where=text(_OPEN_BILL),
        ),
        Index(
            "uq_service_request_open_account_kind",
            "account_id",
            "kind",
            unique=True,
            postgresql_where=text(_OPEN_KIND),
            sqlite_where=text(_OPEN_KIND),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str | None] = mapped_column(Code(16), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    sub_division_id: Mapped[int | None] = mapped_column(ForeignKey("sub_division.id"))
    applicant_name: Mapped[str] = mapped_column(String(120))
    mobile: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # A bill revision names the bill disputed and, once revised, the bill that replaced it.
    disputed_bill_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id"))
    revised_bill_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id"))
    reason: Mapped[str | None] = mapped_column(String(24))
    area_class: Mapped[str | None] = mapped_column(String(10))
    # When the statutory time limit for this kind of request in this area runs out.
    due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ServiceRequestEvent(Base):
    """One step of a request's status history: who moved it where, when and why."""

    __tablename__ = "service_request_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
