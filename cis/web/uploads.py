"""File uploads on web forms: a route's own body limit (above the app's 1 MB) and reading a file field safely.

    @bp.post("/portal/revision")
    @takes_files(1)            # this route reads a body of up to 1 x 2 MB + FORM_OVERHEAD; more is a 413
    def revision_post(): ...
        sent = uploaded_file("document")   # (bytes, name the browser gave) or None when no file was chosen

The app's edge (urjamitra/edge.py) reads the limit a view declares before anything reads the body, so a 50 MB
upload is refused by its Content-Length (or once the limit is passed, for a body sent without one) and never
read whole. What a file is, is decided by `cis.documents.check_file` from its bytes, never from its name or the
type the browser claims.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import request

from cis.documents import MAX_BYTES

BODY_LIMIT = "urja_max_body_bytes"  # the attribute a view's own body limit is kept in
# The form's other fields, the multipart boundaries and headers of each part: generous, and still small.
FORM_OVERHEAD = 64 * 1024
F = TypeVar("F", bound=Callable[..., object])


def takes_files(count: int) -> Callable[[F], F]:
    """Let a view's request body hold `count` files of up to 2 MB each besides its form fields."""
    limit = count * MAX_BYTES + FORM_OVERHEAD

    def mark(view: F) -> F:
        setattr(view, BODY_LIMIT, limit)
        return view

    return mark


def body_limit(view: object) -> int | None:
    """The body limit `view` declared with `takes_files`, or None (the app's own limit applies)."""
    limit = getattr(view, BODY_LIMIT, None)
    return limit if isinstance(limit, int) and limit > 0 else None


def uploaded_file(name: str) -> tuple[bytes, str] | None:
    """The bytes (at most 2 MB and one byte: enough for check_file to say it is too large) and the browser's name
    for the file sent in field `name`, or None when no file was chosen."""
    sent = request.files.get(name)
    if sent is None or not (sent.filename or "").strip():
        return None
    data = sent.stream.read(MAX_BYTES + 1)
    return data, sent.filename or ""
