"""Anonymous theft reports land in the vigilance queue with a reference number; feedback is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.documents import UnknownDocument, UnsupportedDocumentType, Viewer, open_document
from cis.models import AuditLog, Document, Feedback, Staff, TheftReport
from cis.numbers import luhn_digit
from cis.vigilance import InvalidReport, TheftTip, give_feedback, report_theft, reporter_hash, vigilance_queue
from tests import factories
from tests import support_files as files

NOW = factories.NOW
KEY = b"test-key"


def _sdo(session: Session, sub_division: int) -> int:
    staff_id = session.scalar(
        select(Staff.id).where(Staff.role == "sdo", Staff.scope_level == "sub_division", Staff.scope_id == sub_division)
    )
    assert staff_id is not None
    return staff_id


def test_a_theft_report_gets_a_reference_and_keeps_nothing_that_names_the_reporter(
    uow: UnitOfWork, session: Session
) -> None:
    tip = TheftTip(locality="Gwaltoli", landmark="Behind the flour mill", description="Hook on the LT line at night")

    receipt = report_theft(uow, tip, reporter_address="203.0.113.7", address_key=KEY, now=NOW)

    assert len(receipt.reference) == 9
    assert receipt.reference[-1] == luhn_digit(receipt.reference[:-1])
    session.expire_all()
    row = session.scalars(select(TheftReport)).one()
    assert (row.reference, row.status, row.locality) == (receipt.reference, "new", "Gwaltoli")
    assert row.reporter_hash == reporter_hash("203.0.113.7", KEY)
    assert "203.0.113.7" not in repr(vars(row))
    audit_row = session.scalars(select(AuditLog).where(AuditLog.entity == "theft_report")).one()
    assert "203.0.113.7" not in repr(audit_row.detail)


def test_the_queue_shows_a_sub_divisions_reports_and_those_that_named_none(uow: UnitOfWork, session: Session) -> None:
    here = factories.sub_division_of(session, factories.account(session))
    there = factories.sub_division_of(session, factories.account(session))
    session.commit()
    for sub_division, locality in ((here, "Here"), (there, "There"), (None, "Somewhere")):
        tip = TheftTip(locality=locality, description="Direct hooking", sub_division_id=sub_division)
        report_theft(uow, tip, reporter_address=None, address_key=KEY, now=NOW)

    assert [r.locality for r in vigilance_queue(uow, [here])] == ["Here", "Somewhere"]
    assert [r.locality for r in vigilance_queue(uow, None)] == ["Here", "There", "Somewhere"]


def test_a_theft_photo_is_checked_and_opened_only_by_the_officers_it_belongs_to(
    uow: UnitOfWork, session: Session, tmp_path: Path
) -> None:
    here = factories.sub_division_of(session, factories.account(session))
    there = factories.sub_division_of(session, factories.account(session))
    session.commit()
    officer, stranger = _sdo(session, here), _sdo(session, there)

    with pytest.raises(UnsupportedDocumentType):
        report_theft(
            uow,
            TheftTip("Here", "Meter bypassed", sub_division_id=here, photo=files.SVG_IMAGE, photo_name="p.png"),
            reporter_address=None,
            address_key=KEY,
            upload_dir=tmp_path,
            now=NOW,
        )
    tip = TheftTip("Here", "Meter bypassed", sub_division_id=here, photo=files.jpeg(), photo_name="pole.jpg")
    report_theft(uow, tip, reporter_address=None, address_key=KEY, upload_dir=tmp_path, now=NOW)

    [queued] = vigilance_queue(uow, [here])
    assert queued.document_id is not None
    document = session.get(Document, queued.document_id)
    assert document is not None
    assert (document.owner_kind, document.label, document.account_id) == ("theft", "photo", None)
    opened = open_document(uow, queued.document_id, Viewer(staff_id=officer), upload_dir=tmp_path)
    assert opened.content_type == "image/jpeg"
    with pytest.raises(UnknownDocument):
        open_document(uow, queued.document_id, Viewer(staff_id=stranger), upload_dir=tmp_path)


@pytest.mark.parametrize(
    ("tip", "field"),
    [
        (TheftTip(locality=" ", description="Hooking"), "locality"),
        (TheftTip(locality="Gwaltoli", description=""), "description"),
        (TheftTip(locality="x" * 121, description="Hooking"), "locality"),
        (TheftTip(locality="Gwaltoli", description="Hooking", sub_division_id=10**9), "sub_division_id"),
    ],
)
def test_a_theft_report_needs_a_place_and_what_was_seen(
    uow: UnitOfWork, session: Session, tip: TheftTip, field: str
) -> None:
    with pytest.raises(InvalidReport) as refused:
        report_theft(uow, tip, reporter_address=None, address_key=KEY, now=NOW)
    assert refused.value.field == field
    assert session.scalars(select(TheftReport)).all() == []


def test_feedback_keeps_a_rating_and_a_comment(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    session.commit()

    give_feedback(uow, 5, "Bill PDF was quick", account_id=acc.id, now=NOW)
    give_feedback(uow, 2, None, now=NOW)
    for bad in (0, 6, True):
        with pytest.raises(InvalidReport):
            give_feedback(uow, bad, "x", now=NOW)

    session.expire_all()
    rows = session.scalars(select(Feedback).order_by(Feedback.id)).all()
    assert [(f.rating, f.text, f.account_id) for f in rows] == [(5, "Bill PDF was quick", acc.id), (2, None, None)]
