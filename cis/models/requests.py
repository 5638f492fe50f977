"""Service requests (new connection, disconnection, load or name change, bill revision) and their history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, Json, UtcDateTime

REQUEST_KINDS = ("new_connection", "perm_disconnection", "load_change", "name_change", "bill_revision")
REQUEST_STATUSES = ("submitted", "under_review", "approved", "rejected", "completed", "withdrawn")


class ServiceRequest(Base):
    __tablename__ = "service_request"
    __table_args__ = (Index("ix_service_request_status_kind", "status", "kind"),)

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
