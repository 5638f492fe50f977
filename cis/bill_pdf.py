"""A bill as a one-page A4 PDF, labels in Hindi and English side by side, Devanagari shaped correctly.

It prints what `cis.my_account.BillDocument` holds, which is what the billing run stored: the consumer and
connection, the readings and units, the basis, every charge line (the energy slabs when they could be worked
out to the stored energy charge), arrears, surcharge, the total, the due date and what is payable after it,
how to pay and the 1912 helpline.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from cis.my_account import BillDocument
from cis.printing import (
    FONT_DIR,
    INK,
    SEPARATOR,
    Style,
    both,
    date_text,
    en,
    finish,
    hi,
    month_text,
    new_document,
    number,
    row,
    rupees,
    section,
)

DISCOM = "Urja Mitra Electricity Distribution"
KEPT = 128  # bill PDFs kept per process, about 38 KB each
BASIS = {"actual": "Meter read", "estimated": "Estimated", "assessed": "Assessed"}
LINES = {
    "fixed": "Fixed charge",
    "minimum": "Minimum charge top-up",
    "duty": "Electricity duty",
    "rounding": "Rounded off to the whole rupee",
    "arrears": "Arrears",
    "lps": "Late payment surcharge",
    "compensation": "Compensation credited (Standards of Performance)",
}


@dataclass(frozen=True)
class Issuer:
    """Who issues the bill and where to pay: the discom's name (English; Hindi from the catalog unless given)."""

    name: str = DISCOM
    name_hi: str | None = None
    helpline: str = "1912"
    portal_url: str | None = None  # the web self-service; None leaves the "online" line out


LABEL = Style(size=7, color=INK.muted)
VALUE = Style(size=8.5, bold=True)
PLAIN = Style(size=9)
HEADING = Style(size=8.5, bold=True)
STRONG = Style(size=10.5, bold=True)


def _label_value_rows(pdf: FPDF, pairs: list[tuple[str, str]], widths: tuple[float, float, float, float]) -> None:
    for i in range(0, len(pairs), 2):
        cells = []
        for (label, value), (lw, vw) in zip(pairs[i : i + 2], (widths[:2], widths[2:]), strict=False):
            cells += [(lw, label, LABEL, "L"), (vw, value, VALUE, "L")]
        row(pdf, cells, pad=0.8)


def _slab_label(first: int, last: int | None) -> str:
    if last is None:
        return both("Energy charge, units above %(first)s", first=number(first - 1))
    return both("Energy charge, units %(first)s–%(last)s", first=number(first), last=number(last))


def _charges(pdf: FPDF, doc: BillDocument) -> None:
    widths = (100, 24, 24, pdf.epw - 148)

    def line(texts: tuple[str, str, str, str], style: Style, fill: tuple[int, int, int] | None = None) -> None:
        aligns = ("L", "R", "R", "R")
        row(pdf, [(w, t, style, a) for w, t, a in zip(widths, texts, aligns, strict=True)], pad=1.0, fill=fill)

    line((both("Charges"), both("Units"), both("Rate"), both("Amount")), HEADING, INK.band)
    if doc.slabs:
        for slab in doc.slabs:
            label = _slab_label(slab.first_unit, slab.last_unit)
            line((label, number(slab.units), rupees(slab.paise_per_unit), rupees(slab.amount_paise)), PLAIN)
    else:
        line((both("Energy charge"), number(doc.units), "", rupees(doc.energy_paise)), PLAIN)
    for name, paise in doc.charge_lines():
        if name not in ("energy", "total"):
            line((both(LINES[name]), "", "", rupees(paise)), PLAIN)
    row(
        pdf,
        [
            (widths[0] + widths[1] + widths[2], both("Total payable"), STRONG, "L"),
            (widths[3], rupees(doc.amount_paise), STRONG, "R"),
        ],
        pad=1.2,
    )


