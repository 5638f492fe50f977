"""Anonymous theft reports for the vigilance wing's queue, and feedback from anyone on the service."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from cis import audit
from cis.db import UnitOfWork
from cis.documents import CheckedFile, add_document, check_file, discard_file, save_file
from cis.errors import CisError
from cis.models import Account, Feedback, SubDivision, TheftReport
from cis.models.vigilance import THEFT_STATUSES
from cis.numbers import theft_ref_for_id

MAX_LOCALITY = 120
MAX_LANDMARK = 120
MAX_DESCRIPTION = 1000
MAX_FEEDBACK = 1000
RATINGS = range(1, 6)


class InvalidReport(CisError):
    """A field of a theft report or of feedback that cannot be taken; `field` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TheftTip:
    """What someone saw, as the form hands it over; the photo is optional and checked like any upload."""

    locality: str
    description: str
    landmark: str | None = None
    sub_division_id: int | None = None
    photo: bytes | None = None
    photo_name: str | None = None


@dataclass(frozen=True)
class TheftReceipt:
    reference: str
    created_at: dt.datetime


@dataclass(frozen=True)
class QueuedReport:
    reference: str
    locality: str
    landmark: str | None
    description: str
    sub_division_id: int | None
    document_id: int | None
    status: str
    created_at: dt.datetime


def reporter_hash(address: str, key: bytes) -> str:
    """A keyed SHA-256 of the reporting address: equal for one source, unreadable without the key."""
    return hmac.new(key, address.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def report_theft(
    uow: UnitOfWork,
    tip: TheftTip,
    *,
    reporter_address: str | None,
    address_key: bytes,
    upload_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> TheftReceipt:
    """File an anonymous theft report and return its reference number; it waits in the vigilance queue.

    Nothing that names the reporter is kept: only a keyed hash of the address it came from, so that many
    reports from one source can be told apart from many sources. The photo, when given, is checked by its
    content and stored like any document (InvalidReport and the DocumentError subclasses otherwise); only the
    officers covering the named sub-division (or discom-wide ones, when none was named) may open it.
    How often one address may report is the web edge's rate limit.
    """
    locality = _text(tip.locality, "locality", MAX_LOCALITY, "Please say in which locality you saw it.")
    description = _text(tip.description, "description", MAX_DESCRIPTION, "Please describe what you saw.")
    landmark = _text(tip.landmark, "landmark", MAX_LANDMARK, None)
    checked: CheckedFile | None = check_file(tip.photo, tip.photo_name) if tip.photo else None
    if checked is not None and upload_dir is None:
        raise ValueError("a photo needs an upload folder")
    at = now or audit.utcnow()
    storage_name = save_file(upload_dir, checked) if checked is not None and upload_dir is not None else None
    try:
        with uow:
            session = uow.session
            if tip.sub_division_id is not None and session.get(SubDivision, tip.sub_division_id) is None:
                raise InvalidReport("sub_division_id", "Please choose a sub-division from the list.")
            document_id = None
            if checked is not None and storage_name is not None:
                document_id = add_document(session, checked, storage_name, owner_kind="theft", label="photo", at=at).id
            report = TheftReport(
                locality=locality,
                landmark=landmark,
                description=description,
                sub_division_id=tip.sub_division_id,
                document_id=document_id,
                reporter_hash=reporter_hash(reporter_address, address_key) if reporter_address else None,
                status="new",
                created_at=at,
                updated_at=at,
            )
            session.add(report)
            session.flush()
            reference = theft_ref_for_id(report.id)
            report.reference = reference
            audit.record(
                session,
                actor="channel:portal",
                action="theft.reported",
                entity="theft_report",
                entity_id=reference,
                at=at,
                sub_division_id=tip.sub_division_id,
                photo=document_id is not None,
            )
            uow.commit()
    except BaseException:
        if storage_name is not None and upload_dir is not None:
            discard_file(upload_dir, storage_name)
        raise
    return TheftReceipt(reference, at)


def vigilance_queue(
    uow: UnitOfWork,
    sub_division_ids: Sequence[int] | None,
    *,
    statuses: Sequence[str] = ("new", "investigating"),
    limit: int = 500,
) -> list[QueuedReport]:
    """Theft reports waiting for the vigilance wing, oldest first: those of these sub-divisions and those that
    named none (None: every report). The console passes the signed-in officer's sub-divisions."""
    unknown = set(statuses) - set(THEFT_STATUSES)
    if unknown:
        raise ValueError(f"unknown theft report statuses {sorted(unknown)}")
    query = select(TheftReport).where(TheftReport.status.in_(list(statuses)), TheftReport.reference.is_not(None))
    if sub_division_ids is not None:
        query = query.where(
            TheftReport.sub_division_id.in_(list(sub_division_ids)) | TheftReport.sub_division_id.is_(None)
        )
    with uow:
        return [
            QueuedReport(
                reference=r.reference or "",
                locality=r.locality,
                landmark=r.landmark,
                description=r.description,
                sub_division_id=r.sub_division_id,
                document_id=r.document_id,
                status=r.status,
                created_at=r.created_at,
            )
            for r in uow.session.scalars(query.order_by(TheftReport.created_at, TheftReport.id).limit(limit))
        ]


def give_feedback(
    uow: UnitOfWork,
    rating: int,
    text: str | None = None,
    *,
    account_id: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Keep a rating from 1 to 5 and an optional comment (from a signed-in consumer: with their account)."""
    if isinstance(rating, bool) or rating not in RATINGS:
        raise InvalidReport("rating", "Please choose a rating from 1 to 5.")
    comment = _text(text, "text", MAX_FEEDBACK, None)
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        if account_id is not None and session.get(Account, account_id) is None:
            account_id = None
        feedback = Feedback(rating=rating, text=comment, account_id=account_id, created_at=at)
        session.add(feedback)
        session.flush()
        feedback_id = feedback.id
        uow.commit()
    return feedback_id


def _text(value: str | None, field: str, limit: int, missing: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        if missing is not None:
            raise InvalidReport(field, missing)
        return None
    if len(text) > limit:
        raise InvalidReport(field, f"Please keep this within {limit} characters.")
    return text
