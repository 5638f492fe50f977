"""Complaint use cases: register from any channel (idempotent per channel request, one open complaint of a kind
per account), link no-supply complaints to outages, and status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, SmallInteger, String, Text, case, insert, literal, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import audit, escalation_matrix, notify
from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    MissingDetails,
    TextTooLong,
    UnknownAccount,
    UnknownChannel,
    UnknownComplaint,
    UnknownComplaintCategory,
)
from cis.interruptions import InterruptionNotice
from cis.models import (
    Account,
    Complaint,
    ComplaintEvent,
    DistributionTransformer,
    Division,
    Feeder,
    FeederInterruption,
    OutageEvent,
    Outbox,
    Staff,
    SubDivision,
    Substation,
)
from cis.models.base import UtcDateTime
from cis.models.complaints import COMPLAINT_STEPS
from cis.numbers import complaint_id_for_no, complaint_no_for_id, parse_account_no
from cis.phones import normalise_mobile

CHANNELS = ("ivr", "sms", "ussd", "portal", "console", "app", "field")
# Channels whose mobile is the sender's own number as the network gives it (caller ID, the SMS sender, the USSD
# MSISDN): proof enough to send it the acknowledgement. A mobile typed into a form proves nothing.
CALLER_ID_CHANNELS = ("ivr", "sms", "ussd")
# A complaint still being worked on; an account holds at most one of each category (a partial unique index).
OPEN_STATUSES = ("open", "reopened")
MAX_TEXT = 1000
# The 1912 escalation matrix: a complaint not resolved within its SLA moves one level up.
ESCALATION_LEVELS = ("je", "sdo", "ee", "se")
SYSTEM_ACTOR = "system"  # who a step is by when no person or channel did it
MAX_AREA = 30  # a DLT template variable holds at most 30 characters
# How complaint.ack_outage names the cause: "supply in {area} is off due to a {reason}".
OUTAGE_REASONS = {"breakdown": "breakdown", "shutdown": "planned shutdown", "roster": "scheduled power cut"}


@dataclass(frozen=True)
class Category:
    code: str
    title: str
    needs_account: bool
    urban_sla_hours: int
    rural_sla_hours: int


# Complaints about a place rather than a connection (a hazard, theft) may come without an account number.
_PLACE_CATEGORIES = ("dangerous_line", "theft")
# The time promised in the acknowledgement is the JE's time in the 1912 matrix (cis/data/escalation.toml, with
# its sources in UPERC's Standards of Performance); a discom tunes it there.
CATEGORIES: dict[str, Category] = {
    code: Category(
        code,
        limits.title,
        code not in _PLACE_CATEGORIES,
        limits.hours(0, rural=False),
        limits.hours(0, rural=True),
    )
    for code, limits in escalation_matrix.matrix().categories.items()
}


@dataclass(frozen=True)
class RegisterComplaint:
    """A complaint as any channel hands it over; `channel_request_id` makes a retry harmless."""

    channel: str
    category: str
    account_no: str | None = None
    mobile: str | None = None
    text: str | None = None
    channel_request_id: str | None = None
    # True when the channel proved `mobile` is the sender's (an OTP on the portal). Caller ID (IVR, SMS, USSD)
    # is proof by itself; any other mobile is only a contact, never sent the acknowledgement.
    mobile_verified: bool = False


@dataclass(frozen=True)
class ComplaintReceipt:
    number: str
    created: bool  # False when the same channel request had already registered it, or `already_open`
    category: str
    sla_due_at: dt.datetime
    # A no-supply complaint on a feeder under a published outage: that outage, to tell the consumer its ETR.
    outage: InterruptionNotice | None = None
    # The account already had an open complaint of this category: this is that one, and nothing was written.
    already_open: bool = False
    # The mobiles the acknowledgement SMS (with the number) was queued for; for a retried request, those of the
    # first one. Empty when nobody was told (no mobile on record, SMS turned off) and for `already_open`.
    acknowledged_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComplaintStatus:
    number: str
    category: str
    status: str
    account_no: str | None
    registered_at: dt.datetime
    sla_due_at: dt.datetime
    escalation_level: str
    resolved_at: dt.datetime | None
    resolution: str | None


def record_event(
    session: Session,
    complaint_id: int,
    step: str,
    *,
    actor: str,
    at: dt.datetime,
    note: str | None = None,
    level: int | None = None,
) -> None:
    """Add one step to a complaint's history, in the transaction of the change it records."""
    assert step in COMPLAINT_STEPS, step
    session.add(ComplaintEvent(complaint_id=complaint_id, step=step, level=level, actor=actor, note=note, at=at))


