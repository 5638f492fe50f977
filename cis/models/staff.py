"""Staff users of the console and the desks, with a role and a part of the network they may act on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, UtcDateTime

ROLES = ("agent", "je", "sdo", "ee", "se", "outage_desk", "admin")
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
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
