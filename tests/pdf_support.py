"""Reading a PDF back as a person would: its pages, and its text through pdftotext and pypdf.

Shaped Devanagari does not extract cleanly (RECIPES §1): pdftotext puts stray spaces after a reordered ि,
pypdf adds control and stray ASCII characters inside words. So text is compared with the whitespace removed
(pdftotext), and Hindi through pypdf as its sequence of Devanagari characters only.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pypdf

DEVANAGARI = range(0x0900, 0x0980)


def squeeze(text: str) -> str:
    """The text without any whitespace."""
    return "".join(text.split())


def devanagari(text: str) -> str:
    """Only the Devanagari characters of the text, in order."""
    return "".join(c for c in text if ord(c) in DEVANAGARI)


def pdftotext(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is missing: apt-get install poppler-utils"
    return subprocess.run([tool, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def pypdf_text(data: bytes) -> tuple[int, str]:
    """(page count, the text of every page)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


class Extracted:
    """A PDF's text both ways, with the checks a test makes on it."""

    def __init__(self, data: bytes, tmp_path: Path) -> None:
        self.pages, self.pypdf = pypdf_text(data)
        self.poppler = pdftotext(data, tmp_path)
        self._squeezed = squeeze(self.poppler)
        self._pypdf_squeezed = squeeze(self.pypdf)
        self._pypdf_deva = devanagari(self.pypdf)

    def has(self, text: str) -> bool:
        """`text` is in the PDF: found by pdftotext (spaces aside) and by pypdf (Latin exactly, Hindi by letters)."""
        wanted = squeeze(text)
        if wanted not in self._squeezed:
            return False
        if devanagari(wanted):
            return devanagari(wanted) in self._pypdf_deva
        return wanted in self._pypdf_squeezed
