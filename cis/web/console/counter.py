"""The cash counter of a sub-division office (role `cashier`; an administrator may too).

GET  /counter/?account=N                   find the account (of the cashier's area) and what it owes; the form
POST /counter/collect                      cash, cheque or DD taken: posted once per form (cis.payments.counter)
GET  /counter/receipts/<payment id>.pdf    the receipt to print and hand over
GET  /counter/cashbook?date=YYYY-MM-DD     the cashier's day: every collection, the reversed marked, totals by mode
GET  /counter/cashbook.csv?date=...        the same as CSV
POST /counter/payments/<payment id>/bounce a cheque or DD returned unpaid: its payment reversed, with the reason

An account outside the cashier's area is answered as one nobody has.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from cis.bill_pdf import Issuer
from cis.db import UnitOfWork
from cis.errors import AmountOutOfRange, MalformedAccountNumber, UnknownAccount
from cis.models import Account
from cis.payments import account_due
from cis.payments.counter import (
    CASHIER_ROLES,
    MODES,
    MissingInstrument,
    NotBounceable,
    bounce,
    cash_book,
    collect,
)
from cis.payments.posting import receipt_document
from cis.receipt_pdf import receipt_pdf
from cis.scopes import account_sub_division, covered_sub_divisions
from cis.web.account import rupees_to_paise
from cis.web.auth import current_staff, login_required
from cis.web.i18n import N_

NOTICE = "counter_notice"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
MODE_WORDS = {"cash": N_("Cash"), "cheque": N_("Cheque"), "dd": N_("Demand draft")}


def counter_blueprint(
    session_factory: Callable[[], Session], *, clock: Callable[[], dt.datetime], issuer: Issuer | None = None
) -> Blueprint:
    bp = Blueprint("counter", __name__, url_prefix="/counter", template_folder="../templates")
    printed_by = issuer or Issuer()

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    def me() -> Any:
        staff = current_staff()
        assert staff is not None
        return staff

    def said(message: str, kind: str = "ok") -> None:
        session[NOTICE] = [kind, message]

    def notice() -> list[str] | None:
        value = session.pop(NOTICE, None)
        return value if isinstance(value, list) and len(value) == 2 else None

    def page(template: str, status: int = 200, **context: Any) -> Response:
        html = render_template(
            template, notice=notice(), mode_words={k: _(v) for k, v in MODE_WORDS.items()}, **context
        )
        response = make_response(html, status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def found(raw: str) -> dict[str, Any] | None:
        """The account of the cashier's area with what it owes, or None (malformed, unknown or elsewhere)."""
        from sqlalchemy import select

        from cis.models import Consumer
        from cis.numbers import parse_account_no

        try:
            number = parse_account_no(raw)
        except MalformedAccountNumber:
            return None
        staff = me()
        with uow().reading() as work:
            s = work.session
            row = s.execute(
                select(Account.id, Account.account_no, Consumer.name, Account.address)
                .join(Consumer, Consumer.id == Account.consumer_id)
                .where(Account.account_no == number)
            ).first()
            if row is None:
                return None
            covered = covered_sub_divisions(s, staff.scope_level, staff.scope_id)
            if covered is not None and account_sub_division(s, row.id) not in covered:
                return None
            due = account_due(s, row.id)
        return {
            "account_no": row.account_no,
            "name": row.name,
            "address": row.address,
            "due": due,
            "due_rupees": f"{due.outstanding_paise // 100}.{due.outstanding_paise % 100:02d}"
            if due.outstanding_paise
            else "",
        }

    @bp.get("/")
    @login_required(*CASHIER_ROLES)
    def index() -> ResponseReturnValue:
        raw = (request.args.get("account") or "").strip()[:20]
        account = found(raw) if raw else None
        error = _("No account of your area has this number.") if raw and account is None else None
        return page(
            "counter/index.html",
            404 if error else 200,
            raw=raw,
            account=account,
            error=error,
            form_id=secrets.token_urlsafe(12),
            modes=MODES,
            values={},
            errors={},
        )

    @bp.post("/collect")
    @login_required(*CASHIER_ROLES)
    def collect_post() -> ResponseReturnValue:
        form = request.form
        raw = (form.get("account") or "").strip()[:20]
        account = found(raw)
        if account is None:
            abort(404)
        values = {k: (form.get(k) or "").strip()[:60] for k in ("amount", "mode", "instrument_no", "instrument_bank")}
        errors: dict[str, str] = {}
        paise = rupees_to_paise(values["amount"])
        if paise is None:
            errors["amount"] = _("Please enter an amount in rupees, like 1727 or 1727.50.")
        mode = values["mode"] if values["mode"] in MODES else None
        if mode is None:
            errors["mode"] = _("Please choose cash, cheque or demand draft.")
        form_id = (form.get("form_id") or "")[:64]
        receipt = None
        if not errors and paise is not None and mode is not None:
            try:
                receipt = collect(
                    uow(), me().id, raw, paise, mode=mode, form_id=form_id,
                    instrument_no=values["instrument_no"], instrument_bank=values["instrument_bank"], now=clock(),
                )  # fmt: skip
            except AmountOutOfRange as exc:
                errors["amount"] = (
                    _("Cash of Rs 2,00,000 or more cannot be taken in one payment (Income-tax Act, section 269ST).")
                    if mode == "cash" and paise >= exc.high
                    else _("An amount from Rs 1 to Rs 5,00,000 can be taken.")
                )
            except MissingInstrument:
                errors["instrument_no"] = _("A cheque or demand draft needs its number (6 to 12 digits) and its bank.")
            except ValueError:
                errors["form"] = _("The form had expired. Please fill it in again.")
            except UnknownAccount:
                abort(404)
        if receipt is None:
            return page(
                "counter/index.html", 400, raw=raw, account=account, error=None, form_id=form_id, modes=MODES,
                values=values, errors=errors,
            )  # fmt: skip
        said(
            _("Received. Receipt number %(receipt)s: print it for the consumer.", receipt=receipt.receipt_no)
            if not receipt.duplicate
            else _("This form was already taken: receipt number %(receipt)s.", receipt=receipt.receipt_no)
        )
        return redirect(url_for("counter.index", account=raw, receipt=receipt.payment_id), code=303)

    @bp.get("/receipts/<int:payment_id>.pdf")
    @login_required(*CASHIER_ROLES)
    def receipt_file(payment_id: int) -> ResponseReturnValue:
        from sqlalchemy import select

        from cis.models import Payment

        staff = me()
        with uow().reading() as work:
            s = work.session
            account_id = s.scalar(select(Payment.account_id).where(Payment.id == payment_id))
            covered = covered_sub_divisions(s, staff.scope_level, staff.scope_id)
            if account_id is None or (covered is not None and account_sub_division(s, account_id) not in covered):
                abort(404)
        doc = receipt_document(uow(), account_id, payment_id)
        if doc is None:
            abort(404)
        response = make_response(receipt_pdf(doc, issuer=printed_by))
        response.mimetype = "application/pdf"
        response.headers["Content-Disposition"] = f'inline; filename="receipt-{doc.receipt_no}.pdf"'
        response.headers["Cache-Control"] = "private, no-store"
        return response

    def day() -> dt.date:
        try:
            return dt.date.fromisoformat((request.args.get("date") or "")[:10])
        except ValueError:
            return clock().astimezone(IST).date()

    @bp.get("/cashbook")
    @login_required(*CASHIER_ROLES)
    def cashbook() -> ResponseReturnValue:
        when = day()
        return page("counter/cashbook.html", book=cash_book(uow(), me().id, when), when=when, ist=IST)

    @bp.get("/cashbook.csv")
    @login_required(*CASHIER_ROLES)
    def cashbook_csv() -> ResponseReturnValue:
        when = day()
        book = cash_book(uow(), me().id, when)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["receipt_no", "time_ist", "account_no", "mode", "instrument", "amount_paise", "reversed"])
        for line in book.lines:
            writer.writerow(
                [line.receipt_no, line.paid_at.astimezone(IST).strftime("%H:%M"), line.account_no, line.mode,
                 line.instrument or "", line.amount_paise, "yes" if line.reversed else "no"]
            )  # fmt: skip
        for mode, paise in sorted(book.totals.items()):
            writer.writerow(["total", "", "", mode, "", paise, ""])
        response = Response(out.getvalue(), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="cashbook-{when.isoformat()}.csv"'
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @bp.post("/payments/<int:payment_id>/bounce")
    @login_required(*CASHIER_ROLES)
    def bounce_post(payment_id: int) -> ResponseReturnValue:
        try:
            receipt = bounce(uow(), me().id, payment_id, reason=request.form.get("reason") or "", now=clock())
        except NotBounceable:
            said(_("Only a cheque or demand draft of your counter, not reversed already, can bounce."), "warning")
        else:
            said(_("Receipt %(receipt)s reversed: the consumer is told by SMS and owes it again.", receipt=receipt))
        return redirect(url_for("counter.cashbook", date=request.args.get("date") or None), code=303)

    return bp
