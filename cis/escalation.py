"""The officers' side of a complaint: resolve it with a closure code, reassign it within the area, escalate it by
hand, close it with the code the consumer gave on site; the consumer's answer to "is it fixed?" by SMS; and the
sweep that moves overdue complaints up the 1912 matrix and closes resolutions nobody answered.

Every change commits with a history step (`complaint_event`), an audit row and the SMS it owes, in one transaction.
An officer acts only on complaints of the sub-divisions their scope covers: any other number is answered as one
nobody has (UnknownComplaint), so numbers cannot be probed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Connection, Engine, and_, any_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from cis import audit, compensation, notify
from cis.complaint_history import confirm_resolution, reject_resolution
from cis.complaints import CALLER_ID_CHANNELS, OPEN_STATUSES, SYSTEM_ACTOR, officer_for, record_event
from cis.db import UnitOfWork, insert_ignore
from cis.errors import CisError, ConfirmationWindowClosed, ResolutionNotPending, TextTooLong, UnknownComplaint
from cis.escalation_matrix import LEVELS, TOP, Matrix, matrix
from cis.models import Account, AccountMobile, AuditLog, Complaint, ComplaintEvent, Feeder, Outbox, Staff
from cis.numbers import complaint_id_for_no
from cis.scopes import OFFICER_ROLES, covered_sub_divisions, officer_covers, scopes_covering

# What the officer found and did: the code is stored, the words go into the consumer's SMS (at most 30 characters,
# a DLT variable's limit) and the portal's timeline.
CLOSURE_CODES = {
    "fuse_replaced": "fuse replaced",
    "line_repaired": "line repaired",
    "dt_repaired": "transformer repaired",
    "dt_replaced": "transformer replaced",
    "meter_replaced": "meter replaced",
    "meter_tested_ok": "meter tested and found correct",
    "bill_corrected": "bill corrected",
    "voltage_corrected": "voltage corrected",
    "hazard_removed": "hazard made safe",
    "theft_inspected": "site inspected by vigilance",
    "no_fault_found": "no fault found on site",
}
OFFICER_TITLES = {
    "je": "junior engineer",
    "sdo": "sub-divisional officer",
    "ee": "executive engineer",
    "se": "superintending engineer",
}
MAX_NOTE = 500
SITE_CODE_DIGITS = 6
SITE_CODE_TRIES = 5  # wrong codes for one resolution before only the consumer's own answer can close it
SWEEP_BATCH = 2_000
SWEEP_WORKERS = 2  # connections an escalation sweep uses on PostgreSQL (docs/benchmarks.md: 1 -> 2 is 10 s -> 6 s)
ESCALATION_ACTOR = "system:escalation"  # the audit rows' actor for the sweep's moves
SMS_REJECTED = "Replied 2 by SMS: the problem is still there"
CALL_REJECTED = "Pressed 2 on the closure call: the problem is still there"


class ComplaintNotOpen(CisError):
    """The complaint is not open or reopened, so there is nothing to resolve, reassign or escalate."""

    def __init__(self, number: str, status: str) -> None:
        super().__init__(f"Complaint {number} is {status}: only an open or reopened complaint can be acted on.")
        self.number = number
        self.status = status


class UnknownClosureCode(CisError):
    """The closure code is not one of CLOSURE_CODES."""

    def __init__(self, code: str) -> None:
        super().__init__(f"Choose what was done from the list ('{code[:24]}' is not on it).")


class AlreadyAtTop(CisError):
    """The complaint is with the SE already: there is nobody above in the matrix."""

    def __init__(self, number: str) -> None:
        super().__init__(f"Complaint {number} is with the superintending engineer already: it cannot go higher.")


class UnknownOfficer(CisError):
    """The officer named to take a complaint is not an active officer of the complaint's area."""

    def __init__(self, username: str) -> None:
        super().__init__(f"'{username[:40]}' is not an active officer of this complaint's area.")


class WrongSiteCode(CisError):
    """The code typed is not the one the consumer was sent with the resolution."""

    def __init__(self, tries_left: int) -> None:
        super().__init__(
            f"That is not the code the consumer was sent. {tries_left} tries left."
            if tries_left
            else "That is not the code the consumer was sent, and no tries are left: the consumer's own answer "
            "(SMS, call, portal) will close it."
        )
        self.tries_left = tries_left


class NoSiteCode(CisError):
    """The resolution was sent no code (nobody could be asked), or its tries are used up."""

    def __init__(self, number: str) -> None:
        super().__init__(f"Complaint {number} has no code to check: the consumer's own answer will close it.")


@dataclass(frozen=True)
class Resolution:
    number: str
    asked: str | None  # the mobile asked to confirm (and sent the site code); None: nobody could be
    confirm_by: dt.datetime


@dataclass(frozen=True)
class Moved:
    number: str
    level: str
    assignee: str | None  # the username of the officer who holds it now
    sla_due_at: dt.datetime


@dataclass
class SweepReport:
    escalated: int = 0
    closed_unconfirmed: int = 0
    consumers_told: int = 0
    officers_told: int = 0
    by_level: dict[str, int] = field(default_factory=dict)


def _clean_note(note: str | None, *, required: str | None = None) -> str | None:
    text = " ".join((note or "").split())
    if not text:
        if required:
            from cis.errors import MissingDetails

            raise MissingDetails(required)
        return None
    if len(text) > MAX_NOTE:
        raise TextTooLong(MAX_NOTE)
    return text


def _code_hash(complaint_id: int, code: str) -> str:
    return hashlib.sha256(f"{complaint_id}:{code}".encode()).hexdigest()


