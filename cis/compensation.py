"""The compensation ledger: what a consumer is owed when a complaint took longer than a Standard of Performance
allows (cis/data/compensation.toml), claimed by the consumer (SMS CLAIM, the portal, the 1912 console) unless the
discom's rules make it automatic, approved or rejected by an officer of the area, and credited on the next bill by
the billing run. Every change of status writes an audit row.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from cis import audit, notify
from cis.db import UnitOfWork
from cis.errors import CisError
from cis.models import Account, Compensation, Complaint, Feeder
from cis.scopes import account_sub_division, officer_covers

STANDARDS_FILE = Path(__file__).with_name("data") / "compensation.toml"
MAX_NOTE = 300


class UnknownCompensation(CisError):
    """No compensation of this id that the staff member may decide."""

    def __init__(self, compensation_id: int) -> None:
        super().__init__(f"No claim {compensation_id} is waiting in your area.")


class NothingToClaim(CisError):
    """The account has no compensation waiting for a claim."""

    def __init__(self) -> None:
        super().__init__("Nothing is waiting to be claimed on this account.")


@dataclass(frozen=True)
class Standard:
    code: str
    title: str
    categories: tuple[str, ...]
    closure_codes: tuple[str, ...]
    urban_hours: int
    rural_hours: int
    per_day_paise: int
    source: str


@dataclass(frozen=True)
class Standards:
    automatic: bool
    standards: dict[str, Standard]

    def matching(self, category: str, closure_code: str | None) -> Standard | None:
        for standard in self.standards.values():
            if category in standard.categories and closure_code in standard.closure_codes:
                return standard
        return None


@functools.cache
def standards(path: Path = STANDARDS_FILE) -> Standards:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    table = {
        code: Standard(
            code=code,
            title=str(t["title"]),
            categories=tuple(t["categories"]),
            closure_codes=tuple(t["closure_codes"]),
            urban_hours=int(t["urban_hours"]),
            rural_hours=int(t["rural_hours"]),
            per_day_paise=int(t["per_day_rupees"]) * 100,
            source=str(t.get("source") or ""),
        )
        for code, t in data.get("standards", {}).items()
    }
    return Standards(automatic=bool(data.get("automatic", False)), standards=table)


@dataclass(frozen=True)
class Entitlement:
    id: int
    standard: str
    title: str
    complaint_number: str | None
    days: int
    amount_paise: int
    status: str
    accrued_at: dt.datetime
    bill_id: int | None


def accrue(session: Session, complaint: Complaint, at: dt.datetime, *, rules: Standards | None = None) -> int | None:
    """In the resolution's transaction: when `complaint` took longer than its standard allows, the compensation
    it earned (per day or part of a day beyond), as a ledger row (approved at once when the rules are automatic,
    else waiting for the consumer's claim), an audit row and an SMS saying how to claim it. Returns the amount
    in paise, or None when no standard was breached. A complaint earns a standard's compensation once."""
    table = rules or standards()
    if complaint.account_id is None or complaint.resolved_at is None:
        return None
    standard = table.matching(complaint.category, complaint.resolution_code)
    if standard is None:
        return None
    rural = complaint.feeder_id is not None and (
        session.scalar(select(Feeder.kind).where(Feeder.id == complaint.feeder_id)) == "rural"
    )
    allowed = dt.timedelta(hours=standard.rural_hours if rural else standard.urban_hours)
    late = complaint.resolved_at - complaint.created_at - allowed
    if late <= dt.timedelta(0):
        return None
    days = max(1, math.ceil(late / dt.timedelta(days=1)))
    amount = days * standard.per_day_paise
    exists = session.scalar(
        select(Compensation.id).where(Compensation.complaint_id == complaint.id, Compensation.standard == standard.code)
    )
    if exists is not None:
        return None
    status = "approved" if table.automatic else "accrued"
    row = Compensation(
        account_id=complaint.account_id,
        complaint_id=complaint.id,
        standard=standard.code,
        days=days,
        amount_paise=amount,
        status=status,
        accrued_at=at,
        decided_by="system:automatic" if table.automatic else None,
        decided_at=at if table.automatic else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor="system:compensation",
        action=f"compensation.{status}",
        entity="compensation",
        entity_id=row.id,
        at=at,
        account_id=complaint.account_id,
        complaint=complaint.number,
        standard=standard.code,
        days=days,
        amount_paise=amount,
    )
    mobile = next(iter(notify.account_mobiles(session, complaint.account_id)), None)
    if mobile is not None:
        notify.enqueue(
            session,
            channel="sms",
            template="compensation.automatic" if table.automatic else "compensation.claimable",
            recipient=mobile,
            dedupe_key=f"compensation:{row.id}:{mobile}",
            payload={"number": complaint.number or "", "amount_paise": amount},
            at=at,
            account_id=complaint.account_id,
        )
    return amount


def _entitlements(session: Session, account_id: int) -> list[Entitlement]:
    table = standards()
    rows = session.execute(
        select(Compensation, Complaint.number)
        .join(Complaint, Complaint.id == Compensation.complaint_id)
        .where(Compensation.account_id == account_id)
        .order_by(Compensation.id.desc())
        .limit(50)
    )
    return [
        Entitlement(
            c.id,
            c.standard,
            table.standards[c.standard].title if c.standard in table.standards else c.standard,
            number,
            c.days,
            c.amount_paise,
            c.status,
            c.accrued_at,
            c.bill_id,
        )
        for c, number in rows
    ]


def ledger(uow: UnitOfWork, account_id: int) -> list[Entitlement]:
    """The account's compensation, newest first: what it is for, how much, and where it stands."""
    with uow.reading():
        return _entitlements(uow.session, account_id)


def claimable_paise(uow: UnitOfWork, account_id: int) -> int:
    """What the account could claim now: its compensation accrued and not yet claimed (one indexed query)."""
    from sqlalchemy import func

    with uow.reading():
        total = uow.session.scalar(
            select(func.coalesce(func.sum(Compensation.amount_paise), 0)).where(
                Compensation.account_id == account_id, Compensation.status == "accrued"
            )
        )
    return int(total or 0)


def claim(uow: UnitOfWork, account_id: int, *, via: str, now: dt.datetime | None = None) -> int:
    """The consumer claims every compensation of the account still waiting for a claim (one conditional UPDATE:
    a claim sent twice claims once); returns the amount claimed in paise. Raises NothingToClaim."""
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        rows = session.execute(
            update(Compensation)
            .where(Compensation.account_id == account_id, Compensation.status == "accrued")
            .values(status="claimed", claimed_at=at, claimed_via=via[:10])
            .returning(Compensation.id, Compensation.amount_paise)
            .execution_options(synchronize_session=False)
        ).all()
        if not rows:
            raise NothingToClaim()
        for row_id, amount in rows:
            audit.record(
                session,
                actor=f"channel:{via}",
                action="compensation.claimed",
                entity="compensation",
                entity_id=row_id,
                at=at,
                account_id=account_id,
                amount_paise=amount,
            )
        uow.commit()
        return sum(int(amount) for _, amount in rows)


@dataclass(frozen=True)
class Claim:
    id: int
    account_no: str
    complaint_number: str | None
    standard: str
    days: int
    amount_paise: int
    claimed_at: dt.datetime | None


def claims_waiting(uow: UnitOfWork, sub_division_ids: Sequence[int] | None, *, limit: int = 200) -> list[Claim]:
    """Claimed compensation of these sub-divisions (None: all), oldest first: the officers' to-do."""
    query = (
        select(Compensation, Account.account_no, Complaint.number)
        .join(Account, Account.id == Compensation.account_id)
        .join(Complaint, Complaint.id == Compensation.complaint_id)
        .where(Compensation.status == "claimed")
        .order_by(Compensation.claimed_at, Compensation.id)
        .limit(limit)
    )
    if sub_division_ids is not None:
        query = query.where(Complaint.sub_division_id.in_(list(sub_division_ids) or [-1]))
    with uow.reading():
        return [
            Claim(c.id, account_no, number, c.standard, c.days, c.amount_paise, c.claimed_at)
            for c, account_no, number in uow.session.execute(query)
        ]


def decide(
    uow: UnitOfWork,
    compensation_id: int,
    *,
    staff_id: int,
    approve: bool,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """An officer covering the account approves a claim (credited on the next bill) or rejects it with a note;
    audited. Returns the new status. Raises UnknownCompensation (not claimed, not theirs, none)."""
    at = now or audit.utcnow()
    text = " ".join((note or "").split())[:MAX_NOTE] or None
    if not approve and not text:
        from cis.errors import MissingDetails

        raise MissingDetails("why the claim is rejected")
    with uow:
        session = uow.session
        row = session.scalars(
            select(Compensation).where(Compensation.id == compensation_id).with_for_update()
        ).one_or_none()
        if row is None or row.status != "claimed":
            raise UnknownCompensation(compensation_id)
        sub = account_sub_division(session, row.account_id)
        if not officer_covers(session, staff_id, sub):
            raise UnknownCompensation(compensation_id)
        from cis.models import Staff

        username = session.scalar(select(Staff.username).where(Staff.id == staff_id)) or str(staff_id)
        row.status = "approved" if approve else "rejected"
        row.decided_by = f"staff:{username}"[:60]
        row.decided_at = at
        row.note = text
        audit.record(
            session,
            actor=f"staff:{username}",
            action=f"compensation.{row.status}",
            entity="compensation",
            entity_id=row.id,
            at=at,
            account_id=row.account_id,
            amount_paise=row.amount_paise,
            note=text,
        )
        uow.commit()
        return row.status


# --- the billing run's credit line --------------------------------------------------------------------------------


def credits_for(conn: Connection, account_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """Approved compensation not yet credited, by account: [(id, paise)] oldest first. One query a batch."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    found: dict[int, list[tuple[int, int]]] = {}
    rows = conn.execute(
        select(Compensation.account_id, Compensation.id, Compensation.amount_paise)
        .where(Compensation.account_id.in_(ids), Compensation.status == "approved")
        .order_by(Compensation.account_id, Compensation.id)
    )
    for account_id, row_id, amount in rows:
        found.setdefault(int(account_id), []).append((int(row_id), int(amount)))
    return found


def credits_for_range(conn: Connection, start: int, end: int) -> dict[int, list[tuple[int, int]]]:
    """`credits_for` the accounts with ids from `start` to `end` (a billing batch): one indexed query."""
    found: dict[int, list[tuple[int, int]]] = {}
    rows = conn.execute(
        select(Compensation.account_id, Compensation.id, Compensation.amount_paise)
        .where(Compensation.status == "approved", Compensation.account_id.between(start, end))
        .order_by(Compensation.account_id, Compensation.id)
    )
    for account_id, row_id, amount in rows:
        found.setdefault(int(account_id), []).append((int(row_id), int(amount)))
    return found


def take_credit(rows: Sequence[tuple[int, int]], payable: int) -> tuple[int, list[int]]:
    """The credit a bill of `payable` paise gets from these rows, oldest first, and which rows it uses: a row that
    would take the bill below zero waits for the next bill, whole."""
    used: list[int] = []
    total = 0
    for row_id, amount in rows:
        if total + amount > payable:
            break
        total += amount
        used.append(row_id)
    return total, used


def mark_credited(conn: Connection, used: dict[int, list[int]], cycle: str) -> None:
    """Record on each row used the bill of `cycle` that credits it (in the billing run's transaction)."""
    from cis.models import Bill

    for account_id, row_ids in used.items():
        if not row_ids:
            continue
        bill_id = conn.scalar(
            select(Bill.id).where(Bill.account_id == account_id, Bill.cycle == cycle, Bill.version == 1)
        )
        conn.execute(
            update(Compensation.__table__)
            .where(Compensation.__table__.c.id.in_(row_ids), Compensation.__table__.c.status == "approved")
            .values(status="credited", bill_id=bill_id)
        )
