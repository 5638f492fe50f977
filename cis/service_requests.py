"""Service requests from the portal: bill revisions (the UPPCL SOP of July 2022) and single-window applications (new
connection, load change, name change, permanent disconnection), each against its statutory time limit, with a
status history the consumer follows, a public status by number, and the officers' to-do."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import audit, notify, otp
from cis.db import UnitOfWork
from cis.documents import (
    CheckedFile,
    UnknownDocument,
    Viewer,
    add_document,
    check_file,
    discard_file,
    save_file,
)
from cis.errors import AccountClosed, CisError, UnknownAccount
from cis.models import (
    Account,
    Bill,
    DistributionTransformer,
    Document,
    Feeder,
    ServiceRequest,
    ServiceRequestEvent,
    Staff,
    SubDivision,
)
from cis.models.accounts import CATEGORIES
from cis.models.requests import AREA_CLASSES, OPEN_REQUEST_STATUSES
from cis.numbers import bill_no_for_id, request_id_for_no, request_no_for_id
from cis.phones import normalise_mobile
from cis.scopes import account_sub_division, officer_covers

TIME_LIMITS_FILE = Path(__file__).with_name("data") / "time_limits.toml"
BILL_REVISION = "bill_revision"
APPLICATION_KINDS = ("new_connection", "load_change", "name_change", "perm_disconnection")
# Why a bill is disputed, as the UPPCL web self-service asks it.
REVISION_REASONS = {
    "wrong_reading": "Wrong meter reading",
    "meter_defective": "Meter defective",
    "estimated_bill": "Estimated bill",
    "wrong_category_load": "Wrong category or load",
    "payment_not_credited": "Payment not credited",
    "other": "Other",
}
# How an application is named in its SMS ("Your application ... for {kind} is registered"): 30 characters at most.
KIND_IN_SMS = {
    "new_connection": "a new connection",
    "load_change": "a load change",
    "name_change": "a change of name",
    "perm_disconnection": "a permanent disconnection",
}
STATUS_IN_SMS = {
    "under_review": "under review",
    "approved": "approved",
    "rejected": "rejected",
    "completed": "completed",
}
# Why an officer turns a request down, as the consumer's SMS says it (30 characters at most: a DLT variable).
REJECTION_REASONS = {
    "reading_correct": "the meter reading is correct",
    "bill_correct": "the bill was found correct",
    "documents_missing": "documents were missing",
    "not_eligible": "it is not eligible",
    "duplicate": "it repeats another request",
    "dues_pending": "dues are pending",
}
# The steps an application goes through after it is filed, in order, with the status each puts it in and the words
# its SMS says ("Your request N is now <words>").
APPLICATION_STEPS = (
    ("documents_verified", "under_review", "documents verified"),
    ("site_inspected", "under_review", "site inspection done"),
    ("demand_note_issued", "approved", "demand note issued"),
    ("paid", "approved", "payment received"),
    ("released", "completed", "completed"),
)
# What the last step is called for each kind of application.
RELEASED_AS = {
    "new_connection": "connection released",
    "load_change": "new load sanctioned",
    "name_change": "name changed",
    "perm_disconnection": "connection disconnected",
}
# KESCO changes a sanctioned load online up to this; above it the consumer goes to the sub-division office.
ONLINE_LOAD_LIMIT_KW = Decimal("4")
MAX_LOAD_KW = Decimal("1000")
MAX_DESCRIPTION = 1000
MAX_NAME = 120
MAX_ADDRESS = 200
MAX_NOTE = 500
MAX_DOCUMENTS = 3
# Which status an officer may move a request to from each status; the rest are final.
TRANSITIONS = {
    "submitted": ("under_review", "approved", "rejected", "completed"),
    "under_review": ("approved", "rejected", "completed"),
    "approved": ("completed", "rejected"),
}
# Who filed a request, in its history and the audit log.
PORTAL = "channel:portal"


# --- errors ----------------------------------------------------------------------------------------------


class UnknownRequest(CisError):
    """No request with this number that the asker may see (mistyped, someone else's, or none)."""

    def __init__(self, number: object) -> None:
        super().__init__(f"No request {number} is on record.")
        self.number = number


class UnknownBillOnAccount(CisError):
    """The bill chosen is not one of this account's bills."""

    def __init__(self) -> None:
        super().__init__("Please choose one of the bills of your account.")


class BillAlreadyRevised(CisError):
    """The bill chosen was replaced by a revised one: the current version is the one to dispute."""

    def __init__(self) -> None:
        super().__init__("This bill has been revised since. Please choose the current bill for that month.")


class RevisionAlreadyOpen(CisError):
    """A revision of this bill is already being looked at: its number, not a second request."""

    def __init__(self, number: str) -> None:
        super().__init__(f"A revision of this bill is already requested: request number {number}.")
        self.number = number


class ApplicationAlreadyOpen(CisError):
    """The account already has an application of this kind being worked on."""

    def __init__(self, number: str) -> None:
        super().__init__(f"An application of this kind is already being processed: number {number}.")
        self.number = number


class InvalidRequest(CisError):
    """A field of a request that cannot be taken; `field` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class LoadChangeAtOffice(CisError):
    """A load above what may be changed online."""

    def __init__(self, limit_kw: Decimal = ONLINE_LOAD_LIMIT_KW) -> None:
        super().__init__(
            f"A load of more than {limit_kw} kW is changed at your sub-division office. Please apply there."
        )
        self.limit_kw = limit_kw


class StatusChangeNotAllowed(CisError):
    """An officer's move the request's status does not allow (it is final, or the step is not one it takes)."""

    def __init__(self, status: str, to_status: str, why: str | None = None) -> None:
        super().__init__(why or f"A request that is {status.replace('_', ' ')} cannot become {to_status}.")
        self.status = status
        self.to_status = to_status


# --- statutory time limits -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeLimit:
    kind: str
    title: str
    days: dict[str, int]
    source: str
    note: str | None = None


@dataclass(frozen=True)
class TimeLimits:
    limits: dict[str, TimeLimit]
    urban_feeder_area: str

    def due(self, kind: str, area_class: str, filed_at: dt.datetime) -> dt.datetime:
        """When a request of `kind` filed at `filed_at` in `area_class` must be done by."""
        return filed_at + dt.timedelta(days=self.limits[kind].days[area_class])


@cache
def time_limits(path: Path = TIME_LIMITS_FILE) -> TimeLimits:
    """The limits of cis/data/time_limits.toml, checked: every kind with days for every area class and a source."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    urban = data.get("urban_feeder_area")
    if urban not in AREA_CLASSES:
        raise ValueError(f"{path}: urban_feeder_area must be one of {AREA_CLASSES}")
    limits = {}
    for kind in (*APPLICATION_KINDS, BILL_REVISION):
        table: dict[str, Any] = data.get("limits", {}).get(kind) or {}
        days = {area: table.get(area) for area in AREA_CLASSES}
        if not all(isinstance(d, int) and 0 < d <= 365 for d in days.values()):
            raise ValueError(f"{path}: limits.{kind} needs whole days from 1 to 365 for each of {AREA_CLASSES}")
        if not str(table.get("source", "")).strip() or not str(table.get("title", "")).strip():
            raise ValueError(f"{path}: limits.{kind} needs its title and its source")
        limits[kind] = TimeLimit(kind, table["title"], days, table["source"], table.get("note"))  # type: ignore[arg-type]
    return TimeLimits(limits, urban)


# --- what the use cases hand back ------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestReceipt:
    number: str
    kind: str
    status: str
    due_at: dt.datetime
    sms_to_ending: str | None  # last four digits of the mobile told the number; None: no SMS could go


@dataclass(frozen=True)
class Upload:
    """A file sent with an application, and what it is meant to prove."""

    data: bytes
    name: str
    label: str  # id_proof, ownership_proof, evidence


@dataclass(frozen=True)
class Application:
    """A single-window application as a form hands it over.

    new_connection: applicant_name, mobile and the `otp_code` sent to it (`cis.otp.request_mobile_otp`),
    address, category (a tariff category), load_kw, area_class, sub_division_id, and an ID proof and an
    ownership proof among the uploads. load_change: account_id and the new load_kw (up to 4 kW online).
    name_change: account_id, the new applicant_name and a proof. perm_disconnection: account_id.
    """

    kind: str
    account_id: int | None = None
    applicant_name: str | None = None
    mobile: str | None = None
    otp_code: str | None = None
    address: str | None = None
    pin_code: str | None = None
    category: str | None = None
    load_kw: Decimal | str | None = None
    area_class: str | None = None
    sub_division_id: int | None = None
    description: str | None = None
    document_ids: tuple[int, ...] = ()
    uploads: tuple[Upload, ...] = ()


@dataclass(frozen=True)
class Step:
    status: str
    at: dt.datetime
    note: str | None = None


@dataclass(frozen=True)
class BillVersion:
    bill_id: int
    cycle: str
    version: int
    units: int
    basis: str
    amount_paise: int
    due_date: dt.date
    status: str
    issued_at: dt.datetime
    revision_reason: str | None


@dataclass(frozen=True)
class AttachedDocument:
    id: int
    name: str
    content_type: str
    label: str


@dataclass(frozen=True)
class RequestTimeline:
    """A request as its consumer (or an officer) follows it: the steps so far against the statutory due date."""

    number: str
    kind: str
    status: str
    account_no: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    due_at: dt.datetime | None
    overdue: bool
    area_class: str | None
    time_limit_days: int | None
    time_limit_source: str | None
    steps: list[Step]
    reason: str | None = None
    description: str | None = None
    documents: list[AttachedDocument] = field(default_factory=list)
    disputed_bill: BillVersion | None = None
    revised_bill: BillVersion | None = None  # set once a revised version of the disputed bill exists
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublicStatus:
    """What anyone with the number may see: nothing about the person or the premises."""

    number: str
    kind: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    due_at: dt.datetime | None
    overdue: bool
    steps: list[Step]  # statuses and times only: officers' notes may name people


@dataclass(frozen=True)
class RequestSummary:
    number: str
    kind: str
    status: str
    created_at: dt.datetime
    due_at: dt.datetime | None
    overdue: bool


@dataclass(frozen=True)
class TodoItem:
    number: str
    kind: str
    status: str
    account_no: str | None
    applicant_name: str
    sub_division_id: int | None
    created_at: dt.datetime
    due_at: dt.datetime | None
    overdue: bool


# --- bill revision ---------------------------------------------------------------------------------------


def request_bill_revision(
    uow: UnitOfWork,
    account_id: int,
    bill_id: int,
    reason: str,
    description: str,
    document_ids: Sequence[int] = (),
    *,
    now: dt.datetime | None = None,
) -> RequestReceipt:
    """Register a request to revise one of the account's bills, commit it, and return its number.

    The bill must be the account's and its current version (UnknownBillOnAccount, BillAlreadyRevised); a bill
    has one open revision request at a time (RevisionAlreadyOpen with its number, also when two arrive at once).
    The documents named must be the account's own and attached to no other request (UnknownDocument). The
    request goes to the account's sub-division (the SDO's and EE's to-do; the SDO is its assignee), is due
    within the bill-revision limit of cis/data/time_limits.toml, and starts its status history; an audit row
    and the SMS 'request.bill_revision' with the number to the account's registered mobile (unless the account
    opted out of SMS) commit with it. Raises InvalidRequest for a reason or description that cannot be taken.
    """
    if reason not in REVISION_REASONS:
        raise InvalidRequest("reason", "Please choose why the bill is wrong.")
    text = _required_text(description, "description", "Please describe what is wrong with the bill.", MAX_DESCRIPTION)
    ids = _document_ids(document_ids)
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        account = _live_account(session, account_id)
        bill = session.get(Bill, bill_id)
        if bill is None or bill.account_id != account.id:
            raise UnknownBillOnAccount()
        if bill.status == "superseded":
            raise BillAlreadyRevised()
        open_one = _open_revision(session, bill.id)
        if open_one is not None:
            raise RevisionAlreadyOpen(open_one)
        documents = _own_documents(session, account.id, ids)
        sub_division_id, area = _account_place(session, account)
        request = ServiceRequest(
            kind=BILL_REVISION,
            account_id=account.id,
            sub_division_id=sub_division_id,
            applicant_name=account.consumer.name,
            mobile=_registered_mobile(session, account),
            status="submitted",
            payload={"description": text, "cycle": bill.cycle, "bill_version": bill.version},
            assignee_id=_sdo(session, sub_division_id),
            disputed_bill_id=bill.id,
            reason=reason,
            area_class=area,
            due_at=time_limits().due(BILL_REVISION, area, at),
            created_at=at,
            updated_at=at,
        )
        session.add(request)
        try:
            session.flush()
        except IntegrityError:
            uow.rollback()
            open_one = _open_revision(session, bill_id)
            if open_one is None:
                raise
            raise RevisionAlreadyOpen(open_one) from None
        number = _numbered(session, request, at, account.account_no, bill_id=bill.id, cycle=bill.cycle, reason=reason)
        for document in documents:
            document.request_id = request.id
        if request.mobile is not None:
            notify.enqueue(
                session,
                channel="sms",
                template="request.bill_revision",
                recipient=request.mobile,
                dedupe_key=f"request.ack:{number}",
                payload={"number": number, "account_no": account.account_no, "cycle": bill.cycle},
                at=at,
                account_id=account.id,
                priority=1,
            )
        receipt = _receipt(request)
        uow.commit()
        return receipt


@dataclass(frozen=True)
class BillChoice:
    """A bill the consumer may dispute, as the revision form lists it."""

    bill_id: int
    number: str  # as printed on the bill
    cycle: str
    version: int
    units: int
    basis: str
    amount_paise: int
    due_date: dt.date
    issued_at: dt.datetime


def disputable_bills(
    uow: UnitOfWork, account_id: int, *, now: dt.datetime | None = None, months: int = 12
) -> list[BillChoice]:
    """The account's current bills (not replaced by a revision) issued in the last `months` months, newest first:
    the bills a revision may be asked for."""
    at = now or audit.utcnow()
    since = at - dt.timedelta(days=31 * months)
    with uow:
        rows = uow.session.scalars(
            select(Bill)
            .where(Bill.account_id == account_id, Bill.status != "superseded", Bill.issued_at >= since)
            .order_by(Bill.cycle.desc(), Bill.version.desc())
            .limit(months + 6)
        ).all()
        return [
            BillChoice(
                bill_id=b.id,
                number=bill_no_for_id(b.id),
                cycle=b.cycle,
                version=b.version,
                units=b.units,
                basis=b.basis,
                amount_paise=b.amount_paise,
                due_date=b.due_date,
                issued_at=b.issued_at,
            )
            for b in rows
        ]


def sanctioned_load(uow: UnitOfWork, account_id: int) -> Decimal | None:
    """The account's sanctioned load in kW (None for an unknown account), shown beside a load-change form."""
    with uow:
        load = uow.session.scalar(select(Account.sanctioned_load_kw).where(Account.id == account_id))
        return Decimal(load) if load is not None else None


def _open_revision(session: Session, bill_id: int) -> str | None:
    return session.scalar(
        select(ServiceRequest.number).where(
            ServiceRequest.disputed_bill_id == bill_id, ServiceRequest.status.in_(OPEN_REQUEST_STATUSES)
        )
    )


# --- single-window applications --------------------------------------------------------------------------


def apply(
    uow: UnitOfWork, application: Application, *, upload_dir: Path | None = None, now: dt.datetime | None = None
) -> RequestReceipt:
    """Register a single-window application, commit it, and return its number (also sent by SMS).

    Every field is checked before anything is written (InvalidRequest naming the field, LoadChangeAtOffice
    above 4 kW, the DocumentError subclasses for uploads, UnknownDocument for a document that is not the
    account's). A new connection comes from someone who is not a consumer yet: their mobile must be proven by
    the OTP sent to it (WrongOtp, NoPendingOtp), and only then is the proof spent, in the same transaction as
    the application, so one code files one application. An account holds one open application of a kind
    (ApplicationAlreadyOpen with its number). The application goes to the sub-division (the account's, or the
    one a new-connection applicant chose), is due within the statutory limit for its kind and area
    (cis/data/time_limits.toml), starts its status history, writes an audit row, and queues the SMS
    'request.application' with the number: to the proven mobile, or the account's registered one.
    Uploads are stored under random names in `upload_dir`; files of a transaction that fails are removed.
    """
    kind = application.kind
    if kind not in APPLICATION_KINDS:
        raise InvalidRequest("kind", "Please choose what you are applying for.")
    at = now or audit.utcnow()
    files = tuple(_checked_upload(upload) for upload in application.uploads)
    if len(files) + len(application.document_ids) > MAX_DOCUMENTS:
        raise InvalidRequest("documents", f"Please attach at most {MAX_DOCUMENTS} documents.")
    if files and upload_dir is None:
        raise ValueError("uploads need an upload folder")
    ids = _document_ids(application.document_ids)
    if kind == "new_connection":
        fields = _new_connection_fields(application, files)
        with uow:
            if uow.session.get(SubDivision, fields["sub_division_id"]) is None:
                raise InvalidRequest("sub_division_id", "Please choose the sub-division office for the premises.")
        # The try is counted (and committed) before the application is written; a wrong code writes nothing else.
        challenge_id = otp.check_mobile_otp(uow, fields["mobile"], application.otp_code or "", now=at)
    else:
        fields = _account_fields(application, files)
        challenge_id = None
    saved: list[str] = []
    try:
        with uow:
            session = uow.session
            if challenge_id is not None:
                receipt = _file_new_connection(session, fields, files, saved, upload_dir, at, challenge_id)
            else:
                receipt = _file_account_application(uow, session, kind, fields, files, ids, saved, upload_dir, at)
            uow.commit()
    except BaseException:
        for name in saved:
            if upload_dir is not None:
                discard_file(upload_dir, name)
        raise
    return receipt


def _checked_upload(upload: Upload) -> tuple[CheckedFile, str]:
    if upload.label not in ("id_proof", "ownership_proof", "evidence"):
        raise ValueError(f"unknown upload label {upload.label!r}")
    return check_file(upload.data, upload.name), upload.label


def _new_connection_fields(application: Application, files: tuple[tuple[CheckedFile, str], ...]) -> dict[str, Any]:
    name = _required_text(application.applicant_name, "applicant_name", "Please give the applicant's name.", MAX_NAME)
    if not application.mobile:
        raise InvalidRequest("mobile", "Please give a mobile number.")
    mobile = normalise_mobile(application.mobile)
    if not (application.otp_code or "").strip():
        raise InvalidRequest("otp_code", "Please type the OTP sent to your mobile.")
    address = _required_text(application.address, "address", "Please give the address of the premises.", MAX_ADDRESS)
    pin = (application.pin_code or "").strip() or None
    if pin is not None and not (len(pin) == 6 and pin.isascii() and pin.isdigit() and pin[0] != "0"):
        raise InvalidRequest("pin_code", "A PIN code has 6 digits.")
    if application.category not in CATEGORIES:
        raise InvalidRequest("category", "Please choose the category of supply.")
    load = _load(application.load_kw)
    if application.area_class not in AREA_CLASSES:
        raise InvalidRequest("area_class", "Please say whether the premises are in a metro city, a town or a village.")
    if application.sub_division_id is None:
        raise InvalidRequest("sub_division_id", "Please choose the sub-division office for the premises.")
    labels = {label for _, label in files}
    if "id_proof" not in labels:
        raise InvalidRequest("id_proof", "Please attach a proof of identity.")
    if "ownership_proof" not in labels:
        raise InvalidRequest("ownership_proof", "Please attach a proof of ownership or occupancy of the premises.")
    return {
        "applicant_name": name,
        "mobile": mobile,
        "address": address,
        "pin_code": pin,
        "category": application.category,
        "load_kw": load,
        "area_class": application.area_class,
        "sub_division_id": application.sub_division_id,
        "description": _optional_text(application.description, "description", MAX_DESCRIPTION),
    }


def _account_fields(application: Application, files: tuple[tuple[CheckedFile, str], ...]) -> dict[str, Any]:
    if application.account_id is None:
        raise InvalidRequest("account", "Please sign in to apply for your connection.")
    fields: dict[str, Any] = {
        "account_id": application.account_id,
        "description": _optional_text(application.description, "description", MAX_DESCRIPTION),
    }
    if application.kind == "load_change":
        load = _load(application.load_kw)
        if load > ONLINE_LOAD_LIMIT_KW:
            raise LoadChangeAtOffice()
        fields["load_kw"] = load
    elif application.kind == "name_change":
        fields["new_name"] = _required_text(
            application.applicant_name, "applicant_name", "Please give the new name for the connection.", MAX_NAME
        )
        if not files and not application.document_ids:
            raise InvalidRequest("ownership_proof", "Please attach a proof of the change (a sale deed, a will).")
    return fields


def _file_new_connection(
    session: Session,
    fields: dict[str, Any],
    files: tuple[tuple[CheckedFile, str], ...],
    saved: list[str],
    upload_dir: Path | None,
    at: dt.datetime,
    challenge_id: int,
) -> RequestReceipt:
    sub_division_id = fields["sub_division_id"]
    otp.spend_mobile_otp(session, challenge_id, at)
    request = ServiceRequest(
        kind="new_connection",
        account_id=None,
        sub_division_id=sub_division_id,
        applicant_name=fields["applicant_name"],
        mobile=fields["mobile"],
        status="submitted",
        payload={
            "address": fields["address"],
            "pin_code": fields["pin_code"],
            "category": fields["category"],
            "load_kw": str(fields["load_kw"]),
            "description": fields["description"],
            "mobile_verified": True,
        },
        assignee_id=_sdo(session, sub_division_id),
        area_class=fields["area_class"],
        due_at=time_limits().due("new_connection", fields["area_class"], at),
        created_at=at,
        updated_at=at,
    )
    session.add(request)
    session.flush()
    number = _numbered(session, request, at, None, category=fields["category"], load_kw=str(fields["load_kw"]))
    _attach_uploads(session, files, saved, upload_dir, at, request_id=request.id, account_id=None)
    _tell_application(session, request, number, at)
    return _receipt(request)


def _file_account_application(
    uow: UnitOfWork,
    session: Session,
    kind: str,
    fields: dict[str, Any],
    files: tuple[tuple[CheckedFile, str], ...],
    ids: tuple[int, ...],
    saved: list[str],
    upload_dir: Path | None,
    at: dt.datetime,
) -> RequestReceipt:
    account = _live_account(session, fields["account_id"])
    if kind == "load_change" and Decimal(account.sanctioned_load_kw) == fields["load_kw"]:
        raise InvalidRequest("load_kw", f"Your sanctioned load is already {fields['load_kw']} kW.")
    open_one = _open_application(session, account.id, kind)
    if open_one is not None:
        raise ApplicationAlreadyOpen(open_one)
    documents = _own_documents(session, account.id, ids)
    sub_division_id, area = _account_place(session, account)
    payload: dict[str, Any] = {"description": fields["description"]}
    if kind == "load_change":
        payload |= {"load_kw": str(fields["load_kw"]), "current_load_kw": str(account.sanctioned_load_kw)}
    if kind == "name_change":
        payload |= {"new_name": fields["new_name"]}
    request = ServiceRequest(
        kind=kind,
        account_id=account.id,
        sub_division_id=sub_division_id,
        applicant_name=account.consumer.name,
        mobile=_registered_mobile(session, account),
        status="submitted",
        payload=payload,
        assignee_id=_sdo(session, sub_division_id),
        area_class=area,
        due_at=time_limits().due(kind, area, at),
        created_at=at,
        updated_at=at,
    )
    session.add(request)
    try:
        session.flush()
    except IntegrityError:
        uow.rollback()
        open_one = _open_application(session, fields["account_id"], kind)
        if open_one is None:
            raise
        raise ApplicationAlreadyOpen(open_one) from None
    number = _numbered(session, request, at, account.account_no)
    for document in documents:
        document.request_id = request.id
    _attach_uploads(session, files, saved, upload_dir, at, request_id=request.id, account_id=account.id)
    _tell_application(session, request, number, at)
    return _receipt(request)


def _open_application(session: Session, account_id: int, kind: str) -> str | None:
    return session.scalar(
        select(ServiceRequest.number).where(
            ServiceRequest.account_id == account_id,
            ServiceRequest.kind == kind,
            ServiceRequest.status.in_(OPEN_REQUEST_STATUSES),
        )
    )


def _attach_uploads(
    session: Session,
    files: tuple[tuple[CheckedFile, str], ...],
    saved: list[str],
    upload_dir: Path | None,
    at: dt.datetime,
    *,
    request_id: int,
    account_id: int | None,
) -> None:
    for checked, label in files:
        assert upload_dir is not None
        storage_name = save_file(upload_dir, checked)
        saved.append(storage_name)
        add_document(
            session,
            checked,
            storage_name,
            owner_kind="account" if account_id is not None else "request",
            label=label,
            at=at,
            account_id=account_id,
            request_id=request_id,
        )


def _tell_application(session: Session, request: ServiceRequest, number: str, at: dt.datetime) -> None:
    if request.mobile is None:
        return
    notify.enqueue(
        session,
        channel="sms",
        template="request.application",
        recipient=request.mobile,
        dedupe_key=f"request.ack:{number}",
        payload={"number": number, "kind": KIND_IN_SMS[request.kind]},
        at=at,
        account_id=request.account_id,
        priority=1,
    )


# --- following a request ---------------------------------------------------------------------------------


def request_timeline(
    uow: UnitOfWork, number: str, viewer: Viewer, *, now: dt.datetime | None = None
) -> RequestTimeline:
    """A request with its full history, for the consumer whose account it is on or an officer covering it.

    Anyone else, a mistyped number and a missing request all get UnknownRequest. A bill revision carries the
    disputed bill and, once the bill was revised (`cis.billing.revise_bill`), the revised version beside it.
    A new-connection application has no account: only officers see its timeline here (its applicant follows
    the public status).
    """
    at = now or audit.utcnow()
    request_id = request_id_for_no(number)
    if request_id is None:
        raise UnknownRequest(number)
    with uow:
        session = uow.session
        request = session.get(ServiceRequest, request_id)
        if request is None or not _may_see(session, request, viewer):
            raise UnknownRequest(number)
        account_no = session.scalar(select(Account.account_no).where(Account.id == request.account_id))
        disputed = revised = None
        if request.disputed_bill_id is not None:
            disputed_bill = session.get(Bill, request.disputed_bill_id)
            disputed = _bill_version(disputed_bill) if disputed_bill is not None else None
            revised_bill = _revised_bill(session, request, disputed_bill)
            revised = _bill_version(revised_bill) if revised_bill is not None else None
        documents = [
            AttachedDocument(d.id, d.original_name, d.content_type, d.label)
            for d in session.scalars(select(Document).where(Document.request_id == request.id).order_by(Document.id))
        ]
        limit = time_limits().limits.get(request.kind)
        payload = dict(request.payload or {})
        return RequestTimeline(
            number=request.number or number,
            kind=request.kind,
            status=request.status,
            account_no=account_no,
            created_at=request.created_at,
            updated_at=request.updated_at,
            due_at=request.due_at,
            overdue=_overdue(request, at),
            area_class=request.area_class,
            time_limit_days=limit.days.get(request.area_class or "") if limit else None,
            time_limit_source=limit.source if limit else None,
            steps=_steps(session, request.id, with_notes=True),
            reason=request.reason,
            description=payload.pop("description", None),
            documents=documents,
            disputed_bill=disputed,
            revised_bill=revised,
            details={k: v for k, v in payload.items() if k not in ("seed", "mobile_verified")},
        )


def application_status(uow: UnitOfWork, number: str, *, now: dt.datetime | None = None) -> PublicStatus:
    """The public status of a single-window application by its number: kind, status, dates, due date and the
    steps taken (no notes), and nothing about the applicant or the premises. Bill revisions are not public."""
    at = now or audit.utcnow()
    request_id = request_id_for_no(number)
    if request_id is None:
        raise UnknownRequest(number)
    with uow:
        session = uow.session
        request = session.get(ServiceRequest, request_id)
        if request is None or request.kind not in APPLICATION_KINDS or request.number is None:
            raise UnknownRequest(number)
        return PublicStatus(
            number=request.number,
            kind=request.kind,
            status=request.status,
            created_at=request.created_at,
            updated_at=request.updated_at,
            due_at=request.due_at,
            overdue=_overdue(request, at),
            steps=_steps(session, request.id, with_notes=False),
        )


def my_requests(uow: UnitOfWork, account_id: int, *, now: dt.datetime | None = None) -> list[RequestSummary]:
    """The account's bill revisions and applications, newest first."""
    at = now or audit.utcnow()
    with uow:
        rows = uow.session.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.account_id == account_id, ServiceRequest.number.is_not(None))
            .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
            .limit(200)
        ).all()
        return [RequestSummary(r.number or "", r.kind, r.status, r.created_at, r.due_at, _overdue(r, at)) for r in rows]


