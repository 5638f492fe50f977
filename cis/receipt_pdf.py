"""A payment receipt as a one-page PDF, Hindi and English like the bill (cis/bill_pdf.py): what was paid, when,
for which account and bill, how; a reversed payment says so across the top."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cis.bill_pdf import Issuer
from cis.payments.posting import ReceiptDocument
from cis.printing import (
    FONT_DIR,
    INK,
    Style,
    both,
    date_text,
    hi,
    month_text,
    new_document,
    row,
    rupees,
    section,
)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
LABEL = Style(size=8, color=INK.muted)
VALUE = Style(size=9.5, bold=True)
CHANNELS = {
    "portal": "Web portal",
    "sms": "SMS link",
    "ivr": "Phone (1912)",
    "ussd": "USSD",
    "console": "1912 call centre",
    "counter": "Cash counter",
    "upi": "UPI",
    "app": "Mobile app",
    "bank": "Bank",
}
METHODS = {
    "upi": "UPI",
    "card": "Card",
    "netbanking": "Net banking",
    "wallet": "Wallet",
    "emi": "EMI",
    "cash": "Cash",
    "cheque": "Cheque",
    "dd": "Demand draft",
    "bank": "Bank transfer",
}


def receipt_pdf(doc: ReceiptDocument, *, issuer: Issuer | None = None, font_dir: Path = FONT_DIR) -> bytes:
    issuer = issuer or Issuer()
    pdf = new_document(
        title=f"Payment receipt {doc.receipt_no}",
        subject=f"{issuer.name}: {doc.account_no} {doc.receipt_no}",
        font_dir=font_dir,
        created=doc.paid_at.astimezone(IST).date(),
    )
    pdf.set_text_color(*INK.brand)
    pdf.set_font("Deva", "B", 15)
    pdf.cell(w=0, h=8, text=issuer.name_hi or hi(issuer.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Deva", "B", 11)
    pdf.cell(w=0, h=6, text=issuer.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Deva", "B", 13)
    pdf.cell(w=0, h=8, text=both("Payment receipt"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK.text)
    if doc.status != "success":
        pdf.set_text_color(160, 0, 0)
        pdf.set_font("Deva", "B", 11)
        when = date_text(doc.reversed_at.astimezone(IST).date()) if doc.reversed_at else "–"
        pdf.multi_cell(
            w=0,
            h=6,
            text=both("This payment was reversed on %(date)s: it no longer counts.", date=when),
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_text_color(*INK.text)
    section(pdf, both("Payment"))
    local = doc.paid_at.astimezone(IST)
    pairs = [
        (both("Receipt number"), doc.receipt_no),
        (both("Amount received"), rupees(doc.amount_paise)),
        (both("Received on"), f"{date_text(local.date())}, {local:%H:%M} IST"),
        (both("Paid through"), both(CHANNELS.get(doc.channel, doc.channel))),
        (both("Paid by"), both(METHODS[doc.method]) if doc.method in METHODS else "–"),
        (both("Gateway reference"), doc.gateway_ref or "–"),
    ]
    for label, value in pairs:
        row(pdf, [(70, label, LABEL, "L"), (pdf.epw - 70, value, VALUE, "L")], pad=1.2)
    section(pdf, both("Consumer details"))
    details = [(both("Account number"), doc.account_no), (both("Name"), doc.name)]
    if doc.bill_no:
        details.append((both("Bill number"), doc.bill_no))
    if doc.cycle:
        details.append((both("Bill month"), month_text(doc.cycle)))
    for label, value in details:
        row(pdf, [(70, label, LABEL, "L"), (pdf.epw - 70, value, VALUE, "L")], pad=1.2)
    pdf.ln(4)
    pdf.set_font("Deva", size=8.5)
    pdf.multi_cell(
        w=0,
        h=4.5,
        text=both(
            "A computer-made receipt: no signature is needed. Questions about this payment: call %(helpline)s.",
            helpline=issuer.helpline,
        ),
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
