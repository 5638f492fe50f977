"""Compensation owed to consumers for breaches of the Standards of Performance: accrued, claimed, approved (or
rejected) and credited on a bill."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, UtcDateTime

COMPENSATION_STATUSES = ("accrued", "claimed", "approved", "rejected", "credited")


class Compensation(Base):
    __tablename__ = "compensation"
    __table_args__ = (
        # One entitlement per breach: a complaint resolved twice (reopened) still breaches a standard once.
        UniqueConstraint("complaint_id", "standard"),
        Index("ix_compensation_account_id_status", "account_id", "status"),
        Index("ix_compensation_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    standard: Mapped[str] = mapped_column(String(24))
    days: Mapped[int] = mapped_column(SmallInteger)
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    accrued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    claimed_via: Mapped[str | None] = mapped_column(String(10))
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    # The bill it was credited on.
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id"))
