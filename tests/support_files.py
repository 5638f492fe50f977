"""Real files for upload tests, made in memory: honest PDFs, JPEGs and PNGs, and ones that lie about themselves."""

from __future__ import annotations

import io
import zlib

from fpdf import FPDF
from PIL import Image


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 240)).save(out, format="JPEG", quality=80)
    return out.getvalue()


def pdf(text: str = "Meter reading slip 001234") -> bytes:
    """A PDF as a scanner or a word processor writes one: a page of text and an image, streams compressed."""
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=14)
    doc.cell(text=text)
    doc.image(io.BytesIO(png(120, 80)), x=10, y=30, w=60)
    return bytes(doc.output())


def raw_pdf(*objects: bytes) -> bytes:
    """A PDF written by hand from object bodies (numbered from 1), with a cross-reference table and trailer."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PAGE_OBJECTS = (
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
)


def pdf_with_open_action(action: bytes) -> bytes:
    """A one-page PDF whose catalog runs `action` when it is opened."""
    return raw_pdf(b"<< /Type /Catalog /Pages 2 0 R /OpenAction " + action + b" >>", *PAGE_OBJECTS)


def pdf_with_javascript_in_object_stream() -> bytes:
    """JavaScript hidden where a byte scan of the file would not see it: inside a compressed object stream."""
    hidden = b"4 0 << /S /JavaScript /JS (app.alert\\(1\\)) >>"
    packed = zlib.compress(hidden)
    stream = b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", *PAGE_OBJECTS, stream + packed + b"\nendstream"
    )


HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_IMAGE = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
