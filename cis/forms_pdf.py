"""Blank application forms as PDFs to print and fill in by hand, drawn from the fields the online forms use.

Each field of cis/data/application_forms.toml that is on paper gets its bilingual label (Hindi and English side
by side) and something to write in: a box for a line, ruled boxes for several, a box a digit for numbers,
tick boxes for a choice, a checklist of copies to attach, the declaration and the signature.
"""

from __future__ import annotations

import functools
from pathlib import Path

from fpdf import FPDF

from cis.application_forms import Field, Form, form
from cis.models.accounts import CATEGORIES
from cis.printing import FONT_DIR, INK, SEPARATOR, both, en, finish, hi, new_document, section

DISCOM = "Urja Mitra Electricity Distribution"
BOX = 6.0  # a digit's box, mm
LINE = 7.0  # a handwritten line, mm
TICK = 3.6  # a tick box, mm


def _put(pdf: FPDF, x: float, y: float, text: str, size: float = 8) -> None:
    """Text whose top is at (x, y), through a cell: fpdf2's text() knows no fallback font for Latin letters."""
    here = pdf.get_x(), pdf.get_y()
    pdf.set_font("Deva", size=size)
    pdf.set_xy(x, y)
    pdf.cell(w=pdf.get_string_width(text) + 1, h=size * 0.42, text=text)
    pdf.set_xy(*here)


def _keep(pdf: FPDF, height: float) -> None:
    """Start a new page unless `height` mm still fit on this one: a field is never split between pages."""
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()


