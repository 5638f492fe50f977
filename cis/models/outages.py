"""Outage events (breakdowns, planned shutdowns, roster days), their revisions, roster schedules and feedback.

An event covers one or more feeders; each covered feeder gets a `feeder_interruption` row (the per-feeder
view the IVR, SMS and the public page read). Every change to an event is a numbered revision with its author
and time; a revision consumers should hear about is fanned out into the outbox once (its `fanned_out_at`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, UtcDateTime

OUTAGE_KINDS = ("breakdown", "shutdown", "roster")
# suspected: raised by a burst of no-supply complaints, waiting for the desk; dismissed: the desk said no.
EVENT_STATUSES = ("suspected", "published", "restored", "cancelled", "dismissed")
# What a revision did. Those in NOTIFYING_ACTIONS are told to consumers (etr_noted: an ETR change inside the
# margin, recorded but not told; reopened: a consumer said supply is still off, the desk decides what to tell).
REVISION_ACTIONS = (
    "suspected",
    "dismissed",
    "published",
    "etr_changed",
    "etr_noted",
    "restored",
    "cancelled",
    "day_ahead",
    "started",
    "reopened",
)
NOTIFYING_ACTIONS = ("published", "etr_changed", "restored", "cancelled", "day_ahead", "started")
ALERT_CHANNELS = ("sms", "voice")
_UNFANNED = "fanned_out_at IS NULL AND notify"


class OutageEvent(Base):
    __tablename__ = "outage_event"
    __table_args__ = (Index("ix_outage_event_status_division_id", "status", "division_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    division_id: Mapped[int] = mapped_column(ForeignKey("division.id"))
    substation_id: Mapped[int | None] = mapped_column(ForeignKey("substation.id"))
    roster_id: Mapped[int | None] = mapped_column(ForeignKey("roster_schedule.id"))
    cause: Mapped[str | None] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # Expected restoration: the ETR of a breakdown, the planned end of a shutdown or roster slot.
    expected_restore_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # The ETR consumers were last told: an update is told only when it moves this by more than the margin.
    announced_restore_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    restored_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class OutageEventFeeder(Base):
    """The feeders an event covers, from the moment it is raised (a suspected breakdown has no interruption yet)."""

    __tablename__ = "outage_event_feeder"

    event_id: Mapped[int] = mapped_column(ForeignKey("outage_event.id"), primary_key=True)
    feeder_id: Mapped[int] = mapped_column(ForeignKey("feeder.id"), primary_key=True, index=True)


class OutageRevision(Base):
    __tablename__ = "outage_revision"
    __table_args__ = (
        UniqueConstraint("event_id", "number"),
        # The fan-out sweep looks for told revisions not fanned out yet: a handful among years of history.
        Index("ix_outage_revision_unfanned", "id", postgresql_where=text(_UNFANNED), sqlite_where=text(_UNFANNED)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outage_event.id"))
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(12))
    notify: Mapped[bool] = mapped_column(Boolean)
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expected_restore_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(60))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    fanned_out_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    messages: Mapped[int | None] = mapped_column(Integer)  # outbox rows this revision wrote


class OutageFanout(Base):
    """A feeder of a revision whose outbox rows are written: taken first in the feeder's own transaction, so
    a re-run (or a second worker) skips that feeder instead of looking at each of its rows again."""

    __tablename__ = "outage_fanout"

    revision_id: Mapped[int] = mapped_column(ForeignKey("outage_revision.id"), primary_key=True)
    feeder_id: Mapped[int] = mapped_column(ForeignKey("feeder.id"), primary_key=True)
    messages: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class RosterSchedule(Base):
    """A recurring daily schedule of supply-off slots (IST) for a group of feeders, e.g. rural feeders."""

    __tablename__ = "roster_schedule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    division_id: Mapped[int] = mapped_column(ForeignKey("division.id"), index=True)
    off_slots: Mapped[str] = mapped_column(String(120))  # "02:00-05:00,13:00-15:00" in IST, each day
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class RosterFeeder(Base):
    __tablename__ = "roster_feeder"

    roster_id: Mapped[int] = mapped_column(ForeignKey("roster_schedule.id"), primary_key=True)
    feeder_id: Mapped[int] = mapped_column(ForeignKey("feeder.id"), primary_key=True, index=True)


class RosterSubscription(Base):
    """A mobile that asked (SMS ROSTER) for its feeder's daily supply schedule."""

    __tablename__ = "roster_subscription"
    __table_args__ = (UniqueConstraint("account_id", "e164"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    e164: Mapped[str] = mapped_column(Code(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class OutageCheck(Base):
    """ "Is your power back? reply 1/2", asked of a sample of consumers after a restoration."""

    __tablename__ = "outage_check"
    __table_args__ = (
        UniqueConstraint("event_id", "account_id"),
        Index("ix_outage_check_e164_asked_at", "e164", "asked_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outage_event.id"))
    revision: Mapped[int] = mapped_column(Integer)  # the restoration revision asked about
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    e164: Mapped[str] = mapped_column(Code(16))
    asked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    answer: Mapped[int | None] = mapped_column(SmallInteger)  # 1 power back, 2 still off
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
