"""Stored documents: outside any served folder under a random name, opened only by their owner or their officers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.documents import (
    UnknownDocument,
    UnsafeDocument,
    UnsupportedDocumentType,
    Viewer,
    open_document,
    store_document,
)
from cis.models import Account, Document, Staff
from tests import factories
from tests import support_files as files

NOW = factories.NOW


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


def _officer(session: Session, acc: Account, role: str = "sdo") -> int:
    sub_division = factories.sub_division_of(session, acc)
    staff_id = session.scalar(
        select(Staff.id).where(Staff.role == role, Staff.scope_level == "sub_division", Staff.scope_id == sub_division)
    )
    assert staff_id is not None
    return staff_id


def test_a_stored_document_is_kept_under_a_random_name_in_a_private_folder(
    uow: UnitOfWork, session: Session, uploads: Path
) -> None:
    acc = factories.account(session)
    session.commit()
    data = files.pdf()

    stored = store_document(uow, data, "../../Bill Oct 2026.pdf", account_id=acc.id, upload_dir=uploads, now=NOW)

    assert (stored.name, stored.content_type, stored.size_bytes) == ("Bill Oct 2026.pdf", "application/pdf", len(data))
    row = session.scalars(select(Document).where(Document.id == stored.id)).one()
    assert (row.owner_kind, row.account_id, row.label) == ("account", acc.id, "evidence")
    assert [p.name for p in uploads.iterdir()] == [row.storage_name]
    assert "Bill" not in row.storage_name
    assert len(row.storage_name) == 64
    assert stat.S_IMODE(uploads.stat().st_mode) == 0o700
    assert stat.S_IMODE((uploads / row.storage_name).stat().st_mode) == 0o600
    assert (uploads / row.storage_name).read_bytes() == data


def test_the_owner_opens_the_document_and_another_consumer_gets_the_same_answer_as_for_a_missing_one(
    uow: UnitOfWork, session: Session, uploads: Path
) -> None:
    owner = factories.account(session)
    other = factories.account(session)
    session.commit()
    stored = store_document(uow, files.png(), "meter.png", account_id=owner.id, upload_dir=uploads, now=NOW)

    opened = open_document(uow, stored.id, Viewer(account_id=owner.id), upload_dir=uploads)
    assert (opened.name, opened.content_type, opened.data) == ("meter.png", "image/png", files.png())

    with pytest.raises(UnknownDocument) as another:
        open_document(uow, stored.id, Viewer(account_id=other.id), upload_dir=uploads)
    with pytest.raises(UnknownDocument) as missing:
        open_document(uow, stored.id + 1000, Viewer(account_id=other.id), upload_dir=uploads)
    assert str(another.value) == str(missing.value) == "No such document."
    with pytest.raises(UnknownDocument):
        open_document(uow, stored.id, Viewer(), upload_dir=uploads)


def test_officers_of_the_accounts_sub_division_open_it_and_officers_elsewhere_do_not(
    uow: UnitOfWork, session: Session, uploads: Path
) -> None:
    owner = factories.account(session)
    elsewhere = factories.account(session)
    sdo, je = _officer(session, owner), _officer(session, owner, "je")
    stranger = _officer(session, elsewhere)
    session.commit()
    stored = store_document(uow, files.jpeg(), "slip.jpg", account_id=owner.id, upload_dir=uploads, now=NOW)

    assert open_document(uow, stored.id, Viewer(staff_id=sdo), upload_dir=uploads).content_type == "image/jpeg"
    assert open_document(uow, stored.id, Viewer(staff_id=je), upload_dir=uploads).data == files.jpeg()
    with pytest.raises(UnknownDocument):
        open_document(uow, stored.id, Viewer(staff_id=stranger), upload_dir=uploads)


def test_lying_uploads_are_refused_and_leave_no_file_or_row(uow: UnitOfWork, session: Session, uploads: Path) -> None:
    acc = factories.account(session)
    session.commit()
    with pytest.raises(UnsupportedDocumentType, match="web page"):
        store_document(uow, files.HTML_PAGE, "photo.png", account_id=acc.id, upload_dir=uploads, now=NOW)
    with pytest.raises(UnsupportedDocumentType, match="SVG"):
        store_document(uow, files.SVG_IMAGE, "photo.png", account_id=acc.id, upload_dir=uploads, now=NOW)
    js = files.pdf_with_open_action(b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>")
    with pytest.raises(UnsafeDocument, match="JavaScript"):
        store_document(uow, js, "bill.pdf", account_id=acc.id, upload_dir=uploads, now=NOW)

    assert session.scalars(select(Document)).all() == []
    assert not uploads.exists() or list(uploads.iterdir()) == []
