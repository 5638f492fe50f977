"""Complaint use cases: register from any channel (idempotent per channel request), and status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import audit, notify
from cis.db import UnitOfWork
from cis.interruptions import InterruptionNotice
from cis.errors import (
    AccountClosed,
    MissingDetails,
    TextTooLong,
    UnknownAccount,
    UnknownChannel,
    UnknownComplaint,
    UnknownComplaintCategory,
)
from cis.models import Account, Complaint, DistributionTransformer, Feeder, Staff, Substation
from cis.numbers import complaint_id_for_no, complaint_no_for_id, parse_account_no
from cis.phones import normalise_mobile

CHANNELS = ("ivr", "sms", "ussd", "portal", "console", "app", "field")
MAX_TEXT = 1000
# The 1912 escalation matrix: a complaint not resolved within its SLA moves one level up.
ESCALATION_LEVELS = ("je", "sdo", "ee", "se")


@dataclass(frozen=True)
class Category:
    code: str
    title: str
    needs_account: bool
    urban_sla_hours: int
    rural_sla_hours: int


# SLAs follow the spirit of UPERC's Standards of Performance (fuse-off calls within hours, meter and
# billing complaints within days); a discom tunes them here.
CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("no_supply", "No supply", True, 4, 8),
        Category("voltage", "Low or fluctuating voltage", True, 24, 48),
        Category("meter", "Meter defective, burnt or stopped", True, 168, 360),
        Category("billing", "Wrong bill or bill not received", True, 168, 168),
        Category("dangerous_line", "Dangerous line, sparking or broken pole", False, 4, 8),
        Category("theft", "Electricity theft", False, 72, 72),
    )
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


@dataclass(frozen=True)
class ComplaintReceipt:
    number: str
    created: bool  # False when the same channel request had already registered it
    category: str
    sla_due_at: dt.datetime
    # A no-supply complaint on a feeder under a published outage: that outage, to tell the consumer its ETR.
    outage: InterruptionNotice | None = None


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


def _existing(session: Session, channel: str, request_id: str | None) -> Complaint | None:
    if request_id is None:
        return None
    return session.scalar(
        select(Complaint).where(Complaint.channel == channel, Complaint.channel_request_id == request_id)
    )


def _receipt(complaint: Complaint, created: bool) -> ComplaintReceipt:
    assert complaint.number is not None
    return ComplaintReceipt(complaint.number, created, complaint.category, complaint.sla_due_at)


def _assignee(session: Session, sub_division_id: int | None) -> int | None:
    """The JE of the sub-division: the first level of the escalation matrix."""
    if sub_division_id is None:
        return None
    return session.scalar(
        select(Staff.id)
        .where(
            Staff.role == "je",
            Staff.active.is_(True),
            Staff.scope_level == "sub_division",
            Staff.scope_id == sub_division_id,
        )
        .order_by(Staff.id)
        .limit(1)
    )


def register_complaint(uow: UnitOfWork, cmd: RegisterComplaint, *, now: dt.datetime | None = None) -> ComplaintReceipt:
    """Store a complaint, commit it, and only then return its number.

    The same (channel, channel_request_id) twice gives the first complaint back, never a second one.
    An acknowledgement SMS with the number goes into the outbox in the same transaction. Raises
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
            return _receipt(found, created=False)
        account = None
        sub_division_id = feeder_id = None
        rural = False
        if account_no is not None:
            account = session.scalar(select(Account).where(Account.account_no == account_no))
            if account is None:
                raise UnknownAccount(account_no)
            if account.status == "perm_disconnected" and category.code != "billing":
                raise AccountClosed(account_no)
            feeder_id, kind, sub_division_id = session.execute(
                select(Feeder.id, Feeder.kind, Substation.sub_division_id)
                .join(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
                .join(Substation, Substation.id == Feeder.substation_id)
                .where(DistributionTransformer.id == account.dt_id)
            ).one()
            rural = kind == "rural"
        hours = category.rural_sla_hours if rural else category.urban_sla_hours
        complaint = Complaint(
            account_id=account.id if account else None,
            mobile=mobile,
            category=category.code,
            channel=cmd.channel,
            channel_request_id=cmd.channel_request_id,
            text=text,
            status="open",
            escalation_level=0,
            assignee_id=_assignee(session, sub_division_id),
            sub_division_id=sub_division_id,
            feeder_id=feeder_id,
            sla_due_at=at + dt.timedelta(hours=hours),
            created_at=at,
        )
        session.add(complaint)
        try:
            session.flush()
        except IntegrityError:
            # A concurrent retry of the same channel request won the race: answer with its complaint.
            uow.rollback()
            found = _existing(session, cmd.channel, cmd.channel_request_id)
            if found is None:
                raise
            return _receipt(found, created=False)
        complaint.number = complaint_no_for_id(complaint.id)
        audit.record(
            session,
            actor=f"channel:{cmd.channel}",
            action="complaint.registered",
            entity="complaint",
            entity_id=complaint.number,
            at=at,
            category=category.code,
            account_no=account_no,
        )
        recipients = [mobile] if mobile else []
        if not recipients and account is not None and not account.sms_opt_out:
            recipients = notify.account_mobiles(session, account.id)[:1]
        for recipient in recipients:
            notify.enqueue(
                session,
                channel="sms",
                template="complaint.ack",
                recipient=recipient,
                dedupe_key=f"complaint.ack:{complaint.number}:{recipient}",
                at=at,
                account_id=complaint.account_id,
                priority=1,
                payload={
                    "number": complaint.number,
                    "account_no": account_no or "NA",  # a hazard reported without an account
                    "category": category.title,
                    "due": complaint.sla_due_at.isoformat(),
                },
            )
        uow.commit()
        return _receipt(complaint, created=True)


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
