"""Bill revisions and single-window applications on the web: the consumer's forms, their requests and timelines,
documents served to their owner, a new-connection application for anyone (mobile proven by OTP first), and the
public status of an application by its number.

GET/POST /portal/revision                 dispute a bill of the last 12 months (reason, description, a document)
GET      /portal/requests                 the account's requests, and the forms to make one
GET      /portal/requests/<number>        a request's timeline against its due date; a revision beside its bill(s)
GET      /portal/documents/<id>           a document of the account, as a download (never shown inline)
GET/POST /portal/apply/<kind>             load_change (up to 4 kW online), name_change, perm_disconnection
GET/POST /apply/new_connection            step 1: the applicant's mobile (an OTP goes to it)
GET/POST /apply/new_connection/verify     step 2: the OTP
GET/POST /apply/new_connection/form       step 3: the application, with its ID and ownership proofs
GET      /applications/status?number=     an application's status: kind, dates, steps, nothing about anyone

Views parse the form (cis.inputs), call cis.service_requests / cis.documents and render; every error is a
message in the page's language tied to its field. Uploads are typed by their bytes (cis.documents.check_file);
the routes that take them read up to 2 MB a file (cis.web.uploads), a larger body is a 413 page.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from cis import service_requests as sr
from cis.db import UnitOfWork
from cis.documents import (
    MAX_BYTES,
    DamagedDocument,
    DocumentError,
    DocumentTooLarge,
    EmptyDocument,
    UnknownDocument,
    UnsafeDocument,
    UnsupportedDocumentType,
    Viewer,
    check_file,
    open_document,
    store_document,
)
from cis.errors import AccountClosed, MalformedMobile, NoPendingOtp, TooManyOtpRequests, WrongOtp
from cis.inputs import InvalidInput, decimal_number, record_id, text
from cis.models.accounts import CATEGORIES
from cis.models.requests import AREA_CLASSES
from cis.otp import VALID_MINUTES, check_mobile_otp, request_mobile_otp
from cis.phones import normalise_mobile
from cis.web.auth import csrf_valid
from cis.web.i18n import N_, page_lang
from cis.web.portal import session as portal
from cis.web.portal.session import consumer_required
from cis.web.portal.views import Form
from cis.web.uploads import body_limit, takes_files, uploaded_file

RECEIPT = "urja_receipt"  # the number just registered, shown once on the page the form leads to
APPLICANT = "urja_applicant"  # the new-connection applicant's step: {"mobile", "hint", "code"?, "ref"}
MAX_NUMBER = 32
ACCOUNT_KINDS = ("load_change", "name_change", "perm_disconnection")

KIND_TITLES = {
    "bill_revision": N_("Bill revision"),
    "new_connection": N_("New connection"),
    "load_change": N_("Change of load"),
    "name_change": N_("Change of name"),
    "perm_disconnection": N_("Permanent disconnection"),
}
STATUS_TITLES = {
    "submitted": N_("Submitted"),
    "under_review": N_("Under review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
}
# cis.service_requests.REVISION_REASONS in words (a test keeps the keys and the English equal).
REASON_TITLES = {
    "wrong_reading": N_("Wrong meter reading"),
    "meter_defective": N_("Meter defective"),
    "estimated_bill": N_("Estimated bill"),
    "wrong_category_load": N_("Wrong category or load"),
    "payment_not_credited": N_("Payment not credited"),
    "other": N_("Other"),
}
BASIS_TITLES = {"actual": N_("Actual reading"), "estimated": N_("Estimated"), "assessed": N_("Assessed")}
AREA_TITLES = {
    "metro": N_("A metropolitan city"),
    "municipal": N_("Another city or town (municipal area)"),
    "rural": N_("A village (rural area)"),
}
# cis.models.accounts.CATEGORIES in words (a test keeps the keys and the English equal).
CATEGORY_TITLES = {
    "LMV-1L": N_("Domestic, lifeline (BPL), up to 1 kW and 100 units a month"),
    "LMV-1R": N_("Domestic, rural, metered"),
    "LMV-1U": N_("Domestic, urban, metered"),
    "LMV-2": N_("Non-domestic (shops, offices, commercial)"),
    "LMV-5": N_("Private tube wells and pumping sets, metered"),
    "HV-2": N_("Large and heavy power (industry above 75 kW), HT supply"),
}
LABEL_TITLES = {
    "evidence": N_("Supporting document"),
    "id_proof": N_("Proof of identity"),
    "ownership_proof": N_("Proof of ownership or occupancy"),
    "photo": N_("Photo"),
}
# What cis.documents.check_file says a file is, and what an unsafe PDF carries (a test keeps these complete).
FOUND_TITLES = {
    "an SVG drawing": N_("an SVG drawing"),
    "a web page (HTML)": N_("a web page (HTML)"),
    "an XML or HTML text": N_("an XML or HTML text"),
    "a GIF image": N_("a GIF image"),
    "a ZIP archive or Office document": N_("a ZIP archive or Office document"),
    "a file of another kind": N_("a file of another kind"),
}
UNSAFE_TITLES = {
    "JavaScript": N_("JavaScript"),
    "an action that starts a program": N_("an action that starts a program"),
    "an embedded file": N_("an embedded file"),
    "embedded files": N_("embedded files"),
    "embedded media": N_("embedded media"),
    "an XFA form": N_("an XFA form"),
    "a link into an embedded file": N_("a link into an embedded file"),
    "an action that imports data": N_("an action that imports data"),
    "a form that submits data": N_("a form that submits data"),
    "encryption (a password)": N_("encryption (a password)"),
    "objects compressed in a way we cannot check": N_("objects compressed in a way we cannot check"),
    "more compressed objects than we can check": N_("more compressed objects than we can check"),
}
# The fixed sentences cis.service_requests raises InvalidRequest with, for the catalogs (a test finds them all).
REQUEST_MESSAGES = (
    N_("Please choose why the bill is wrong."),
    N_("Please describe what is wrong with the bill."),
    N_("Please choose what you are applying for."),
    N_("Please choose the sub-division office for the premises."),
    N_("Please give the applicant's name."),
    N_("Please give a mobile number."),
    N_("Please type the OTP sent to your mobile."),
    N_("Please give the address of the premises."),
    N_("A PIN code has 6 digits."),
    N_("Please choose the category of supply."),
    N_("Please say whether the premises are in a metro city, a town or a village."),
    N_("Please attach a proof of identity."),
    N_("Please attach a proof of ownership or occupancy of the premises."),
    N_("Please sign in to apply for your connection."),
    N_("Please give the new name for the connection."),
    N_("Please attach a proof of the change (a sale deed, a will)."),
)
_KEEP_WITHIN = re.compile(r"Please keep this within (\d+) characters\.")
_ALREADY_LOAD = re.compile(r"Your sanctioned load is already ([0-9.]+) kW\.")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- messages in the page's language --------------------------------------------------------------------------


def document_message(error: DocumentError) -> str:
    """What is wrong with an upload, in the page's language."""
    if isinstance(error, EmptyDocument):
        return _("The file is empty. Please choose the file again.")
    if isinstance(error, DocumentTooLarge):
        return _(
            "The file is larger than %(mb)s MB. Please attach a smaller scan or photo.",
            mb=error.limit_bytes // (1024 * 1024),
        )
    if isinstance(error, UnsupportedDocumentType):
        found = FOUND_TITLES.get(error.found)
        return _(
            "“%(name)s” is %(found)s, not a PDF, JPEG or PNG. Please attach a PDF, JPEG or PNG.",
            name=error.declared_name,
            found=_(found) if found else error.found,
        )
    if isinstance(error, DamagedDocument):
        return _("The file looks like a %(kind)s but cannot be read. Please save or scan it again.", kind=error.kind)
    if isinstance(error, UnsafeDocument):
        what = UNSAFE_TITLES.get(error.what)
        return _(
            "The PDF contains %(what)s, which we do not accept. Please print it to a new PDF or scan it, and "
            "attach it.",
            what=_(what) if what else error.what,
        )
    return _("This file cannot be taken. Please attach a PDF, JPEG or PNG of at most 2 MB.")


