"""Supply interruptions on a feeder (planned shutdowns, breakdowns, rostering), as the IVR announces them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, UtcDateTime

INTERRUPTION_KINDS = ("shutdown", "breakdown", "roster")
_LIVE = "restored_at IS NULL AND cancelled_at IS NULL"


class FeederInterruption(Base):
    """Supply off on a feeder from `started_at` until restored (or called off before it began)."""

    __tablename__ = "feeder_interruption"
    __table_args__ = (
        # Every call asks "is my feeder off now?": index only the live ones, a handful among years of history.
        Index(
            "ix_feeder_interruption_live_feeder_id",
            "feeder_id",
            postgresql_where=text(_LIVE),
            sqlite_where=text(_LIVE),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feeder_id: Mapped[int] = mapped_column(ForeignKey("feeder.id"))
    kind: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expected_restore_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    restored_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))
    # The outage event this is one feeder of (None for interruptions recorded directly).
    event_id: Mapped[int | None] = mapped_column(ForeignKey("outage_event.id"), index=True)
    # Active consumers on the feeder when it went off: the "customers interrupted" of the reliability indices.
    consumers: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