def record_events(
    session: Session,
    complaint_ids: Select[Any] | list[int],
    step: str,
    *,
    actor: str,
    at: dt.datetime,
    note: str | None = None,
    level: int | ColumnElement[Any] | None = None,
) -> None:
    """The same step for a set of complaints (an outage's restoration, a sweep) in one INSERT ... SELECT, never a
    statement per complaint. `complaint_ids` is a list of ids or a select of them; `level` may be a column
    of `complaint` (its escalation_level after the change) to give each row its own."""
    assert step in COMPLAINT_STEPS, step
    if isinstance(complaint_ids, list) and not complaint_ids:
        return
    # A select of complaints is a query of its own, never correlated with the complaints the events are for.
    ids = complaint_ids.correlate(None) if isinstance(complaint_ids, Select) else complaint_ids
    level_value = level if isinstance(level, ColumnElement) else literal(level, SmallInteger())
    rows = (
        select(
            Complaint.id,
            literal(step, String()),
            level_value,
            literal(actor, String()),
            literal(note, Text()) if note is not None else null(),
            literal(at, UtcDateTime()),
        )
        .where(Complaint.id.in_(ids))
        .order_by(Complaint.id)
    )
    session.execute(
        insert(ComplaintEvent).from_select(["complaint_id", "step", "level", "actor", "note", "at"], rows),
        execution_options={"synchronize_session": False},
    )


def _existing(session: Session, channel: str, request_id: str | None) -> Complaint | None:
    if request_id is None:
        return None
    return session.scalar(
        select(Complaint).where(Complaint.channel == channel, Complaint.channel_request_id == request_id)
    )


def _open_complaint(session: Session, account_id: int, category: str) -> Complaint | None:
    """The account's complaint of `category` still being worked on, if any (at most one: a unique index)."""
    return session.scalar(
        select(Complaint)
        .where(
            Complaint.account_id == account_id,
            Complaint.category == category,
            Complaint.status.in_(OPEN_STATUSES),
        )
        .order_by(Complaint.id)
        .limit(1)
    )


def _acknowledged_to(session: Session, complaint: Complaint) -> tuple[str, ...]:
    """The mobiles a complaint's acknowledgement was queued for, found by their dedupe keys (exact lookups)."""
    assert complaint.number is not None
    candidates = notify.account_mobiles(session, complaint.account_id) if complaint.account_id is not None else []
    if complaint.mobile is not None and complaint.mobile not in candidates:
        candidates.append(complaint.mobile)
    if not candidates:
        return ()
    keys = {f"complaint.ack:{complaint.number}:{mobile}": mobile for mobile in candidates}
    found = set(session.scalars(select(Outbox.dedupe_key).where(Outbox.dedupe_key.in_(list(keys)))))
    return tuple(mobile for key, mobile in keys.items() if key in found)


def _receipt(session: Session, complaint: Complaint, created: bool, *, already_open: bool = False) -> ComplaintReceipt:
    assert complaint.number is not None
    outage = None
    if complaint.outage_event_id is not None and complaint.feeder_id is not None:
        outage = _linked_outage(session, complaint.outage_event_id, complaint.feeder_id)
    return ComplaintReceipt(
        complaint.number,
        created,
        complaint.category,
        complaint.sla_due_at,
        outage,
        already_open=already_open,
        acknowledged_to=() if already_open else _acknowledged_to(session, complaint),
    )