def officer_todo(
    uow: UnitOfWork, sub_division_ids: Sequence[int] | None, *, now: dt.datetime | None = None, limit: int = 500
) -> list[TodoItem]:
    """The open requests of these sub-divisions (None: every one), the soonest due first: an SDO's or EE's to-do.

    The console passes the sub-divisions of the signed-in officer's scope (`cis.scopes.covered_sub_divisions`).
    """
    at = now or audit.utcnow()
    query = (
        select(ServiceRequest, Account.account_no)
        .outerjoin(Account, Account.id == ServiceRequest.account_id)
        .where(ServiceRequest.status.in_(OPEN_REQUEST_STATUSES), ServiceRequest.number.is_not(None))
        .order_by(ServiceRequest.due_at.is_(None), ServiceRequest.due_at, ServiceRequest.id)
        .limit(limit)
    )
    if sub_division_ids is not None:
        if not sub_division_ids:
            return []
        query = query.where(ServiceRequest.sub_division_id.in_(list(sub_division_ids)))
    with uow:
        return [
            TodoItem(
                number=r.number or "",
                kind=r.kind,
                status=r.status,
                account_no=account_no,
                applicant_name=r.applicant_name,
                sub_division_id=r.sub_division_id,
                created_at=r.created_at,
                due_at=r.due_at,
                overdue=_overdue(r, at),
            )
            for r, account_no in uow.session.execute(query)
        ]


