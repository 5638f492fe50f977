"""A local gateway speaking Razorpay's contract, for the embedded default and the tests: no money moves.

It answers the Payment Links API the Razorpay adapter calls (POST/GET /v1/payment_links, POST /v1/payments/<id>/
refund) with HTTP Basic auth and Razorpay's error bodies, shows the payer a page to "pay" (UPI, card or net
banking) or "fail", sends the payer back to the link's callback URL signed as Razorpay signs it, and delivers
signed webhooks (X-Razorpay-Signature over the raw body, X-Razorpay-Event-Id) at least once: retried with backoff
until the receiver answers 2xx, and on demand twice or in reverse order. It also writes the day's settlement
report, in the columns of Razorpay's settlement reconciliation report, for reconciliation.

Its links and payments are kept in an SQLite file of its own (several web processes share it); deliveries in a
thread of the process where the payment was made.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import sqlite3
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from cis.logs import get_logger
from cis.web.auth import csrf_token, csrf_valid
from cis.web.pay.razorpay import NOTE_KEY

log = get_logger(__name__)

PREFIX = "/sandbox/razorpay"
ALPHABET = string.ascii_letters + string.digits
METHODS = ("upi", "card", "netbanking")
RETRY_DELAYS_S = (1, 2, 4, 8, 16, 32, 64, 128)  # then given up (Razorpay: 24 hours, then the webhook disabled)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS link (
    id TEXT PRIMARY KEY, reference_id TEXT UNIQUE, amount INTEGER NOT NULL, description TEXT, notes TEXT,
    contact TEXT, callback_url TEXT, status TEXT NOT NULL, amount_paid INTEGER NOT NULL DEFAULT 0,
    order_id TEXT NOT NULL, expire_by INTEGER, created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS payment (
    id TEXT PRIMARY KEY, link_id TEXT NOT NULL, amount INTEGER NOT NULL, method TEXT NOT NULL,
    status TEXT NOT NULL, error TEXT, created_at INTEGER NOT NULL, refunded INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class SandboxConfig:
    key_id: str
    key_secret: str
    webhook_secret: str
    webhook_url: str
    state_path: Path
    public_url: str  # where the payer's browser reaches this sandbox (its short_url links point here)


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(14))


class SandboxGateway:
    """The sandbox's state and its webhook deliveries; `blueprint()` serves it."""

    def __init__(self, config: SandboxConfig, *, post: Callable[[str, bytes, dict[str, str]], int] | None = None):
        self.config = config
        self._post = post or _http_post
        self._lock = threading.Lock()
        config.state_path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.config.state_path, timeout=10, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    # --- the API ----------------------------------------------------------------------------------------------

    def create_link(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 100:
            return 400, _error("The amount must be atleast INR 1.00", "amount")
        if body.get("currency", "INR") != "INR":
            return 400, _error("Currency is not supported", "currency")
        reference = body.get("reference_id")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 40):
            return 400, _error("The reference id may not be greater than 40 characters.", "reference_id")
        now = int(time.time())
        expire_by = body.get("expire_by")
        if expire_by is not None and (not isinstance(expire_by, int) or expire_by < now + 15 * 60):
            return 400, _error("timestamp must be atleast 15 minutes in future", "expire_by")
        notes = body.get("notes") or {}
        if not isinstance(notes, dict) or len(notes) > 15:
            return 400, _error("Number of fields in notes should be less than or equal to 15", "notes")
        customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
        link_id = new_id("plink_")
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO link (id, reference_id, amount, description, notes, contact, callback_url, status, "
                    "order_id, expire_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?)",
                    (
                        link_id,
                        reference,
                        amount,
                        str(body.get("description") or "")[:2048],
                        json.dumps(notes),
                        str(customer.get("contact") or "") or None,
                        body.get("callback_url"),
                        new_id("order_"),
                        expire_by,
                        now,
                    ),
                )
        except sqlite3.IntegrityError:
            return 400, _error("payment link creation with reference ID already attempted", "reference_id")
        return 200, self.link_entity(link_id)

    def link_entity(self, link_id: str) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute("SELECT * FROM link WHERE id = ?", (link_id,)).fetchone()
            pays = db.execute("SELECT * FROM payment WHERE link_id = ? AND status = 'captured'", (link_id,)).fetchall()
        if row is None:
            return {}
        return {
            "id": row["id"],
            "entity": "payment_link",
            "amount": row["amount"],
            "amount_paid": row["amount_paid"],
            "currency": "INR",
            "accept_partial": False,
            "reference_id": row["reference_id"] or "",
            "description": row["description"],
            "notes": json.loads(row["notes"]) or [],
            "customer": {"contact": row["contact"] or ""},
            "callback_url": row["callback_url"] or "",
            "callback_method": "get",
            "status": row["status"],
            "order_id": row["order_id"],
            "short_url": f"{self.config.public_url}{PREFIX}/pay/{row['id']}",
            "expire_by": row["expire_by"] or 0,
            "expired_at": 0,
            "cancelled_at": 0,
            "created_at": row["created_at"],
            "updated_at": row["created_at"],
            "payments": [
                {"payment_id": p["id"], "amount": p["amount"], "method": p["method"], "status": "captured",
                 "plink_id": row["id"], "created_at": p["created_at"]}
                for p in pays
            ] or None,
        }  # fmt: skip

    def links_by_reference(self, reference: str) -> list[dict[str, Any]]:
        with self._db() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM link WHERE reference_id = ?", (reference,))]
        return [self.link_entity(link_id) for link_id in ids]

    # --- the payer ---------------------------------------------------------------------------------------------

    def pay(self, link_id: str, method: str, *, succeed: bool, twice: bool = False, reverse: bool = False) -> str:
        """The payer paid (or failed): the payment recorded, its webhooks queued; returns where the payer goes."""
        now = int(time.time())
        payment_id = new_id("pay_")
        with self._lock, self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT * FROM link WHERE id = ?", (link_id,)).fetchone()
            if row is None or row["status"] != "created":
                db.execute("ROLLBACK")
                return ""
            status = "captured" if succeed else "failed"
            db.execute(
                "INSERT INTO payment (id, link_id, amount, method, status, error, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (payment_id, link_id, row["amount"], method, status, None if succeed else "Payment failed", now),
            )
            if succeed:
                db.execute("UPDATE link SET status = 'paid', amount_paid = amount WHERE id = ?", (link_id,))
            db.execute("COMMIT")
        link = self.link_entity(link_id)
        payment = self._payment_entity(payment_id, link)
        events = (
            [self._event("payment.captured", {"payment": payment}), self._event(
                "payment_link.paid", {"payment_link": link, "order": self._order(link), "payment": payment})]
            if succeed
            else [self._event("payment.failed", {"payment": payment})]
        )  # fmt: skip
        if reverse:
            events.reverse()
        if twice:
            events = events + events  # the same event ids again: a gateway's retry of a delivered event
        self.deliver(events)
        if not succeed:
            return ""
        return self._callback(link, payment_id)

    def refund(self, payment_id: str, amount: int | None = None) -> tuple[int, dict[str, Any]]:
        with self._lock, self._db() as db:
            row = db.execute("SELECT * FROM payment WHERE id = ?", (payment_id,)).fetchone()
            if row is None:
                return 400, _error("The id provided does not exist", "id")
            if row["status"] != "captured" or row["refunded"]:
                return 400, _error("The payment has been fully refunded already", "id")
            db.execute("UPDATE payment SET refunded = 1 WHERE id = ?", (payment_id,))
        refund = {
            "id": new_id("rfnd_"),
            "entity": "refund",
            "amount": amount or row["amount"],
            "currency": "INR",
            "payment_id": payment_id,
            "notes": [],
            "receipt": None,
            "acquirer_data": {"arn": None},
            "created_at": int(time.time()),
            "status": "processed",
            "speed_processed": "normal",
            "speed_requested": "normal",
        }
        link = self.link_entity(row["link_id"])
        payment = self._payment_entity(payment_id, link) | {"status": "refunded", "amount_refunded": refund["amount"]}
        self.deliver([self._event("refund.processed", {"refund": refund, "payment": payment})])
        return 200, refund

    def _payment_entity(self, payment_id: str, link: dict[str, Any]) -> dict[str, Any]:
        with self._db() as db:
            row = db.execute("SELECT * FROM payment WHERE id = ?", (payment_id,)).fetchone()
        failed = row["status"] == "failed"
        return {
            "id": row["id"],
            "entity": "payment",
            "amount": row["amount"],
            "currency": "INR",
            "status": row["status"],
            "order_id": link["order_id"],
            "invoice_id": None,
            "method": row["method"],
            "description": f"#{link['id'].removeprefix('plink_')}",
            "vpa": "payer@okaxis" if row["method"] == "upi" else None,
            "captured": not failed,
            "notes": link["notes"],
            "fee": None if failed else 0,
            "tax": None if failed else 0,
            "error_code": "BAD_REQUEST_ERROR" if failed else None,
            "error_description": row["error"],
            "error_source": "customer" if failed else None,
            "error_reason": "payment_failed" if failed else None,
            "created_at": row["created_at"],
        }

    def _order(self, link: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": link["order_id"],
            "entity": "order",
            "amount": link["amount"],
            "amount_paid": link["amount_paid"],
            "amount_due": link["amount"] - link["amount_paid"],
            "receipt": link["reference_id"],
            "status": "paid" if link["status"] == "paid" else "created",
            "notes": link["notes"],
        }

    def _event(self, name: str, entities: dict[str, dict[str, Any]]) -> tuple[str, bytes]:
        body = {
            "entity": "event",
            "account_id": "acc_SandboxUrjaMitra",
            "event": name,
            "contains": list(entities),
            "payload": {key: {"entity": value} for key, value in entities.items()},
            "created_at": int(time.time()),
        }
        return new_id("evt_"), json.dumps(body, separators=(",", ":")).encode()

    def _callback(self, link: dict[str, Any], payment_id: str) -> str:
        target = link.get("callback_url")
        if not target:
            return ""
        params = {
            "razorpay_payment_id": payment_id,
            "razorpay_payment_link_id": link["id"],
            "razorpay_payment_link_reference_id": link["reference_id"],
            "razorpay_payment_link_status": link["status"],
        }
        message = "|".join([link["id"], link["reference_id"], link["status"], payment_id]).encode()
        params["razorpay_signature"] = hmac.new(self.config.key_secret.encode(), message, hashlib.sha256).hexdigest()
        return f"{target}{'&' if '?' in target else '?'}{urlencode(params)}"

    # --- webhooks ----------------------------------------------------------------------------------------------

    def sign(self, body: bytes) -> str:
        return hmac.new(self.config.webhook_secret.encode(), body, hashlib.sha256).hexdigest()

    def deliver(self, events: list[tuple[str, bytes]]) -> threading.Thread:
        """Deliver `events` in order, each until the receiver answers 2xx (with backoff), in a thread."""

        def run() -> None:
            for event_id, body in events:
                headers = {
                    "Content-Type": "application/json",
                    "X-Razorpay-Signature": self.sign(body),
                    "X-Razorpay-Event-Id": event_id,
                    "User-Agent": "Razorpay-Webhook/v1",
                }
                for delay in (0, *RETRY_DELAYS_S):
                    time.sleep(delay)
                    status = self._post(self.config.webhook_url, body, headers)
                    if 200 <= status < 300:
                        break
                    log.warning("sandbox gateway: webhook %s answered %s; retrying", event_id, status)

        thread = threading.Thread(target=run, name="sandbox-webhooks", daemon=True)
        thread.start()
        return thread

    # --- the settlement report ---------------------------------------------------------------------------------

    def settlement_rows(self, day: dt.date) -> list[dict[str, Any]]:
        """The captured payments (and refunds) of `day` (IST) as Razorpay's settlement reconciliation report lists
        them: settled the next day, fee and tax zero here."""
        ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
        start = int(dt.datetime.combine(day, dt.time(), ist).timestamp())
        end = start + 86_400
        with self._db() as db:
            rows = db.execute(
                "SELECT p.*, l.order_id, l.reference_id FROM payment p JOIN link l ON l.id = p.link_id "
                "WHERE p.status = 'captured' AND p.created_at >= ? AND p.created_at < ? ORDER BY p.created_at",
                (start, end),
            ).fetchall()
        settlement_id = "setl_" + hashlib.sha256(day.isoformat().encode()).hexdigest()[:14]
        return [
            {
                "entity_id": r["id"], "type": "payment", "debit": 0, "credit": r["amount"], "amount": r["amount"],
                "currency": "INR", "fee": 0, "tax": 0, "on_hold": False, "settled": True,
                "created_at": r["created_at"], "settled_at": r["created_at"] + 86_400,
                "settlement_id": settlement_id, "description": None, "notes": json.dumps({NOTE_KEY: r["reference_id"]}),
                "payment_id": None, "settlement_utr": "SBIN" + settlement_id[-10:].upper(),
                "order_id": r["order_id"], "order_receipt": r["reference_id"], "method": r["method"],
            }
            for r in rows
        ]  # fmt: skip

    # --- the blueprint -----------------------------------------------------------------------------------------

    def blueprint(self) -> Blueprint:
        bp = Blueprint("sandbox_gateway", __name__, url_prefix=PREFIX, template_folder="../templates")
        config = self.config

        def authorised() -> bool:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            try:
                given = base64.b64decode(header[6:], validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return False
            expected = f"{config.key_id}:{config.key_secret}"
            return hmac.compare_digest(given.encode(), expected.encode())

        def api(status: int, body: dict[str, Any]) -> Response:
            response = jsonify(body)
            response.status_code = status
            return response

        @bp.before_request
        def check_auth() -> ResponseReturnValue | None:
            if request.path.startswith(f"{PREFIX}/v1/") and not authorised():
                return api(401, _error("The api key provided is invalid", None))
            return None

        @bp.post("/v1/payment_links")
        def create() -> ResponseReturnValue:
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return api(400, _error("The request body is not valid JSON", None))
            return api(*self.create_link(body))

        @bp.get("/v1/payment_links")
        def listing() -> ResponseReturnValue:
            reference = request.args.get("reference_id")
            links = self.links_by_reference(reference) if reference else []
            return api(200, {"payment_links": links, "count": len(links)})

        @bp.get("/v1/payment_links/<link_id>")
        def fetch(link_id: str) -> ResponseReturnValue:
            entity = self.link_entity(link_id)
            if not entity:
                return api(400, _error("The id provided does not exist", "id"))
            return api(200, entity)

        @bp.post("/v1/payments/<payment_id>/refund")
        def refund(payment_id: str) -> ResponseReturnValue:
            body = request.get_json(silent=True) or {}
            amount = body.get("amount") if isinstance(body, dict) else None
            return api(*self.refund(payment_id, amount if isinstance(amount, int) else None))

        @bp.get("/v1/settlements/recon/combined")
        def recon() -> ResponseReturnValue:
            try:
                day = dt.date(int(request.args["year"]), int(request.args["month"]), int(request.args["day"]))
            except (KeyError, ValueError):
                return api(400, _error("year, month and day are required", "year"))
            items = self.settlement_rows(day)
            return api(200, {"entity": "collection", "count": len(items), "items": items})

        @bp.route("/pay/<link_id>", methods=["GET", "POST"])
        def payer(link_id: str) -> ResponseReturnValue:
            entity = self.link_entity(link_id)
            if not entity:
                abort(404)
            failed = False
            if request.method == "POST" and not csrf_valid():
                return render_template(
                    "pay/sandbox.html", link=entity, failed=False, methods=METHODS, csrf=csrf_token(), expired=True
                ), 400
            if request.method == "POST" and entity["status"] == "created":
                method = request.form.get("method", "upi")
                succeed = request.form.get("outcome") == "pay"
                back = self.pay(
                    link_id,
                    method if method in METHODS else "upi",
                    succeed=succeed,
                    twice=request.form.get("twice") == "1",
                    reverse=request.form.get("reverse") == "1",
                )
                if back:
                    return redirect(back, code=303)
                failed = not succeed
                entity = self.link_entity(link_id)
            return render_template("pay/sandbox.html", link=entity, failed=failed, methods=METHODS, csrf=csrf_token())

        return bp


def _error(description: str, field: str | None) -> dict[str, Any]:
    return {
        "error": {
            "code": "BAD_REQUEST_ERROR",
            "description": description,
            "source": "business",
            "step": "payment_initiation",
            "reason": "input_validation_failed",
            "metadata": {},
            "field": field,
        }
    }


def _http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request_ = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request_, timeout=5) as response:  # Razorpay waits 5 s
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, TimeoutError, OSError):
        return 0
