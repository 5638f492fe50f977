"""The JSON API over the CIS use cases: parse, call, and map each CisError to a 4xx with a message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from cis.accounts import account_summary
from cis.complaints import CATEGORIES, RegisterComplaint, complaint_status, register_complaint
from cis.db import UnitOfWork
from cis.errors import CisError, MalformedAccountNumber, MalformedMobile, UnknownAccount, UnknownComplaint

bp = Blueprint("api", __name__, url_prefix="/api")

_STATUS = {UnknownAccount: 404, UnknownComplaint: 404, MalformedAccountNumber: 400, MalformedMobile: 400}


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


@bp.get("/accounts/<account_no>")
def summary(account_no: str) -> ResponseReturnValue:
    """The bill summary UPPCL's quick view gives for an account number: no contact details."""
    result = asdict(account_summary(_uow(), account_no))
    for internal in ("feeder_id", "id"):  # row ids are not for the public
        result["account"].pop(internal, None)
    return jsonify(_plain(result))


@bp.get("/complaints/<number>")
def complaint(number: str) -> ResponseReturnValue:
    return jsonify(_plain(asdict(complaint_status(_uow(), number))))


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
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="BadRequest", message="Send a JSON object."), 400
    fields = {k: body.get(k) for k in ("category", "account_no", "mobile", "text")}
    if any(v is not None and not isinstance(v, str) for v in fields.values()):
        return jsonify(error="BadRequest", message="Every field is text."), 400
    cmd = RegisterComplaint(
        channel="portal",
        category=fields["category"] or "",
        account_no=fields["account_no"],
        mobile=fields["mobile"],
        text=fields["text"],
        channel_request_id=request.headers.get("Idempotency-Key") or None,
    )
    receipt = register_complaint(_uow(), cmd)
    body = _plain(asdict(receipt))
    if receipt.already_open:
        body["message"] = f"A complaint of this kind is already registered for this account, number {receipt.number}."
    return jsonify(body), 201 if receipt.created else 200
