"""Meters and their readings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, UtcDateTime

METER_STATUSES = ("ok", "defective", "burnt")
READING_KINDS = ("actual", "estimated", "assessed", "consumer")
READING_SOURCES = ("handheld", "ivr", "ussd", "sms", "portal", "app", "console", "office", "system")


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
    __table_args__ = (
        Index("ix_reading_account_id_read_on", "account_id", "read_on"),
        # Partial, so millions of meter readers' rows cost nothing: only readings a consumer sent have an id.
        # The same request from a channel (an SMS id, a USSD session's step) is one reading.
        Index(
            "ix_reading_source_channel_request_id",
            "source",
            "channel_request_id",
            unique=True,
            postgresql_where=text("channel_request_id IS NOT NULL"),
            sqlite_where=text("channel_request_id IS NOT NULL"),
        ),
        # A consumer's reading of the day replaces an earlier one of the same day: one per account and day.
        Index(
            "ix_reading_consumer_account_id_read_on",
            "account_id",
            "read_on",
            unique=True,
            postgresql_where=text("kind = 'consumer'"),
            sqlite_where=text("kind = 'consumer'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    meter_id: Mapped[int] = mapped_column(ForeignKey("meter.id"))
    read_on: Mapped[dt.date] = mapped_column(Date)
    kwh: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    channel_request_id: Mapped[str | None] = mapped_column(Code(80))
