"""Meters and their readings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, UtcDateTime

METER_STATUSES = ("ok", "defective", "burnt")
READING_KINDS = ("actual", "estimated", "assessed", "consumer")
READING_SOURCES = ("handheld", "ivr", "sms", "portal", "office", "system")


class Meter(Base):
    __tablename__ = "meter"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    number: Mapped[str] = mapped_column(Code(20), unique=True)
    make: Mapped[str] = mapped_column(String(40))
    installed_on: Mapped[dt.date] = mapped_column(Date)
    removed_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="ok")


class Reading(Base):
    """A cumulative kWh register reading (estimated and assessed ones are the CIS's own figures)."""

    __tablename__ = "reading"
    __table_args__ = (Index("ix_reading_account_id_read_on", "account_id", "read_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    meter_id: Mapped[int] = mapped_column(ForeignKey("meter.id"))
    read_on: Mapped[dt.date] = mapped_column(Date)
    kwh: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