@dataclass(frozen=True)
class _Outage:
    event_id: int
    notice: InterruptionNotice


def _notice(row: Any) -> InterruptionNotice:
    return InterruptionNotice(
        kind=row.kind,
        started_at=row.started_at,
        # The event's ETR: it moves with every update, and is cleared when a consumer reopens the event.
        expected_restore_at=row.expected_restore_at,
        reason=row.reason,
        feeder_name=row.feeder_name,
    )


def _outage_columns() -> Any:
    return (
        select(
            FeederInterruption.event_id,
            FeederInterruption.kind,
            FeederInterruption.started_at,
            OutageEvent.expected_restore_at,
            FeederInterruption.reason,
            Feeder.name.label("feeder_name"),
        )
        .join(OutageEvent, OutageEvent.id == FeederInterruption.event_id)
        .join(Feeder, Feeder.id == FeederInterruption.feeder_id)
    )


def _live_outage(session: Session, feeder_id: int, at: dt.datetime) -> _Outage | None:
    """The published outage event the feeder is off under at `at`; with several, the one expected to last
    longest (as `cis.interruptions.active_interruption` tells it)."""
    row = session.execute(
        _outage_columns()
        .where(
            FeederInterruption.feeder_id == feeder_id,
            FeederInterruption.event_id.is_not(None),
            FeederInterruption.restored_at.is_(None),
            FeederInterruption.cancelled_at.is_(None),
            FeederInterruption.started_at <= at,
            OutageEvent.status == "published",
        )
        .order_by(
            case((OutageEvent.expected_restore_at.is_(None), 0), else_=1),
            OutageEvent.expected_restore_at.desc(),
            FeederInterruption.started_at.desc(),
            FeederInterruption.id.desc(),
        )
        .limit(1)
    ).first()
    return None if row is None else _Outage(int(row.event_id), _notice(row))


