"""The 1912 console's view of consumers: find them by account, mobile, name (English or Hindi), complaint or
request number, and everything about one account on one page (the consumer 360), with notes the office keeps.

What a staff member may see is decided here: agents and discom-wide staff see every account; an officer sees the
accounts of the sub-divisions their scope covers, and any other account is answered as one nobody has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from cis import audit
from cis.bill_explain import BillExplanation, explain_bill
from cis.db import UnitOfWork
from cis.errors import CisError, MalformedAccountNumber, MissingDetails, TextTooLong, UnknownAccount, UnknownComplaint
from cis.feeder_supply import FeederSupply, supply_on_feeder
from cis.models import (
    Account,
    AccountMobile,
    AccountNote,
    Bill,
    Circle,
    Complaint,
    ComplaintEvent,
    Consumer,
    DistributionTransformer,
    Division,
    Feeder,
    IvrCall,
    Outbox,
    Payment,
    ServiceRequest,
    Staff,
    SubDivision,
    Substation,
    Zone,
)
from cis.numbers import complaint_id_for_no, parse_account_no, request_id_for_no
from cis.phones import mobile_or_none
from cis.scopes import covered_sub_divisions

MAX_HITS = 25
MIN_NAME = 2
MAX_QUERY = 80
MAX_NOTE = 1000
LISTED = 10  # complaints, requests, calls and payments on the page
SMS_LISTED = 15


class QueryTooShort(CisError):
    """A name search needs a few letters, or a number."""

    def __init__(self) -> None:
        super().__init__(
            "Type an account number, a mobile, a complaint or request number, "
            f"or at least {MIN_NAME} letters of a name."
        )


@dataclass(frozen=True)
class Hit:
    account_no: str
    name: str
    name_hi: str | None
    address: str
    status: str
    matched: str  # account | mobile | name | complaint | request


@dataclass(frozen=True)
class Network:
    zone: str
    circle: str
    division: str
    sub_division: str
    sub_division_id: int
    substation: str
    feeder: str
    feeder_kind: str
    dt: str


@dataclass(frozen=True)
class SentSms:
    id: int
    template: str
    recipient: str
    payload: dict[str, Any]
    status: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class Call:
    channel: str
    caller: str
    started_at: dt.datetime
    duration_s: int | None
    path: tuple[str, ...]
    outcome: str | None


@dataclass(frozen=True)
class ComplaintLine:
    number: str
    category: str
    status: str
    level: int
    channel: str
    created_at: dt.datetime
    sla_due_at: dt.datetime
    steps: tuple[tuple[str, dt.datetime, str, str | None], ...]  # step, at, actor, note


@dataclass(frozen=True)
class RequestLine:
    number: str
    kind: str
    status: str
    created_at: dt.datetime
    due_at: dt.datetime | None


@dataclass(frozen=True)
class Note:
    text: str
    by: str
    at: dt.datetime


@dataclass(frozen=True)
class Consumer360:
    account_id: int
    account_no: str
    name: str
    name_hi: str | None
    address: str
    category: str
    load_kw: str
    status: str
    alert_channel: str
    sms_opt_out: bool
    mobiles: tuple[tuple[str, bool], ...]  # e164, verified
    network: Network
    other_accounts: tuple[tuple[str, str], ...]  # account no, name: the others on the same mobiles
    bill: BillExplanation | None
    payments: tuple[tuple[int, str, str, dt.datetime | None], ...]  # paise, channel, status, paid at
    complaints: tuple[ComplaintLine, ...]
    requests: tuple[RequestLine, ...]
    supply: FeederSupply
    calls: tuple[Call, ...]
    sms: tuple[SentSms, ...]
    notes: tuple[Note, ...]
    compensation: tuple[Any, ...] = ()  # cis.compensation.Entitlement, newest first


def _covered(session: Session, staff_id: int) -> list[int] | None:
    """The sub-divisions the staff member may see consumers of (None: all). Agents and discom-wide staff: all."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        return []
    return covered_sub_divisions(session, staff.scope_level, staff.scope_id)


def _account_place() -> Any:
    return (
        select(Account.id)
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
        .join(Substation, Substation.id == Feeder.substation_id)
    )


