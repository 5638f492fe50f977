"""A consumer's own complaints: the list, each one's history, and the answer to "was it really fixed?".

Every use case here takes the signed-in consumer's account and acts only on that account's complaints: a
number of another account's complaint is answered exactly as a number nobody has (UnknownComplaint).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import audit, escalation_matrix
from cis.complaints import (
    ESCALATION_LEVELS,
    OPEN_STATUSES,
    SYSTEM_ACTOR,
    officer_for,
    record_event,
)
from cis.db import UnitOfWork
from cis.errors import (
    ComplaintAlreadyOpen,
    ConfirmationWindowClosed,
    MissingDetails,
    ResolutionNotPending,
    TextTooLong,
    UnknownComplaint,
)
from cis.models import Complaint, ComplaintEvent, Feeder
from cis.numbers import complaint_id_for_no

# How long after a resolution the consumer may still say whether it was really fixed (then the officers'
# closure check decides). The SMS, IVR and portal all give this same window.
CONFIRM_WITHIN = dt.timedelta(days=7)
PAGE_SIZE = 10
MAX_PAGE_SIZE = 50
MAX_REASON = 500
# Steps whose note the consumer may read: what the officer did, and the consumer's own words. Other notes
# (an outage's id, a staff remark) are for the office.
PUBLIC_NOTES = ("resolved", "resolution_rejected")


@dataclass(frozen=True)
class ComplaintSummary:
    number: str
    category: str
    status: str
    channel: str
    registered_at: dt.datetime
    sla_due_at: dt.datetime
    escalation_level: str  # je, sdo, ee or se: who holds it
    resolved_at: dt.datetime | None
    # Resolved within CONFIRM_WITHIN: the consumer may confirm or reject the resolution until `answer_by`.
    answer_by: dt.datetime | None

    @property
    def awaiting_answer(self) -> bool:
        return self.answer_by is not None


@dataclass(frozen=True)
class ComplaintPage:
    items: tuple[ComplaintSummary, ...]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class TimelineStep:
    step: str  # one of cis.models.complaints.COMPLAINT_STEPS
    at: dt.datetime
    # Who: "consumer" (through `channel`), "staff" (an officer or the desk) or "system"; never a staff name.
    by: str
    channel: str | None
    level: str | None  # je, sdo, ee or se, for the steps that move it along the matrix
    note: str | None  # only for the steps in PUBLIC_NOTES


@dataclass(frozen=True)
class ComplaintTimeline:
    complaint: ComplaintSummary
    text: str | None
    resolution: str | None
    steps: tuple[TimelineStep, ...]


@dataclass(frozen=True)
class ResolutionAnswer:
    number: str
    status: str  # closed (confirmed) or reopened (rejected)
    changed: bool  # False when it already was so (the same answer sent twice)
    escalation_level: str
    sla_due_at: dt.datetime


def _level(level: int) -> str:
    return ESCALATION_LEVELS[min(max(level, 0), len(ESCALATION_LEVELS) - 1)]


def _answer_by(complaint: Complaint, now: dt.datetime) -> dt.datetime | None:
    if complaint.status != "resolved" or complaint.resolved_at is None:
        return None
    until = complaint.confirm_by or complaint.resolved_at + CONFIRM_WITHIN
    return until if now <= until else None


def _summary(complaint: Complaint, now: dt.datetime) -> ComplaintSummary:
    assert complaint.number is not None
    return ComplaintSummary(
        number=complaint.number,
        category=complaint.category,
        status=complaint.status,
        channel=complaint.channel,
        registered_at=complaint.created_at,
        sla_due_at=complaint.sla_due_at,
        escalation_level=_level(complaint.escalation_level),
        resolved_at=complaint.resolved_at,
        answer_by=_answer_by(complaint, now),
    )


def _own(session: Session, account_id: int, raw_number: str) -> Complaint:
    """The account's complaint of that number; UnknownComplaint for a mistyped number, one nobody has, or one
    of another account (the same answer, so numbers cannot be probed)."""
    complaint_id = complaint_id_for_no(raw_number)
    complaint = session.scalar(
        select(Complaint).where(Complaint.id == complaint_id, Complaint.account_id == account_id)
    )
    if complaint is None:
        raise UnknownComplaint(raw_number)
    return complaint


def _by(actor: str) -> tuple[str, str | None]:
    if actor.startswith("channel:"):
        return "consumer", actor.removeprefix("channel:")
    if actor.startswith("system") or actor.startswith("consumer:"):
        return "system", None  # consumer:check is the outage check's automatic question, not a person
    return "staff", None


def my_complaints(
    uow: UnitOfWork,
    account_id: int,
    *,
    page: int = 1,
    per_page: int = PAGE_SIZE,
    now: dt.datetime | None = None,
) -> ComplaintPage:
    """The account's complaints, newest first, `per_page` (at most MAX_PAGE_SIZE) to a page from page 1; a page
    past the last is empty."""
    at = now or audit.utcnow()
    page = max(1, page)
    per_page = min(max(1, per_page), MAX_PAGE_SIZE)
    with uow:
        session = uow.session
        total = session.scalar(select(func.count()).select_from(Complaint).where(Complaint.account_id == account_id))
        rows = session.scalars(
            select(Complaint)
            .where(Complaint.account_id == account_id)
            .order_by(Complaint.created_at.desc(), Complaint.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        return ComplaintPage(tuple(_summary(c, at) for c in rows), page, per_page, int(total or 0))


def complaint_timeline(
    uow: UnitOfWork, account_id: int, raw_number: str, *, now: dt.datetime | None = None
) -> ComplaintTimeline:
    """One of the account's complaints with its history, oldest step first. Raises UnknownComplaint for a
    number that is not one of this account's complaints."""
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        complaint = _own(session, account_id, raw_number)
        events = session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
            .order_by(ComplaintEvent.at, ComplaintEvent.id)
        ).all()
        steps = []
        for event in events:
            by, channel = _by(event.actor)
            steps.append(
                TimelineStep(
                    step=event.step,
                    at=event.at,
                    by=by,
                    channel=channel,
                    level=_level(event.level) if event.level is not None else None,
                    note=event.note if event.step in PUBLIC_NOTES else None,
                )
            )
        return ComplaintTimeline(
            complaint=_summary(complaint, at),
            text=complaint.text,
            resolution=complaint.resolution if complaint.status in ("resolved", "closed") else None,
            steps=tuple(steps),
        )


