"""Staff users of the console and the desks, with a role and a part of the network they may act on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, UtcDateTime

ROLES = ("agent", "je", "sdo", "ee", "se", "outage_desk", "cashier", "admin")
# The part of the network a role's scope names; None means the whole discom.
SCOPE_LEVELS = ("zone", "circle", "division", "sub_division")


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(12))
    scope_level: Mapped[str | None] = mapped_column(String(12))
    scope_id: Mapped[int | None] = mapped_column(BigInteger)
    mobile: Mapped[str | None] = mapped_column(String(16))
    # A 1912 agent's phone extension (the queue member's interface, e.g. "PJSIP/1912-07"): the screen-pop finds
    # the agent who answered a transferred call by it.
    extension: Mapped[str | None] = mapped_column(String(40), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LoginAttempt(Base):
    """One staff login attempt: failures in a recent window lock the username (and the address) for a while."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_remote_addr_at", "remote_addr", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    remote_addr: Mapped[str] = mapped_column(String(45))
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LoginThrottle(Base):
    """Sign-in tries counted per username (`user:<name>`) or address (`addr:<address>`) in a window.

    A try claims its place with one conditional UPDATE before any password is checked, so however many
    arrive at once no more than the limit are checked in a window.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    tries: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class StaffSession(Base):
    """A signed-in browser: the cookie carries a random token, this row only its SHA-256, so it can be ended here."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    remote_addr: Mapped[str] = mapped_column(String(45))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
