"""The electrical network: zone > circle > division > sub-division > substation > feeder > DT."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId


class Zone(Base):
    __tablename__ = "zone"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_hi: Mapped[str | None] = mapped_column(String(80))


class Circle(Base):
    __tablename__ = "circle"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_hi: Mapped[str | None] = mapped_column(String(80))


class Division(Base):
    __tablename__ = "division"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circle.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_hi: Mapped[str | None] = mapped_column(String(80))


class SubDivision(Base):
    __tablename__ = "sub_division"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    division_id: Mapped[int] = mapped_column(ForeignKey("division.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_hi: Mapped[str | None] = mapped_column(String(80))


class Substation(Base):
    """A 33/11 kV substation; its 11 kV feeders hang off it."""

    __tablename__ = "substation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sub_division_id: Mapped[int] = mapped_column(ForeignKey("sub_division.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))


class Feeder(Base):
    """An 11 kV feeder: the unit of outages, rostering and reliability indices."""

    __tablename__ = "feeder"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    substation_id: Mapped[int] = mapped_column(ForeignKey("substation.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(8))  # urban | rural


class DistributionTransformer(Base):
    """An 11/0.4 kV distribution transformer (DT); every connection hangs off one."""

    __tablename__ = "distribution_transformer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feeder_id: Mapped[int] = mapped_column(ForeignKey("feeder.id"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    capacity_kva: Mapped[int]