def advance_request(
    uow: UnitOfWork,
    number: str,
    to_status: str,
    *,
    staff_id: int,
    note: str | None = None,
    now: dt.datetime | None = None,
    rejected_because: str | None = None,
) -> RequestTimeline:
    """An officer moves a request on (under review, approved, rejected, completed), with an optional note.
    A rejection with `rejected_because` (one of REJECTION_REASONS) tells the consumer that reason by SMS
    ('request.rejected'), and records it in the history.

    Only an officer whose scope covers the request's sub-division may (UnknownRequest for anyone else, as for
    a missing one); the move must be one the status allows (StatusChangeNotAllowed), and a bill revision is
    completed only once the bill was revised (`cis.billing.revise_bill`), whose version it then links. The
    status, a history step and an audit row commit together; approval, rejection and completion are told by
    SMS ('request.status') to the request's mobile (a revised bill already has its own SMS).
    """
    at = now or audit.utcnow()
    text = _optional_text(note, "note", MAX_NOTE)
    request_id = request_id_for_no(number)
    if request_id is None:
        raise UnknownRequest(number)
    with uow:
        session = uow.session
        request = session.scalars(
            select(ServiceRequest).where(ServiceRequest.id == request_id).with_for_update()
        ).one_or_none()
        staff = session.get(Staff, staff_id)
        if request is None or staff is None or not officer_covers(session, staff_id, request.sub_division_id):
            raise UnknownRequest(number)
        if to_status not in TRANSITIONS.get(request.status, ()):
            raise StatusChangeNotAllowed(request.status, to_status)
        if request.kind == BILL_REVISION and to_status == "completed":
            disputed = session.get(Bill, request.disputed_bill_id) if request.disputed_bill_id else None
            revised = _revised_bill(session, request, disputed)
            if revised is None:
                raise StatusChangeNotAllowed(
                    request.status, to_status, "Revise the bill first; a request with the bill found right is rejected."
                )
            request.revised_bill_id = revised.id
        was = request.status
        request.status = to_status
        request.updated_at = at
        actor = f"staff:{staff.username}"
        if to_status == "rejected" and rejected_because in REJECTION_REASONS:
            text = f"Not accepted: {REJECTION_REASONS[rejected_because]}." + (f" {text}" if text else "")
        session.add(ServiceRequestEvent(request_id=request.id, status=to_status, actor=actor[:60], note=text, at=at))
        audit.record(
            session,
            actor=actor,
            action="request.status",
            entity="service_request",
            entity_id=number,
            at=at,
            kind=request.kind,
            status_was=was,
            status=to_status,
            **({"revised_bill": request.revised_bill_id} if request.revised_bill_id else {}),
        )
        told = to_status in ("approved", "rejected", "completed") and not (
            request.kind == BILL_REVISION and to_status == "completed"
        )
        if told and request.mobile is not None:
            because = REJECTION_REASONS.get(rejected_because or "") if to_status == "rejected" else None
            notify.enqueue(
                session,
                channel="sms",
                template="request.rejected" if because else "request.status",
                recipient=request.mobile,
                dedupe_key=f"request.status:{number}:{to_status}",
                payload={"number": number, "status": STATUS_IN_SMS[to_status]}
                | ({"reason": because} if because else {}),
                at=at,
                account_id=request.account_id,
            )
        uow.commit()
    return request_timeline(uow, number, Viewer(staff_id=staff_id), now=at)


