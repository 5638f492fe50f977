"""What the printable documents share: Noto fonts with Devanagari text shaping, bilingual labels, rupees, dates.

The documents (bills, application forms) are PDFs made with fpdf2, shaped by HarfBuzz (uharfbuzz): without
shaping the vowel sign ि lands after its consonant and conjuncts (क्ष, त्र, र्म) fall apart. The fonts are
Debian's fonts-noto-core. Labels are English with their Hindi from the docs area's gettext catalog
(cis/web/translations/docs/hi.po), the same catalog the portal's pages use, so a printed bill and the page
showing it say the same thing; no Hindi is written in Python.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import os
import tempfile
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from fontTools import subset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

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


# The fonts cut down, once per machine, to what the documents can print: Devanagari (with all its shaping
# rules, which HarfBuzz needs) and Latin. fpdf2 then parses smaller fonts and subsets them faster at every
# document, and the PDFs are a third smaller (a bill: 38 KB instead of 55 KB). Other scripts' letters fall
# out, as they would with these two faces anyway.
CUT_VERSION = 1


def _ranges(*spans: tuple[int, int]) -> tuple[int, ...]:
    return tuple(c for first, last in spans for c in range(first, last + 1))


_COMMON = ((0x0020, 0x00FF), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2212, 0x2212), (0x25CC, 0x25CC))
REPERTOIRE = {
    "Deva": _ranges((0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x1CD0, 0x1CFF), *_COMMON),
    "Latin": _ranges((0x0100, 0x024F), *_COMMON),
}


def default_font_cache() -> Path:
    return Path(tempfile.gettempdir()) / f"urjamitra-fonts-{os.getuid()}"


_font_cache: Path | None = default_font_cache()


def set_font_cache(folder: Path | None) -> None:
    """Where the cut-down fonts are kept (None: use the installed fonts as they are). Default: a private
    folder of this user under the system's temporary folder."""
    global _font_cache
    _font_cache = folder