def request_message(error: sr.InvalidRequest) -> str:
    """An InvalidRequest's message in the page's language."""
    message = str(error)
    within = _KEEP_WITHIN.fullmatch(message)
    if within:
        return _too_long(int(within.group(1)))
    already = _ALREADY_LOAD.fullmatch(message)
    if already:
        return _("Your sanctioned load is already %(load)s kW.", load=already.group(1))
    if error.field == "load_kw":
        return _load_message()
    if error.field == "documents":
        return _("Please attach at most %(n)s documents.", n=sr.MAX_DOCUMENTS)
    return _(message)


def _load_message() -> str:
    return _("Please give the load in kW, more than 0 and at most %(max)s.", max=sr.MAX_LOAD_KW)


def _too_long(limit: int) -> str:
    return _("Please keep this within %(n)s characters.", n=limit)


def read_text(form: Form, name: str, limit: int, *, multiline: bool = False) -> str:
    """The text of field `name` (kept in `form.values`), or '' with the field's error set."""
    raw = request.form.get(name)
    form.values[name] = (raw or "")[: limit + 100]
    try:
        return text(raw, field=name, max_length=limit, multiline=multiline) or ""
    except InvalidInput as exc:
        form.fail(
            name, _too_long(limit) if "at most" in str(exc) else _("This contains characters that are not allowed.")
        )
        return ""