@dataclass(frozen=True)
class PublicStep:
    """A step of a complaint's history as anyone with its number may read it: what happened and when (and the
    level of the 1912 matrix a step moved it to), never who, through which channel, or any note."""

    step: str
    at: dt.datetime
    level: str | None


def public_steps(uow: UnitOfWork, raw_number: str) -> tuple[PublicStep, ...]:
    """The history of the complaint of that number, oldest step first, for the public status page. Raises
    UnknownComplaint for a number nobody has (or mistyped)."""
    complaint_id = complaint_id_for_no(raw_number)
    with uow:
        session = uow.session
        if session.scalar(select(Complaint.id).where(Complaint.id == complaint_id)) is None:
            raise UnknownComplaint(raw_number)
        rows = session.execute(
            select(ComplaintEvent.step, ComplaintEvent.at, ComplaintEvent.level)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.at, ComplaintEvent.id)
        ).all()
        return tuple(
            PublicStep(step=step, at=at, level=_level(level) if level is not None else None) for step, at, level in rows
        )


def _pending(complaint: Complaint, raw_number: str, now: dt.datetime) -> dt.datetime:
    """The resolution time of a complaint waiting for the consumer's word; the errors when it is not."""
    number = complaint.number or raw_number
    if complaint.status != "resolved" or complaint.resolved_at is None:
        raise ResolutionNotPending(number, complaint.status)
    until = complaint.confirm_by or complaint.resolved_at + CONFIRM_WITHIN
    if now > until:
        raise ConfirmationWindowClosed(number, max(1, round((until - complaint.resolved_at) / dt.timedelta(days=1))))
    return complaint.resolved_at


def _answer(complaint: Complaint, changed: bool) -> ResolutionAnswer:
    assert complaint.number is not None
    return ResolutionAnswer(
        complaint.number, complaint.status, changed, _level(complaint.escalation_level), complaint.sla_due_at
    )


def confirm_resolution(
    uow: UnitOfWork, account_id: int, raw_number: str, *, channel: str = "portal", now: dt.datetime | None = None
) -> ResolutionAnswer:
    """The consumer says a resolved complaint of theirs is really fixed: it is closed, with an event and an audit
    row. Sent twice, the second answer changes nothing (`changed` False). Raises UnknownComplaint,
    ResolutionNotPending (not resolved, or the consumer rejected it meanwhile) and ConfirmationWindowClosed.
    Two answers at once: one conditional UPDATE decides which one counts.
    """
    at = now or audit.utcnow()
    actor = f"channel:{channel}"
    for _ in range(3):
        with uow:
            session = uow.session
            complaint = _own(session, account_id, raw_number)
            if complaint.status == "closed":
                return _answer(complaint, changed=False)
            resolved_at = _pending(complaint, raw_number, at)
            closed = session.execute(
                update(Complaint)
                .where(
                    Complaint.id == complaint.id,
                    Complaint.status == "resolved",
                    Complaint.resolved_at == resolved_at,
                )
                .values(status="closed", closed_how="confirmed", closure_asked_to=None, closure_code_hash=None)
                .execution_options(synchronize_session=False)
            )
            if closed.rowcount != 1:  # answered meanwhile: look again
                continue
            assert complaint.number is not None
            record_event(session, complaint.id, "resolution_confirmed", actor=actor, at=at)
            audit.record(
                session,
                actor=actor,
                action="complaint.resolution_confirmed",
                entity="complaint",
                entity_id=complaint.number,
                at=at,
                account_id=account_id,
                status_was="resolved",
            )
            uow.commit()
            return ResolutionAnswer(
                complaint.number, "closed", True, _level(complaint.escalation_level), complaint.sla_due_at
            )
    raise ResolutionNotPending(raw_number, "changing")


