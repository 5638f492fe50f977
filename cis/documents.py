"""Uploaded documents: PDF, JPEG or PNG of at most 2 MB, typed by their content, stored under a random name outside
any served folder, and opened only by their owner or by the officers of the sub-division they belong to."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import secrets
import unicodedata
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis import audit
from cis.db import UnitOfWork
from cis.errors import CisError, UnknownAccount
from cis.models import Account, Document, ServiceRequest, TheftReport
from cis.models.documents import LABELS
from cis.scopes import account_sub_division, officer_covers

MAX_BYTES = 2 * 1024 * 1024
MAX_NAME = 120
# An image this large in pixels is a decompression bomb or a photo no officer needs at full size.
MAX_PIXELS = 40_000_000
PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PDF_MAGIC = re.compile(rb"%PDF-[12]\.[0-9]")
# PDF names that run code, start programs or carry other files inside: a document a consumer attaches needs none.
# Compared without regard to case and after undoing #xx escapes (/J#61vaScript is /JavaScript).
_PDF_ACTIVE = {
    b"javascript": "JavaScript",
    b"js": "JavaScript",
    b"launch": "an action that starts a program",
    b"embeddedfile": "an embedded file",
    b"embeddedfiles": "embedded files",
    b"richmedia": "embedded media",
    b"xfa": "an XFA form",
    b"gotoe": "a link into an embedded file",
    b"importdata": "an action that imports data",
    b"submitform": "a form that submits data",
}
_PDF_NAME = re.compile(rb"/([^\s()<>\[\]{}/%]*)")
_PDF_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n|\r)")
_ENDSTREAM = b"endstream"
_OBJ = re.compile(rb"\d{1,10}\s{1,5}\d{1,5}\s{1,5}obj\b")
# Object streams hold dictionaries compressed; they are inflated to be read, up to this much in all.
MAX_INFLATED = 16 * 1024 * 1024
_STORAGE_NAME = re.compile(r"[0-9a-f]{64}")
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class DocumentError(CisError):
    """An upload that cannot be taken; the message says what to do instead."""


class EmptyDocument(DocumentError):
    def __init__(self) -> None:
        super().__init__("The file is empty. Please choose the file again.")


class DocumentTooLarge(DocumentError):
    def __init__(self, limit_bytes: int = MAX_BYTES) -> None:
        megabytes = limit_bytes // (1024 * 1024)
        super().__init__(f"The file is larger than {megabytes} MB. Please attach a smaller scan or photo.")
        self.limit_bytes = limit_bytes


class UnsupportedDocumentType(DocumentError):
    """The bytes are not a PDF, JPEG or PNG, whatever the file is called."""

    def __init__(self, declared_name: str, found: str) -> None:
        super().__init__(f"'{declared_name}' is {found}, not a PDF, JPEG or PNG. Please attach a PDF, JPEG or PNG.")
        self.declared_name = declared_name
        self.found = found


class DamagedDocument(DocumentError):
    """It starts like a PDF, JPEG or PNG but cannot be read as one."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"The file looks like a {kind} but cannot be read. Please save or scan it again.")
        self.kind = kind


