"""My account on the portal: the current bill itemised, why it is high, 12 months of use, bills, payments, PDFs.

GET /portal/bills              the account, its current bill as stored, "why is my bill high?", the use chart
                               with its table, the last 24 bills and payments (`cis.my_account.my_account`: four
                               indexed reads)
GET /portal/bills/<id>         one bill of the signed-in account itemised, with the other versions of its cycle
GET /portal/bills/<id>.pdf     that bill as a PDF (`cis.bill_pdf`), to download

Only the signed-in account's bills are found: every lookup has the account in its WHERE clause, so another
account's bill, like a missing one, is a 404. Pages and PDFs are never kept by a cache (`no-store`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from babel.support import NullTranslations
from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from cis import my_account, payments
from cis.bill_explain import BillExplanation
from cis.bill_pdf import Issuer, bill_pdf
from cis.db import UnitOfWork
from cis.errors import AmountOutOfRange
from cis.models.accounts import CATEGORIES
from cis.my_account import AccountNotFound, BillNotFound, ConsumptionRow
from cis.numbers import receipt_no_for_id
from cis.payments.posting import receipt_document
from cis.receipt_pdf import receipt_pdf
from cis.web.charts import consumption_svg, consumption_table, summary
from cis.web.i18n import N_, inr, number, page_text
from cis.web.i18n import gettext as _
from cis.web.portal.session import consumer_required, me

MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)
# The bill's lines, named as the printed bill names them (cis/bill_pdf.py; the docs catalog has their Hindi).
LINES = {
    "energy": N_("Energy charge"),
    "fixed": N_("Fixed charge"),
    "minimum": N_("Minimum charge top-up"),
    "duty": N_("Electricity duty"),
    "rounding": N_("Rounded off to the whole rupee"),
    "arrears": N_("Arrears"),
    "lps": N_("Late payment surcharge"),
    "compensation": N_("Compensation credited (Standards of Performance)"),
    "total": N_("Total payable"),
}
RUPEES = re.compile(r"\d{1,7}(\.\d{1,2})?")
BASES = {"actual": N_("Meter read"), "estimated": N_("Estimated"), "assessed": N_("Assessed")}
BILL_STATUSES = {
    "issued": N_("Unpaid"),
    "part_paid": N_("Part paid"),
    "paid": N_("Paid"),
    "superseded": N_("Replaced by a revised bill"),
}
PAYMENT_CHANNELS = {
    "counter": N_("Cash counter"),
    "portal": N_("Web portal"),
    "upi": N_("UPI"),
    "app": N_("Mobile app"),
    "ivr": N_("Phone (1912)"),
    "sms": N_("SMS link"),
}
PAYMENT_STATUSES = {"success": N_("Received"), "refunded": N_("Refunded")}
CONNECTION_STATUSES = {
    "active": N_("Connected"),
    "temp_disconnected": N_("Disconnected for now"),
    "perm_disconnected": N_("Permanently disconnected"),
}


# "Why is my bill high?": this bill's units against last year's and the previous bill's (more, fewer, the same).
LAST_YEAR = (
    N_("In the same month last year you used %(units)s units; this year you used %(difference)s units more."),
    N_("In the same month last year you used %(units)s units; this year you used %(difference)s units fewer."),
    N_("In the same month last year you also used %(units)s units."),
)
LAST_BILL = (
    N_("Your previous bill was for %(units)s units: this one has %(difference)s units more."),
    N_("Your previous bill was for %(units)s units: this one has %(difference)s units fewer."),
    N_("Your previous bill was for the same %(units)s units."),
)


def month_year(cycle: str) -> str:
    """'October 2026' / 'अक्टूबर 2026' for the cycle 2026-10."""
    return f"{_(MONTHS[int(cycle[5:7]) - 1])} {cycle[:4]}"


def category_text(code: str) -> str:
    """The tariff category's description in the page's language (the docs catalog has them)."""
    return _(CATEGORIES[code]) if code in CATEGORIES else code


def short_months() -> list[str]:
    """The twelve months as the chart writes them under its bars, in the page's language."""
    text = page_text()
    return [
        text.pgettext("month", "Jan"),
        text.pgettext("month", "Feb"),
        text.pgettext("month", "Mar"),
        text.pgettext("month", "Apr"),
        text.pgettext("month", "May"),
        text.pgettext("month", "Jun"),
        text.pgettext("month", "Jul"),
        text.pgettext("month", "Aug"),
        text.pgettext("month", "Sep"),
        text.pgettext("month", "Oct"),
        text.pgettext("month", "Nov"),
        text.pgettext("month", "Dec"),
    ]