def _locked(session: Session, raw_number: str, staff_id: int) -> tuple[Complaint, Staff]:
    """The complaint, locked for the change, and the officer acting on it, whose scope must cover it."""
    complaint_id = complaint_id_for_no(raw_number)
    complaint = session.scalars(select(Complaint).where(Complaint.id == complaint_id).with_for_update()).one_or_none()
    staff = session.get(Staff, staff_id)
    if complaint is None or staff is None or not officer_covers(session, staff_id, complaint.sub_division_id):
        raise UnknownComplaint(raw_number)
    return complaint, staff


def _is_rural(session: Session, complaint: Complaint) -> bool:
    if complaint.feeder_id is None:
        return False
    return session.scalar(select(Feeder.kind).where(Feeder.id == complaint.feeder_id)) == "rural"


def _consumer_mobile(session: Session, complaint: Complaint) -> str | None:
    """Whom to tell about a complaint: the mobile that lodged it when the network proved it (caller ID) or it is
    registered on the account, else the account's first registered mobile; nobody for an account that opted out
    of SMS."""
    registered: list[str] = []
    if complaint.account_id is not None:
        opted_out = session.scalar(select(Account.sms_opt_out).where(Account.id == complaint.account_id))
        if opted_out:
            return None
        registered = notify.account_mobiles(session, complaint.account_id)
    if complaint.mobile and (complaint.channel in CALLER_ID_CHANNELS or complaint.mobile in registered):
        return complaint.mobile
    return registered[0] if registered else None


def _tell_officer(session: Session, staff_id: int | None, numbers: Sequence[str], at: dt.datetime, key: str) -> bool:
    if staff_id is None or not numbers:
        return False
    mobile = session.scalar(select(Staff.mobile).where(Staff.id == staff_id, Staff.active.is_(True)))
    if not mobile:
        return False
    return notify.enqueue(
        session,
        channel="sms",
        template="complaint.officer_escalated",
        recipient=mobile,
        dedupe_key=f"complaint.officer_escalated:{staff_id}:{key}",
        payload={"count": len(numbers), "number": numbers[0]},
        at=at,
        priority=2,
    )


# --- the officer's actions --------------------------------------------------------------------------------------


def resolve_complaint(
    uow: UnitOfWork,
    raw_number: str,
    *,
    staff_id: int,
    code: str,
    note: str | None = None,
    now: dt.datetime | None = None,
    rules: Matrix | None = None,
) -> Resolution:
    """An officer marks an open or reopened complaint of their area resolved, with what was done (`code`, one of
    CLOSURE_CODES) and a note. It is not closed: the consumer is asked by SMS to reply 1 if it is fixed or 2 if
    not, and sent a code to give the lineman on site; the portal asks too. Unanswered until `confirm_by` (the
    matrix's closure wait), the sweep closes it as not confirmed. Raises UnknownComplaint (not theirs or none),
    ComplaintNotOpen, UnknownClosureCode, TextTooLong.
    """
    if code not in CLOSURE_CODES:
        raise UnknownClosureCode(code)
    text = _clean_note(note)
    at = now or audit.utcnow()
    wait = (rules or matrix()).closure_wait
    with uow:
        session = uow.session
        complaint, staff = _locked(session, raw_number, staff_id)
        number = complaint.number or raw_number
        if complaint.status not in OPEN_STATUSES:
            raise ComplaintNotOpen(number, complaint.status)
        asked = _consumer_mobile(session, complaint) if complaint.account_id is not None else None
        site_code = "".join(secrets.choice("0123456789") for _ in range(SITE_CODE_DIGITS))
        what = CLOSURE_CODES[code]
        complaint.status = "resolved"
        complaint.resolved_at = at
        complaint.resolution = f"{what[:1].upper()}{what[1:]}." + (f" {text}" if text else "")
        complaint.resolution_code = code
        complaint.confirm_by = at + wait
        complaint.closure_asked_to = asked
        complaint.closure_code_hash = _code_hash(complaint.id, site_code) if asked else None
        actor = f"staff:{staff.username}"
        record_event(session, complaint.id, "resolved", actor=actor, at=at, note=complaint.resolution)
        # A resolution later than a Standard of Performance allows owes the consumer compensation.
        compensation.accrue(session, complaint, at)
        audit.record(
            session,
            actor=actor,
            action="complaint.resolved",
            entity="complaint",
            entity_id=number,
            at=at,
            code=code,
            level=LEVELS[min(complaint.escalation_level, TOP)],
            asked=bool(asked),
        )
        account = session.get(Account, complaint.account_id) if complaint.account_id is not None else None
        voice_to = (asked or (account.landline if account else None)) if account is not None else None
        if account is not None and account.alert_channel == "voice" and voice_to:
            # A consumer who prefers calls is also asked by a Hindi call (the alert-call path: ivr's closure flow).
            notify.enqueue(
                session,
                channel="voice",
                template="complaint.resolved",
                recipient=voice_to,
                dedupe_key=f"complaint.resolved.voice:{number}:{at.isoformat()}",
                payload={"number": number},
                at=at,
                account_id=complaint.account_id,
                priority=1,
                expires_at=at + wait,
            )
        if asked:
            notify.enqueue(
                session,
                channel="sms",
                template="complaint.resolved",
                recipient=asked,
                dedupe_key=f"complaint.resolved:{number}:{at.isoformat()}",
                payload={"number": number, "what": what, "code": site_code},
                at=at,
                account_id=complaint.account_id,
                priority=1,
            )
        uow.commit()
        return Resolution(number, asked, at + wait)


