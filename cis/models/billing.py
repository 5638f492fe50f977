"""Tariff schedules, bills (versioned, so a revision keeps the old one) and payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, Json, UtcDateTime

BILL_BASES = ("actual", "estimated", "assessed")
BILL_STATUSES = ("issued", "part_paid", "paid", "superseded")
PAYMENT_CHANNELS = ("counter", "portal", "ivr", "sms", "upi", "app", "bank")
PAYMENT_STATUSES = ("initiated", "success", "failed", "refunded", "reversed")
PAYMENT_METHODS = ("upi", "card", "netbanking", "wallet", "emi", "cash", "cheque", "dd", "bank")


class TariffSchedule(Base):
    """One rate schedule as published, in force from `effective_from` until the next one."""

    __tablename__ = "tariff_schedule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    loaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Bill(Base):
    """A bill for one account and cycle; a revision adds a higher version and supersedes the old one."""

    __tablename__ = "bill"
    __table_args__ = (
        UniqueConstraint("account_id", "cycle", "version"),
        # Reminders and disconnection lists look only at unpaid bills: a partial index stays small.
        Index(
            "ix_bill_unpaid_due_date",
            "due_date",
            postgresql_where=text("status IN ('issued', 'part_paid')"),
            sqlite_where=text("status IN ('issued', 'part_paid')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    cycle: Mapped[str] = mapped_column(Code(7))  # YYYY-MM
    version: Mapped[int] = mapped_column(Integer, default=1)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    previous_kwh: Mapped[int | None] = mapped_column(Integer)
    current_kwh: Mapped[int | None] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(8))
    load_kw: Mapped[Decimal] = mapped_column(Numeric(9, 2))
    energy_paise: Mapped[int] = mapped_column(BigInteger)
    fixed_paise: Mapped[int] = mapped_column(BigInteger)
    duty_paise: Mapped[int] = mapped_column(BigInteger)
    other_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    arrears_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    lps_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    # Compensation credited on this bill (Standards of Performance), already taken off `amount_paise`.
    compensation_paise: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    amount_paise: Mapped[int] = mapped_column(BigInteger)  # everything payable by the due date
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="issued")
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    tariff_schedule_id: Mapped[int | None] = mapped_column(ForeignKey("tariff_schedule.id"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id"))
    revision_reason: Mapped[str | None] = mapped_column(String(300))


class Payment(Base):
    """Money received; `gateway_ref` is unique so a gateway's retry can never post twice."""

    __tablename__ = "payment"
    __table_args__ = (
        Index("ix_payment_account_id_paid_at", "account_id", "paid_at"),
        Index("ix_payment_intent_id", "intent_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bill.id"))
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(10))
    gateway: Mapped[str | None] = mapped_column(String(20))
    gateway_ref: Mapped[str | None] = mapped_column(Code(64), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # The intent it paid (a link, a UPI intent); none for a counter receipt or a payment from elsewhere.
    intent_id: Mapped[int | None] = mapped_column(ForeignKey("payment_intent.id"))
    method: Mapped[str | None] = mapped_column(String(12))
    # A refund, chargeback or bounced cheque: the payment stops counting, its row stays.
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # The gateway's settlement that paid it out to the discom (reconciliation sets them).
    settlement_id: Mapped[str | None] = mapped_column(Code(40))
    settled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # At the counter: the cheque or DD's number and bank, and the cashier (a staff id) who took it.
    instrument_no: Mapped[str | None] = mapped_column(Code(20))
    instrument_bank: Mapped[str | None] = mapped_column(String(60))
    collected_by: Mapped[int | None] = mapped_column(BigInteger)