def _mobile_format() -> str:
    return _("A mobile number has 10 digits and starts with 6, 7, 8 or 9.")


def _otp_failed() -> str:
    return _("The OTP is not correct or has expired. Check the SMS, or ask for a new OTP.")


def _kind_title(kind: str) -> str:
    title = KIND_TITLES.get(kind)
    return _(title) if title else kind


def _status_title(status: str) -> str:
    title = STATUS_TITLES.get(status)
    return _(title) if title else status


def _receipt_for(number: str) -> dict[str, Any] | None:
    """The receipt of a request just registered in this browser, once, if `number` is it."""
    found = session.get(RECEIPT)
    if isinstance(found, dict) and found.get("number") == number:
        session.pop(RECEIPT, None)
        return found
    return None


def office_options(uow: UnitOfWork) -> list[tuple[str, str]]:
    """The sub-division offices as (id, name in the page's language) for a select field."""
    hindi = page_lang() == "hi"
    return [(str(id_), (name_hi if hindi and name_hi else name)) for id_, name, name_hi in sr.sub_divisions(uow)]


def cycle_text(cycle: str) -> str:
    """'November 2026' or 'नवंबर 2026' for a billing cycle '2026-11'."""
    try:
        year, month = (int(part) for part in cycle.split("-", 1))
        first = dt.date(year, month, 1)
    except ValueError:
        return cycle
    return str(format_date(first, "MMMM y", locale=get_locale() or Locale.parse("en_IN")))


