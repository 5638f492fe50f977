"""What the 1912 console keeps of its own: agents' and officers' notes on an account, and the calls popped on an
agent's screen."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, UtcDateTime


class AccountNote(Base):
    """A remark on an account by a staff member ("consumer says the meter box is locked; call before visiting")."""

    __tablename__ = "account_note"
    __table_args__ = (Index("ix_account_note_account_id_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ScreenPop(Base):
    """A transferred IVR call answered by an agent: their console shows the caller's 360 until they move on.

    Written when the telephony says who answered (Asterisk's AMI AgentConnect, Twilio's Dial to the agent), read
    by the agent's console page.
    """

    __tablename__ = "screen_pop"
    __table_args__ = (Index("ix_screen_pop_staff_id_id", "staff_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    call_id: Mapped[int] = mapped_column(ForeignKey("ivr_call.id"))
    source: Mapped[str] = mapped_column(String(10))  # ami | twilio
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