def _linked_outage(session: Session, event_id: int, feeder_id: int) -> InterruptionNotice | None:
    """The outage a complaint was linked to, as it stands now (for a retried request's receipt)."""
    row = session.execute(
        _outage_columns()
        .where(FeederInterruption.event_id == event_id, FeederInterruption.feeder_id == feeder_id)
        .order_by(FeederInterruption.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _notice(row)


def _ack_outage(
    number: str, account_no: str, notice: InterruptionNotice, at: dt.datetime
) -> tuple[str, dict[str, Any]]:
    """The acknowledgement of a complaint linked to an outage: with its ETR, or saying none is known yet."""
    etr = notice.expected_restore_at
    payload = {
        "number": number,
        "account_no": account_no,
        "area": notice.feeder_name[:MAX_AREA].strip() or "your area",
        "reason": OUTAGE_REASONS.get(notice.kind, "breakdown"),
    }
    if etr is None or etr <= at:  # an ETR not given, or already past, is not promised
        return "complaint.ack_outage_no_etr", payload
    return "complaint.ack_outage", payload | {"etr": etr.isoformat()}


def officer_for(session: Session, level: int, sub_division_id: int | None) -> int | None:
    """The officer who holds a complaint of the sub-division at `level` of the escalation matrix: its JE or SDO,
    the EE of its division, the SE of its circle; None when nobody active is on record there."""
    if sub_division_id is None:
        return None
    role = ESCALATION_LEVELS[min(max(level, 0), len(ESCALATION_LEVELS) - 1)]
    if role in ("je", "sdo"):
        scope_level, scope_id = "sub_division", sub_division_id
    else:
        division_id, circle_id = session.execute(
            select(SubDivision.division_id, Division.circle_id)
            .join(Division, Division.id == SubDivision.division_id)
            .where(SubDivision.id == sub_division_id)
        ).one()
        scope_level, scope_id = ("division", division_id) if role == "ee" else ("circle", circle_id)
    return session.scalar(
        select(Staff.id)
        .where(
            Staff.role == role,
            Staff.active.is_(True),
            Staff.scope_level == scope_level,
            Staff.scope_id == scope_id,
        )
        .order_by(Staff.id)
        .limit(1)
    )


def register_complaint(uow: UnitOfWork, cmd: RegisterComplaint, *, now: dt.datetime | None = None) -> ComplaintReceipt:
    """Store a complaint, commit it, and only then return its number.

    The same (channel, channel_request_id) twice gives the first complaint back, never a second one. An
    account holds one open complaint of a category: a second one gives the open one back (`already_open`,
    nothing written, no SMS), also when both arrive at once (a partial unique index decides).
    An acknowledgement SMS with the number goes into the outbox in the same transaction, to the mobile given
    when the channel proves it is the sender's (caller ID on IVR, SMS and USSD; `mobile_verified`) or it is
    registered on the account; otherwise to the account's registered mobile (unless the account opted out of
    SMS), and to nobody when there is neither. A no-supply
    complaint from a feeder off under a live published outage event is linked to that event (it is resolved
    with the restoration): it is due by the event's expected restoration when that is still ahead (else by
    the usual SLA), its receipt carries the outage, and its SMS (complaint.ack_outage) tells the cause and
    the ETR instead of the usual acknowledgement. Raises
    UnknownChannel, UnknownComplaintCategory, MissingDetails, TextTooLong, MalformedAccountNumber,
    UnknownAccount, AccountClosed or MalformedMobile on bad input, before anything is written.
    """
    if cmd.channel not in CHANNELS:
        raise UnknownChannel(cmd.channel)
    category = CATEGORIES.get(cmd.category)
    if category is None:
        raise UnknownComplaintCategory(cmd.category)
    text = (cmd.text or "").strip() or None
    if text is not None and len(text) > MAX_TEXT:
        raise TextTooLong(MAX_TEXT)
    account_no = parse_account_no(cmd.account_no) if cmd.account_no else None
    mobile = normalise_mobile(cmd.mobile) if cmd.mobile else None
    if category.needs_account and account_no is None:
        raise MissingDetails("the 10-digit account number")
    if account_no is None and (mobile is None or text is None):
        raise MissingDetails("a mobile number and where the problem is")
    at = now or audit.utcnow()

    with uow:
        session = uow.session
        found = _existing(session, cmd.channel, cmd.channel_request_id)
        if found is not None:
            return _receipt(session, found, created=False)
        account = None
        sub_division_id = feeder_id = None
        rural = False
        if account_no is not None:
            account = session.scalar(select(Account).where(Account.account_no == account_no))
            if account is None:
                raise UnknownAccount(account_no)
            if account.status == "perm_disconnected" and category.code != "billing":
                raise AccountClosed(account_no)
            already = _open_complaint(session, account.id, category.code)
            if already is not None:
                return _receipt(session, already, created=False, already_open=True)
            feeder_id, kind, sub_division_id = session.execute(
                select(Feeder.id, Feeder.kind, Substation.sub_division_id)
                .join(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
                .join(Substation, Substation.id == Feeder.substation_id)
                .where(DistributionTransformer.id == account.dt_id)
            ).one()
            rural = kind == "rural"
        hours = category.rural_sla_hours if rural else category.urban_sla_hours
        due = at + dt.timedelta(hours=hours)
        outage = None
        if category.code == "no_supply" and feeder_id is not None:
            outage = _live_outage(session, feeder_id, at)
        if outage is not None:
            etr = outage.notice.expected_restore_at
            # Nobody is sent before the promised restoration; past it (or with none given), the usual SLA runs.
            if etr is not None and etr > at:
                due = etr
        complaint = Complaint(
            account_id=account.id if account else None,
            mobile=mobile,
            category=category.code,
            channel=cmd.channel,
            channel_request_id=cmd.channel_request_id,
            text=text,
            status="open",
            escalation_level=0,
            assignee_id=officer_for(session, 0, sub_division_id),
            sub_division_id=sub_division_id,
            feeder_id=feeder_id,
            outage_event_id=outage.event_id if outage else None,
            sla_due_at=due,
            created_at=at,
        )
        account_id = account.id if account else None
        session.add(complaint)
        try:
            session.flush()
        except IntegrityError:
            # A concurrent retry of the same channel request, or another complaint of this kind on the account,
            # was committed first: answer with that complaint.
            uow.rollback()
            found = _existing(session, cmd.channel, cmd.channel_request_id)
            if found is not None:
                return _receipt(session, found, created=False)
            already = _open_complaint(session, account_id, category.code) if account_id is not None else None
            if already is None:
                raise
            return _receipt(session, already, created=False, already_open=True)
        complaint.number = complaint_no_for_id(complaint.id)
        record_event(session, complaint.id, "registered", actor=f"channel:{cmd.channel}", at=at)
        if complaint.assignee_id is not None:
            record_event(session, complaint.id, "assigned", actor=SYSTEM_ACTOR, at=at, level=0)
        if outage is not None:
            record_event(
                session, complaint.id, "linked_to_outage", actor=SYSTEM_ACTOR, at=at, note=f"outage {outage.event_id}"
            )
        audit.record(
            session,
            actor=f"channel:{cmd.channel}",
            action="complaint.registered",
            entity="complaint",
            entity_id=complaint.number,
            at=at,
            category=category.code,
            account_no=account_no,
            **({"outage_event_id": outage.event_id} if outage else {}),
        )
        template, payload = (
            "complaint.ack",
            {
                "number": complaint.number,
                "account_no": account_no or "NA",  # a hazard reported without an account
                "category": category.title,
                "due": complaint.sla_due_at.isoformat(),
            },
        )
        if outage is not None and account_no is not None:
            template, payload = _ack_outage(complaint.number, account_no, outage.notice, at)
        registered = notify.account_mobiles(session, account.id) if account is not None else []
        recipients: list[str] = []
        if mobile is not None and (cmd.channel in CALLER_ID_CHANNELS or cmd.mobile_verified or mobile in registered):
            recipients = [mobile]
        elif account is not None and not account.sms_opt_out:
            # A mobile nobody proved (a web form's field) is not told: the account's own mobile is.
            recipients = registered[:1]
        for recipient in recipients:
            notify.enqueue(
                session,
                channel="sms",
                template=template,
                recipient=recipient,
                dedupe_key=f"complaint.ack:{complaint.number}:{recipient}",
                at=at,
                account_id=complaint.account_id,
                priority=1,
                payload=payload,
            )
        uow.commit()
        return ComplaintReceipt(
            complaint.number,
            True,
            category.code,
            complaint.sla_due_at,
            outage.notice if outage else None,
            acknowledged_to=tuple(recipients),
        )


def complaint_status(uow: UnitOfWork, raw_number: str) -> ComplaintStatus:
    """Where a complaint stands; UnknownComplaint for a number that is not ours or mistyped."""
    complaint_id = complaint_id_for_no(raw_number)
    with uow:
        row = uow.session.execute(
            select(Complaint, Account.account_no)
            .outerjoin(Account, Account.id == Complaint.account_id)
            .where(Complaint.id == complaint_id)
        ).first()
        if row is None:
            raise UnknownComplaint(raw_number)
        complaint, account_no = row
        assert complaint.number is not None
        return ComplaintStatus(
            number=complaint.number,
            category=complaint.category,
            status=complaint.status,
            account_no=account_no,
            registered_at=complaint.created_at,
            sla_due_at=complaint.sla_due_at,
            escalation_level=ESCALATION_LEVELS[min(complaint.escalation_level, len(ESCALATION_LEVELS) - 1)],
            resolved_at=complaint.resolved_at,
            resolution=complaint.resolution,
        )