class UnsafeDocument(DocumentError):
    """A PDF carrying something active (scripts, launch actions, embedded files) or that cannot be checked."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The PDF contains {what}, which we do not accept. Please print it to a new PDF or scan it, and attach it."
        )
        self.what = what


class UnknownDocument(CisError):
    """No document with this id that the viewer may open (a missing one and another's read the same)."""

    def __init__(self, document_id: object) -> None:
        super().__init__("No such document.")
        self.document_id = document_id


@dataclass(frozen=True)
class CheckedFile:
    """An upload whose bytes were read and found to be what `content_type` says."""

    data: bytes
    name: str
    content_type: str
    sha256: str


@dataclass(frozen=True)
class StoredDocument:
    id: int
    name: str
    content_type: str
    size_bytes: int
    label: str


@dataclass(frozen=True)
class DocumentFile:
    """A document's bytes and what to serve them as (always as an attachment, never sniffed)."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Viewer:
    """Who asks to open a document: a signed-in consumer (their current account) or a staff member."""

    account_id: int | None = None
    staff_id: int | None = None


def safe_name(declared_name: str | None) -> str:
    """The file name to keep and show: its last path part, without control characters, at most 120 characters."""
    name = (declared_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", _UNSAFE_NAME_CHARS.sub("", name)).strip().strip(".")
    return name[:MAX_NAME] or "document"


def check_file(data: bytes, declared_name: str | None) -> CheckedFile:
    """Read `data` and say what it is: a PDF, JPEG or PNG that parses and carries nothing active, or an error.

    The name it came with decides nothing. Raises EmptyDocument, DocumentTooLarge (over 2 MB),
    UnsupportedDocumentType (HTML, SVG or anything else, whatever it is called), DamagedDocument and UnsafeDocument
    (a PDF with JavaScript, a launch action, embedded files or encryption).
    """
    name = safe_name(declared_name)
    if not data:
        raise EmptyDocument()
    if len(data) > MAX_BYTES:
        raise DocumentTooLarge()
    if data.startswith(_PNG_MAGIC):
        _check_image(data, "PNG")
        content_type = PNG
    elif data.startswith(_JPEG_MAGIC):
        _check_image(data, "JPEG")
        content_type = JPEG
    elif _PDF_MAGIC.match(data):
        _check_pdf(data)
        content_type = PDF
    else:
        raise UnsupportedDocumentType(name, _what_it_is(data))
    return CheckedFile(data, name, content_type, hashlib.sha256(data).hexdigest())


def _what_it_is(data: bytes) -> str:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head:
        return "an SVG drawing"
    if head.startswith(b"<") and any(tag in head for tag in (b"<html", b"<!doctype", b"<script", b"<body", b"<head")):
        return "a web page (HTML)"
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        return "an XML or HTML text"
    if head.startswith(b"gif8"):
        return "a GIF image"
    if head.startswith(b"pk\x03\x04"):
        return "a ZIP archive or Office document"
    return "a file of another kind"


def _check_image(data: bytes, kind: str) -> None:
    """Pillow must recognise the format from the bytes, verify its structure and decode every pixel."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                image.verify()
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise DamagedDocument(kind)
                image.load()
    except DocumentError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DamagedDocument(kind) from None
    except Exception:  # Pillow raises many kinds for bad data (OSError, SyntaxError, ValueError, struct.error ...)
        raise DamagedDocument(kind) from None


def _names(chunk: bytes) -> set[bytes]:
    """The PDF names in `chunk`, #xx escapes undone and lower-cased."""
    found = set()
    for match in _PDF_NAME.finditer(chunk):
        raw = match.group(1)
        if b"#" in raw:
            raw = _PDF_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
        found.add(raw.lower())
    return found


def _check_pdf(data: bytes) -> None:
    """A PDF: a header, a cross-reference and an end; no active content in its dictionaries, whether they stand in
    the file's body or are compressed into object streams. Other streams (page drawings, images) hold no
    dictionaries and are skipped, so their bytes cannot look like a name by chance."""
    if b"%%EOF" not in data[-2048:] or b"startxref" not in data[-4096:]:
        raise DamagedDocument("PDF")
    position = 0
    inflated = 0
    while True:
        match = _STREAM.search(data, position)
        outside = data[position : match.start() if match else len(data)]
        _refuse_active(_names(outside))
        if match is None:
            return
        end = data.find(_ENDSTREAM, match.end())
        if end < 0:
            raise DamagedDocument("PDF")
        heads = list(_OBJ.finditer(outside))
        names = _names(outside[heads[-1].end() :]) if heads else set()
        position = end + len(_ENDSTREAM)
        if b"objstm" not in names:
            continue
        body = data[match.end() : end]
        filters = {name for name in names if name.endswith(b"decode")}
        if filters - {b"flatedecode"}:
            raise UnsafeDocument("objects compressed in a way we cannot check")
        if filters:
            try:
                body = zlib.decompressobj().decompress(body, MAX_INFLATED - inflated + 1)
            except zlib.error:
                raise DamagedDocument("PDF") from None
        inflated += len(body)
        if inflated > MAX_INFLATED:
            raise UnsafeDocument("more compressed objects than we can check")
        _refuse_active(_names(body))


def _refuse_active(names: set[bytes]) -> None:
    if b"encrypt" in names:
        raise UnsafeDocument("encryption (a password)")
    for name, what in _PDF_ACTIVE.items():
        if name in names:
            raise UnsafeDocument(what)


def upload_folder(path: Path) -> Path:
    """The upload folder, created readable by this user alone (0700) when it is missing."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def save_file(upload_dir: Path, checked: CheckedFile) -> str:
    """Write the bytes under a new random name (never the uploaded one) readable by this user alone; the name."""
    folder = upload_folder(upload_dir)
    storage_name = secrets.token_hex(32)
    fd = os.open(folder / storage_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(checked.data)
    return storage_name


def discard_file(upload_dir: Path, storage_name: str) -> None:
    """Remove a file written for a transaction that did not commit."""
    if _STORAGE_NAME.fullmatch(storage_name):
        (upload_dir / storage_name).unlink(missing_ok=True)


def add_document(
    session: Session,
    checked: CheckedFile,
    storage_name: str,
    *,
    owner_kind: str,
    label: str,
    at: dt.datetime,
    account_id: int | None = None,
    request_id: int | None = None,
) -> Document:
    """The document row for a file already saved, added to the caller's transaction."""
    if label not in LABELS:
        raise ValueError(f"unknown document label {label!r}")
    document = Document(
        owner_kind=owner_kind,
        account_id=account_id,
        request_id=request_id,
        label=label,
        storage_name=storage_name,
        original_name=checked.name,
        content_type=checked.content_type,
        size_bytes=len(checked.data),
        sha256=checked.sha256,
        created_at=at,
    )
    session.add(document)
    session.flush()
    return document


def store_document(
    uow: UnitOfWork,
    data: bytes,
    declared_name: str | None,
    *,
    account_id: int,
    upload_dir: Path,
    label: str = "evidence",
    now: dt.datetime | None = None,
) -> StoredDocument:
    """Check an upload by its content (see `check_file`), store it for `account_id`, and return its id.

    The bytes go to the upload folder under a random name, readable by this user alone; the row keeps the
    name it came with (cut to 120 characters), the type read from the bytes, its size and SHA-256. It can be
    opened by that account's consumer and the officers of its sub-division only (`open_document`), and is
    attached to a request by its id. Raises the DocumentError subclasses, and UnknownAccount.
    """
    checked = check_file(data, declared_name)
    at = now or audit.utcnow()
    storage_name = save_file(upload_dir, checked)
    try:
        with uow:
            session = uow.session
            if session.get(Account, account_id) is None:
                raise UnknownAccount(str(account_id))
            document = add_document(
                session, checked, storage_name, owner_kind="account", label=label, at=at, account_id=account_id
            )
            stored = StoredDocument(document.id, checked.name, checked.content_type, len(checked.data), label)
            uow.commit()
    except BaseException:
        discard_file(upload_dir, storage_name)
        raise
    return stored


def open_document(uow: UnitOfWork, document_id: int, viewer: Viewer, *, upload_dir: Path) -> DocumentFile:
    """A document's bytes and type, for its owner account or an officer of its sub-division; else UnknownDocument.

    A document the viewer may not open and one that does not exist give the same error, so ids tell nothing.
    """
    with uow:
        session = uow.session
        document = session.get(Document, document_id)
        if document is None or not _may_open(session, document, viewer):
            raise UnknownDocument(document_id)
        name, content_type, storage_name = document.original_name, document.content_type, document.storage_name
    if not _STORAGE_NAME.fullmatch(storage_name):
        raise UnknownDocument(document_id)
    return DocumentFile(name, content_type, (upload_dir / storage_name).read_bytes())


def _may_open(session: Session, document: Document, viewer: Viewer) -> bool:
    request = session.get(ServiceRequest, document.request_id) if document.request_id is not None else None
    owner_account: int | None = document.account_id
    if owner_account is None and request is not None:
        owner_account = request.account_id
    if viewer.account_id is not None and owner_account is not None and viewer.account_id == owner_account:
        return True
    if viewer.staff_id is None:
        return False
    if document.owner_kind == "theft":
        report = session.scalars(select(TheftReport).where(TheftReport.document_id == document.id).limit(1)).first()
        return report is not None and officer_covers(session, viewer.staff_id, report.sub_division_id)
    if request is not None and request.sub_division_id is not None:
        sub_division = request.sub_division_id
    elif owner_account is not None:
        sub_division = account_sub_division(session, owner_account)
    else:
        sub_division = None
    return sub_division is not None and officer_covers(session, viewer.staff_id, sub_division)