def search(uow: UnitOfWork, raw: str, *, staff_id: int) -> list[Hit]:
    """The accounts `raw` names: a 10-digit account number, a mobile in any format, a complaint or request
    number, or the start of a consumer's name in English or Hindi (a prefix, case-insensitive; at most 25, in
    name order). A number may be several things at once: every reading of it is tried. Only accounts the staff
    member may see are returned. Raises QueryTooShort."""
    text = " ".join((raw or "").split())[:MAX_QUERY]
    compact = text.replace(" ", "").replace("-", "")
    with uow.reading():
        session = uow.session
        covered = _covered(session, staff_id)
        found: list[tuple[int, str]] = []
        if compact.lstrip("+").isdigit():
            found += _by_number(session, compact)
        elif len(text) >= MIN_NAME:
            found_ids = _by_name(session, text, MAX_HITS * 4 if covered is not None else MAX_HITS)
            found += [(i, "name") for i in found_ids]
        else:
            raise QueryTooShort()
        return _hits(session, found, covered)


def _by_name(session: Session, text: str, limit: int) -> list[int]:
    """Accounts of consumers whose name starts with `text`: the Hindi name when it is written in Devanagari, else
    the English one without regard to case. On PostgreSQL the comparison and the order are in the "C" collation
    of the name indexes, so the index gives the rows in order and the scan stops at `limit`."""
    hindi = any("\u0900" <= ch <= "\u097f" for ch in text)
    column = Consumer.name_hi if hindi else func.lower(Consumer.name)
    key = text if hindi else text.lower()
    if session.get_bind().dialect.name == "postgresql":
        column = column.collate("C")
    return list(
        session.scalars(
            select(Account.id)
            .join(Consumer, Consumer.id == Account.consumer_id)
            .where(column.like(_prefix(key), escape="\\"))
            .order_by(column, Account.id)
            .limit(limit)
        )
    )


