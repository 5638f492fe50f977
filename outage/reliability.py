"""Reliability indices (IEEE 1366-2012: SAIFI, SAIDI, CAIDI) per feeder and division for one IST calendar month.

Definitions, as IEEE 1366-2012 gives them and the state commissions' reliability returns use them:

- a sustained interruption lasts more than 5 minutes; a momentary one (5 minutes or less) is left out;
- SAIFI = customers interrupted / customers served (interruptions per customer in the month);
- SAIDI = customer-minutes of interruption / customers served (minutes per customer);
- CAIDI = SAIDI / SAIFI (minutes per interruption a customer saw); undefined (None) when SAIFI is 0.

Planned (shutdown) and unplanned (breakdown) interruptions both count, as IEEE 1366 counts them; the split
is reported beside the totals. Rostering (scheduled load-shedding) is left out of the indices and its hours
are reported per feeder on their own. The source is `feeder_interruption`: rows restored and not cancelled,
`consumers` being the customers interrupted (counted when the event was published; when not recorded, the
feeder's current active accounts stand in). An interruption is counted (frequency) in the month it began;
its minutes are split between the months it spans.

Customers served is the feeder's *current* count of active accounts, not the count over the month: the CIS
keeps no history of connections by date, so a month in the past is measured against today's customer base.
A division's figures sum its feeders'.

Everything is worked out by two grouped queries (customers per feeder; interruptions per feeder), so a month
of a million-consumer discom costs two table scans, never a loop over rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, Select, and_, bindparam, case, cast, extract, func, select
from sqlalchemy.orm import Session

from cis.models import Account, DistributionTransformer, Division, Feeder, FeederInterruption, SubDivision, Substation
from cis.models.base import UtcDateTime
from outage.errors import InvalidMonth, UnknownDivision

IST = ZoneInfo("Asia/Kolkata")
MOMENTARY_SECONDS = 5 * 60  # IEEE 1366: an interruption of 5 minutes or less is momentary
COUNTED_KINDS = ("breakdown", "shutdown")
PLANNED_KIND = "shutdown"
ROSTER_KIND = "roster"
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, kw_only=True)
class Indices:
    """The figures of one feeder or division for the month; minutes are customer-minutes unless named otherwise."""

    served: int  # active accounts (today's count)
    interruptions: int  # sustained interruptions, planned and unplanned (one per feeder an event covered)
    planned_interruptions: int
    customers_interrupted: int
    planned_customers_interrupted: int
    customer_minutes: float
    planned_customer_minutes: float
    roster_hours: float  # supply off under the roster (load-shedding), not in the indices
    saifi: float | None  # None when nobody is served
    saidi: float | None  # minutes
    caidi: float | None  # minutes; None when SAIFI is 0

    @property
    def unplanned_interruptions(self) -> int:
        return self.interruptions - self.planned_interruptions

    @property
    def unplanned_customer_minutes(self) -> float:
        return self.customer_minutes - self.planned_customer_minutes


@dataclass(frozen=True, kw_only=True)
class FeederIndices(Indices):
    feeder_id: int
    feeder_code: str
    feeder_name: str
    division_id: int
    division_code: str


@dataclass(frozen=True, kw_only=True)
class DivisionIndices(Indices):
    division_id: int
    division_code: str
    division_name: str
    feeders: int


@dataclass(frozen=True)
class Report:
    month: str  # YYYY-MM
    divisions: list[DivisionIndices]
    feeders: list[FeederIndices]


@dataclass
class _Sums:
    served: int = 0
    interruptions: int = 0
    planned_interruptions: int = 0
    customers_interrupted: int = 0
    planned_customers_interrupted: int = 0
    customer_seconds: int = 0
    planned_customer_seconds: int = 0
    roster_seconds: int = 0

    def add(self, other: _Sums) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self) -> dict[str, int | float | None]:
        minutes = self.customer_seconds / 60
        saifi = self.customers_interrupted / self.served if self.served else None
        saidi = minutes / self.served if self.served else None
        caidi = saidi / saifi if saidi is not None and saifi else None
        return {
            "served": self.served,
            "interruptions": self.interruptions,
            "planned_interruptions": self.planned_interruptions,
            "customers_interrupted": self.customers_interrupted,
            "planned_customers_interrupted": self.planned_customers_interrupted,
            "customer_minutes": minutes,
            "planned_customer_minutes": self.planned_customer_seconds / 60,
            "roster_hours": self.roster_seconds / 3600,
            "saifi": saifi,
            "saidi": saidi,
            "caidi": caidi,
        }


def month_window(month: str) -> tuple[dt.datetime, dt.datetime]:
    """The month "YYYY-MM" as [first midnight IST, next month's first midnight IST), in UTC.

    Raises InvalidMonth for anything else.
    """
    text = (month or "").strip()
    found = _MONTH.fullmatch(text)
    if found is None or not 1 <= int(found[2]) <= 12 or not 1900 <= int(found[1]) <= 9998:
        raise InvalidMonth(month)
    year, number = int(found[1]), int(found[2])
    start = dt.datetime(year, number, 1, tzinfo=IST)
    end = dt.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=IST)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def current_month(now: dt.datetime) -> str:
    """The IST calendar month `now` falls in, as YYYY-MM."""
    return f"{now.astimezone(IST):%Y-%m}"


def division_id_of(session: Session, code: str) -> int:
    """The id of the division with this code (case-insensitive); raises UnknownDivision."""
    wanted = (code or "").strip().upper()
    found = session.scalar(select(Division.id).where(func.upper(Division.code) == wanted)) if wanted else None
    if found is None:
        raise UnknownDivision(code)
    return int(found)


def _seconds(dialect: str, later: Any, earlier: Any) -> ColumnElement[int]:
    """Whole seconds from `earlier` to `later`, worked out by the database."""
    if dialect == "postgresql":
        return cast(func.round(extract("epoch", later - earlier)), BigInteger)
    # SQLite keeps timestamps as ISO text; julianday reads it.
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), BigInteger)


def reliability(session: Session, month: str, *, division_id: int | None = None) -> Report:
    """SAIFI, SAIDI and CAIDI of every feeder (or every feeder of one division) and of each division, for
    the IST calendar month `month` ("YYYY-MM"). Feeders with no interruption are listed with zeros, since
    their customers count in their division's denominator.

    Raises InvalidMonth for a month not given as YYYY-MM.
    """
    start, end = month_window(month)
    dialect = session.connection().dialect.name
    scope = (
        select(Feeder.id)
        .join(Substation, Substation.id == Feeder.substation_id)
        .join(SubDivision, SubDivision.id == Substation.sub_division_id)
        .where(SubDivision.division_id == division_id)
    )

    served_query = (
        select(DistributionTransformer.feeder_id.label("feeder_id"), func.count().label("served"))
        .join(Account, Account.dt_id == DistributionTransformer.id)
        .where(Account.status == "active")
        .group_by(DistributionTransformer.feeder_id)
    )
    if division_id is not None:
        served_query = served_query.where(DistributionTransformer.feeder_id.in_(scope))
    served_by_feeder = served_query.subquery()
    feeder_query = (
        select(
            Feeder.id,
            Feeder.code,
            Feeder.name,
            Division.id,
            Division.code,
            Division.name,
            func.coalesce(served_by_feeder.c.served, 0),
        )
        .join(Substation, Substation.id == Feeder.substation_id)
        .join(SubDivision, SubDivision.id == Substation.sub_division_id)
        .join(Division, Division.id == SubDivision.division_id)
        .outerjoin(served_by_feeder, served_by_feeder.c.feeder_id == Feeder.id)
        .order_by(Division.code, Feeder.code)
    )
    if division_id is not None:
        feeder_query = feeder_query.where(Division.id == division_id)
    feeders = session.execute(feeder_query).all()

    sums = {row[0]: _Sums(served=int(row[6])) for row in feeders}
    for feeder_id, part in _interruption_sums(session, dialect, start, end, sums, division_id, scope):
        sums[feeder_id].add(part)

    feeder_rows = [
        FeederIndices(
            feeder_id=row[0],
            feeder_code=row[1],
            feeder_name=row[2],
            division_id=row[3],
            division_code=row[4],
            **sums[row[0]].figures(),  # type: ignore[arg-type]
        )
        for row in feeders
    ]
    division_rows: list[DivisionIndices] = []
    for division in dict.fromkeys((row[3], row[4], row[5]) for row in feeders):
        total = _Sums()
        members = [row[0] for row in feeders if row[3] == division[0]]
        for feeder_id in members:
            total.add(sums[feeder_id])
        division_rows.append(
            DivisionIndices(
                division_id=division[0],
                division_code=division[1],
                division_name=division[2],
                feeders=len(members),
                **total.figures(),  # type: ignore[arg-type]
            )
        )
    return Report(month=f"{start.astimezone(IST):%Y-%m}", divisions=division_rows, feeders=feeder_rows)


def _interruption_sums(
    session: Session,
    dialect: str,
    start: dt.datetime,
    end: dt.datetime,
    served: dict[int, _Sums],
    division_id: int | None,
    scope: Select[Any],
) -> Iterable[tuple[int, _Sums]]:
    """One grouped query over the month's interruptions; feeders whose count was not recorded fall back to
    their served count (applied here, so the customer count is not grouped a second time)."""
    fi = FeederInterruption
    m0 = bindparam("month_start", start, type_=UtcDateTime)
    m1 = bindparam("month_end", end, type_=UtcDateTime)
    if dialect == "postgresql":
        clipped_start = func.greatest(fi.started_at, m0)
        clipped_end = func.least(fi.restored_at, m1)
    else:
        clipped_start = func.max(fi.started_at, m0)
        clipped_end = func.min(fi.restored_at, m1)
    in_month = _seconds(dialect, clipped_end, clipped_start)
    sustained = and_(fi.kind.in_(COUNTED_KINDS), _seconds(dialect, fi.restored_at, fi.started_at) > MOMENTARY_SECONDS)
    began_in_month = fi.started_at >= m0
    known = fi.consumers.is_not(None)
    unknown = fi.consumers.is_(None)
    planned = fi.kind == PLANNED_KIND

    def total(condition: ColumnElement[bool], value) -> ColumnElement[int]:  # type: ignore[no-untyped-def]
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    query = (
        select(
            fi.feeder_id,
            total(and_(sustained, began_in_month), 1),
            total(and_(sustained, began_in_month, planned), 1),
            total(and_(sustained, began_in_month, known), fi.consumers),
            total(and_(sustained, began_in_month, unknown), 1),
            total(and_(sustained, began_in_month, planned, known), fi.consumers),
            total(and_(sustained, began_in_month, planned, unknown), 1),
            total(and_(sustained, known), fi.consumers * in_month),
            total(and_(sustained, unknown), in_month),
            total(and_(sustained, planned, known), fi.consumers * in_month),
            total(and_(sustained, planned, unknown), in_month),
            total(fi.kind == ROSTER_KIND, in_month),
        )
        .where(
            fi.restored_at.is_not(None),
            fi.cancelled_at.is_(None),
            fi.started_at < fi.restored_at,
            fi.started_at < m1,
            fi.restored_at > m0,
        )
        .group_by(fi.feeder_id)
    )
    if division_id is not None:
        query = query.where(fi.feeder_id.in_(scope))
    for row in session.execute(query):
        feeder_id = row[0]
        if feeder_id not in served:
            continue
        n = served[feeder_id].served
        (count, planned_count, ci, ci_unknown, pci, pci_unknown, cs, cs_unknown, pcs, pcs_unknown, roster) = (
            int(v) for v in row[1:]
        )
        yield (
            feeder_id,
            _Sums(
                interruptions=count,
                planned_interruptions=planned_count,
                customers_interrupted=ci + ci_unknown * n,
                planned_customers_interrupted=pci + pci_unknown * n,
                customer_seconds=cs + cs_unknown * n,
                planned_customer_seconds=pcs + pcs_unknown * n,
                roster_seconds=roster,
            ),
        )


def _number(value: float | None, places: int) -> str:
    return "-" if value is None else f"{value:,.{places}f}"


def format_report(report: Report) -> str:
    """The report as a plain-text table for the terminal: divisions first, then their feeders."""
    lines = [
        f"Reliability indices for {report.month} (IST calendar month), IEEE 1366-2012",
        "Sustained interruptions only (over 5 minutes), planned and unplanned; roster load-shedding is left out",
        "and its hours shown apart. SAIFI: interruptions per customer served; SAIDI and CAIDI: minutes.",
        "Customers served: today's active accounts on each feeder.",
        "",
    ]
    header = (
        f"{'Division':<10} {'Feeder':<26} {'Served':>9} {'Int.':>5} {'Plan.':>5} {'Cust. int.':>10} "
        f"{'Cust. min':>12} {'SAIFI':>7} {'SAIDI':>8} {'CAIDI':>7} {'Roster h':>8}"
    )

    def line(division: str, feeder: str, row: Indices) -> str:
        return (
            f"{division[:10]:<10} {feeder[:26]:<26} {row.served:>9,} {row.interruptions:>5} "
            f"{row.planned_interruptions:>5} {row.customers_interrupted:>10,} {_number(row.customer_minutes, 0):>12} "
            f"{_number(row.saifi, 3):>7} {_number(row.saidi, 1):>8} {_number(row.caidi, 1):>7} "
            f"{_number(row.roster_hours, 1):>8}"
        )

    if not report.feeders:
        lines.append("No feeders on record.")
        return "\n".join(lines) + "\n"
    lines += [header, "-" * len(header)]
    lines += [line(d.division_code, f"all {d.feeders} feeders", d) for d in report.divisions]
    lines += ["", header, "-" * len(header)]
    lines += [line(f.division_code, f"{f.feeder_code} {f.feeder_name}", f) for f in report.feeders]
    return "\n".join(lines) + "\n"


def report_as_dict(report: Report) -> dict[str, object]:
    """The report as JSON-ready data (indices rounded to 4 places, minutes to 2)."""

    def shown(row: Indices) -> dict[str, object]:
        return {
            "served": row.served,
            "interruptions": row.interruptions,
            "planned_interruptions": row.planned_interruptions,
            "unplanned_interruptions": row.unplanned_interruptions,
            "customers_interrupted": row.customers_interrupted,
            "planned_customers_interrupted": row.planned_customers_interrupted,
            "customer_minutes": round(row.customer_minutes, 2),
            "planned_customer_minutes": round(row.planned_customer_minutes, 2),
            "roster_hours": round(row.roster_hours, 2),
            "saifi": None if row.saifi is None else round(row.saifi, 4),
            "saidi": None if row.saidi is None else round(row.saidi, 2),
            "caidi": None if row.caidi is None else round(row.caidi, 2),
        }

    return {
        "month": report.month,
        "standard": "IEEE 1366-2012",
        "momentary_minutes": MOMENTARY_SECONDS // 60,
        "divisions": [
            {"code": d.division_code, "name": d.division_name, "feeders": d.feeders, **shown(d)}
            for d in report.divisions
        ],
        "feeders": [
            {"code": f.feeder_code, "name": f.feeder_name, "division": f.division_code, **shown(f)}
            for f in report.feeders
        ],
    }