def _compare(now: int, then: int, more: str, fewer: str, same: str) -> str:
    if now > then:
        return _(more, units=number(then), difference=number(now - then))
    if now < then:
        return _(fewer, units=number(then), difference=number(then - now))
    return _(same, units=number(then))


def why_sentences(e: BillExplanation, *, helpline: str) -> list[str]:
    """The explanation of the bill as sentences in the page's language: the facts the IVR speaks, in its order
    (this bill's units, last year's, the previous bill's, the slab reached, arrears, surcharge, the basis)."""
    said = [_("Your bill for %(month)s is for %(units)s units.", month=month_year(e.cycle), units=number(e.units))]
    if e.units_same_month_last_year is not None:
        said.append(_compare(e.units, e.units_same_month_last_year, *LAST_YEAR))
    if e.units_last_bill is not None:
        said.append(_compare(e.units, e.units_last_bill, *LAST_BILL))
    slab = e.slab
    if slab is not None:
        rate = inr(slab.paise_per_unit)
        if slab.index == 1 and slab.upper_units is None:
            said.append(_("All your units are charged at %(rate)s a unit.", rate=rate))
        elif slab.index == 1:
            said.append(
                _(
                    "All your units are in the first slab (units %(first)s–%(last)s), charged at %(rate)s a unit.",
                    first=number(slab.lower_units),
                    last=number(slab.upper_units or 0),
                    rate=rate,
                )
            )
        elif slab.upper_units is None:
            said.append(
                _(
                    "Your use reached the top slab, slab %(index)s (above %(first)s units), charged at %(rate)s a "
                    "unit; the units below it are charged at the lower slabs' rates.",
                    index=slab.index,
                    first=number(max(0, slab.lower_units - 1)),
                    rate=rate,
                )
            )
        else:
            said.append(
                _(
                    "Your use reached slab %(index)s (units %(first)s–%(last)s), charged at %(rate)s a unit; the units "
                    "below it are charged at the lower slabs' rates.",
                    index=slab.index,
                    first=number(slab.lower_units),
                    last=number(slab.upper_units),
                    rate=rate,
                )
            )
    if e.arrears_paise > 0:
        said.append(
            _("It includes arrears of %(amount)s from earlier bills not paid in full.", amount=inr(e.arrears_paise))
        )
    if e.lps_paise > 0:
        said.append(
            _(
                "A late payment surcharge of %(amount)s has been added on what was still unpaid after its due date.",
                amount=inr(e.lps_paise),
            )
        )
    if e.basis == "estimated":
        said.append(
            _(
                "This bill is based on an estimated reading: your meter was not read. For a correct bill, give your "
                "meter reading: SMS READ and the units on the meter (e.g. READ 4567) from your registered mobile, or "
                "call %(helpline)s and press 5.",
                helpline=helpline,
            )
        )
    elif e.basis == "assessed":
        said.append(_("This bill is based on assessed use, because your meter is recorded as defective."))
    else:
        said.append(_("This bill is based on an actual reading of your meter."))
    return said


def chart_description(rows: list[ConsumptionRow]) -> str:
    """One sentence saying what the use chart shows: its months, the highest and lowest, the latest."""
    found = summary(rows)
    if found["latest_units"] is None or found["high_units"] is None or found["low_units"] is None:
        return _("No bill has been issued on this account yet.")
    return _(
        "From %(first)s to %(last)s, your highest bill was for %(high)s units (%(high_month)s) and your lowest for "
        "%(low)s units (%(low_month)s); the latest is for %(latest)s units.",
        first=month_year(str(found["first"])),
        last=month_year(str(found["last"])),
        high=number(int(str(found["high_units"]))),
        high_month=month_year(str(found["high_cycle"])),
        low=number(int(str(found["low_units"]))),
        low_month=month_year(str(found["low_cycle"])),
        latest=number(int(str(found["latest_units"]))),
    )


def _chart(rows: list[ConsumptionRow], description: str) -> tuple[Markup, list[Any]]:
    months = short_months()
    bases = {key: _(label) for key, label in BASES.items()}
    svg = consumption_svg(
        rows,
        title=_("Units billed, last 12 months"),
        description=description,
        month_names=months,
        basis_names=bases,
        unit=_("units"),
        no_bill=_("no bill"),
    )
    table = consumption_table(rows, month_names=months, basis_names=bases, no_bill=_("no bill"))
    return svg, table