def _payable(pdf: FPDF, doc: BillDocument) -> None:
    """The two figures a consumer looks for first, boxed: by the due date, and after it."""
    pdf.ln(2)
    top = pdf.get_y()
    half = (pdf.epw - 4) / 2
    for i, (label, when, amount, size) in enumerate(
        (
            ("Pay by the due date", date_text(doc.due_date), doc.amount_paise, 15),
            ("Payable after the due date", "", doc.amount_after_due_paise, 12),
        )
    ):
        x = pdf.l_margin + i * (half + 4)
        pdf.set_draw_color(*INK.brand)
        pdf.set_line_width(0.6 if i == 0 else 0.3)
        pdf.rect(x, top, half, 19)
        pdf.set_xy(x + 2, top + 1.5)
        pdf.set_font("Deva", size=8)
        pdf.set_text_color(*INK.muted)
        pdf.cell(w=half - 4, h=4.5, text=hi(label))
        pdf.set_xy(x + 2, top + 5.5)
        pdf.cell(w=half - 4, h=4.5, text=en(label) + (f": {when}" if when else ""))
        pdf.set_xy(x + 2, top + 10.5)
        pdf.set_font("Deva", "B", size)
        pdf.set_text_color(*(INK.brand if i == 0 else INK.text))
        pdf.cell(w=half - 4, h=7, text=rupees(amount))
    pdf.set_text_color(*INK.text)
    pdf.set_draw_color(*INK.rule)
    pdf.set_line_width(0.2)
    pdf.set_y(top + 21)


def _how_to_pay(pdf: FPDF, issuer: Issuer) -> None:
    """The ways to pay and the helpline, Hindi and English side by side."""
    pdf.ln(1)
    lines = []
    if issuer.portal_url:
        lines.append(("Online at %(url)s with your account number.", {"url": issuer.portal_url}))
    lines.append(("Any UPI app: choose electricity, then our name, and enter your account number.", {}))
    lines.append(("Cash or cheque at the counter of your sub-division office.", {}))
    lines.append(("Helpline %(helpline)s, day and night: no power, complaints, bills.", {"helpline": issuer.helpline}))
    half = pdf.epw / 2
    head = Style(size=9, bold=True)
    row(
        pdf,
        [(half, hi("How to pay"), head, "L"), (half, en("How to pay"), head, "L")],
        pad=1.0,
        rule=False,
        fill=INK.band,
    )
    small = Style(size=8)
    for message, values in lines:
        cells = [(half, "• " + hi(message, **values), small, "L"), (half, "• " + en(message, **values), small, "L")]
        row(pdf, cells, pad=0.7, rule=False)