def _label(pdf: FPDF, field: Field) -> None:
    mark = " *" if field.required else ""
    pdf.set_font("Deva", "B", 9)
    pdf.multi_cell(
        w=0, h=4.4, text=field.label.hi + SEPARATOR + field.label.en + mark, align="L", new_x="LMARGIN", new_y="NEXT"
    )
    if field.help is not None:
        pdf.set_font("Deva", size=7.5)
        pdf.set_text_color(*INK.muted)
        pdf.multi_cell(
            w=0, h=3.6, text=field.help.hi + SEPARATOR + field.help.en, align="L", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_text_color(*INK.text)
    pdf.set_font("Deva", size=9)
    pdf.ln(0.8)


def _boxes(pdf: FPDF, count: int, x: float | None = None) -> float:
    """`count` digit boxes in a row from x (default: the left margin); returns the x after them."""
    x = pdf.l_margin if x is None else x
    y = pdf.get_y()
    for i in range(count):
        pdf.rect(x + i * BOX, y, BOX, BOX + 1)
    return x + count * BOX


def _caption(pdf: FPDF, x: float, text: str) -> None:
    pdf.set_text_color(*INK.muted)
    _put(pdf, x, pdf.get_y() + BOX + 1.4, text, 6.5)
    pdf.set_text_color(*INK.text)


def _date(pdf: FPDF, x: float, month_only: bool = False) -> float:
    parts = ((2, "MM"), (4, "YYYY")) if month_only else ((2, "DD"), (2, "MM"), (4, "YYYY"))
    for i, (count, caption) in enumerate(parts):
        if i:
            _put(pdf, x + 0.4, pdf.get_y() + 2, "-", 9)
            x += 3
        _caption(pdf, x, caption)
        x = _boxes(pdf, count, x)
    return x


def _ticks(pdf: FPDF, options: list[str]) -> None:
    """Tick boxes with their labels: two to a line when they fit in half the width, else one."""
    half = pdf.epw / 2
    column = 0
    row_top = row_bottom = pdf.get_y()
    pdf.set_font("Deva", size=8.5)
    for text in options:
        wide = pdf.get_string_width(text) + TICK + 4 > half
        if wide and column == 1:
            row_top, column = row_bottom + 0.8, 0
        x = pdf.l_margin + column * half
        pdf.rect(x, row_top + 0.6, TICK, TICK)
        pdf.set_xy(x + TICK + 2, row_top)
        pdf.multi_cell(
            w=(pdf.epw if wide else half) - TICK - 3, h=4.6, text=text, align="L", new_x="LMARGIN", new_y="NEXT"
        )
        row_bottom = max(row_bottom, pdf.get_y())
        if wide or column == 1:
            row_top = row_bottom = row_bottom + 0.8
            column = 0
        else:
            column = 1
    pdf.set_y(row_bottom + 1.5)


def _category_options() -> list[str]:
    return [f"{code}: {hi(description)}{SEPARATOR}{description}" for code, description in CATEGORIES.items()]


def _height(field: Field) -> float:
    """About how tall the field is drawn, mm: enough to keep it on one page."""
    label = 6 + (4 if field.help else 0)
    if field.type in ("file", "declaration"):
        return 10
    if field.type == "signature":
        return 22
    if field.type == "choice" and field.choices_from == "categories":
        return label + 6 * 5
    if field.type == "choice" and field.choices:
        return label + 5.5 * ((len(field.choices) + 1) // 2)
    if field.type in ("digits", "decimal", "date", "month"):
        return label + BOX + 5
    return label + LINE * (field.lines if field.type == "textarea" else 1) + 3


def _field(pdf: FPDF, field: Field) -> None:
    _keep(pdf, _height(field))
    if field.type in ("file", "declaration"):
        y = pdf.get_y()
        pdf.rect(pdf.l_margin, y + 0.6, TICK, TICK)
        pdf.set_xy(pdf.l_margin + TICK + 2, y)
        pdf.set_font("Deva", size=8.5)
        mark = " *" if field.required else ""
        pdf.multi_cell(
            w=pdf.epw - TICK - 2,
            h=4.4,
            text=field.label.hi + SEPARATOR + field.label.en + mark,
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.ln(1.2)
        return
    if field.type == "signature":
        pdf.ln(6)
        y = pdf.get_y()
        pdf.line(pdf.l_margin, y + 8, pdf.l_margin + 80, y + 8)
        pdf.set_font("Deva", size=8)
        _put(pdf, pdf.l_margin, y + 9.5, field.label.hi + SEPARATOR + field.label.en)
        x = pdf.l_margin + 92
        _put(pdf, x, y - 2, both("Date"))
        pdf.set_y(y + 2)
        _date(pdf, x)
        place_x = pdf.l_margin + 150
        _put(pdf, place_x, y - 2, both("Place"))
        pdf.line(place_x, y + 8, pdf.l_margin + pdf.epw, y + 8)
        pdf.set_y(y + 15)
        return
    _label(pdf, field)
    if field.type == "digits":
        _boxes(pdf, field.boxes or 10)
        pdf.ln(BOX + 3)
    elif field.type == "decimal":
        x = _boxes(pdf, 4)
        _put(pdf, x + 0.6, pdf.get_y() + 2.5, ".", 10)
        x = _boxes(pdf, 2, x + 3)
        _put(pdf, x + 2, pdf.get_y() + 2.5, field.unit or "", 9)
        pdf.ln(BOX + 3)
    elif field.type in ("date", "month"):
        _date(pdf, pdf.l_margin, month_only=field.type == "month")
        pdf.ln(BOX + 6.5)
    elif field.type == "choice" and field.choices_from == "categories":
        _ticks(pdf, _category_options())
    elif field.type == "choice" and field.choices:
        _ticks(pdf, [c.label.hi + SEPARATOR + c.label.en for c in field.choices])
    else:  # text, textarea, and a choice written by hand (the sub-division office)
        lines = field.lines if field.type == "textarea" else 1
        y = pdf.get_y()
        pdf.rect(pdf.l_margin, y, pdf.epw, LINE * lines)
        pdf.set_draw_color(190, 190, 190)
        for i in range(1, lines):
            pdf.line(pdf.l_margin + 2, y + LINE * i, pdf.l_margin + pdf.epw - 2, y + LINE * i)
        pdf.set_draw_color(*INK.rule)
        pdf.set_y(y + LINE * lines + 2.5)


def _header(pdf: FPDF, the_form: Form, discom: str) -> None:
    top = pdf.get_y()
    pdf.set_text_color(*INK.brand)
    pdf.set_font("Deva", "B", 13)
    pdf.cell(w=120, h=7, text=hi(discom), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Deva", "B", 10)
    pdf.cell(w=120, h=5.5, text=discom, align="L", new_x="LMARGIN", new_y="NEXT")
    # For the office: where the application's number and date are written when it is received.
    box_x = pdf.l_margin + pdf.epw - 62
    pdf.set_draw_color(*INK.rule)
    pdf.rect(box_x, top, 62, 17)
    pdf.set_text_color(*INK.muted)
    pdf.set_font("Deva", size=7)
    _put(pdf, box_x + 1.5, top + 1.2, both("For office use"), 7)
    _put(pdf, box_x + 1.5, top + 6.7, both("Application number") + ":", 7)
    _put(pdf, box_x + 1.5, top + 12.2, both("Received on") + ":", 7)
    pdf.set_y(top + 19)
    pdf.set_text_color(*INK.text)
    pdf.set_font("Deva", "B", 13)
    pdf.multi_cell(w=0, h=6.5, text=the_form.title.hi, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Deva", "B", 11)
    pdf.multi_cell(w=0, h=5.5, text=the_form.title.en, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("Deva", size=8)
    pdf.multi_cell(w=0, h=4, text=the_form.intro.hi, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK.muted)
    pdf.multi_cell(w=0, h=4, text=the_form.intro.en, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK.text)
    pdf.set_font("Deva", size=7.5)
    pdf.multi_cell(w=0, h=4, text=both("* must be filled in"), align="L", new_x="LMARGIN", new_y="NEXT")


def _footer(pdf: FPDF, portal_url: str | None, helpline: str) -> None:
    pdf.ln(2)
    pdf.set_draw_color(*INK.brand)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(1.5)
    pdf.set_font("Deva", size=7.5)
    lines = ["Hand this form in at your sub-division office with copies of the documents."]
    values: list[dict[str, str]] = [{}]
    if portal_url:
        lines.append("You can also apply online at %(url)s.")
        values.append({"url": portal_url})
    lines.append("Helpline %(helpline)s, day and night.")
    values.append({"helpline": helpline})
    for message, fill in zip(lines, values, strict=True):
        pdf.multi_cell(w=0, h=3.8, text=both(message, **fill), align="L", new_x="LMARGIN", new_y="NEXT")


@functools.lru_cache(maxsize=32)
def form_pdf(
    key: str | Form,
    *,
    discom: str = DISCOM,
    portal_url: str | None = None,
    helpline: str = "1912",
    font_dir: Path = FONT_DIR,
) -> bytes:
    """The blank form `key` (e.g. "new_connection") as a PDF to print: its paper fields, section by section.

    Drawn once per process and kept: a blank form changes only with the forms file, read once too.
    """
    the_form = key if isinstance(key, Form) else form(key)
    pdf = new_document(title=en(the_form.title.en), subject=f"{discom}: {the_form.key}", font_dir=font_dir)
    _header(pdf, the_form, discom)
    for part in the_form.sections:
        fields = the_form.on_paper(part.key)
        if not fields:
            continue
        _keep(pdf, 10 + _height(fields[0]))  # a section's title stays with its first field
        section(pdf, part.title.hi + SEPARATOR + part.title.en)
        for field in fields:
            _field(pdf, field)
    _footer(pdf, portal_url, helpline)
    return finish(pdf)