def close_with_site_code(
    uow: UnitOfWork, raw_number: str, code: str, *, staff_id: int, now: dt.datetime | None = None
) -> str:
    """The lineman on site types the code the consumer was sent with the resolution: the consumer has confirmed
    it in person, and the complaint is closed ("site_otp"). Five wrong codes for a resolution and only the
    consumer's own answer can close it. Raises UnknownComplaint, ResolutionNotPending, NoSiteCode, WrongSiteCode.
    Returns the complaint's number."""
    at = now or audit.utcnow()
    given = "".join(ch for ch in code if ch.isdigit())
    with uow:
        session = uow.session
        complaint, staff = _locked(session, raw_number, staff_id)
        number = complaint.number or raw_number
        if complaint.status != "resolved" or complaint.resolved_at is None:
            raise ResolutionNotPending(number, complaint.status)
        if complaint.closure_code_hash is None:
            raise NoSiteCode(number)
        wrong = session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.entity == "complaint",
                AuditLog.entity_id == number,
                AuditLog.action == "complaint.site_code_wrong",
                AuditLog.at >= complaint.resolved_at,
            )
        )
        if (wrong or 0) >= SITE_CODE_TRIES:
            raise NoSiteCode(number)
        actor = f"staff:{staff.username}"
        if not hmac.compare_digest(_code_hash(complaint.id, given), complaint.closure_code_hash):
            audit.record(
                session, actor=actor, action="complaint.site_code_wrong", entity="complaint", entity_id=number, at=at
            )
            uow.commit()
            raise WrongSiteCode(max(0, SITE_CODE_TRIES - (wrong or 0) - 1))
        complaint.status = "closed"
        complaint.closed_how = "site_otp"
        complaint.closure_asked_to = None
        complaint.closure_code_hash = None
        record_event(
            session,
            complaint.id,
            "resolution_confirmed",
            actor=actor,
            at=at,
            note="The consumer gave the code on site.",
        )
        audit.record(
            session,
            actor=actor,
            action="complaint.closed",
            entity="complaint",
            entity_id=number,
            at=at,
            how="site_otp",
            status_was="resolved",
        )
        uow.commit()
        return number


def escalate_by_hand(
    uow: UnitOfWork,
    raw_number: str,
    *,
    staff_id: int,
    note: str,
    now: dt.datetime | None = None,
    rules: Matrix | None = None,
) -> Moved:
    """An officer sends an open complaint of their area one level up the matrix before its time runs out (the
    work needs a higher officer's sanction), with a reason. The next officer and the consumer are told by SMS.
    Raises UnknownComplaint, ComplaintNotOpen, AlreadyAtTop, MissingDetails, TextTooLong."""
    reason = _clean_note(note, required="why it needs a higher officer")
    at = now or audit.utcnow()
    table = rules or matrix()
    with uow:
        session = uow.session
        complaint, staff = _locked(session, raw_number, staff_id)
        number = complaint.number or raw_number
        if complaint.status not in OPEN_STATUSES:
            raise ComplaintNotOpen(number, complaint.status)
        if complaint.escalation_level >= TOP:
            raise AlreadyAtTop(number)
        was = complaint.escalation_level
        level = was + 1
        complaint.escalation_level = level
        complaint.sla_due_at = at + dt.timedelta(
            hours=table.hours(complaint.category, level, rural=_is_rural(session, complaint))
        )
        complaint.assignee_id = officer_for(session, level, complaint.sub_division_id) or complaint.assignee_id
        actor = f"staff:{staff.username}"
        record_event(session, complaint.id, "escalated", actor=actor, at=at, level=level, note=reason)
        audit.record(
            session,
            actor=actor,
            action="complaint.escalated",
            entity="complaint",
            entity_id=number,
            at=at,
            level_was=LEVELS[was],
            level=LEVELS[level],
            by_hand=True,
            reason=reason,
        )
        _tell_consumer_moved(session, complaint, number, level, at)
        _tell_officer(session, complaint.assignee_id, [number], at, f"{number}:{level}")
        uow.commit()
        return Moved(number, LEVELS[level], _username(session, complaint.assignee_id), complaint.sla_due_at)