def _labels() -> dict[str, Any]:
    """What templates name in the page's language: lines, bases, statuses, channels, months.

    Made once per catalog (a language) and kept: a page would otherwise translate some 40 names again, and the
    month of each of its 48 history rows. Templates only read these."""
    return _labels_in(page_text().catalog)


@functools.lru_cache(maxsize=8)
def _labels_in(catalog: NullTranslations) -> dict[str, Any]:
    months = [catalog.ugettext(name) for name in MONTHS]

    def month_year_in(cycle: str) -> str:  # month_year() in this catalog
        return f"{months[int(cycle[5:7]) - 1]} {cycle[:4]}"

    def names(texts: dict[str, str]) -> dict[str, str]:
        return {key: catalog.ugettext(text) for key, text in texts.items()}

    return {
        "line_names": names(LINES),
        "basis_names": names(BASES),
        "bill_statuses": names(BILL_STATUSES),
        "payment_channels": names(PAYMENT_CHANNELS),
        "payment_statuses": names(PAYMENT_STATUSES),
        "connection_statuses": names(CONNECTION_STATUSES),
        "month_year": month_year_in,
        "category_text": category_text,
    }


def bill_rows(
    bills: list[my_account.BillRow],
    t: dict[str, str],
    month_year: Callable[[str], str],
    basis_names: dict[str, str],
    bill_statuses: dict[str, str],
) -> Markup:
    """The bill history's rows as the template wrote them, made here in one pass: a Jinja loop of 24 rows with
    seven calls each cost about as much as the rest of the page. `t` holds the template's translated labels
    (already markup, as the template's `_()` returns them); every value is escaped."""
    parts = []
    text = page_text()  # the page's locale looked up once, not for each of the row's amounts and dates
    number, inr, date_text = text.number, text.inr, text.date_text
    for row in bills:
        month = escape(month_year(row.cycle))
        revised = f' <span class="badge">{t["revised"]}</span>' if row.version > 1 else ""
        basis = f" ({escape(basis_names.get(row.basis, row.basis))})" if row.basis != "actual" else ""
        parts.append(
            f"""
          <tr>
            <th scope="row"><a href="/portal/bills/{row.bill_id}">{month}</a>{revised}</th>
            <td data-label="{t["bill_no"]}">{escape(row.bill_no)}</td>
            <td class="num" data-label="{t["units"]}">{escape(number(row.units))}{basis}</td>
            <td class="num" data-label="{t["amount"]}">{escape(inr(row.amount_paise))}</td>
            <td data-label="{t["due"]}">{escape(date_text(row.due_date))}</td>
            <td data-label="{t["status"]}">{escape(bill_statuses.get(row.status, row.status))}</td>
            <td data-label="{t["bill"]}"><a href="/portal/bills/{row.bill_id}.pdf" download>{t["pdf"]}"""
            f"""<span class="visually-hidden">, {month}</span></a></td>
          </tr>"""
        )
    return Markup("".join(parts))


def payment_rows(
    payments: list[my_account.PaymentRow],
    t: dict[str, str],
    month_year: Callable[[str], str],
    payment_channels: dict[str, str],
    payment_statuses: dict[str, str],
) -> Markup:
    """The payments' rows as the template wrote them, made here in one pass (see `bill_rows`)."""
    parts = []
    text = page_text()
    inr, date_text = text.inr, text.date_text
    for row in payments:
        cycle = escape(month_year(row.cycle)) if row.cycle else "–"
        parts.append(
            f"""
          <tr>
            <th scope="row">{escape(date_text(row.paid_at))}</th>
            <td class="num" data-label="{t["amount"]}">{escape(inr(row.amount_paise))}</td>
            <td data-label="{t["by"]}">{escape(payment_channels.get(row.channel, row.channel))}</td>
            <td data-label="{t["for"]}">{cycle}</td>
            <td data-label="{t["receipt"]}"><a href="/portal/bills/receipts/{row.payment_id}.pdf" download>"""
            f"""{escape(receipt_no_for_id(row.payment_id))}</a></td>
            <td data-label="{t["status"]}">{escape(payment_statuses.get(row.status, row.status))}</td>
          </tr>"""
        )
    return Markup("".join(parts))


def rupees_to_paise(text: str) -> int | None:
    """ "1727", "1,727.50", "₹ 1727.5" as paise; None for anything else."""
    cleaned = text.replace(",", "").replace("₹", "").replace("Rs", "").strip()
    if not RUPEES.fullmatch(cleaned):
        return None
    whole, _dot, fraction = cleaned.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


