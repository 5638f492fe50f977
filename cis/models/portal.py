"""The consumer portal's sign-in: one password per account, and revocable sessions of signed-in browsers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, UtcDateTime


class ConsumerLogin(Base):
    """An account registered on the portal: its password's hash (never the password)."""

    __tablename__ = "consumer_login"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id"), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    password_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ConsumerSession(Base):
    """A signed-in browser: the cookie carries a random token, this row only its SHA-256 (looked up by its unique
    index), the account it shows now, and the mobile an OTP proved (the accounts it may switch to), if any."""

    __tablename__ = "consumer_session"
    __table_args__ = (
        # Ending an account's sessions (a new password) finds the live ones without a scan.
        Index("ix_consumer_session_account_id_revoked_at", "account_id", "revoked_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id"))
    mobile: Mapped[str | None] = mapped_column(Code(16))  # E.164 proven by OTP at sign-in; None for a password
    remote_addr: Mapped[str] = mapped_column(String(45))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
