"""The JSON API over the CIS use cases: parse, call, and map each CisError to a 4xx with a message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from cis import inputs
from cis.accounts import AccountSummary, account_summary
from cis.complaints import (
    CATEGORIES,
    MAX_TEXT,
    ComplaintStatus,
    RegisterComplaint,
    complaint_status,
    register_complaint,
)
from cis.db import UnitOfWork
from cis.errors import CisError, MalformedAccountNumber, MalformedMobile, UnknownAccount, UnknownComplaint

bp = Blueprint("api", __name__, url_prefix="/api")

_STATUS = {
    UnknownAccount: 404,
    UnknownComplaint: 404,
    MalformedAccountNumber: 400,
    MalformedMobile: 400,
    inputs.InvalidInput: 400,
}
_FIELD_LENGTHS = {"category": 40, "account_no": 40, "mobile": 40, "text": MAX_TEXT}


def _uow() -> UnitOfWork:
    factory: Callable[[], Any] = current_app.extensions["urja.session_factory"]
    return UnitOfWork(factory)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@bp.errorhandler(CisError)
def _cis_error(error: CisError) -> ResponseReturnValue:
    status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 422)
    return jsonify(error=type(error).__name__, message=str(error)), status


def public_summary(summary: AccountSummary) -> dict[str, Any]:
    """What anyone who knows an account number may see: what its bill shows of the account and the amount
    due, never who the consumer is (name, mobile, address, language) nor their payments (amounts, dates and
    channels say when and how someone pays). Fields are listed, not removed, so a new one stays private.
    """
    account = summary.account
    bill = summary.latest_bill
    return {
        "account": {
            "account_no": account.account_no,
            "category": account.category,
            "status": account.status,
            "feeder_name": account.feeder_name,  # printed on the bill; the outage page is by feeder
        },
        "sanctioned_load_kw": str(summary.sanctioned_load_kw),
        "latest_bill": None
        if bill is None
        else {
            "cycle": bill.cycle,
            "units": bill.units,
            "basis": bill.basis,
            "amount_paise": bill.amount_paise,
            "due_date": bill.due_date.isoformat(),
            "status": bill.status,
        },
        "amount_due_paise": summary.amount_due_paise,
    }


def public_status(status: ComplaintStatus) -> dict[str, Any]:
    """Where a complaint stands, for anyone who has its number: complaint numbers run in sequence (with a
    check digit), so they are guessable. No account number, and no resolution note (free text staff write,
    which may name people or places)."""
    return {
        "number": status.number,
        "category": status.category,
        "status": status.status,
        "registered_at": status.registered_at.isoformat(),
        "sla_due_at": status.sla_due_at.isoformat(),
        "escalation_level": status.escalation_level,
        "resolved_at": status.resolved_at.isoformat() if status.resolved_at is not None else None,
    }


@bp.get("/accounts/<account_no>")
def summary(account_no: str) -> ResponseReturnValue:
    """The bill summary for an account number: what the bill shows, nothing about the consumer."""
    return jsonify(public_summary(account_summary(_uow(), account_no)))


@bp.get("/complaints/<number>")
def complaint(number: str) -> ResponseReturnValue:
    return jsonify(public_status(complaint_status(_uow(), number)))


@bp.get("/complaint-categories")
def categories() -> ResponseReturnValue:
    return jsonify([asdict(c) for c in CATEGORIES.values()])


@bp.post("/complaints")
def lodge() -> ResponseReturnValue:
    """Register a complaint from the portal; the `Idempotency-Key` header makes a resubmission harmless.

    The `mobile` field is a contact, not proof: the acknowledgement SMS goes to the account's registered mobile
    (to the mobile given only when it is registered on the account). A second open complaint of the same kind
    on the account answers 200 with the first one's number and a `message` saying so.
    """
    body = None
    if request.is_json:
        try:
            body = inputs.json_document(request.get_data(cache=False))
        except inputs.InvalidInput as exc:
            if str(exc) != inputs.NOT_JSON:  # too deep, or text no database can store
                return jsonify(error="BadRequest", message=str(exc)), 400
    if not isinstance(body, dict):
        return jsonify(error="BadRequest", message="Send a JSON object."), 400
    given = {k: body.get(k) for k in _FIELD_LENGTHS}
    if any(v is not None and not isinstance(v, str) for v in given.values()):
        return jsonify(error="BadRequest", message="Every field is text."), 400
    fields = {k: inputs.text(v, field=k, max_length=_FIELD_LENGTHS[k], multiline=k == "text") for k, v in given.items()}
    # The key is scoped to the caller's address: another client's same key is another request.
    request_id = inputs.idempotency_key(request.headers.get("Idempotency-Key"), client=request.remote_addr or "")
    cmd = RegisterComplaint(
        channel="portal",
        category=fields["category"] or "",
        account_no=fields["account_no"],
        mobile=fields["mobile"],
        text=fields["text"],
        channel_request_id=request_id,
    )
    receipt = register_complaint(_uow(), cmd)
    body = _plain(asdict(receipt))
    body.pop("acknowledged_to", None)  # whose mobile got the SMS is not for whoever knows an account number
    if receipt.already_open:
        body["message"] = f"A complaint of this kind is already registered for this account, number {receipt.number}."
    return jsonify(body), 201 if receipt.created else 200