def _header(pdf: FPDF, doc: BillDocument, issuer: Issuer) -> None:
    name_hi = issuer.name_hi or hi(issuer.name)
    top = pdf.get_y()
    pdf.set_text_color(*INK.brand)
    pdf.set_font("Deva", "B", 15)
    pdf.cell(w=110, h=8, text=name_hi, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Deva", "B", 11)
    pdf.cell(w=110, h=6, text=issuer.name, new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + 110, top)
    pdf.set_font("Deva", "B", 13)
    title = "Revised bill" if doc.version > 1 else "Electricity bill"
    pdf.cell(w=pdf.epw - 110, h=8, text=both(title), align="R")
    pdf.set_xy(pdf.l_margin + 110, top + 8)
    pdf.set_text_color(*INK.text)
    pdf.set_font("Deva", size=9.5)
    pdf.cell(w=pdf.epw - 110, h=6, text=month_text(doc.cycle), align="R")
    pdf.set_y(max(bottom, top + 14) + 1)
    pdf.set_draw_color(*INK.brand)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.set_draw_color(*INK.rule)
    pdf.set_line_width(0.2)
    pdf.ln(1)


def bill_pdf(doc: BillDocument, *, issuer: Issuer | None = None, font_dir: Path = FONT_DIR) -> bytes:
    """The bill as a one-page PDF; the same document gives the same bytes (no clock is read).

    A bill never changes once issued (a revision is a new bill), so the last PDFs drawn are kept in memory:
    a consumer opening the same bill again costs nothing. `draw_bill_pdf` always draws.
    """
    return _kept(doc, issuer or Issuer(), font_dir)


@functools.lru_cache(maxsize=KEPT)
def _kept(doc: BillDocument, issuer: Issuer, font_dir: Path) -> bytes:
    return draw_bill_pdf(doc, issuer=issuer, font_dir=font_dir)


def draw_bill_pdf(doc: BillDocument, *, issuer: Issuer | None = None, font_dir: Path = FONT_DIR) -> bytes:
    """The bill drawn now (about 70 ms of CPU: bench/pdf_bench.py)."""
    issuer = issuer or Issuer()
    account = doc.account
    pdf = new_document(
        title=f"{en('Electricity bill')} {doc.cycle} {account.account_no}",
        subject=f"{issuer.name}: {account.account_no} {doc.cycle}",
        font_dir=font_dir,
        created=doc.issued_on,
    )
    _header(pdf, doc, issuer)
    if doc.version > 1:
        pdf.set_font("Deva", size=8.5)
        reason = doc.revision_reason or "–"
        pdf.multi_cell(
            w=0,
            h=4.2,
            text=both(
                "Replaces bill number %(number)s. Reason: %(reason)s", number=doc.supersedes_no or "–", reason=reason
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )

    section(pdf, both("Consumer details"))
    # Hindi first: fpdf2 (2.8.9) garbles a Devanagari line of a table cell that follows, after a line break,
    # a line set in the fallback (Latin) font; the other way round is drawn right.
    name = (account.name_hi + SEPARATOR if account.name_hi else "") + account.name
    address = (account.address_hi + "\n" if account.address_hi else "") + account.address
    category = f"{account.category}: {both(account.category_description)}"
    if doc.category != account.category:
        category = f"{doc.category} ({account.category})"
    _label_value_rows(
        pdf,
        [
            (both("Account number"), account.account_no),
            (both("Name"), name),
            (both("Category"), category),
            (both("Address"), address),
            (both("Sanctioned load"), f"{number(doc.load_kw)} kW"),
            (both("Supply"), account.supply_type),
            (both("Meter number"), doc.meter_no or "–"),
            (both("Feeder"), f"{account.feeder_name} ({account.feeder_code})"),
            (
                both("Sub-division"),
                (account.sub_division_hi + SEPARATOR if account.sub_division_hi else "") + account.sub_division,
            ),
        ],
        (30, 63, 30, 63),
    )

    section(pdf, both("Bill details"))
    previous = "–" if doc.previous_kwh is None else f"{number(doc.previous_kwh)} kWh · {date_text(doc.period_start)}"
    current = "–" if doc.current_kwh is None else f"{number(doc.current_kwh)} kWh · {date_text(doc.period_end)}"
    _label_value_rows(
        pdf,
        [
            (both("Bill number"), doc.bill_no + (f" (v{doc.version})" if doc.version > 1 else "")),
            (both("Bill date"), date_text(doc.issued_on)),
            (both("Billing period"), f"{date_text(doc.period_start)} – {date_text(doc.period_end)}"),
            (both("Days"), str(doc.period_days)),
            (both("Basis of bill"), both(BASIS.get(doc.basis, doc.basis))),
            (both("Previous reading"), previous),
            (both("Current reading"), current),
            (both("Units consumed"), number(doc.units)),
            (both("Due date"), date_text(doc.due_date)),
        ],
        (30, 63, 30, 63),
    )

    pdf.ln(3)
    _charges(pdf, doc)
    _payable(pdf, doc)
    _how_to_pay(pdf, issuer)

    pdf.ln(2)
    pdf.set_font("Deva", size=7.5)
    pdf.set_text_color(*INK.muted)
    pdf.multi_cell(w=0, h=3.8, text=both("Computer-generated bill; no signature is needed."), align="C")
    return finish(pdf)