def _prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _by_number(session: Session, compact: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    try:
        account_no = parse_account_no(compact)
    except MalformedAccountNumber:
        account_no = None
    if account_no is not None:
        found += [(i, "account") for i in session.scalars(select(Account.id).where(Account.account_no == account_no))]
    mobile = mobile_or_none(compact)
    if mobile is not None:
        ids = session.scalars(select(AccountMobile.account_id).where(AccountMobile.e164 == mobile).limit(MAX_HITS))
        found += [(i, "mobile") for i in ids]
    try:
        complaint_id: int | None = complaint_id_for_no(compact)
    except UnknownComplaint:
        complaint_id = None
    if complaint_id is not None:
        ids = session.scalars(select(Complaint.account_id).where(Complaint.id == complaint_id))
        found += [(i, "complaint") for i in ids if i is not None]
    request_id = request_id_for_no(compact)
    if request_id is not None:
        ids = session.scalars(select(ServiceRequest.account_id).where(ServiceRequest.id == request_id))
        found += [(i, "request") for i in ids if i is not None]
    return found


def _hits(session: Session, found: Sequence[tuple[int, str]], covered: list[int] | None) -> list[Hit]:
    matched: dict[int, str] = {}
    for account_id, how in found:
        matched.setdefault(account_id, how)
    if not matched:
        return []
    query = (
        select(Account.id, Account.account_no, Consumer.name, Consumer.name_hi, Account.address, Account.status)
        .join(Consumer, Consumer.id == Account.consumer_id)
        .where(Account.id.in_(list(matched)))
    )
    if covered is not None:
        query = query.where(Account.id.in_(_account_place().where(Substation.sub_division_id.in_(covered or [-1]))))
    rows = {r.id: r for r in session.execute(query)}
    return [
        Hit(r.account_no, r.name, r.name_hi, r.address, r.status, matched[i])
        for i in matched
        if (r := rows.get(i)) is not None
    ][:MAX_HITS]


def consumer_360(uow: UnitOfWork, raw_account_no: str, *, staff_id: int, now: dt.datetime | None = None) -> Consumer360:
    """Everything the console shows about one account: the consumer and their mobiles, the network position,
    the other accounts on those mobiles, the latest bill explained, payments, complaints with their history,
    requests, the supply on the feeder now, the consumer's recent IVR calls (path and outcome) and SMS (with
    delivery status), and the office's notes. UnknownAccount for an account the staff member may not see."""
    at = now or audit.utcnow()
    account_no = parse_account_no(raw_account_no)
    with uow.reading():
        session = uow.session
        covered = _covered(session, staff_id)
        row = session.execute(
            select(
                Account,
                Consumer.name,
                Consumer.name_hi,
                Zone.name.label("zone"),
                Circle.name.label("circle"),
                Division.name.label("division"),
                SubDivision.name.label("sub_division"),
                SubDivision.id.label("sub_division_id"),
                Substation.name.label("substation"),
                Feeder.name.label("feeder"),
                Feeder.kind.label("feeder_kind"),
                DistributionTransformer.name.label("dt"),
            )
            .join(Consumer, Consumer.id == Account.consumer_id)
            .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
            .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
            .join(Substation, Substation.id == Feeder.substation_id)
            .join(SubDivision, SubDivision.id == Substation.sub_division_id)
            .join(Division, Division.id == SubDivision.division_id)
            .join(Circle, Circle.id == Division.circle_id)
            .join(Zone, Zone.id == Circle.zone_id)
            .where(Account.account_no == account_no)
        ).first()
        if row is None or (covered is not None and row.sub_division_id not in covered):
            raise UnknownAccount(account_no)
        account: Account = row[0]
        mobiles = tuple(
            (e164, verified)
            for e164, verified in session.execute(
                select(AccountMobile.e164, AccountMobile.verified)
                .where(AccountMobile.account_id == account.id)
                .order_by(AccountMobile.verified.desc(), AccountMobile.id)
            )
        )
        numbers = [m for m, _ in mobiles]
        others: tuple[tuple[str, str], ...] = ()
        if numbers:
            others = tuple(
                (a, n)
                for a, n in session.execute(
                    select(Account.account_no, Consumer.name)
                    .join(Consumer, Consumer.id == Account.consumer_id)
                    .where(
                        Account.id.in_(select(AccountMobile.account_id).where(AccountMobile.e164.in_(numbers))),
                        Account.id != account.id,
                    )
                    .order_by(Account.account_no)
                    .limit(MAX_HITS)
                )
            )
        payments = tuple(
            (p.amount_paise, p.channel, p.status, p.paid_at)
            for p in session.scalars(
                select(Payment).where(Payment.account_id == account.id).order_by(Payment.id.desc()).limit(LISTED)
            )
        )
        complaint_rows = list(
            session.scalars(
                select(Complaint).where(Complaint.account_id == account.id).order_by(Complaint.id.desc()).limit(LISTED)
            )
        )
        steps: dict[int, list[tuple[str, dt.datetime, str, str | None]]] = {c.id: [] for c in complaint_rows}
        if complaint_rows:
            for e in session.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.complaint_id.in_(list(steps)))
                .order_by(ComplaintEvent.at, ComplaintEvent.id)
            ):
                steps[e.complaint_id].append((e.step, e.at, e.actor, e.note))
        complaints = tuple(
            ComplaintLine(
                c.number or "",
                c.category,
                c.status,
                c.escalation_level,
                c.channel,
                c.created_at,
                c.sla_due_at,
                tuple(steps[c.id]),
            )
            for c in complaint_rows
        )
        requests = tuple(
            RequestLine(r.number or "", r.kind, r.status, r.created_at, r.due_at)
            for r in session.scalars(
                select(ServiceRequest)
                .where(ServiceRequest.account_id == account.id, ServiceRequest.number.is_not(None))
                .order_by(ServiceRequest.id.desc())
                .limit(LISTED)
            )
        )
        by_account = select(IvrCall.id).where(IvrCall.account_id == account.id)
        calls_ids = by_account
        if numbers:
            calls_ids = union_all(by_account, select(IvrCall.id).where(IvrCall.caller.in_(numbers)))  # type: ignore[assignment]
        calls = tuple(
            Call(c.channel, c.caller, c.started_at, c.duration_s, tuple(c.path or ()), c.outcome)
            for c in session.scalars(
                select(IvrCall)
                .where(IvrCall.id.in_(calls_ids), IvrCall.direction == "inbound")
                .order_by(IvrCall.started_at.desc())
                .limit(LISTED)
            )
        )
        sms = tuple(
            SentSms(o.id, o.template, o.recipient, dict(o.payload or {}), o.status, o.created_at, o.delivered_at)
            for o in session.scalars(
                select(Outbox)
                .where(Outbox.account_id == account.id, Outbox.channel == "sms")
                .order_by(Outbox.id.desc())
                .limit(SMS_LISTED)
            )
        )
        notes = tuple(
            Note(n.text, username, n.at)
            for n, username in session.execute(
                select(AccountNote, Staff.username)
                .join(Staff, Staff.id == AccountNote.staff_id)
                .where(AccountNote.account_id == account.id)
                .order_by(AccountNote.at.desc())
                .limit(LISTED)
            )
        )
        from cis.compensation import _entitlements

        owed = tuple(_entitlements(session, account.id))
        view = dict(
            compensation=owed,
            account_id=account.id,
            account_no=account.account_no,
            name=row.name,
            name_hi=row.name_hi,
            address=account.address,
            category=account.category,
            load_kw=str(account.sanctioned_load_kw),
            status=account.status,
            alert_channel=account.alert_channel,
            sms_opt_out=account.sms_opt_out,
            mobiles=mobiles,
            network=Network(
                row.zone,
                row.circle,
                row.division,
                row.sub_division,
                row.sub_division_id,
                row.substation,
                row.feeder,
                row.feeder_kind,
                row.dt,
            ),
            other_accounts=others,
            payments=payments,
            complaints=complaints,
            requests=requests,
            calls=calls,
            sms=sms,
            notes=notes,
        )
    bill = explain_bill(uow, account_no)
    supply = supply_on_feeder(uow, int(view["account_id"]), now=at)
    return Consumer360(bill=bill, supply=supply, **view)  # type: ignore[arg-type]