def _private_folder(folder: Path) -> bool:
    """The folder exists (made if need be), belongs to this user and nobody else may write to it."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _cut(path: Path, family: str) -> Path:
    """The cut-down copy of the font at `path`, made on first use; the font itself when it cannot be made."""
    folder = _font_cache
    if folder is None or not _private_folder(folder):
        return path
    info = path.stat()
    target = folder / f"{path.stem}-{info.st_size}-{info.st_mtime_ns}-cut{CUT_VERSION}.ttf"
    if target.is_file():
        return target
    options = subset.Options()
    options.layout_features = ["*"]  # every shaping rule: conjuncts, matras, reph, nukta
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    font = TTFont(path, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=REPERTOIRE[family])
    subsetter.subset(font)
    try:
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as part:
            font.save(part)
        os.replace(part.name, target)  # atomic: another process making the same font finds it whole
    except OSError:
        return path
    return target


# Each font parsed once per process: fpdf2's add_font reads the whole font (metrics of every glyph, its cmap)
# for every document. A document gets a copy of the parsed font with its own subset (the glyphs it uses) and
# its own lazily opened fontTools font, which fpdf2 subsets in place when it writes the PDF.
_FONTS: dict[tuple[Path, str, str], tuple[TTFFont, Path]] = {}
_FONTS_LOCK = threading.Lock()
_SHAPERS = threading.local()


def _add_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    key = (path, family, style)
    found = _FONTS.get(key)
    if found is None:
        if not path.is_file():
            raise FontsMissing(path)
        with _FONTS_LOCK:
            found = _FONTS.get(key)
            if found is None:
                cut = _cut(path, family)
                scratch = FPDF()
                scratch.add_font(family, style=style, fname=cut)
                template = scratch.fonts[f"{family.lower()}{style}"]
                template.ttfont.close()  # what the template keeps was read; each document opens its own
                found = _FONTS[key] = (template, cut)
    template, cut = found
    font = copy.copy(template)
    font.i = len(pdf.fonts) + 1
    font.subset = SubsetMap(font)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    # No bounding boxes recomputed on saving the subset: that decompiled and recompiled every glyph used.
    font.ttfont = TTFont(cut, recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    # HarfBuzz's font only shapes: one per thread and font is reused by that thread's documents.
    shapers = _SHAPERS.__dict__.setdefault("fonts", {})
    if key not in shapers:
        font._hbfont = None
        shapers[key] = font.hbfont
    font._hbfont = shapers[key]
    pdf.fonts[font.fontkey] = font


def prepare_fonts(font_dir: Path = FONT_DIR) -> None:
    """Cut and parse the fonts now (a web worker calls it at start, so no consumer waits for it)."""
    pdf = FPDF()
    for (family, style), name in FONT_FILES.items():
        _add_font(pdf, family, style, font_dir / name)
    for font in pdf.fonts.values():  # the scratch document's own copies, opened lazily: no file left open
        font.ttfont.close()


def new_document(*, title: str, subject: str, font_dir: Path = FONT_DIR, created: dt.date | None = None) -> FPDF:
    """An A4 portrait PDF with the Noto fonts registered, shaping on, Hindi as the document's language.

    `created` fixes the creation date (the bill's issue date), so the same document gives the same bytes.
    Raises FontsMissing when a font file is absent.
    """
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=12)
    for (family, style), name in FONT_FILES.items():
        _add_font(pdf, family, style, font_dir / name)
    pdf.set_fallback_fonts(["Latin", "Deva"])  # Deva for the few signs NotoSans lacks (− U+2212)
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


@dataclass(frozen=True)
class Style:
    """How a cell's text is set: size in points, bold or not, its colour."""

    size: float = 9
    bold: bool = False
    color: tuple[int, int, int] = INK.text


# Widths of words at a font, size and style, in mm: the labels repeat on every document, so after the first
# one a bill's line breaking measures only the consumer's own words.
_WIDTHS: dict[tuple[str, str, float, str], float] = {}
_WIDTHS_KEPT = 50_000


def has_devanagari(text: str) -> bool:
    return any("\u0900" <= c <= "\u097f" for c in text)


def text_width(pdf: FPDF, text: str) -> float:
    """The width of `text` at the current font, in mm, remembered across documents."""
    key = (pdf.font_family, pdf.font_style, pdf.font_size_pt, text)
    found = _WIDTHS.get(key)
    if found is None:
        if len(_WIDTHS) >= _WIDTHS_KEPT:
            _WIDTHS.clear()
        found = _WIDTHS[key] = pdf.get_string_width(text)
    return found


def wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """`text` broken into lines no wider than `width` mm at the current font, at spaces and line breaks.

    Word by word, each word measured once: fpdf2's own line breaking (multi_cell, tables) shapes the growing
    line again at every character, which made a bill take a third of a second of CPU.
    """
    if "\n" not in text and text_width(pdf, text) <= width:
        return [text]
    space = text_width(pdf, " ")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for word in paragraph.split(" "):
            size = text_width(pdf, word) if word else 0.0
            if line and used + space + size > width:
                lines.append(line)
                line, used = word, size
            else:
                line, used = (f"{line} {word}" if line else word), (used + space + size if line else size)
        lines.append(line)
    return lines


def _use(pdf: FPDF, style: Style) -> None:
    pdf.set_font("Deva", "B" if style.bold else "", style.size)
    pdf.set_text_color(*style.color)


def put(pdf: FPDF, text: str, style: Style, *, w: float, h: float, align: str = "L") -> None:
    """One line of text in a cell at the current position.

    Only Devanagari needs HarfBuzz: a line without any is set in the Latin face with shaping off, which skips
    fpdf2's bidirectional analysis and shaping, most of the time a cell takes.
    """
    pdf.set_text_color(*style.color)
    if has_devanagari(text):
        pdf.set_font("Deva", "B" if style.bold else "", style.size)
        pdf.cell(w=w, h=h, text=text, align=align)
        return
    pdf.set_text_shaping(False)
    pdf.set_font("Latin", "B" if style.bold else "", style.size)
    pdf.cell(w=w, h=h, text=text, align=align)
    pdf.set_text_shaping(True)
    pdf.set_font("Deva", "B" if style.bold else "", style.size)


def row(
    pdf: FPDF,
    cells: list[tuple[float, str, Style, str]],
    *,
    pad: float = 1.0,
    rule: bool = True,
    fill: tuple[int, int, int] | None = None,
) -> None:
    """One row of a table at the current y: cells of (width mm, text, style, align L/R), wrapped to their widths.

    The row is as tall as its tallest cell; a pale rule underlines it; a row that would not fit starts a page.
    """
    laid = []
    height = 0.0
    for width, text, style, align in cells:
        _use(pdf, style)
        lines = wrap(pdf, text, width - 2 * pad) if text else []
        line_h = style.size * 0.45
        laid.append((width, lines, style, align, line_h))
        height = max(height, len(lines) * line_h)
    height += 2 * pad
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()
    top, x = pdf.get_y(), pdf.l_margin
    if fill is not None:
        pdf.set_fill_color(*fill)
        pdf.rect(pdf.l_margin, top, sum(c[0] for c in cells), height, style="F")
    for width, lines, style, align, line_h in laid:
        for i, line in enumerate(lines):
            pdf.set_xy(x + pad, top + pad + i * line_h)
            put(pdf, line, style, w=width - 2 * pad, h=line_h, align=align)
        x += width
    if rule:
        pdf.set_draw_color(*INK.rule)
        pdf.set_line_width(0.1)
        pdf.line(pdf.l_margin, top + height, pdf.l_margin + sum(c[0] for c in cells), top + height)
    pdf.set_text_color(*INK.text)
    pdf.set_xy(pdf.l_margin, top + height)


def finish(pdf: FPDF) -> bytes:
    """The PDF's bytes.

    The embedded fonts never carry their layout tables (fpdf2 drops GSUB, GPOS and GDEF from every subset),
    but fontTools still walks them to close the subset over substitutions, the slowest part of writing a bill.
    The shaping is done by then (HarfBuzz reads the font file itself), so they are dropped first.
    """
    fonts = [ttfont for ttfont in (getattr(font, "ttfont", None) for font in pdf.fonts.values()) if ttfont]
    for ttfont in fonts:
        for tag in ("GSUB", "GPOS", "GDEF"):
            if tag in ttfont:
                del ttfont[tag]
    try:
        return bytes(pdf.output())
    finally:
        for ttfont in fonts:
            ttfont.close()


def section(pdf: FPDF, title: str) -> None:
    """A section's heading: a pale band with the bilingual title in bold."""
    pdf.ln(2)
    pdf.set_fill_color(*INK.band)
    pdf.set_font("Deva", "B", 10)
    pdf.cell(w=0, h=6.5, text=" " + title, fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_fill_color(255, 255, 255)
    pdf.set_font("Deva", size=9)
    pdf.ln(1)
