"""SMS bookkeeping beside the outbox: opt-outs by mobile, OTP challenges, and the console provider's inbox."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, UtcDateTime


class SmsOptOut(Base):
    """A mobile that sent STOP: no alert or reminder goes to it until it sends START (replies and OTPs still do)."""

    __tablename__ = "sms_opt_out"

    e164: Mapped[str] = mapped_column(Code(16), primary_key=True)
    opted_out_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    via: Mapped[str] = mapped_column(String(12))  # sms, console, portal
    message_ref: Mapped[str | None] = mapped_column(String(80))


class OtpChallenge(Base):
    """A one-time password sent to the mobile on record, awaiting its reply (linking a new mobile, a login)."""

    __tablename__ = "otp_challenge"
    __table_args__ = (
        Index("ix_otp_challenge_requested_by_created_at", "requested_by", "created_at"),
        Index("ix_otp_challenge_account_id_created_at", "account_id", "created_at"),
        Index(
            "ix_otp_challenge_ticket_hash",
            "ticket_hash",
            unique=True,
            postgresql_where=text("ticket_hash IS NOT NULL"),
            sqlite_where=text("ticket_hash IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # register (by SMS); portal_register, portal_reset, portal_login; apply (a new-connection applicant)
    purpose: Mapped[str] = mapped_column(String(20))
    # None for "apply": a new-connection applicant proving a mobile that no account holds yet.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    requested_by: Mapped[str] = mapped_column(Code(16))  # the mobile that asked (and will be linked)
    sent_to: Mapped[str] = mapped_column(Code(16))  # the mobile on record that received the code (for "apply", itself)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))  # sha256(salt + code): the code itself is never stored
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_ref: Mapped[str | None] = mapped_column(String(100))  # a wrong code delivered twice counts once
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # A portal challenge is answered only by the browser that asked: it holds a random ticket, this its SHA-256.
    ticket_hash: Mapped[str | None] = mapped_column(String(64))


class ConsoleSms(Base):
    """What the console provider 'sent': the embedded default's stand-in for a handset, listed on /sms/console."""

    __tablename__ = "sms_console_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    recipient: Mapped[str] = mapped_column(Code(16), index=True)
    sender: Mapped[str] = mapped_column(String(11))
    template: Mapped[str] = mapped_column(String(60))
    dlt_template_id: Mapped[str] = mapped_column(String(19))
    text: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(SmallInteger)
    sent_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
