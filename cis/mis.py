"""The MIS for officers and management: the figures of a period for the part of the network the viewer covers.

Complaint pendency (by sub-division, category and level), SLA breach, reopened-after-resolved and
closed-not-confirmed rates; IVR calls, containment and drop-outs by menu node; SMS delivery by template; outage
minutes; bill revisions pending and their ageing. Each figure is one grouped query (no row-by-row work), so the
page stays quick at a million consumers; each is also a table for the CSV export.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, literal, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from cis import audit
from cis.db import UnitOfWork
from cis.escalation_matrix import LEVELS
from cis.models import (
    Account,
    Complaint,
    ComplaintEvent,
    DistributionTransformer,
    Feeder,
    FeederInterruption,
    IvrCall,
    Outbox,
    PaymentReconIssue,
    ServiceRequest,
    Staff,
    SubDivision,
    Substation,
)
from cis.models.payments import RECON_KINDS
from cis.scopes import covered_sub_divisions

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))

PERIODS = (7, 30, 90)
AGE_BUCKETS = ((0, 7, "0-7"), (8, 15, "8-15"), (16, 30, "16-30"), (31, 100_000, "31+"))
OPEN = ("open", "reopened")
DROPPED = ("none", "abandoned", "in_progress")


@dataclass(frozen=True)
class Rate:
    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        return None if self.whole == 0 else round(100.0 * self.part / self.whole, 1)


@dataclass
class Mis:
    days: int
    since: dt.datetime
    now: dt.datetime
    scope: str  # the viewer's part of the network, in words ("Sub-division Bithoor", "the whole discom")
    scope_level: str | None = None  # zone, circle, division, sub_division; None: the whole discom
    scope_name: str | None = None
    pendency_by_sub_division: list[tuple[str, int, int]] = field(default_factory=list)  # name, open, overdue
    pendency_by_category_level: list[tuple[str, str, int]] = field(default_factory=list)  # category, level, open
    complaints: int = 0
    breach: Rate = Rate(0, 0)
    reopened: Rate = Rate(0, 0)
    not_confirmed: Rate = Rate(0, 0)
    calls: int = 0
    contained: Rate = Rate(0, 0)
    drop_outs: list[tuple[str, int]] = field(default_factory=list)  # menu node, calls that ended there
    sms: list[tuple[str, int, int, int]] = field(default_factory=list)  # template, sent, delivered, failed
    outage_minutes: list[tuple[str, int, int]] = field(default_factory=list)  # sub-division, minutes, consumer-min
    revisions_pending: list[tuple[str, int]] = field(default_factory=list)  # age bucket (days), requests
    # Payments reconciliation (the whole discom's viewers only): findings of the period, by kind, and the latest.
    reconciliation: list[tuple[str, int]] = field(default_factory=list)  # kind, findings
    reconciliation_latest: list[tuple[str, str, str, int | None, int | None]] = field(default_factory=list)


def _scope_words(session: Session, staff: Staff | None) -> str:
    """The viewer's part of the network by name ("Sub-division Swaroop Nagar"), or the whole discom."""
    from cis.models import Circle, Division, Zone

    if staff is None or staff.scope_level is None:
        return "the whole discom"
    model = {"zone": Zone, "circle": Circle, "division": Division, "sub_division": SubDivision}.get(staff.scope_level)
    name = session.scalar(select(model.name).where(model.id == staff.scope_id)) if model else None
    return f"{staff.scope_level.replace('_', '-').capitalize()} {name or staff.scope_id}"


def _in(column: Any, covered: list[int] | None) -> Any:
    return literal(True) if covered is None else column.in_(covered or [-1])


def _account_sub_division() -> Select[Any]:
    return (
        select(Account.id)
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
        .join(Substation, Substation.id == Feeder.substation_id)
    )


