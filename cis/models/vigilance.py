"""Anonymous theft reports for the vigilance wing, and consumers' feedback on the service."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, UtcDateTime

THEFT_STATUSES = ("new", "investigating", "action_taken", "closed")


class TheftReport(Base):
    """A report of electricity theft: where, what was seen, perhaps a photo; nothing about who reported it."""

    __tablename__ = "theft_report"
    __table_args__ = (Index("ix_theft_report_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str | None] = mapped_column(Code(16), unique=True)
    locality: Mapped[str] = mapped_column(String(120))
    landmark: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    sub_division_id: Mapped[int | None] = mapped_column(ForeignKey("sub_division.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    # A keyed hash of the reporting address: many reports from one source can be seen, the source cannot be read.
    reporter_hash: Mapped[str | None] = mapped_column(Code(64))
    status: Mapped[str] = mapped_column(String(16), default="new")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Feedback(Base):
    """A rating from 1 to 5 with an optional comment, from anyone or from a signed-in consumer."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
