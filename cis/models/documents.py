"""Uploaded documents (bill-dispute evidence, ID and ownership proofs, theft photos), kept outside any served folder."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cis.models.base import Base, BigId, Code, UtcDateTime

# Who a document belongs to: a consumer's account (uploaded signed in), a request it came with (a new-connection
# applicant, not yet a consumer), or an anonymous theft report.
OWNER_KINDS = ("account", "request", "theft")
LABELS = ("evidence", "id_proof", "ownership_proof", "photo")
CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")


class Document(Base):
    """One stored file: its bytes live in the upload folder under `storage_name`, never under the name it came with."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(10))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id"), index=True)
    label: Mapped[str] = mapped_column(String(20))
    storage_name: Mapped[str] = mapped_column(Code(64), unique=True)  # random hex: nothing of the upload in it
    original_name: Mapped[str] = mapped_column(String(120))  # shown to its owner only; cut to 120 characters
    content_type: Mapped[str] = mapped_column(String(40))  # decided by reading the bytes, not by the name
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(Code(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
