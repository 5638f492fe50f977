"""What the printable documents share: Noto fonts with Devanagari text shaping, bilingual labels, rupees, dates.

The documents (bills, application forms) are PDFs made with fpdf2, shaped by HarfBuzz (uharfbuzz): without
shaping the vowel sign ि lands after its consonant and conjuncts (क्ष, त्र, र्म) fall apart. The fonts are
Debian's fonts-noto-core. Labels are English with their Hindi from the docs area's gettext catalog
(cis/web/translations/docs/hi.po), the same catalog the portal's pages use, so a printed bill and the page
showing it say the same thing; no Hindi is written in Python.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from fpdf import FPDF

from cis.errors import CisError

FONT_DIR = Path("/usr/share/fonts/truetype/noto")
# The Devanagari face is set first: it has no Latin letters, which come from the fallback face (NotoSans).
FONT_FILES = {
    ("Deva", ""): "NotoSansDevanagari-Regular.ttf",
    ("Deva", "B"): "NotoSansDevanagari-Bold.ttf",
    ("Latin", ""): "NotoSans-Regular.ttf",
    ("Latin", "B"): "NotoSans-Bold.ttf",
}
CATALOG = Path(__file__).with_name("web") / "translations" / "docs" / "hi.po"
MINUS = "\u2212"
SEPARATOR = " / "  # between the Hindi and the English of a label
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Labels asked for that the catalog has no Hindi for: printed in English only, and a test fails on them.
MISSING: set[str] = set()


class FontsMissing(CisError):
    """The Noto fonts are not installed (Debian: apt-get install fonts-noto-core)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"The font {path} is missing: install Debian's fonts-noto-core.")
        self.path = path


@functools.cache
def _hindi() -> dict[tuple[str, str | None], str]:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="hi")
    return {
        (str(m.id), m.context): str(m.string)
        for m in catalog
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }


def hi(message: str, context: str | None = None, **values: object) -> str:
    """The Hindi of `message` from the docs catalog, with %(name)s values filled in (English if it has none)."""
    text = _hindi().get((message, context))
    if text is None:
        MISSING.add(message)
        text = message
    return text % values if values else text


def en(message: str, **values: object) -> str:
    return message % values if values else message


def both(message: str, context: str | None = None, **values: object) -> str:
    """'हिंदी / English': a label in both languages, Hindi first."""
    hindi = hi(message, context, **values)
    english = en(message, **values)
    return english if hindi == english else hindi + SEPARATOR + english


def rupees(paise: int) -> str:
    """'₹1,23,456.00' (Indian grouping), '−₹0.25' with a real minus sign."""
    text = format_decimal(Decimal(abs(paise)) / 100, format="#,##,##0.00", locale="en_IN")
    return ("₹" if paise >= 0 else MINUS + "₹") + text


def number(value: int | Decimal) -> str:
    """1,23,456 with Indian grouping; Decimals keep their places (2.50)."""
    if isinstance(value, Decimal):
        places = max(0, -int(value.as_tuple().exponent))
        pattern = "#,##,##0" + ("." + "0" * places if places else "")
        return str(format_decimal(value, format=pattern, locale="en_IN"))
    return str(format_decimal(value, format="#,##,##0", locale="en_IN"))


def date_text(day: dt.date) -> str:
    """DD-MM-YYYY, as Indian bills print dates (the same in both languages)."""
    return day.strftime("%d-%m-%Y")


def month_text(cycle: str) -> str:
    """'अक्टूबर 2026 / October 2026' for the cycle 2026-10."""
    month = MONTHS[int(cycle[5:7]) - 1]
    return f"{hi(month)} {cycle[:4]}{SEPARATOR}{month} {cycle[:4]}"


@dataclass(frozen=True)
class Ink:
    """The few colours the documents use (RGB), dark enough to photocopy."""

    text: tuple[int, int, int] = (27, 27, 27)
    muted: tuple[int, int, int] = (70, 70, 70)
    brand: tuple[int, int, int] = (11, 83, 148)
    band: tuple[int, int, int] = (228, 236, 245)
    rule: tuple[int, int, int] = (120, 120, 120)


INK = Ink()


def new_document(*, title: str, subject: str, font_dir: Path = FONT_DIR, created: dt.date | None = None) -> FPDF:
    """An A4 portrait PDF with the Noto fonts registered, shaping on, Hindi as the document's language.

    `created` fixes the creation date (the bill's issue date), so the same document gives the same bytes.
    Raises FontsMissing when a font file is absent.
    """
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=12)
    for (family, style), name in FONT_FILES.items():
        path = font_dir / name
        if not path.is_file():
            raise FontsMissing(path)
        pdf.add_font(family, style=style, fname=path)
    pdf.set_fallback_fonts(["Latin"])
    pdf.set_text_shaping(True)
    pdf.set_lang("hi")
    pdf.set_title(title)
    pdf.set_subject(subject)
    pdf.set_creator("Urja Mitra")
    if created is not None:
        pdf.set_creation_date(dt.datetime(created.year, created.month, created.day, tzinfo=dt.UTC))
    pdf.add_page()
    pdf.set_font("Deva", size=9)
    pdf.set_text_color(*INK.text)
    return pdf


def section(pdf: FPDF, title: str) -> None:
    """A section's heading: a pale band with the bilingual title in bold."""
    pdf.ln(2)
    pdf.set_fill_color(*INK.band)
    pdf.set_font("Deva", "B", 10)
    pdf.cell(w=0, h=6.5, text=" " + title, fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_fill_color(255, 255, 255)
    pdf.set_font("Deva", size=9)
    pdf.ln(1)
