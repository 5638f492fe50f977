"""Consumers (people), their accounts (connections) and the mobiles registered against them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Numeric, String, UniqueConstraint, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cis.models.base import Base, BigId, Code, UtcDateTime

# Tariff categories of the UPERC rate schedule that the CIS bills.
CATEGORIES = {
    "LMV-1L": "Domestic, lifeline (BPL), up to 1 kW and 100 units a month",
    "LMV-1R": "Domestic, rural, metered",
    "LMV-1U": "Domestic, urban, metered",
    "LMV-2": "Non-domestic (shops, offices, commercial)",
    "LMV-5": "Private tube wells and pumping sets, metered",
    "HV-2": "Large and heavy power (industry above 75 kW), HT supply",
}
SUPPLY_TYPES = ("LT-1PH", "LT-3PH", "HT-11KV")
CONNECTION_STATUSES = ("active", "temp_disconnected", "perm_disconnected")
LANGUAGES = ("hi", "en")
# A household shares one connection among a few phones; more than this smells of a mistake.
MAX_MOBILES_PER_ACCOUNT = 5


class Consumer(Base):
    """A person or organisation that holds one or more connections."""

    __tablename__ = "consumer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_hi: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    preferred_language: Mapped[str] = mapped_column(String(2), default="hi")


# The 1912 console finds consumers by the start of their name, in English or Hindi. On PostgreSQL these indexes
# in the "C" collation serve both `lower(name) COLLATE "C" LIKE 'ram%'` and its ORDER BY, so a search stops after
# the first few entries among a million names (bench/console_bench.py); SQLite has plain indexes.
Index("ix_consumer_name_prefix", func.lower(Consumer.name).collate("C"))
Index("ix_consumer_name_hi_prefix", Consumer.name_hi.collate("C"))


class Account(Base):
    """A connection: one metered supply point, billed on its own 10-digit account number."""

    __tablename__ = "account"
    __table_args__ = (
        # An outage on a feeder reads its accounts DT by DT: on PostgreSQL the index carries what the fan-out
        # needs, so it never visits the table's pages (an index-only scan; measured in bench/outage_bench.py).
        # The roster SMS reads a rostered feeder's accounts the same way (hence alert_roster).
        Index(
            "ix_account_dt_id",
            "dt_id",
            postgresql_include=[
                "id",
                "status",
                "alert_channel",
                "sms_opt_out",
                "landline",
                "alert_outage",
                "alert_roster",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_no: Mapped[str] = mapped_column(Code(10), unique=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumer.id"), index=True)
    dt_id: Mapped[int] = mapped_column(ForeignKey("distribution_transformer.id"))
    category: Mapped[str] = mapped_column(String(8))
    sanctioned_load_kw: Mapped[Decimal] = mapped_column(Numeric(9, 2))
    supply_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), default="active")
    address: Mapped[str] = mapped_column(String(200))
    address_hi: Mapped[str | None] = mapped_column(String(200))
    pin_code: Mapped[str | None] = mapped_column(String(6))
    connected_on: Mapped[dt.date] = mapped_column(Date)
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # How outage alerts reach this connection: "sms", or "voice" (a Hindi call) for those who prefer it.
    alert_channel: Mapped[str] = mapped_column(String(5), default="sms", server_default="sms")
    # A fixed line (E.164) for voice alerts when no mobile is registered.
    landline: Mapped[str | None] = mapped_column(Code(16))
    # The consumer's choice of alerts by kind (the portal's SMS preferences); every kind is on until switched off.
    # Outage and shutdown alerts, by SMS or call as `alert_channel` says:
    alert_outage: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The daily roster schedule SMS, to the mobiles subscribed to it (roster_subscription):
    alert_roster: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Bill issued or revised, and the reminder before the due date:
    alert_bill: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    consumer: Mapped[Consumer] = relationship(lazy="joined")


class AccountMobile(Base):
    """A mobile registered against an account; one mobile may hold several accounts."""

    __tablename__ = "account_mobile"
    __table_args__ = (
        UniqueConstraint("account_id", "e164"),
        Index("ix_account_mobile_e164", "e164"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    e164: Mapped[str] = mapped_column(Code(16))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    added_via: Mapped[str] = mapped_column(String(12))
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
