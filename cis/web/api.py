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
from cis.accounts import account_summary
from cis.complaints import CATEGORIES, MAX_TEXT, RegisterComplaint, complaint_status, register_complaint
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
    """Register a complaint from the portal; the `Idempotency-Key` header makes a resubmission harmless."""
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
    return jsonify(_plain(asdict(receipt))), 201 if receipt.created else 200