def _visible_account(session: Session, account_no: str, staff_id: int) -> int:
    """The id of the account if the staff member may see it (agents: any; officers: their area's), else
    UnknownAccount, as for an account nobody has."""
    covered = _covered(session, staff_id)
    query = select(Account.id).where(Account.account_no == account_no)
    if covered is not None:
        query = query.where(Account.id.in_(_account_place().where(Substation.sub_division_id.in_(covered or [-1]))))
    account_id = session.scalar(query)
    if account_id is None:
        raise UnknownAccount(account_no)
    return int(account_id)


def add_note(uow: UnitOfWork, raw_account_no: str, text: str, *, staff_id: int, now: dt.datetime | None = None) -> None:
    """Keep a staff member's remark on an account (shown on its 360 to everyone who may see it). Raises
    UnknownAccount (also for one the staff member may not see), MissingDetails, TextTooLong."""
    words = " ".join((text or "").split())
    if not words:
        raise MissingDetails("the note")
    if len(words) > MAX_NOTE:
        raise TextTooLong(MAX_NOTE)
    at = now or audit.utcnow()
    account_no = parse_account_no(raw_account_no)
    with uow:
        session = uow.session
        account_id = _visible_account(session, account_no, staff_id)
        session.add(AccountNote(account_id=account_id, staff_id=staff_id, text=words, at=at))
        uow.commit()


class NoBill(CisError):
    """The account has no bill to send."""

    def __init__(self, account_no: str) -> None:
        super().__init__(f"Account {account_no} has no bill yet.")


def resend_bill_sms(
    uow: UnitOfWork, raw_account_no: str, *, staff_id: int, request_id: str, now: dt.datetime | None = None
) -> str:
    """Send the latest bill's SMS ("bill.issued": units, amount, due date) again to the account's first mobile, at
    the caller's request (so also to an account that opted out of alerts); the same request twice sends one SMS.
    Returns the mobile, masked. Raises UnknownAccount (also one the staff member may not see), NoBill,
    NoMobileForAccount."""
    from cis import notify
    from cis.errors import NoMobileForAccount
    from cis.phones import mask_mobile

    at = now or audit.utcnow()
    account_no = parse_account_no(raw_account_no)
    with uow:
        session = uow.session
        account_id = _visible_account(session, account_no, staff_id)
        bill = session.scalars(
            select(Bill)
            .where(Bill.account_id == account_id, Bill.status != "superseded")
            .order_by(Bill.cycle.desc(), Bill.version.desc())
            .limit(1)
        ).first()
        if bill is None:
            raise NoBill(account_no)
        mobile = next(iter(notify.account_mobiles(session, account_id)), None)
        if mobile is None:
            raise NoMobileForAccount(account_no)
        notify.enqueue(
            session,
            channel="sms",
            template="bill.issued",
            recipient=mobile,
            dedupe_key=f"bill.issued:resend:{account_id}:{request_id[:100]}",
            payload={
                "account_no": account_no,
                "cycle": bill.cycle,
                "amount_paise": bill.amount_paise,
                "due": bill.due_date.isoformat(),
                "units": bill.units,
            },
            at=at,
            account_id=account_id,
            priority=1,
        )
        audit.record(
            session, actor=f"staff:{staff_id}", action="sms.bill_resent", entity="account", entity_id=account_no, at=at
        )
        uow.commit()
        return mask_mobile(mobile)