def too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A body over the route's limit: a page saying how large a file may be (on a form that takes files)."""
    view = current_app.view_functions.get(request.endpoint or "")
    html = render_template("requests/too_large.html", mb=MAX_BYTES // (1024 * 1024), files=body_limit(view) is not None)
    return make_response(html, 413)


def _remember(receipt: sr.RequestReceipt) -> None:
    session[RECEIPT] = {"number": receipt.number, "ending": receipt.sms_to_ending, "kind": receipt.kind}


def requests_blueprint(
    session_factory: Callable[[], Session],
    *,
    upload_dir: Path,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> Blueprint:
    """The pages of bill revisions and applications (see the module's docstring). Documents live in `upload_dir`."""
    bp = Blueprint("requests", __name__, template_folder="templates")

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    def page(template: str, form: Form, status: int = 200, **context: Any) -> Response:
        html = render_template(template, form=form, values=form.values, errors=form.errors, **context)
        return make_response(html, status)

    def refused() -> Response:
        return make_response(render_template("requests/csrf.html"), 400)

    @bp.app_template_global()
    def kind_title(kind: str) -> str:
        return _kind_title(kind)

    @bp.app_template_global()
    def status_title(status: str) -> str:
        return _status_title(status)

    bp.add_app_template_global(cycle_text, "cycle_text")

    bp.register_error_handler(RequestEntityTooLarge, too_large)

    # --- bill revision -------------------------------------------------------------------------------------------

    def revision_page(form: Form, status: int = 200) -> Response:
        account = portal.me()
        bills = sr.disputable_bills(uow(), account.account_id, now=clock())
        return page(
            "requests/revision.html",
            form,
            status,
            bills=bills,
            reasons=[(key, _(title)) for key, title in REASON_TITLES.items()],
            basis_titles=BASIS_TITLES,
            max_description=sr.MAX_DESCRIPTION,
        )

    @bp.get("/portal/revision")
    @consumer_required
    def revision() -> ResponseReturnValue:
        form = Form()
        chosen = record_id((request.args.get("bill") or "")[:20])
        if chosen is not None:
            form.values["bill"] = str(chosen)
        return revision_page(form)

    @bp.post("/portal/revision")
    @takes_files(1)
    @consumer_required
    def revision_post() -> ResponseReturnValue:
        account = portal.me()
        form = Form()
        raw_bill = (request.form.get("bill") or "")[:20]
        form.values["bill"] = raw_bill
        bill_id = record_id(raw_bill)
        if bill_id is None:
            form.fail("bill", _("Please choose the bill you dispute."))
        reason = (request.form.get("reason") or "")[:40]
        form.values["reason"] = reason
        if reason not in REASON_TITLES:
            form.fail("reason", _("Please choose why the bill is wrong."))
        description = read_text(form, "description", sr.MAX_DESCRIPTION, multiline=True)
        if not description and "description" not in form.errors:
            form.fail("description", _("Please describe what is wrong with the bill."))
        sent = uploaded_file("document")
        if form.errors:
            if sent is not None:
                form.notice = _("Please choose the file again: a form sent with an error keeps no file.")
            return revision_page(form, 400)
        assert bill_id is not None
        document_ids: list[int] = []
        if sent is not None:
            try:
                stored = store_document(
                    uow(), sent[0], sent[1], account_id=account.account_id, upload_dir=upload_dir, now=clock()
                )
            except DocumentError as exc:
                return revision_page(form.fail("document", document_message(exc)), 400)
            document_ids.append(stored.id)
        try:
            receipt = sr.request_bill_revision(
                uow(), account.account_id, bill_id, reason, description, document_ids, now=clock()
            )
        except (sr.UnknownBillOnAccount, sr.BillAlreadyRevised) as exc:
            message = (
                _("This bill has been revised since. Please choose the current bill for that month.")
                if isinstance(exc, sr.BillAlreadyRevised)
                else _("Please choose the bill you dispute.")
            )
            return revision_page(form.fail("bill", message), 400)
        except sr.RevisionAlreadyOpen as exc:
            return _already_open(form, exc.number, revision_page)
        except sr.InvalidRequest as exc:
            return revision_page(form.fail(exc.field, request_message(exc)), 400)
        except AccountClosed:
            form.notice = _("This account is permanently disconnected: its bills are settled at the office.")
            return revision_page(form, 409)
        _remember(receipt)
        return redirect(url_for("requests.request_page", number=receipt.number), code=303)

    def _already_open(form: Form, number: str, render: Callable[[Form, int], Response]) -> Response:
        form.notice = Markup(
            _(
                'A request of this kind is already being processed: number <a href="%(link)s">%(number)s</a>.',
                link=escape(url_for("requests.request_page", number=number)),
                number=escape(number),
            )
        )
        return render(form, 409)

    # --- my requests -------------------------------------------------------------------------------------------

    @bp.get("/portal/requests")
    @consumer_required
    def my_requests() -> ResponseReturnValue:
        account = portal.me()
        found = sr.my_requests(uow(), account.account_id, now=clock())
        return render_template("requests/list.html", requests=found)

    @bp.get("/portal/requests/<number>")
    @consumer_required
    def request_page(number: str) -> ResponseReturnValue:
        account = portal.me()
        try:
            timeline = sr.request_timeline(
                uow(), number[:MAX_NUMBER], Viewer(account_id=account.account_id), now=clock()
            )
        except sr.UnknownRequest:
            abort(404)
        return render_template(
            "requests/timeline.html",
            request_=timeline,
            receipt=_receipt_for(timeline.number),
            reason=_(REASON_TITLES[timeline.reason]) if timeline.reason in REASON_TITLES else None,
            basis_titles=BASIS_TITLES,
            label_titles=LABEL_TITLES,
            category_titles=CATEGORY_TITLES,
        )

    @bp.get("/portal/documents/<int:document_id>")
    @consumer_required
    def document(document_id: int) -> ResponseReturnValue:
        account = portal.me()
        try:
            found = open_document(uow(), document_id, Viewer(account_id=account.account_id), upload_dir=upload_dir)
        except (UnknownDocument, FileNotFoundError):
            abort(404)
        response = send_file(
            io.BytesIO(found.data),
            mimetype=found.content_type,
            as_attachment=True,
            download_name=found.name,
            max_age=0,
            etag=False,
            last_modified=None,
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Opened by mistake in a tab, it runs nothing and reaches nothing.
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response

    # --- applications of a consumer ---------------------------------------------------------------------------

    def apply_page(kind: str, form: Form, status: int = 200) -> Response:
        account = portal.me()
        load = sr.sanctioned_load(uow(), account.account_id) if kind == "load_change" else None
        return page(
            f"requests/apply_{kind}.html",
            form,
            status,
            kind=kind,
            load=load,
            online_limit=sr.ONLINE_LOAD_LIMIT_KW,
            max_description=sr.MAX_DESCRIPTION,
        )

    @bp.get("/portal/apply/<kind>")
    @consumer_required
    def apply_form(kind: str) -> ResponseReturnValue:
        if kind == "new_connection":
            return redirect(url_for("requests.new_connection"), code=303)
        if kind not in ACCOUNT_KINDS:
            abort(404)
        return apply_page(kind, Form())

    @bp.post("/portal/apply/<kind>")
    @takes_files(1)
    @consumer_required
    def apply_post(kind: str) -> ResponseReturnValue:
        if kind not in ACCOUNT_KINDS:
            abort(404)
        account = portal.me()
        form = Form()
        description = read_text(form, "description", sr.MAX_DESCRIPTION, multiline=True)
        load_kw: Decimal | None = None
        new_name = None
        uploads: list[sr.Upload] = []
        if kind == "load_change":
            raw = (request.form.get("load_kw") or "")[:40]
            form.values["load_kw"] = raw
            try:
                load_kw = decimal_number(
                    raw, field="load_kw", minimum=Decimal(0), maximum=sr.MAX_LOAD_KW, places=2, exclusive_minimum=True
                )
            except InvalidInput:
                load_kw = None
            if load_kw is None:
                form.fail(
                    "load_kw", _("Please give the load in kW, more than 0 and at most %(max)s.", max=sr.MAX_LOAD_KW)
                )
        elif kind == "name_change":
            new_name = read_text(form, "applicant_name", sr.MAX_NAME)
            if not new_name and "applicant_name" not in form.errors:
                form.fail("applicant_name", _("Please give the new name for the connection."))
        else:
            if request.form.get("confirm") != "yes":
                form.fail("confirm", _("Please confirm that the supply is to be disconnected for good."))
            form.values["confirm"] = "yes" if request.form.get("confirm") == "yes" else ""
        sent = uploaded_file("document")
        if kind == "name_change" and sent is None and not form.errors:
            form.fail("document", _("Please attach a proof of the change (a sale deed, a will)."))
        if form.errors:
            if sent is not None:
                form.notice = _("Please choose the file again: a form sent with an error keeps no file.")
            return apply_page(kind, form, 400)
        if sent is not None:
            uploads.append(sr.Upload(sent[0], sent[1], "ownership_proof" if kind == "name_change" else "evidence"))
        application = sr.Application(
            kind=kind,
            account_id=account.account_id,
            applicant_name=new_name,
            load_kw=load_kw,
            description=description or None,
            uploads=tuple(uploads),
        )
        try:
            receipt = sr.apply(uow(), application, upload_dir=upload_dir, now=clock())
        except sr.LoadChangeAtOffice as exc:
            message = _(
                "A load of more than %(limit)s kW is changed at your sub-division office. Please apply there.",
                limit=exc.limit_kw,
            )
            return apply_page(kind, form.fail("load_kw", message), 400)
        except DocumentError as exc:
            return apply_page(kind, form.fail("document", document_message(exc)), 400)
        except sr.InvalidRequest as exc:
            field = "document" if exc.field in ("ownership_proof", "documents") else exc.field
            return apply_page(kind, form.fail(field, request_message(exc)), 400)
        except sr.ApplicationAlreadyOpen as exc:
            return _already_open(form, exc.number, lambda f, s: apply_page(kind, f, s))
        except AccountClosed:
            form.notice = _("This account is permanently disconnected already.")
            return apply_page(kind, form, 409)
        _remember(receipt)
        return redirect(url_for("requests.request_page", number=receipt.number), code=303)

    # --- a new connection, for anyone ----------------------------------------------------------------------------

    def applicant() -> dict[str, str] | None:
        found = session.get(APPLICANT)
        if isinstance(found, dict) and isinstance(found.get("mobile"), str):
            return found
        return None

    def mobile_page(form: Form, status: int = 200) -> Response:
        form.values.setdefault("ref", secrets.token_urlsafe(16))
        return page("requests/new_mobile.html", form, status, minutes=VALID_MINUTES)

    @bp.get("/apply/new_connection")
    def new_connection() -> ResponseReturnValue:
        return mobile_page(Form())

    @bp.post("/apply/new_connection")
    def new_connection_post() -> ResponseReturnValue:
        form = Form()
        raw = (request.form.get("mobile") or "")[:20]
        ref = (request.form.get("ref") or "")[:40]
        form.values = {"mobile": raw, "ref": ref if re.fullmatch(r"[A-Za-z0-9_-]{16,40}", ref) else ""}
        if not form.values["ref"]:
            form.values.pop("ref")
        if not csrf_valid():
            form.notice = _("The form had expired. Please try again.")
            return mobile_page(form, 400)
        try:
            sent = request_mobile_otp(
                uow(), raw, via="web", request_id=form.values.get("ref") or secrets.token_urlsafe(16), now=clock()
            )
        except MalformedMobile:
            return mobile_page(form.fail("mobile", _mobile_format()), 400)
        except TooManyOtpRequests:
            form.notice = _("Too many OTPs were asked for this mobile in the last hour. Please try again later.")
            return mobile_page(form, 429)
        session[APPLICANT] = {
            "mobile": normalise_mobile(raw),
            "hint": sent.sent_to_ending,
            "expires": sent.expires_at.isoformat(),
        }
        return redirect(url_for("requests.new_connection_verify"), code=303)

    def verify_page(form: Form, status: int = 200) -> Response:
        found = applicant() or {}
        return page("requests/new_verify.html", form, status, hint=found.get("hint"), minutes=VALID_MINUTES)

    @bp.get("/apply/new_connection/verify")
    def new_connection_verify() -> ResponseReturnValue:
        if applicant() is None:
            return redirect(url_for("requests.new_connection"), code=303)
        return verify_page(Form())

    @bp.post("/apply/new_connection/verify")
    def new_connection_verify_post() -> ResponseReturnValue:
        found = applicant()
        if found is None:
            return redirect(url_for("requests.new_connection"), code=303)
        form = Form()
        if not csrf_valid():
            form.notice = _("The form had expired. Please try again.")
            return verify_page(form, 400)
        code = (request.form.get("code") or "").strip()[:12]
        if not (code.isascii() and code.isdigit()):
            return verify_page(form.fail("code", _otp_failed()), 400)
        try:
            check_mobile_otp(uow(), found["mobile"], code, now=clock())
        except (WrongOtp, NoPendingOtp):
            return verify_page(form.fail("code", _otp_failed()), 400)
        session[APPLICANT] = {**found, "code": code}
        return redirect(url_for("requests.new_connection_form"), code=303)

    def application_page(form: Form, status: int = 200) -> Response:
        found = applicant() or {}
        try:
            valid_until = dt.datetime.fromisoformat(found["expires"]) if found.get("expires") else None
        except ValueError:
            valid_until = None
        return page(
            "requests/new_form.html",
            form,
            status,
            hint=found.get("hint"),
            sub_divisions_options=office_options(uow()),
            areas=[(key, _(title)) for key, title in AREA_TITLES.items()],
            categories=[(key, f"{key}: {_(title)}") for key, title in CATEGORY_TITLES.items()],
            max_description=sr.MAX_DESCRIPTION,
            valid_until=valid_until,
        )

    @bp.get("/apply/new_connection/form")
    def new_connection_form() -> ResponseReturnValue:
        found = applicant()
        if found is None or "code" not in found:
            return redirect(url_for("requests.new_connection"), code=303)
        return application_page(Form())

    @bp.post("/apply/new_connection/form")
    @takes_files(2)
    def new_connection_form_post() -> ResponseReturnValue:
        found = applicant()
        if found is None or "code" not in found:
            return redirect(url_for("requests.new_connection"), code=303)
        form = Form()
        if not csrf_valid():
            form.notice = _("The form had expired. Please try again.")
            return application_page(form, 400)
        name = read_text(form, "applicant_name", sr.MAX_NAME)
        if not name and "applicant_name" not in form.errors:
            form.fail("applicant_name", _("Please give the applicant's name."))
        address = read_text(form, "address", sr.MAX_ADDRESS, multiline=True)
        if not address and "address" not in form.errors:
            form.fail("address", _("Please give the address of the premises."))
        pin = read_text(form, "pin_code", 10)
        if pin and not re.fullmatch(r"[1-9][0-9]{5}", pin):
            form.fail("pin_code", _("A PIN code has 6 digits."))
        category = (request.form.get("category") or "")[:10]
        form.values["category"] = category
        if category not in CATEGORIES:
            form.fail("category", _("Please choose the category of supply."))
        raw_load = (request.form.get("load_kw") or "")[:40]
        form.values["load_kw"] = raw_load
        try:
            load_kw = decimal_number(
                raw_load, field="load_kw", minimum=Decimal(0), maximum=sr.MAX_LOAD_KW, places=2, exclusive_minimum=True
            )
        except InvalidInput:
            load_kw = None
        if load_kw is None:
            form.fail("load_kw", _load_message())
        area = (request.form.get("area_class") or "")[:10]
        form.values["area_class"] = area
        if area not in AREA_CLASSES:
            form.fail("area_class", _("Please say whether the premises are in a metro city, a town or a village."))
        raw_office = (request.form.get("sub_division_id") or "")[:20]
        form.values["sub_division_id"] = raw_office
        office = record_id(raw_office)
        if office is None:
            form.fail("sub_division_id", _("Please choose the sub-division office for the premises."))
        description = read_text(form, "description", sr.MAX_DESCRIPTION, multiline=True)
        missing = {
            "id_proof": _("Please attach a proof of identity."),
            "ownership_proof": _("Please attach a proof of ownership or occupancy of the premises."),
        }
        uploads = []
        for label, message in missing.items():
            sent = uploaded_file(label)
            if sent is None:
                form.fail(label, message)
                continue
            try:
                check_file(*sent)
            except DocumentError as exc:
                form.fail(label, document_message(exc))
                continue
            uploads.append(sr.Upload(sent[0], sent[1], label))
        if form.errors:
            if uploads:
                form.notice = _("Please choose the files again: a form sent with an error keeps no file.")
            return application_page(form, 400)
        application = sr.Application(
            kind="new_connection",
            applicant_name=name,
            mobile=found["mobile"],
            otp_code=found["code"],
            address=address,
            pin_code=pin or None,
            category=category,
            load_kw=load_kw,
            area_class=area,
            sub_division_id=office,
            description=description or None,
            uploads=tuple(uploads),
        )
        try:
            receipt = sr.apply(uow(), application, upload_dir=upload_dir, now=clock())
        except sr.InvalidRequest as exc:
            form.notice = _("Please choose the files again: a form sent with an error keeps no file.")
            return application_page(form.fail(exc.field, request_message(exc)), 400)
        except DocumentError as exc:
            return application_page(form.fail("id_proof", document_message(exc)), 400)
        except (WrongOtp, NoPendingOtp):
            session.pop(APPLICANT, None)
            form = Form(notice=_("The OTP has expired. Please prove your mobile again; nothing was saved."))
            return mobile_page(form, 400)
        session.pop(APPLICANT, None)
        _remember(receipt)
        return redirect(url_for("requests.application_status", number=receipt.number), code=303)

    # --- public status -------------------------------------------------------------------------------------------

    @bp.get("/applications/status", endpoint="application_status")
    def status_page() -> ResponseReturnValue:
        raw = (request.args.get("number") or "").strip()[:MAX_NUMBER]
        context: dict[str, Any] = {"number": raw, "found": None, "error": None, "receipt": None}
        if not raw:
            return render_template("requests/status.html", **context)
        try:
            found = sr.application_status(uow(), raw, now=clock())
        except sr.UnknownRequest:
            context["error"] = _(
                "No application has the number %(number)s. Please check the number in your SMS.", number=raw
            )
            return make_response(render_template("requests/status.html", **context), 404)
        limit = sr.time_limits().limits.get(found.kind)
        context.update(found=found, receipt=_receipt_for(found.number), limit=limit)
        response = make_response(render_template("requests/status.html", **context))
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