def sub_divisions(uow: UnitOfWork) -> list[tuple[int, str, str | None]]:
    """Every sub-division (id, name, Hindi name), for a new-connection applicant to choose their office."""
    with uow:
        return [
            (row.id, row.name, row.name_hi)
            for row in uow.session.execute(
                select(SubDivision.id, SubDivision.name, SubDivision.name_hi).order_by(SubDivision.name)
            )
        ]


# --- helpers ---------------------------------------------------------------------------------------------


def _required_text(value: str | None, field_name: str, message: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidRequest(field_name, message)
    if len(text) > limit:
        raise InvalidRequest(field_name, f"Please keep this within {limit} characters.")
    return text


def _optional_text(value: str | None, field_name: str, limit: int) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidRequest(field_name, f"Please keep this within {limit} characters.")
    return text or None


def _load(raw: Decimal | str | None) -> Decimal:
    try:
        load = Decimal(str(raw).strip()) if raw is not None and str(raw).strip() else None
    except InvalidOperation:
        load = None
    if load is None or not load.is_finite() or load <= 0 or load > MAX_LOAD_KW or load != round(load, 2):
        raise InvalidRequest("load_kw", f"Please give the load in kW, more than 0 and at most {MAX_LOAD_KW}.")
    return load.quantize(Decimal("0.01"))


def _document_ids(raw: Sequence[int]) -> tuple[int, ...]:
    ids = tuple(dict.fromkeys(int(i) for i in raw))
    if len(ids) > MAX_DOCUMENTS:
        raise InvalidRequest("documents", f"Please attach at most {MAX_DOCUMENTS} documents.")
    return ids


def _live_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise UnknownAccount(str(account_id))
    if account.status == "perm_disconnected":
        raise AccountClosed(account.account_no)
    return account


def _own_documents(session: Session, account_id: int, ids: tuple[int, ...]) -> list[Document]:
    documents = []
    for document_id in ids:
        document = session.get(Document, document_id)
        if document is None or document.account_id != account_id or document.request_id is not None:
            raise UnknownDocument(document_id)
        documents.append(document)
    return documents


def _account_place(session: Session, account: Account) -> tuple[int | None, str]:
    """The account's sub-division and its area class (from its feeder: rural, or the discom's urban class)."""
    kind = session.scalar(
        select(Feeder.kind)
        .join(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
        .where(DistributionTransformer.id == account.dt_id)
    )
    area = "rural" if kind == "rural" else time_limits().urban_feeder_area
    return account_sub_division(session, account.id), area


def _registered_mobile(session: Session, account: Account) -> str | None:
    """Where the account's acknowledgements go: its first registered mobile (verified first), unless it opted out."""
    if account.sms_opt_out:
        return None
    return next(iter(notify.account_mobiles(session, account.id)), None)


def _sdo(session: Session, sub_division_id: int | None) -> int | None:
    if sub_division_id is None:
        return None
    return session.scalar(
        select(Staff.id)
        .where(
            Staff.role == "sdo",
            Staff.active.is_(True),
            Staff.scope_level == "sub_division",
            Staff.scope_id == sub_division_id,
        )
        .order_by(Staff.id)
        .limit(1)
    )


def _numbered(session: Session, request: ServiceRequest, at: dt.datetime, account_no: str | None, **detail: Any) -> str:
    """Give the flushed request its number, its first history step and its audit row."""
    number = request_no_for_id(request.id)
    request.number = number
    session.add(ServiceRequestEvent(request_id=request.id, status="submitted", actor=PORTAL, note=None, at=at))
    audit.record(
        session,
        actor=PORTAL,
        action="request.registered",
        entity="service_request",
        entity_id=number,
        at=at,
        kind=request.kind,
        account_no=account_no,
        sub_division_id=request.sub_division_id,
        due_at=request.due_at.isoformat() if request.due_at else None,
        **detail,
    )
    return number


def _receipt(request: ServiceRequest) -> RequestReceipt:
    assert request.number is not None
    assert request.due_at is not None
    ending = request.mobile[-4:] if request.mobile else None
    return RequestReceipt(request.number, request.kind, request.status, request.due_at, ending)


def _may_see(session: Session, request: ServiceRequest, viewer: Viewer) -> bool:
    if viewer.account_id is not None and request.account_id is not None and viewer.account_id == request.account_id:
        return True
    return viewer.staff_id is not None and officer_covers(session, viewer.staff_id, request.sub_division_id)


def _overdue(request: ServiceRequest, at: dt.datetime) -> bool:
    return request.status in OPEN_REQUEST_STATUSES and request.due_at is not None and at > request.due_at


def _steps(session: Session, request_id: int, *, with_notes: bool) -> list[Step]:
    rows = session.execute(
        select(ServiceRequestEvent.status, ServiceRequestEvent.at, ServiceRequestEvent.note)
        .where(ServiceRequestEvent.request_id == request_id)
        .order_by(ServiceRequestEvent.at, ServiceRequestEvent.id)
    )
    return [Step(status, at, note if with_notes else None) for status, at, note in rows]


def _revised_bill(session: Session, request: ServiceRequest, disputed: Bill | None) -> Bill | None:
    """The bill that replaced the disputed one: the one linked at completion, else the newest later version of
    the same account and month."""
    if request.revised_bill_id is not None:
        return session.get(Bill, request.revised_bill_id)
    if disputed is None:
        return None
    return session.scalars(
        select(Bill)
        .where(Bill.account_id == disputed.account_id, Bill.cycle == disputed.cycle, Bill.version > disputed.version)
        .order_by(Bill.version.desc())
        .limit(1)
    ).first()


def _bill_version(bill: Bill) -> BillVersion:
    return BillVersion(
        bill_id=bill.id,
        cycle=bill.cycle,
        version=bill.version,
        units=bill.units,
        basis=bill.basis,
        amount_paise=bill.amount_paise,
        due_date=bill.due_date,
        status=bill.status,
        issued_at=bill.issued_at,
        revision_reason=bill.revision_reason,
    )


# --- the officers' decisions ---------------------------------------------------------------------------------------


class StepOutOfOrder(CisError):
    """An application's steps go in order: this one is not the next."""

    def __init__(self, number: str, expected: str | None) -> None:
        super().__init__(
            f"Application {number} is not at that step: the next one is {expected.replace('_', ' ')}."
            if expected
            else f"Application {number} has been through every step."
        )
        self.expected = expected


def next_application_step(request_payload: dict[str, Any] | None) -> str | None:
    """The step an application goes to next (None: released already)."""
    done = (request_payload or {}).get("step")
    codes = [code for code, _, _ in APPLICATION_STEPS]
    if done not in codes:
        return codes[0]
    at = codes.index(done) + 1
    return codes[at] if at < len(codes) else None


def approve_revision(
    uow: UnitOfWork,
    number: str,
    *,
    staff_id: int,
    reason: str,
    units: int | None = None,
    current_kwh: int | None = None,
    now: dt.datetime | None = None,
) -> RequestTimeline:
    """An officer covering the request approves a bill revision: the disputed bill is revised
    (`cis.billing.revise_bill`: a new version with the corrected units or reading, the consumer told the new
    amount by SMS) and the request completed with the revised version linked, so the portal shows both. A request
    whose bill was already revised (a retry) is only completed. Raises UnknownRequest (not theirs, none, not a
    bill revision), StatusChangeNotAllowed (already decided), and the billing errors of a wrong correction."""
    from cis.billing import revise_bill

    at = now or audit.utcnow()
    request_id = request_id_for_no(number)
    if request_id is None:
        raise UnknownRequest(number)
    with uow:
        session = uow.session
        request = session.get(ServiceRequest, request_id)
        staff = session.get(Staff, staff_id)
        if (
            request is None
            or staff is None
            or request.kind != BILL_REVISION
            or not officer_covers(session, staff_id, request.sub_division_id)
        ):
            raise UnknownRequest(number)
        if request.status not in OPEN_REQUEST_STATUSES:
            raise StatusChangeNotAllowed(request.status, "completed")
        disputed = session.get(Bill, request.disputed_bill_id) if request.disputed_bill_id else None
        if disputed is None:
            raise UnknownRequest(number)
        already = _revised_bill(session, request, disputed) is not None
        account_no = session.scalar(select(Account.account_no).where(Account.id == request.account_id))
        cycle, username = disputed.cycle, staff.username
    if not already and account_no is not None:
        revise_bill(
            uow,
            account_no,
            cycle,
            reason=f"Bill revision request {number}: {reason}",
            actor=f"staff:{username}",
            units=units,
            current_kwh=current_kwh,
            now=at,
            on_request=True,
        )
    return advance_request(uow, number, "completed", staff_id=staff_id, note=reason, now=at)


def advance_application(
    uow: UnitOfWork, number: str, step: str, *, staff_id: int, note: str | None = None, now: dt.datetime | None = None
) -> RequestTimeline:
    """An officer covering an application moves it to its next step (documents verified, site inspected, demand
    note issued, paid, released): its status follows (under review, approved, completed), the step and note go
    into its history with an audit row, and the applicant is told by SMS at each step. Raises UnknownRequest,
    StepOutOfOrder (not the next step), StatusChangeNotAllowed (already rejected or completed)."""
    at = now or audit.utcnow()
    text = _optional_text(note, "note", MAX_NOTE)
    request_id = request_id_for_no(number)
    if request_id is None:
        raise UnknownRequest(number)
    steps = {code: (status, words) for code, status, words in APPLICATION_STEPS}
    with uow:
        session = uow.session
        request = session.scalars(
            select(ServiceRequest).where(ServiceRequest.id == request_id).with_for_update()
        ).one_or_none()
        staff = session.get(Staff, staff_id)
        if (
            request is None
            or staff is None
            or request.kind not in APPLICATION_KINDS
            or not officer_covers(session, staff_id, request.sub_division_id)
        ):
            raise UnknownRequest(number)
        if request.status not in OPEN_REQUEST_STATUSES:
            raise StatusChangeNotAllowed(request.status, step)
        expected = next_application_step(request.payload)
        if step != expected:
            raise StepOutOfOrder(number, expected)
        status, words = steps[step]
        if step == "released":
            words = RELEASED_AS.get(request.kind, words)
        was = request.status
        request.payload = {**(request.payload or {}), "step": step}
        request.status = status
        request.updated_at = at
        actor = f"staff:{staff.username}"
        session.add(
            ServiceRequestEvent(
                request_id=request.id,
                status=status,
                actor=actor[:60],
                note=words[:1].upper() + words[1:] + "." + (f" {text}" if text else ""),
                at=at,
            )
        )
        audit.record(
            session,
            actor=actor,
            action="request.step",
            entity="service_request",
            entity_id=number,
            at=at,
            kind=request.kind,
            step=step,
            status_was=was,
            status=status,
        )
        if request.mobile is not None:
            notify.enqueue(
                session,
                channel="sms",
                template="request.status",
                recipient=request.mobile,
                dedupe_key=f"request.step:{number}:{step}",
                payload={"number": number, "status": words},
                at=at,
                account_id=request.account_id,
            )
        uow.commit()
    return request_timeline(uow, number, Viewer(staff_id=staff_id), now=at)