def pdf_filename(doc: my_account.BillDocument) -> str:
    """bill-1000007920-2026-10.pdf (and -v2 for a revision): plain ASCII, what the bill is at a glance."""
    version = f"-v{doc.version}" if doc.version > 1 else ""
    return f"bill-{doc.account.account_no}-{doc.cycle}{version}.pdf"


def account_blueprint(
    session_factory: Callable[[], Session], *, issuer: Issuer | None = None, helpline: str = "1912"
) -> Blueprint:
    """The "my account" pages under /portal/bills; needs the portal blueprint (its sign-in and session)."""
    bp = Blueprint("account", __name__, url_prefix="/portal/bills", template_folder="templates")
    printed_by = issuer or Issuer(helpline=helpline)

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    def bills_page(pay_error: str | None = None, amount: str | None = None, status: int = 200) -> ResponseReturnValue:
        signed_in = me()
        try:
            page = my_account.my_account(uow(), signed_in.account_id)
        except AccountNotFound:
            abort(404)
        description = chart_description(page.consumption)
        chart, table = _chart(page.consumption, description) if page.consumption else (None, [])
        why = why_sentences(page.explanation, helpline=helpline) if page.explanation is not None else []
        due = page.current_bill.outstanding_paise if page.current_bill is not None else 0
        html = render_template(
            "account/bills.html",
            page=page,
            doc=page.current_bill,
            why=why,
            chart=chart,
            chart_description=description,
            chart_rows=table,
            helpline=helpline,
            bill_rows=bill_rows,
            payment_rows=payment_rows,
            pay_amount=amount if amount is not None else (f"{due // 100}.{due % 100:02d}" if due else ""),
            pay_error=pay_error,
            **_labels(),
        )
        return make_response(html, status)

    @bp.get("")
    @consumer_required
    def bills() -> ResponseReturnValue:
        return bills_page()

    @bp.post("/pay")
    @consumer_required
    def pay() -> ResponseReturnValue:
        """Pay now: an intent for the amount typed (what is due, part of it, or an advance), then its pay page."""
        raw = (request.form.get("amount") or "").strip()[:20]
        paise = rupees_to_paise(raw)
        if paise is None:
            return bills_page(_("Please enter an amount in rupees, like 1727 or 1727.50."), raw, 400)
        try:
            intent = payments.open_intent(uow(), me().account_no, channel="portal", amount_paise=paise)
        except AmountOutOfRange as exc:
            message = _("An amount from %(low)s to %(high)s can be paid online.", low=inr(exc.low), high=inr(exc.high))
            return bills_page(message, raw, 400)
        return redirect(url_for("pay.show", token=intent.token), code=303)

    @bp.get("/<int:bill_id>")
    @consumer_required
    def bill(bill_id: int) -> ResponseReturnValue:
        signed_in = me()
        try:
            doc = my_account.bill_document(uow(), signed_in.account_id, bill_id)
        except (BillNotFound, AccountNotFound):
            abort(404)
        versions = my_account.bill_versions(uow(), signed_in.account_id, doc.cycle)
        return render_template("account/bill.html", doc=doc, versions=versions, helpline=helpline, **_labels())

    @bp.get("/<int:bill_id>.pdf")
    @consumer_required
    def bill_pdf_file(bill_id: int) -> ResponseReturnValue:
        signed_in = me()
        try:
            doc = my_account.bill_document(uow(), signed_in.account_id, bill_id)
        except (BillNotFound, AccountNotFound):
            abort(404)
        response = make_response(bill_pdf(doc, issuer=printed_by))
        response.mimetype = "application/pdf"
        response.headers["Content-Disposition"] = f'attachment; filename="{pdf_filename(doc)}"'
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @bp.get("/receipts/<int:payment_id>.pdf")
    @consumer_required
    def receipt_pdf_file(payment_id: int) -> ResponseReturnValue:
        """A receipt of the signed-in account's own payment; any other is a 404."""
        doc = receipt_document(uow(), me().account_id, payment_id)
        if doc is None:
            abort(404)
        response = make_response(receipt_pdf(doc, issuer=printed_by))
        response.mimetype = "application/pdf"
        response.headers["Content-Disposition"] = f'attachment; filename="receipt-{doc.receipt_no}.pdf"'
        response.headers["Cache-Control"] = "private, no-store"
        return response

    return bp
