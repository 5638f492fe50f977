"""The BBPS-style biller API: a bank or wallet app (a partner) fetches a bill and pays it.

POST /bbps/fetch     {"refId", "customerParams": [{"name": "Account Number", "value": "1000007920"}]}
                     -> the bill: customerName (masked), amount (paise, as a string), billDate, dueDate, billNumber,
                        billPeriod, amountExactness, amountOptions
POST /bbps/payment   {"refId", "txnReferenceId", "customerParams": [...], "amount": "172700", "paymentMode": "UPI"}
                     -> approvalRefNumber (our receipt number); the same txnReferenceId again gets the same answer

Each partner has an id and a secret (URJA_BBPS_PARTNERS). A request carries X-BBPS-Partner, X-BBPS-Timestamp
(unix seconds, within 5 minutes of ours) and X-BBPS-Signature: "sha256=" + hex HMAC-SHA256 of
"<timestamp>.<raw body>" keyed with the partner's secret. Anything else is a 401 before the body is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.errors import AmountOutOfRange, MalformedAccountNumber, UnknownAccount
from cis.payments.bbps import EXACTNESS, BelowAmountDue, fetch_bill, pay_bill

MAX_SKEW_S = 300
MAX_REF = 35


def bbps_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def bbps_blueprint(
    session_factory: Callable[[], Session], *, partners: Mapping[str, str], clock: Callable[[], dt.datetime]
) -> Blueprint:
    bp = Blueprint("bbps", __name__)

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    def answer(status: int, body: dict[str, Any]) -> ResponseReturnValue:
        response = jsonify(body)
        response.status_code = status
        return response

    def failure(status: int, error: str, code: str, message: str, ref: str | None = None) -> ResponseReturnValue:
        body = {"status": "FAILURE", "error": error, "errorCode": code, "message": message}
        if ref:
            body["refId"] = ref
        return answer(status, body)

    def partner_of() -> str | None:
        partner = request.headers.get("X-BBPS-Partner", "")
        secret = partners.get(partner)
        stamp = request.headers.get("X-BBPS-Timestamp", "")
        given = request.headers.get("X-BBPS-Signature", "")
        if secret is None or not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return None
        if abs(clock().timestamp() - int(stamp)) > MAX_SKEW_S:
            return None
        expected = bbps_signature(secret, stamp, request.get_data(cache=True))
        return partner if hmac.compare_digest(expected, given) else None

    def read() -> tuple[dict[str, Any] | None, str | None, str | None]:
        """(body, refId, account number) of a signed request, or None where it is malformed."""
        try:
            body = json.loads(request.get_data(cache=True))
        except (ValueError, UnicodeDecodeError):
            return None, None, None
        if not isinstance(body, dict):
            return None, None, None
        ref = body.get("refId")
        ref = ref if isinstance(ref, str) and 0 < len(ref) <= MAX_REF else None
        account = None
        params = body.get("customerParams")
        if isinstance(params, list):
            for param in params:
                if isinstance(param, dict) and isinstance(param.get("value"), str):
                    account = param["value"][:20]
                    break
        return body, ref, account

    @bp.post("/bbps/fetch")
    def fetch() -> ResponseReturnValue:
        if partner_of() is None:
            return failure(401, "signature", "AUTH", "The partner, timestamp or signature does not hold.")
        body, ref, account = read()
        if body is None or ref is None or account is None:
            return failure(400, "malformed", "BFR001", "Send refId and customerParams with the account number.")
        try:
            bill = fetch_bill(uow(), account)
        except MalformedAccountNumber:
            return failure(400, "account", "BFR001", "An account number has exactly 10 digits.", ref)
        except UnknownAccount:
            return failure(404, "unknown_account", "BFR002", "No account has this number.", ref)
        if bill.bill_number is None:
            return failure(404, "no_bill", "BFR004", "No bill has been issued on this account yet.", ref)
        return answer(
            200,
            {
                "status": "SUCCESS",
                "refId": ref,
                "customerName": bill.customer_name,
                "amount": str(bill.amount_paise),
                "billDate": bill.bill_date.isoformat() if bill.bill_date else None,
                "dueDate": bill.due_date.isoformat() if bill.due_date else None,
                "billNumber": bill.bill_number,
                "billPeriod": bill.bill_period,
                "amountExactness": EXACTNESS,
                "amountOptions": [{"name": "BILL_AMOUNT", "value": str(bill.bill_amount_paise)}],
            },
        )

    @bp.post("/bbps/payment")
    def payment() -> ResponseReturnValue:
        partner = partner_of()
        if partner is None:
            return failure(401, "signature", "AUTH", "The partner, timestamp or signature does not hold.")
        body, ref, account = read()
        if body is None or ref is None or account is None:
            return failure(400, "malformed", "BPR001", "Send refId, txnReferenceId, customerParams and amount.")
        txn = body.get("txnReferenceId")
        amount = body.get("amount")
        paise = int(amount) if isinstance(amount, str) and amount.isascii() and amount.isdigit() else None
        if not isinstance(txn, str) or paise is None or len(amount) > 12:
            return failure(400, "malformed", "BPR001", "txnReferenceId and amount (paise, digits) are needed.", ref)
        mode = body.get("paymentMode")
        try:
            paid = pay_bill(
                uow(), partner, txn, account, paise, mode=mode if isinstance(mode, str) else None, now=clock()
            )
        except MalformedAccountNumber:
            return failure(400, "account", "BPR001", "An account number has exactly 10 digits.", ref)
        except UnknownAccount:
            return failure(404, "unknown_account", "BPR002", "No account has this number.", ref)
        except (AmountOutOfRange, BelowAmountDue) as exc:
            return failure(422, "amount", "BPR003", str(exc), ref)
        except ValueError as exc:
            return failure(400, "txn_reference", "BPR001", str(exc), ref)
        return answer(
            200,
            {
                "status": "SUCCESS",
                "refId": ref,
                "txnReferenceId": txn,
                "approvalRefNumber": paid.approval_ref,
                "amount": str(paid.amount_paise),
                "duplicate": paid.duplicate,
            },
        )

    return bp