def _last_node(session: Session) -> Any:
    """The last menu node of a call's path (a JSON array), in the database's own JSON functions."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(IvrCall.path.op("->>")(literal(-1)), String)
    return func.json_extract(IvrCall.path, "$[#-1]")


def mis(uow: UnitOfWork, staff_id: int, *, days: int = 30, now: dt.datetime | None = None) -> Mis:
    """The figures of the last `days` days (7, 30 or 90) for the sub-divisions the staff member covers (officers)
    or the whole discom (administrator, agents' supervisors)."""
    at = now or audit.utcnow()
    days = days if days in PERIODS else 30
    since = at - dt.timedelta(days=days)
    with uow.reading():
        session = uow.session
        staff = session.get(Staff, staff_id)
        covered = covered_sub_divisions(session, staff.scope_level, staff.scope_id) if staff else []
        out = Mis(days=days, since=since, now=at, scope=_scope_words(session, staff))
        if staff is not None and staff.scope_level is not None:
            out.scope_level = staff.scope_level
            out.scope_name = out.scope.split(" ", 1)[1] if " " in out.scope else out.scope

        # Pendency now, by sub-division (with the overdue among it), and by category and level.
        overdue = func.sum(case((Complaint.sla_due_at <= at, 1), else_=0))
        rows = session.execute(
            select(SubDivision.name, func.count(), overdue)
            .join(SubDivision, SubDivision.id == Complaint.sub_division_id)
            .where(Complaint.status.in_(OPEN), _in(Complaint.sub_division_id, covered))
            .group_by(SubDivision.name)
            .order_by(func.count().desc(), SubDivision.name)
        )
        out.pendency_by_sub_division = [(name, int(n), int(late or 0)) for name, n, late in rows]
        rows = session.execute(
            select(Complaint.category, Complaint.escalation_level, func.count())
            .where(Complaint.status.in_(OPEN), _in(Complaint.sub_division_id, covered))
            .group_by(Complaint.category, Complaint.escalation_level)
            .order_by(Complaint.category, Complaint.escalation_level)
        )
        out.pendency_by_category_level = [(c, LEVELS[min(int(lv), 3)], int(n)) for c, lv, n in rows]

        # Of the complaints lodged in the period: how many ran past a level's time (moved up by the sweep), how
        # many resolutions the consumer rejected, how many closed without the consumer's word.
        lodged = and_(Complaint.created_at >= since, _in(Complaint.sub_division_id, covered))
        swept = exists().where(
            ComplaintEvent.complaint_id == Complaint.id,
            ComplaintEvent.step == "escalated",
            ComplaintEvent.actor == "system",
        )
        rejected = exists().where(
            ComplaintEvent.complaint_id == Complaint.id, ComplaintEvent.step == "resolution_rejected"
        )
        was_resolved = exists().where(ComplaintEvent.complaint_id == Complaint.id, ComplaintEvent.step == "resolved")
        total, breached, reopened, resolved, closed, unconfirmed = session.execute(
            select(
                func.count(),
                func.sum(case((swept, 1), else_=0)),
                func.sum(case((rejected, 1), else_=0)),
                func.sum(case((was_resolved, 1), else_=0)),
                func.sum(case((Complaint.status == "closed", 1), else_=0)),
                func.sum(case((Complaint.closed_how == "not_confirmed", 1), else_=0)),
            ).where(lodged)
        ).one()
        out.complaints = int(total or 0)
        out.breach = Rate(int(breached or 0), out.complaints)
        out.reopened = Rate(int(reopened or 0), int(resolved or 0))
        out.not_confirmed = Rate(int(unconfirmed or 0), int(closed or 0))

        # IVR: inbound calls of the period; contained = served without an agent; drop-outs by the node left at.
        in_scope_calls = and_(IvrCall.direction == "inbound", IvrCall.started_at >= since)
        if covered is not None:
            in_scope_calls = and_(
                in_scope_calls,
                IvrCall.account_id.in_(_account_sub_division().where(Substation.sub_division_id.in_(covered or [-1]))),
            )
        served = and_(
            IvrCall.outcome.is_not(None), IvrCall.outcome.not_in(DROPPED), ~IvrCall.outcome.contains("transfer")
        )
        calls, contained = session.execute(
            select(func.count(), func.sum(case((served, 1), else_=0))).where(in_scope_calls)
        ).one()
        out.calls = int(calls or 0)
        out.contained = Rate(int(contained or 0), out.calls)
        node = _last_node(session)
        rows = session.execute(
            select(node, func.count())
            .where(in_scope_calls, IvrCall.outcome.in_(DROPPED))
            .group_by(node)
            .order_by(func.count().desc())
            .limit(15)
        )
        out.drop_outs = [(str(n or "(before the first menu)"), int(c)) for n, c in rows]

        # SMS by template: queued in the period, delivered, failed (failed, expired or cancelled).
        in_scope_sms = and_(Outbox.channel == "sms", Outbox.created_at >= since)
        if covered is not None:
            in_scope_sms = and_(
                in_scope_sms,
                Outbox.account_id.in_(_account_sub_division().where(Substation.sub_division_id.in_(covered or [-1]))),
            )
        rows = session.execute(
            select(
                Outbox.template,
                func.count(),
                func.sum(case((Outbox.status == "delivered", 1), else_=0)),
                func.sum(case((Outbox.status.in_(("failed", "expired", "cancelled", "undelivered")), 1), else_=0)),
            )
            .where(in_scope_sms)
            .group_by(Outbox.template)
            .order_by(func.count().desc())
        )
        out.sms = [(t, int(n), int(d or 0), int(f or 0)) for t, n, d, f in rows]

        # Outage minutes by sub-division: each interruption's minutes within the period, and times its consumers.
        end = func.coalesce(FeederInterruption.restored_at, literal(at))
        start = case((FeederInterruption.started_at < since, literal(since)), else_=FeederInterruption.started_at)
        if session.get_bind().dialect.name == "postgresql":
            minutes = func.extract("epoch", end - start) / 60
        else:
            minutes = (func.julianday(end) - func.julianday(start)) * 1440
        rows = session.execute(
            select(
                SubDivision.name,
                func.sum(minutes),
                func.sum(minutes * func.coalesce(FeederInterruption.consumers, 0)),
            )
            .join(Feeder, Feeder.id == FeederInterruption.feeder_id)
            .join(Substation, Substation.id == Feeder.substation_id)
            .join(SubDivision, SubDivision.id == Substation.sub_division_id)
            .where(
                FeederInterruption.cancelled_at.is_(None),
                FeederInterruption.started_at <= at,
                end >= since,
                _in(SubDivision.id, covered),
            )
            .group_by(SubDivision.name)
            .order_by(func.sum(minutes).desc())
        )
        out.outage_minutes = [(name, round(float(m or 0)), round(float(cm or 0))) for name, m, cm in rows]

        # Bill revisions still open, by how many days they have waited.
        age = (
            func.extract("day", literal(at) - ServiceRequest.created_at)
            if session.get_bind().dialect.name == "postgresql"
            else func.julianday(literal(at)) - func.julianday(ServiceRequest.created_at)
        )
        bucket = case(*((age <= high, label) for _, high, label in AGE_BUCKETS[:-1]), else_=AGE_BUCKETS[-1][2])
        rows = session.execute(
            select(bucket, func.count())
            .where(
                ServiceRequest.kind == "bill_revision",
                ServiceRequest.status.in_(("submitted", "under_review", "approved")),
                _in(ServiceRequest.sub_division_id, covered),
            )
            .group_by(bucket)
        )
        counted = {str(label): int(n) for label, n in rows}
        out.revisions_pending = [(label, counted.get(label, 0)) for _, _, label in AGE_BUCKETS]

        # Payments reconciliation: money is the discom's, not a sub-division's, so only the whole discom's viewers.
        if covered is None:
            first_day = since.astimezone(IST).date()
            rows = session.execute(
                select(PaymentReconIssue.kind, func.count())
                .where(PaymentReconIssue.day >= first_day)
                .group_by(PaymentReconIssue.kind)
            )
            found = {str(kind): int(n) for kind, n in rows}
            out.reconciliation = [(kind, found.get(kind, 0)) for kind in RECON_KINDS]
            latest = session.execute(
                select(
                    PaymentReconIssue.day,
                    PaymentReconIssue.kind,
                    PaymentReconIssue.gateway_ref,
                    PaymentReconIssue.ours_paise,
                    PaymentReconIssue.theirs_paise,
                )
                .where(PaymentReconIssue.day >= first_day)
                .order_by(PaymentReconIssue.day.desc(), PaymentReconIssue.id.desc())
                .limit(50)
            )
            out.reconciliation_latest = [(d.isoformat(), k, ref, o, t) for d, k, ref, o, t in latest]
    return out


def csv_rows(report: Mis, name: str) -> list[list[str | int | float | None]]:
    """One table of the MIS as rows (a header first), for its CSV export; KeyError for an unknown name."""
    tables: dict[str, list[list[Any]]] = {
        "pendency": [["sub_division", "open", "overdue"], *[list(r) for r in report.pendency_by_sub_division]],
        "pendency_by_category": [["category", "level", "open"], *[list(r) for r in report.pendency_by_category_level]],
        "rates": [
            ["figure", "part", "whole", "percent"],
            ["sla_breach", report.breach.part, report.breach.whole, report.breach.percent],
            ["reopened_after_resolved", report.reopened.part, report.reopened.whole, report.reopened.percent],
            [
                "closed_not_confirmed",
                report.not_confirmed.part,
                report.not_confirmed.whole,
                report.not_confirmed.percent,
            ],
            ["ivr_contained", report.contained.part, report.contained.whole, report.contained.percent],
        ],
        "drop_outs": [["menu_node", "calls"], *[list(r) for r in report.drop_outs]],
        "sms": [["template", "queued", "delivered", "failed"], *[list(r) for r in report.sms]],
        "outage_minutes": [["sub_division", "minutes", "consumer_minutes"], *[list(r) for r in report.outage_minutes]],
        "revisions_pending": [["age_days", "requests"], *[list(r) for r in report.revisions_pending]],
        "reconciliation": [
            ["day", "kind", "gateway_ref", "ours_paise", "theirs_paise"],
            *[list(r) for r in report.reconciliation_latest],
        ],
    }
    return tables[name]


CSV_NAMES = (
    "pendency",
    "pendency_by_category",
    "rates",
    "drop_outs",
    "sms",
    "outage_minutes",
    "revisions_pending",
    "reconciliation",
)