def reassign(
    uow: UnitOfWork,
    raw_number: str,
    *,
    staff_id: int,
    to_username: str,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> Moved:
    """An officer gives an open complaint of their area to another active officer whose scope covers it (the JE
    of the next section is nearer), with a reason; its level and due time stay. The new holder is told by SMS.
    Raises UnknownComplaint, ComplaintNotOpen, UnknownOfficer, TextTooLong."""
    reason = _clean_note(note)
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        complaint, staff = _locked(session, raw_number, staff_id)
        number = complaint.number or raw_number
        if complaint.status not in OPEN_STATUSES:
            raise ComplaintNotOpen(number, complaint.status)
        target = session.scalar(
            select(Staff).where(func.lower(Staff.username) == to_username.strip().lower(), Staff.active.is_(True))
        )
        if (
            target is None
            or target.role not in OFFICER_ROLES
            or target.role == "admin"
            or not officer_covers(session, target.id, complaint.sub_division_id)
        ):
            raise UnknownOfficer(to_username)
        was = complaint.assignee_id
        complaint.assignee_id = target.id
        actor = f"staff:{staff.username}"
        record_event(
            session,
            complaint.id,
            "reassigned",
            actor=actor,
            at=at,
            level=complaint.escalation_level,
            note=f"To {target.username}" + (f": {reason}" if reason else ""),
        )
        audit.record(
            session,
            actor=actor,
            action="complaint.reassigned",
            entity="complaint",
            entity_id=number,
            at=at,
            assignee_was=_username(session, was),
            assignee=target.username,
            reason=reason,
        )
        _tell_officer(session, target.id, [number], at, f"{number}:to:{target.id}:{at.isoformat()}")
        uow.commit()
        return Moved(number, LEVELS[min(complaint.escalation_level, TOP)], target.username, complaint.sla_due_at)


def _username(session: Session, staff_id: int | None) -> str | None:
    return None if staff_id is None else session.scalar(select(Staff.username).where(Staff.id == staff_id))


def _tell_consumer_moved(session: Session, complaint: Complaint, number: str, level: int, at: dt.datetime) -> bool:
    mobile = _consumer_mobile(session, complaint)
    if mobile is None:
        return False
    return notify.enqueue(
        session,
        channel="sms",
        template="complaint.escalated",
        recipient=mobile,
        dedupe_key=f"complaint.escalated:{number}:{level}:{mobile}",
        payload={"number": number, "officer": OFFICER_TITLES[LEVELS[level]], "due": complaint.sla_due_at.isoformat()},
        at=at,
        account_id=complaint.account_id,
    )


# --- the consumer's answer by SMS ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosureAnswer:
    number: str
    closed: bool  # True: confirmed and closed; False: reopened one level up
    officer: str  # who holds it now (a title, for the reply)
    sla_due_at: dt.datetime


def answer_by_sms(uow: UnitOfWork, mobile: str, answer: int, *, now: dt.datetime | None = None) -> ClosureAnswer | None:
    """A bare 1 or 2 from `mobile`: the answer to the latest closure question it was asked and may still answer
    (1 closes the complaint as confirmed, 2 reopens it one level up), or None when it was asked none, so the
    message means something else (a restoration check's answer)."""
    at = now or audit.utcnow()
    with uow:
        row = uow.session.execute(
            select(Complaint.number, Complaint.account_id)
            .where(
                Complaint.closure_asked_to == mobile,
                Complaint.status == "resolved",
                Complaint.confirm_by >= at,
            )
            .order_by(Complaint.resolved_at.desc())
            .limit(1)
        ).first()
    if row is None or row.account_id is None or row.number is None:
        return None
    return _answer(uow, row.account_id, row.number, answer, channel="sms", rejected=SMS_REJECTED, at=at)


def _answer(
    uow: UnitOfWork, account_id: int, number: str, answer: int, *, channel: str, rejected: str, at: dt.datetime
) -> ClosureAnswer | None:
    """1 confirms the resolution (closed), anything else rejects it (reopened one level up); None when it no
    longer waits for an answer."""
    try:
        if answer == 1:
            done = confirm_resolution(uow, account_id, number, channel=channel, now=at)
        else:
            done = reject_resolution(uow, account_id, number, rejected, channel=channel, now=at)
    except (ResolutionNotPending, ConfirmationWindowClosed):
        return None
    return ClosureAnswer(done.number, done.status == "closed", OFFICER_TITLES[done.escalation_level], done.sla_due_at)


def answer_by_call(
    uow: UnitOfWork, raw_number: str, account_no: str, answer: int, *, now: dt.datetime | None = None
) -> ClosureAnswer | None:
    """A 1 or 2 pressed on the closure call placed for `account_no`: as `answer_by_sms`, for that complaint of
    that account only; None when it is not one of the account's or no longer waits for an answer."""
    at = now or audit.utcnow()
    try:
        complaint_id = complaint_id_for_no(raw_number)
    except UnknownComplaint:
        return None
    with uow:
        row = uow.session.execute(
            select(Complaint.number, Complaint.account_id)
            .join(Account, Account.id == Complaint.account_id)
            .where(Complaint.id == complaint_id, Account.account_no == account_no)
        ).first()
    if row is None or row.account_id is None or row.number is None:
        return None
    return _answer(uow, row.account_id, row.number, answer, channel="ivr", rejected=CALL_REJECTED, at=at)


# --- the sweep ------------------------------------------------------------------------------------------------


def sweep(
    engine_or_factory: Engine | Callable[[], Session],
    *,
    now: dt.datetime | None = None,
    rules: Matrix | None = None,
    batch: int = SWEEP_BATCH,
    workers: int | None = None,
) -> SweepReport:
    """Move every open complaint whose level's time has run out up the matrix, and close every resolution whose
    closure wait passed unanswered ("closed, not confirmed").

    A complaint overdue at the JE goes to the SDO with the SDO's hours counted from when the JE's ran out, and on
    up while those have run out too (a sweep that did not run for a day catches up in one step), never past the
    SE. Each one moved gets a history step, an audit row and an SMS to the consumer; each officer it moved to
    gets one SMS for the batch. Set-based: the overdue ones are listed once, then taken in batches of `batch`
    committed one by one, so a million overdue complaints never hold one transaction. Idempotent: rows are
    claimed with FOR UPDATE SKIP LOCKED on PostgreSQL (the write lock on SQLite) and each update is conditional
    on the level it read, so two sweeps at once, or one run twice, move a complaint once.

    `workers`: connections the batches run on at once; by default two when given an engine of PostgreSQL (its
    writes, not Python, are the time: two backends on two cores), one otherwise (SQLite writes one at a time; a
    session factory may share one connection).
    """
    if workers is None:
        workers = (
            SWEEP_WORKERS
            if isinstance(engine_or_factory, Engine) and engine_or_factory.dialect.name == "postgresql"
            else 1
        )
    at = now or audit.utcnow()
    table = rules or matrix()
    factory = _factory(engine_or_factory)
    report = SweepReport()
    officers: dict[tuple[int, int | None], int | None] = {}
    lock = threading.Lock()
    # The overdue ones are listed once and taken in batches of ids: a batch that searched for "overdue" afresh
    # would pass over the rows every earlier batch had moved (on a sequential scan) or their dead index entries.
    ids = _overdue_ids(factory, at)
    batches = iter([ids[start : start + batch] for start in range(0, len(ids), batch)])
    taking = threading.Lock()

    def escalate_all() -> None:
        while True:
            with taking:
                chunk = next(batches, None)
            if chunk is None:
                return
            _escalate_batch(factory, at, table, chunk, report, officers, lock)

    if workers > 1:
        # Batches on several connections at once: each claims its own rows (SKIP LOCKED), so none waits for another.
        with ThreadPoolExecutor(workers) as pool:
            for done in [pool.submit(escalate_all) for _ in range(workers)]:
                done.result()
    else:
        escalate_all()
    while _close_unanswered_batch(factory, at, table, batch, report) == batch:
        pass
    return report


def _factory(engine_or_factory: Engine | Callable[[], Session]) -> Callable[[], Session]:
    if isinstance(engine_or_factory, Engine):
        engine = engine_or_factory
        return lambda: Session(engine, expire_on_commit=False)
    return engine_or_factory


def _overdue(at: dt.datetime) -> Any:
    return and_(Complaint.status.in_(OPEN_STATUSES), Complaint.sla_due_at <= at, Complaint.escalation_level < TOP)


def _id_in(session: Session, ids: list[int]) -> Any:
    """`complaint.id` among `ids`: one array parameter on PostgreSQL, an IN list elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        return Complaint.id == any_(bindparam("ids", ids, type_=postgresql.ARRAY(BigInteger)))
    return Complaint.id.in_(ids)


def _overdue_ids(factory: Callable[[], Session], at: dt.datetime) -> list[int]:
    """The open complaints past their level's time, in id order (one read of `ix_complaint_status_sla_due_at`)."""
    with factory() as session:
        return sorted(session.scalars(select(Complaint.id).where(_overdue(at))))


def _escalate_batch(
    factory: Callable[[], Session],
    at: dt.datetime,
    table: Matrix,
    ids: list[int],
    report: SweepReport,
    officers: dict[tuple[int, int | None], int | None],
    lock: threading.Lock | None = None,
) -> int:
    with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            # A batch lost in a crash is only moved again by the next sweep (its SMS with it, in the same
            # transaction): no need to wait for each commit's flush to disk.
            session.execute(text("SET LOCAL synchronous_commit = off"))
        rows = session.execute(
            select(
                Complaint.id,
                Complaint.number,
                Complaint.escalation_level,
                Complaint.category,
                Complaint.sub_division_id,
                Complaint.account_id,
                Complaint.mobile,
                Complaint.channel,
                Complaint.sla_due_at,
                Feeder.kind,
                Account.sms_opt_out,
            )
            .outerjoin(Feeder, Feeder.id == Complaint.feeder_id)
            .outerjoin(Account, Account.id == Complaint.account_id)
            # Still overdue when claimed: another sweep may have moved it since the ids were read.
            .where(_overdue(at), _id_in(session, ids))
            .with_for_update(of=Complaint, skip_locked=True)
        ).all()
        if not rows:
            session.rollback()
            return 0
        moves: list[dict[str, Any]] = []
        for row in rows:
            level, due = row.escalation_level, row.sla_due_at
            rural = row.kind == "rural"
            while due <= at and level < TOP:
                level += 1
                due = due + dt.timedelta(hours=table.hours(row.category, level, rural=rural))
            key = (level, row.sub_division_id)
            if key not in officers:
                officers[key] = officer_for(session, level, row.sub_division_id)
            moves.append(
                {
                    "cid": row.id,
                    "was": row.escalation_level,
                    "lvl": level,
                    "due": due,
                    "who": officers[key],
                    "number": row.number,
                    "account_id": row.account_id,
                    "mobile": row.mobile if row.channel in CALLER_ID_CHANNELS else None,
                    "quiet": bool(row.sms_opt_out),
                }
            )
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            told = _apply_moves_pg(conn, moves, at)
        else:
            _move(conn, moves)
            _insert_rows(
                conn,
                insert(ComplaintEvent.__table__),
                [
                    {
                        "complaint_id": m["cid"],
                        "step": "escalated",
                        "level": m["lvl"],
                        "actor": SYSTEM_ACTOR,
                        "note": None,
                        "at": at,
                    }
                    for m in moves
                ],
            )
            _insert_rows(
                conn,
                insert(AuditLog.__table__),
                [
                    {
                        "at": at,
                        "actor": ESCALATION_ACTOR,
                        "action": "complaint.escalated",
                        "entity": "complaint",
                        "entity_id": str(m["number"]),
                        "detail": {
                            "level_was": LEVELS[m["was"]],
                            "level": LEVELS[m["lvl"]],
                            "sla_due_at": m["due"].isoformat(),
                        },
                    }
                    for m in moves
                ],
            )
            told = _sms_to_consumers(session, moves, at)
        officers_told = _sms_to_officers(session, moves, at)
        session.commit()
    with lock or threading.Lock():
        report.consumers_told += told
        report.officers_told += officers_told
        report.escalated += len(moves)
        for m in moves:
            report.by_level[LEVELS[m["lvl"]]] = report.by_level.get(LEVELS[m["lvl"]], 0) + 1
    return len(rows)


INSERT_CHUNK = 1_000  # rows a multi-row INSERT carries (x 12 columns at most: under both databases' parameter limits)


def _insert_rows(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts of one table's columns). On PostgreSQL one INSERT ... SELECT FROM unnest(arrays) for
    them all, a statement whose text never changes (so it is prepared once); elsewhere an executemany. The sweep
    writes three rows for every complaint it moves: a statement a row would be most of its time."""
    if not rows:
        return
    table = stmt.table
    if conn.dialect.name != "postgresql":
        conn.execute(stmt, rows)
        return
    columns = list(rows[0])
    kinds = {c.name: _PG_ARRAY_TYPES.get(type(c.type).__name__, "text") for c in table.columns}
    arrays = {
        f"a{i}": [json.dumps(r[c]) if kinds[c] == "jsonb" and r[c] is not None else r[c] for r in rows]
        for i, c in enumerate(columns)
    }
    unnest = ", ".join(f"CAST(:a{i} AS {kinds[c]}[])" for i, c in enumerate(columns))
    conflict = " ON CONFLICT DO NOTHING" if getattr(stmt, "_post_values_clause", None) is not None else ""
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT * FROM unnest({unnest}) AS v({', '.join(columns)}){conflict}"
    )
    conn.execute(text(sql), arrays)


# How the columns' types are named in the arrays the unnest INSERT casts its parameters to.
_PG_ARRAY_TYPES = {
    "BigInteger": "bigint",
    "Integer": "integer",
    "SmallInteger": "smallint",
    "String": "text",
    "Text": "text",
    "UtcDateTime": "timestamptz",
    "JSON": "jsonb",
    "Boolean": "boolean",
}


_MOVE_PG = text(
    "UPDATE complaint AS c SET escalation_level = v.lvl, sla_due_at = v.due, assignee_id = v.who "
    "FROM unnest(CAST(:cid AS bigint[]), CAST(:was AS smallint[]), CAST(:lvl AS smallint[]), "
    "CAST(:due AS timestamptz[]), CAST(:who AS bigint[])) AS v(cid, was, lvl, due, who) "
    "WHERE c.id = v.cid AND c.escalation_level = v.was AND c.status IN ('open', 'reopened')"
)


def _move(conn: Connection, moves: list[dict[str, Any]]) -> None:
    """Each complaint to its new level, due time and officer, only if it is still open at the level read. On
    PostgreSQL one UPDATE ... FROM unnest(arrays) for the batch; on SQLite an executemany (in-process, cheap)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            _MOVE_PG,
            {key: [m[key] for m in moves] for key in ("cid", "was", "lvl", "due", "who")},
        )
        return
    table = Complaint.__table__
    conn.execute(
        update(table)
        .where(
            table.c.id == bindparam("cid"),
            table.c.escalation_level == bindparam("was"),
            # Spelt out: an IN list cannot be part of an executemany statement.
            or_(*(table.c.status == status for status in OPEN_STATUSES)),
        )
        .values(escalation_level=bindparam("lvl"), sla_due_at=bindparam("due"), assignee_id=bindparam("who")),
        [{k: m[k] for k in ("cid", "was", "lvl", "due", "who")} for m in moves],
    )


# The batch's moves, as COPY writes them into a table of the transaction's own (dropped at its commit).
_MOVE_COLUMNS = ("cid", "was", "lvl", "due", "due_text", "who", "number", "account_id", "mobile", "quiet")
_MOVE_TABLE = (
    "CREATE TEMPORARY TABLE sweep_move (cid bigint, was smallint, lvl smallint, due timestamptz, due_text text, "
    "who bigint, number text, account_id bigint, mobile text, quiet boolean) ON COMMIT DROP"
)
# One statement moves the batch and writes what each move owes: only the complaints the UPDATE moved (still open,
# still at the level read) get their history step, audit row and SMS. The consumer's mobile: the caller-ID one the
# complaint came from, else the account's first registered mobile (verified first); none for an opted-out account.
# The SMS's dedupe key makes a move told once however often the batch is retried.
_APPLY_MOVES = text(
    """
WITH moved AS (
    UPDATE complaint AS c SET escalation_level = v.lvl, sla_due_at = v.due, assignee_id = v.who
    FROM sweep_move AS v
    WHERE c.id = v.cid AND c.escalation_level = v.was AND c.status IN ('open', 'reopened')
    RETURNING v.*
), events AS (
    INSERT INTO complaint_event (complaint_id, step, level, actor, note, at)
    SELECT cid, 'escalated', lvl, :system, NULL, :at FROM moved
), audited AS (
    INSERT INTO audit_log (at, actor, action, entity, entity_id, detail)
    SELECT :at, :actor, 'complaint.escalated', 'complaint', number,
           jsonb_build_object('level_was', (CAST(:levels AS text[]))[was + 1],
                              'level', (CAST(:levels AS text[]))[lvl + 1], 'sla_due_at', due_text)
    FROM moved
), reach AS MATERIALIZED (  -- its mobile looked up once a row, not once for each use below
    SELECT m.*, COALESCE(m.mobile, (
        SELECT am.e164 FROM account_mobile AS am WHERE am.account_id = m.account_id
        ORDER BY am.verified DESC, am.id LIMIT 1
    )) AS phone
    FROM moved AS m WHERE NOT m.quiet
), sent AS (
    INSERT INTO outbox (channel, template, recipient, account_id, payload, dedupe_key, status, priority, attempts,
                        created_at, updated_at)
    SELECT 'sms', 'complaint.escalated', phone, account_id,
           jsonb_build_object('number', number, 'officer', (CAST(:titles AS text[]))[lvl + 1], 'due', due_text),
           'complaint.escalated:' || number || ':' || lvl || ':' || phone, 'pending', 5, 0, :at, :at
    FROM reach WHERE phone IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM sent
"""
)


def _apply_moves_pg(conn: Connection, moves: list[dict[str, Any]], at: dt.datetime) -> int:
    """PostgreSQL: the batch's moves COPYed into a temporary table, then one statement for the UPDATE and its
    three kinds of rows. Passing them as arrays instead cost more in the client than in the server (psycopg
    quotes every element of a text array in Python); COPY's rows are written by psycopg's C code. Returns how
    many consumers were sent an SMS."""
    conn.exec_driver_sql(_MOVE_TABLE)
    with (
        conn.connection.driver_connection.cursor() as cursor,
        cursor.copy(f"COPY sweep_move ({', '.join(_MOVE_COLUMNS)}) FROM STDIN") as copy,
    ):
        for m in moves:
            copy.write_row(
                (
                    m["cid"],
                    m["was"],
                    m["lvl"],
                    m["due"],
                    m["due"].isoformat(),
                    m["who"],
                    m["number"],
                    m["account_id"],
                    m["mobile"],
                    m["quiet"],
                )
            )
    told = conn.execute(
        _APPLY_MOVES,
        {
            "at": at,
            "system": SYSTEM_ACTOR,
            "actor": ESCALATION_ACTOR,
            "levels": list(LEVELS),
            "titles": [OFFICER_TITLES[level] for level in LEVELS],
        },
    ).scalar_one()
    # Dropped now, not only at the commit: under a caller's outer transaction (a savepoint per batch) the next
    # batch makes it afresh.
    conn.exec_driver_sql("DROP TABLE sweep_move")
    return int(told)


def _first_mobiles(session: Session, account_ids: Iterable[int]) -> dict[int, str]:
    """Each account's first registered mobile (verified first): one query a batch."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    found: dict[int, str] = {}
    rows = session.execute(
        select(AccountMobile.account_id, AccountMobile.e164)
        .where(AccountMobile.account_id.in_(ids))
        .order_by(AccountMobile.account_id, AccountMobile.verified.desc(), AccountMobile.id)
    )
    for account_id, e164 in rows:
        found.setdefault(account_id, e164)
    return found


def _opted_out(session: Session, account_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(account_ids))
    if not ids:
        return set()
    return set(session.scalars(select(Account.id).where(Account.id.in_(ids), Account.sms_opt_out.is_(True))))


def _outbox_row(
    template: str,
    recipient: str,
    key: str,
    payload: dict[str, Any],
    at: dt.datetime,
    account_id: int | None,
    priority: int = 5,
) -> dict[str, Any]:
    return {
        "channel": "sms",
        "template": template,
        "recipient": recipient,
        "account_id": account_id,
        "payload": payload,
        "dedupe_key": key,
        "status": "pending",
        "priority": priority,
        "attempts": 0,
        "created_at": at,
        "updated_at": at,
        "expires_at": None,
    }


def _sms_to_consumers(session: Session, moves: list[dict[str, Any]], at: dt.datetime) -> int:
    # The account's mobile is looked up only for those the complaint's own caller-ID mobile does not cover.
    first = _first_mobiles(
        session, [m["account_id"] for m in moves if m["account_id"] is not None and not m["quiet"] and not m["mobile"]]
    )
    rows = []
    for m in moves:
        if m["quiet"]:
            continue
        mobile = m["mobile"] or first.get(m["account_id"])
        if mobile is None:
            continue
        payload = {"number": m["number"], "officer": OFFICER_TITLES[LEVELS[m["lvl"]]], "due": m["due"].isoformat()}
        rows.append(
            _outbox_row(
                "complaint.escalated",
                mobile,
                f"complaint.escalated:{m['number']}:{m['lvl']}:{mobile}",
                payload,
                at,
                m["account_id"],
            )
        )
    if rows:
        _insert_rows(session.connection(), insert_ignore(session.get_bind().dialect.name, Outbox.__table__), rows)
    return len(rows)


def _sms_to_officers(session: Session, moves: list[dict[str, Any]], at: dt.datetime) -> int:
    numbers: dict[int, list[str]] = defaultdict(list)
    for m in moves:
        if m["who"] is not None:
            numbers[m["who"]].append(m["number"])
    if not numbers:
        return 0
    mobiles = {
        staff_id: mobile
        for staff_id, mobile in session.execute(
            select(Staff.id, Staff.mobile).where(
                Staff.id.in_(sorted(numbers)), Staff.mobile.is_not(None), Staff.active.is_(True)
            )
        )
    }
    rows = [
        _outbox_row(
            "complaint.officer_escalated",
            mobile,
            f"complaint.officer_escalated:{staff_id}:{at.isoformat()}:{numbers[staff_id][0]}",
            {"count": len(numbers[staff_id]), "number": numbers[staff_id][0]},
            at,
            None,
            priority=2,
        )
        for staff_id, mobile in mobiles.items()
        if mobile
    ]
    if rows:
        session.connection().execute(insert_ignore(session.get_bind().dialect.name, Outbox.__table__), rows)
    return len(rows)


def _close_unanswered_batch(
    factory: Callable[[], Session], at: dt.datetime, table: Matrix, batch: int, report: SweepReport
) -> int:
    with factory() as session:
        rows = session.execute(
            select(
                Complaint.id, Complaint.number, Complaint.account_id, Complaint.closure_asked_to, Complaint.resolved_at
            )
            .where(Complaint.status == "resolved", Complaint.confirm_by <= at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            session.rollback()
            return 0
        conn = session.connection()
        conn.execute(
            update(Complaint.__table__)
            .where(
                Complaint.__table__.c.id == bindparam("cid"),
                Complaint.__table__.c.status == "resolved",
                Complaint.__table__.c.resolved_at == bindparam("was"),
            )
            .values(status="closed", closed_how="not_confirmed", closure_asked_to=None, closure_code_hash=None),
            [{"cid": r.id, "was": r.resolved_at} for r in rows],
        )
        hours = int(table.closure_wait.total_seconds() // 3600)
        note = f"Not confirmed by the consumer within {hours} hours."
        _insert_rows(
            conn,
            insert(ComplaintEvent.__table__),
            [
                {"complaint_id": r.id, "step": "closed", "level": None, "actor": SYSTEM_ACTOR, "note": note, "at": at}
                for r in rows
            ],
        )
        _insert_rows(
            conn,
            insert(AuditLog.__table__),
            [
                {
                    "at": at,
                    "actor": "system:closure",
                    "action": "complaint.closed",
                    "entity": "complaint",
                    "entity_id": str(r.number),
                    "detail": {"how": "not_confirmed", "status_was": "resolved"},
                }
                for r in rows
            ],
        )
        quiet = _opted_out(session, [r.account_id for r in rows if r.account_id is not None])
        sms = [
            _outbox_row(
                "complaint.closed_unconfirmed",
                r.closure_asked_to,
                f"complaint.closed_unconfirmed:{r.number}:{r.closure_asked_to}",
                {"number": r.number},
                at,
                r.account_id,
            )
            for r in rows
            if r.closure_asked_to and r.account_id not in quiet
        ]
        if sms:
            _insert_rows(conn, insert_ignore(conn.dialect.name, Outbox.__table__), sms)
        session.commit()
    report.closed_unconfirmed += len(rows)
    report.consumers_told += len(sms)
    return len(rows)


# --- the officer's to-do ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TodoComplaint:
    number: str
    category: str
    status: str
    level: str
    account_no: str | None
    assignee: str | None
    created_at: dt.datetime
    sla_due_at: dt.datetime
    overdue: bool
    mine: bool


def complaint_todo(
    uow: UnitOfWork,
    staff_id: int,
    *,
    scope: str = "level",
    now: dt.datetime | None = None,
    limit: int = 200,
) -> list[TodoComplaint]:
    """The open, reopened and resolved-awaiting-answer complaints of the officer's area, the soonest due first.

    `scope`: "level" (those at the officer's own level of the matrix, the default for JE/SDO/EE/SE), "mine"
    (those they hold) or "all" (every one of their area)."""
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        staff = session.get(Staff, staff_id)
        if staff is None or staff.role not in OFFICER_ROLES:
            return []
        covered = covered_sub_divisions(session, staff.scope_level, staff.scope_id)
        query = (
            select(Complaint, Account.account_no, Staff.username)
            .outerjoin(Account, Account.id == Complaint.account_id)
            .outerjoin(Staff, Staff.id == Complaint.assignee_id)
            .where(Complaint.status.in_((*OPEN_STATUSES, "resolved")), Complaint.number.is_not(None))
            .order_by(Complaint.sla_due_at, Complaint.id)
            .limit(limit)
        )
        if covered is not None:
            if not covered:
                return []
            query = query.where(Complaint.sub_division_id.in_(covered))
        if scope == "mine":
            query = query.where(Complaint.assignee_id == staff_id)
        elif scope == "level" and staff.role in LEVELS:
            query = query.where(Complaint.escalation_level == LEVELS.index(staff.role))
        return [
            TodoComplaint(
                number=c.number or "",
                category=c.category,
                status=c.status,
                level=LEVELS[min(c.escalation_level, TOP)],
                account_no=account_no,
                assignee=username,
                created_at=c.created_at,
                sla_due_at=c.sla_due_at,
                overdue=c.status in OPEN_STATUSES and c.sla_due_at <= at,
                mine=c.assignee_id == staff_id,
            )
            for c, account_no, username in session.execute(query)
        ]


def officers_of_area(uow: UnitOfWork, raw_number: str, staff_id: int) -> list[tuple[str, str, str]]:
    """The active officers (username, name, role) a complaint may be reassigned to: those whose scope covers it."""
    with uow:
        session = uow.session
        complaint_id = complaint_id_for_no(raw_number)
        complaint = session.get(Complaint, complaint_id)
        if complaint is None or not officer_covers(session, staff_id, complaint.sub_division_id):
            raise UnknownComplaint(raw_number)
        pairs = scopes_covering(session, complaint.sub_division_id) if complaint.sub_division_id else []
        covering = or_(
            Staff.scope_level.is_(None),
            *(and_(Staff.scope_level == level, Staff.scope_id == scope_id) for level, scope_id in pairs),
        )
        rows = session.execute(
            select(Staff.username, Staff.name, Staff.role)
            .where(Staff.active.is_(True), Staff.role.in_(LEVELS), Staff.id != staff_id, covering)
            .order_by(Staff.role, Staff.username)
        ).all()
        return [(r.username, r.name, r.role) for r in rows]


@dataclass(frozen=True)
class OfficerStep:
    step: str
    at: dt.datetime
    actor: str
    level: str | None
    note: str | None


@dataclass(frozen=True)
class OfficerView:
    """A complaint as the officer working it sees it: the consumer to call, the place, the full history."""

    number: str
    category: str
    status: str
    level: str
    channel: str
    text: str | None
    created_at: dt.datetime
    sla_due_at: dt.datetime
    overdue: bool
    assignee: str | None
    account_no: str | None
    name: str | None
    address: str | None
    mobile: str | None
    feeder: str | None
    resolution: str | None
    resolution_code: str | None
    confirm_by: dt.datetime | None
    asked: bool  # the consumer was sent a code for the lineman
    closed_how: str | None
    steps: tuple[OfficerStep, ...]


def officer_view(uow: UnitOfWork, raw_number: str, *, staff_id: int, now: dt.datetime | None = None) -> OfficerView:
    """The complaint for an officer whose scope covers it; UnknownComplaint for anyone else or no such number."""
    at = now or audit.utcnow()
    complaint_id = complaint_id_for_no(raw_number)
    with uow.reading():
        session = uow.session
        complaint = session.get(Complaint, complaint_id)
        if complaint is None or not officer_covers(session, staff_id, complaint.sub_division_id):
            raise UnknownComplaint(raw_number)
        account = session.get(Account, complaint.account_id) if complaint.account_id is not None else None
        feeder = (
            session.scalar(select(Feeder.name).where(Feeder.id == complaint.feeder_id)) if complaint.feeder_id else None
        )
        mobile = complaint.mobile
        if mobile is None and account is not None:
            mobile = next(iter(notify.account_mobiles(session, account.id)), None)
        steps = tuple(
            OfficerStep(e.step, e.at, e.actor, LEVELS[min(e.level, TOP)] if e.level is not None else None, e.note)
            for e in session.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id == complaint.id)
                .order_by(ComplaintEvent.at, ComplaintEvent.id)
            )
        )
        return OfficerView(
            number=complaint.number or raw_number,
            category=complaint.category,
            status=complaint.status,
            level=LEVELS[min(complaint.escalation_level, TOP)],
            channel=complaint.channel,
            text=complaint.text,
            created_at=complaint.created_at,
            sla_due_at=complaint.sla_due_at,
            overdue=complaint.status in OPEN_STATUSES and complaint.sla_due_at <= at,
            assignee=_username(session, complaint.assignee_id),
            account_no=account.account_no if account else None,
            name=account.consumer.name if account else None,
            address=account.address if account else None,
            mobile=mobile,
            feeder=feeder,
            resolution=complaint.resolution,
            resolution_code=complaint.resolution_code,
            confirm_by=complaint.confirm_by,
            asked=complaint.closure_code_hash is not None,
            closed_how=complaint.closed_how,
            steps=steps,
        )