def reject_resolution(
    uow: UnitOfWork,
    account_id: int,
    raw_number: str,
    reason: str,
    *,
    channel: str = "portal",
    now: dt.datetime | None = None,
) -> ResolutionAnswer:
    """The consumer says a resolved complaint of theirs is not fixed: it is reopened one level up the 1912
    matrix (a JE's resolution goes to the SDO, and so on up to the SE, who keeps it), held by that level's
    officer where one is on record, due again within its category's SLA from now; an event (with the reason)
    and an audit row record it. Sent twice, the second answer changes nothing (`changed` False). Raises
    MissingDetails or TextTooLong for the reason, UnknownComplaint, ResolutionNotPending,
    ConfirmationWindowClosed, ComplaintAlreadyOpen (the account lodged a new complaint of this kind since: that
    one is being worked on). Two rejections at once reopen it once: one conditional UPDATE decides.
    """
    why = " ".join((reason or "").split())
    if not why:
        raise MissingDetails("what is still wrong")
    if len(why) > MAX_REASON:
        raise TextTooLong(MAX_REASON)
    at = now or audit.utcnow()
    actor = f"channel:{channel}"
    for _ in range(3):
        with uow:
            session = uow.session
            complaint = _own(session, account_id, raw_number)
            if complaint.status == "reopened":
                return _answer(complaint, changed=False)
            resolved_at = _pending(complaint, raw_number, at)
            rural = complaint.feeder_id is not None and (
                session.scalar(select(Feeder.kind).where(Feeder.id == complaint.feeder_id)) == "rural"
            )
            level_was = complaint.escalation_level
            level = min(level_was + 1, len(ESCALATION_LEVELS) - 1)
            hours = escalation_matrix.matrix().hours(complaint.category, level, rural=rural)
            assignee = officer_for(session, level, complaint.sub_division_id) or complaint.assignee_id
            due = at + dt.timedelta(hours=hours)
            try:
                reopened = session.execute(
                    update(Complaint)
                    .where(
                        Complaint.id == complaint.id,
                        Complaint.status == "resolved",
                        Complaint.resolved_at == resolved_at,
                    )
                    .values(
                        status="reopened",
                        escalation_level=level,
                        assignee_id=assignee,
                        sla_due_at=due,
                        resolved_at=None,
                        resolution=None,
                        resolution_code=None,
                        confirm_by=None,
                        closure_asked_to=None,
                        closure_code_hash=None,
                    )
                    .execution_options(synchronize_session=False)
                )
            except IntegrityError:
                # A newer complaint of the same kind is open (one open complaint of a kind per account).
                uow.rollback()
                other = session.scalar(
                    select(Complaint.number).where(
                        Complaint.account_id == account_id,
                        Complaint.category == complaint.category,
                        Complaint.status.in_(OPEN_STATUSES),
                    )
                )
                if other is None:
                    raise
                raise ComplaintAlreadyOpen(complaint.number or raw_number, other) from None
            if reopened.rowcount != 1:  # answered meanwhile: look again
                continue
            assert complaint.number is not None
            record_event(session, complaint.id, "resolution_rejected", actor=actor, at=at, note=why, level=level)
            if level != level_was:
                record_event(session, complaint.id, "escalated", actor=SYSTEM_ACTOR, at=at, level=level)
            audit.record(
                session,
                actor=actor,
                action="complaint.resolution_rejected",
                entity="complaint",
                entity_id=complaint.number,
                at=at,
                account_id=account_id,
                reason=why,
                level_was=_level(level_was),
                level=_level(level),
                sla_due_at=due.isoformat(),
            )
            uow.commit()
            return ResolutionAnswer(complaint.number, "reopened", True, _level(level), due)
    raise ResolutionNotPending(raw_number, "changing")
