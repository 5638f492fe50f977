"""The pay link and the gateway's webhooks over HTTP, with the sandbox gateway speaking Razorpay's contract: the
whole app served on a port of its own (the adapter reaches the sandbox, and the sandbox our webhook, over HTTP).

Webhooks are signed as Razorpay signs them; forged, unsigned, re-signed with the API secret (not the webhook
secret) and altered bodies are refused with nothing written; the same event replayed from many threads posts
once; events out of order never reopen a paid link; a refund made at the gateway reverses the payment."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, func, select
from werkzeug.serving import make_server

from cis.db import UnitOfWork, make_session_factory
from cis.migrate import upgrade
from cis.models import AuditLog, Bill, GatewayEvent, Outbox, Payment, PaymentIntent
from cis.payments import open_intent
from cis.web.pay.sandbox import SandboxGateway
from tests import factories
from urjamitra.settings import Settings
from urjamitra.web import create_app

MOBILE = "+919876512345"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    url: str
    engine: Engine
    settings: Settings
    sandbox: SandboxGateway

    def count(self, model: type, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]

    def intent(self, amount: int = 172_700) -> tuple[str, str]:
        factory = make_session_factory(self.engine)
        with factory() as s:
            acc = factories.account(s, mobiles=(MOBILE,))
            factories.bill(s, acc, amount_paise=amount)
            s.commit()
            account_no = acc.account_no
        return open_intent(UnitOfWork(factory), account_no, channel="sms", mobile=MOBILE).token, account_no

    def signed(self, body: bytes, *, secret: str | None = None) -> dict[str, str]:
        key = secret or self.settings.gateway_keys()[3]
        return {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": hmac.new(key.encode(), body, hashlib.sha256).hexdigest(),
            "X-Razorpay-Event-Id": "evt_" + hashlib.sha256(body).hexdigest()[:14],
        }

    def wait_for(self, model: type, *where: Any, count: int = 1, seconds: float = 15) -> int:
        deadline = time.monotonic() + seconds
        while True:
            found = self.count(model, *where)
            if found >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def _serve(database_url: str, folder: Path) -> Iterator[Live]:
    port = _free_port()
    settings = Settings(
        database_url=database_url,
        web_bind=f"127.0.0.1:{port}",
        public_url=f"http://127.0.0.1:{port}",
        secret_key="pay-web-tests-" + "0" * 32,
        prompts_dir=str(folder / "no-prompts"),
        **{name: "10000 per minute" for name in ("limit_pay",)},
    )
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(settings.public_url, app.extensions["urja.engine"], settings, app.extensions["urja.sandbox_gateway"])
    finally:
        server.shutdown()
        app.extensions["urja.engine"].dispose()


@pytest.fixture(scope="module")
def pay_pg(postgres_url: str) -> Iterator[Engine]:
    from tests.conftest import own_postgres_database

    with own_postgres_database(postgres_url, "urja_payweb") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    if request.param == "postgres":
        from cis.seed import reset

        engine: Engine = request.getfixturevalue("pay_pg")
        reset(engine)
        url = engine.url.render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
        from cis.db import make_engine

        lite = make_engine(url)
        upgrade(lite)
        lite.dispose()
    yield from _serve(url, tmp_path)


def _sandbox_post(browser: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    """Choose on the sandbox's page as a payer does: the page's form token with the choice."""
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(url).text)
    assert csrf is not None
    return browser.post(url, data={"csrf_token": csrf.group(1), **data}, allow_redirects=False)


def _paid_event(token: str, account_no: str, amount: int, payment_id: str = "pay_TestPaid000001") -> bytes:
    payment = {
        "id": payment_id, "entity": "payment", "amount": amount, "currency": "INR", "status": "captured",
        "method": "upi", "order_id": "order_Test00000001", "notes": {"urja_intent": token, "account": account_no},
        "captured": True, "created_at": int(time.time()),
    }  # fmt: skip
    link = {"id": "plink_Test00000001", "reference_id": token, "status": "paid", "amount": amount}
    body = {
        "entity": "event", "account_id": "acc_Test", "event": "payment_link.paid",
        "contains": ["payment_link", "order", "payment"], "created_at": int(time.time()),
        "payload": {"payment_link": {"entity": link}, "order": {"entity": {"id": "order_Test00000001"}},
                    "payment": {"entity": payment}},
    }  # fmt: skip
    return json.dumps(body).encode()


def _failed_event(token: str, payment_id: str = "pay_TestFailed0001") -> bytes:
    payment = {
        "id": payment_id, "entity": "payment", "amount": 100, "status": "failed", "method": "card",
        "notes": {"urja_intent": token}, "error_code": "BAD_REQUEST_ERROR", "error_description": "Card declined",
        "created_at": int(time.time()),
    }  # fmt: skip
    return json.dumps({"event": "payment.failed", "payload": {"payment": {"entity": payment}}}).encode()


# --- the payer's way, through the sandbox -------------------------------------------------------------------------


def test_a_link_is_paid_through_the_sandbox_and_the_page_shows_the_receipt(live: Live) -> None:
    token, account_no = live.intent()
    browser = requests.Session()
    page = browser.get(f"{live.url}/p/{token}")
    assert page.status_code == 200
    assert "₹1,727.00" in page.text
    assert account_no in page.text
    assert "Ra**** Ve***" in page.text
    assert f"upi://pay?pa=urjamitra.bills@sbi&amp;pn=Urja%20Mitra%20Discom&amp;am=1727.00&amp;tr={token}" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None

    to_gateway = browser.post(f"{live.url}/p/{token}", data={"csrf_token": csrf.group(1)}, allow_redirects=False)
    assert to_gateway.status_code == 303
    gateway_page = to_gateway.headers["Location"]
    assert gateway_page.startswith(f"{live.url}/sandbox/razorpay/pay/plink_")
    assert "₹1,727.00" in browser.get(gateway_page).text

    back = _sandbox_post(browser, gateway_page, {"method": "upi", "outcome": "pay"})
    assert back.status_code == 303
    assert back.headers["Location"].startswith(f"{live.url}/p/{token}/done?razorpay_payment_id=pay_")
    assert live.wait_for(Payment) == 1
    assert live.wait_for(GatewayEvent, count=2) == 2  # payment.captured posts it; payment_link.paid finds it posted

    done = browser.get(back.headers["Location"])
    receipt = re.search(r'data-field="receipt">(\d{11})<', done.text)
    assert receipt is not None
    assert "Paid. Thank you." in done.text
    assert (
        live.count(
            Outbox, Outbox.template == "payment.receipt", Outbox.payload["receipt"].as_string() == receipt.group(1)
        )
        == 1
    )
    with live.engine.connect() as conn:
        assert conn.scalar(select(Bill.status)) == "paid"
        assert conn.scalar(select(PaymentIntent.gateway_link_id)).startswith("plink_")
    # Paid: the link takes no second payment.
    assert (
        browser.post(f"{live.url}/p/{token}", data={"csrf_token": csrf.group(1)}, allow_redirects=False).status_code
        == 409
    )


def test_a_failed_attempt_then_a_payment_with_every_webhook_twice_and_reversed_posts_once(live: Live) -> None:
    token, _ = live.intent()
    browser = requests.Session()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{live.url}/p/{token}").text)
    assert csrf is not None
    gateway_page = browser.post(
        f"{live.url}/p/{token}", data={"csrf_token": csrf.group(1)}, allow_redirects=False
    ).headers["Location"]

    # Without the page's form token the sandbox does nothing (another site cannot make a browser pay).
    forged = browser.post(gateway_page, data={"method": "upi", "outcome": "pay"}, allow_redirects=False)
    assert forged.status_code == 400
    assert "The page had expired" in forged.text
    failed = _sandbox_post(browser, gateway_page, {"method": "card", "outcome": "fail"})
    assert "The payment failed" in failed.text
    _sandbox_post(browser, gateway_page, {"method": "upi", "outcome": "pay", "twice": "1", "reverse": "1"})

    assert live.wait_for(GatewayEvent, count=3) == 3  # the failure, then the two payment events (each sent twice)
    time.sleep(0.5)
    assert live.count(Payment) == 1
    assert live.count(Outbox, Outbox.template == "payment.receipt") == 1
    assert live.count(AuditLog, AuditLog.action == "payment.posted") == 1
    with live.engine.connect() as conn:
        status, attempts = conn.execute(select(PaymentIntent.status, PaymentIntent.failed_attempts)).one()
    assert (status, attempts) == ("paid", 1)


def test_a_refund_made_at_the_gateway_reverses_the_payment(live: Live) -> None:
    token, account_no = live.intent()
    body = _paid_event(token, account_no, 172_700, "pay_ToBeRefunded01")
    assert requests.post(f"{live.url}/webhooks/razorpay", data=body, headers=live.signed(body)).json() == {
        "status": "posted"
    }
    # The sandbox refunds what it captured; this payment came by a webhook alone, so it is refunded by event too.
    refund = {"id": "rfnd_Test00000001", "entity": "refund", "amount": 172_700, "payment_id": "pay_ToBeRefunded01"}
    event = json.dumps({"event": "refund.processed", "payload": {"refund": {"entity": refund}}}).encode()
    answer = requests.post(f"{live.url}/webhooks/razorpay", data=event, headers=live.signed(event))
    assert answer.json() == {"status": "reversed"}
    assert live.count(Payment, Payment.status == "refunded") == 1
    assert live.count(AuditLog, AuditLog.action == "payment.refunded") == 1
    assert live.count(Outbox, Outbox.template == "payment.reversed") == 1


# --- webhooks: signatures and replays -----------------------------------------------------------------------------


def test_forged_unsigned_api_secret_and_altered_webhooks_are_refused_with_nothing_written(live: Live) -> None:
    token, account_no = live.intent()
    body = _paid_event(token, account_no, 172_700)
    good = live.signed(body)
    api_secret = live.settings.gateway_keys()[2]
    attempts = [
        ({**good, "X-Razorpay-Signature": "0" * 64}, body),  # forged
        ({k: v for k, v in good.items() if k != "X-Razorpay-Signature"}, body),  # unsigned
        (live.signed(body, secret=api_secret), body),  # signed with the API secret, not the webhook secret
        (good, body.replace(b"172700", b"100")),  # the amount altered after signing
        (good, body + b" "),  # one byte added
        ({**good, "X-Razorpay-Event-Id": ""}, body),  # signed, but no event id
    ]
    for headers, sent in attempts:
        answer = requests.post(f"{live.url}/webhooks/razorpay", data=sent, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] in ("signature", "event_id")
    assert (
        live.count(Payment),
        live.count(GatewayEvent),
        live.count(Outbox, Outbox.template == "payment.receipt"),
    ) == (
        0,
        0,
        0,
    )


def test_one_webhook_replayed_50_times_from_20_threads_posts_once(live: Live) -> None:
    token, account_no = live.intent()
    body = _paid_event(token, account_no, 172_700)
    headers = live.signed(body)

    def send(_: int) -> str:
        return str(
            requests.post(f"{live.url}/webhooks/razorpay", data=body, headers=headers, timeout=30).json()["status"]
        )

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(send, range(50)))

    assert outcomes.count("posted") == 1
    assert set(outcomes) <= {"posted", "already_posted", "duplicate"}
    assert live.count(Payment) == 1
    assert live.count(Outbox, Outbox.template == "payment.receipt") == 1
    assert live.count(AuditLog, AuditLog.action == "payment.posted") == 1
    assert live.count(GatewayEvent) == 1


def test_a_failure_told_after_the_payment_leaves_the_link_paid(live: Live) -> None:
    token, account_no = live.intent()
    paid = _paid_event(token, account_no, 172_700)
    failed = _failed_event(token)
    for body in (paid, failed):
        assert requests.post(f"{live.url}/webhooks/razorpay", data=body, headers=live.signed(body)).status_code == 200
    with live.engine.connect() as conn:
        assert conn.execute(select(PaymentIntent.status, PaymentIntent.failed_attempts)).one() == ("paid", 0)


def test_malformed_but_signed_bodies_get_a_4xx_and_unknown_links_are_kept_for_reconciliation(live: Live) -> None:
    negative = b'{"event": "payment.captured", "payload": {"payment": {"entity": {"id": "pay_x", "amount": -5}}}}'
    for body in (b"not json", b"[]", b'{"event": "payment.captured", "payload": {}}', negative):
        assert requests.post(f"{live.url}/webhooks/razorpay", data=body, headers=live.signed(body)).status_code == 400
    stranger = _paid_event("zzzzzzzzzz", "1000000000", 500, "pay_NotOurs000001")
    answer = requests.post(f"{live.url}/webhooks/razorpay", data=stranger, headers=live.signed(stranger))
    assert answer.json() == {"status": "unmatched"}
    assert live.count(Payment) == 0
    assert live.count(GatewayEvent, GatewayEvent.outcome == "unmatched") == 1


# --- the sandbox speaks Razorpay's contract ------------------------------------------------------------------------


def test_the_sandbox_api_wants_the_keys_and_refuses_as_razorpay_does(live: Live) -> None:
    api = f"{live.url}/sandbox/razorpay/v1/payment_links"
    _, key_id, key_secret, _ = live.settings.gateway_keys()
    body = {"amount": 10_000, "currency": "INR", "reference_id": "refA1"}
    unauthorised = requests.post(api, json=body, auth=(key_id, "wrong"))
    assert unauthorised.status_code == 401
    assert unauthorised.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    made = requests.post(api, json=body, auth=(key_id, key_secret))
    assert made.status_code == 200
    assert made.json()["id"].startswith("plink_")
    assert made.json()["status"] == "created"
    again = requests.post(api, json=body, auth=(key_id, key_secret))
    assert again.status_code == 400
    assert again.json()["error"]["description"] == "payment link creation with reference ID already attempted"
    soon = requests.post(
        api, json={**body, "reference_id": "refA2", "expire_by": int(time.time()) + 60}, auth=(key_id, key_secret)
    )
    assert soon.json()["error"]["field"] == "expire_by"


def test_the_sandbox_retries_a_webhook_until_it_is_taken(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [500, 0, 200]
    seen: list[tuple[str, str]] = []

    def flaky(url: str, body: bytes, headers: dict[str, str]) -> int:
        seen.append((headers["X-Razorpay-Event-Id"], headers["X-Razorpay-Signature"]))
        return answers[len(seen) - 1]

    monkeypatch.setattr("cis.web.pay.sandbox.RETRY_DELAYS_S", (0.05, 0.05, 0.05))
    sandbox = SandboxGateway(live.sandbox.config, post=flaky)
    sandbox.deliver([("evt_Retry0000001", b'{"event":"payment.captured"}')]).join(5)
    assert len(seen) == 3
    assert {event for event, _ in seen} == {"evt_Retry0000001"}
    assert {sig for _, sig in seen} == {sandbox.sign(b'{"event":"payment.captured"}')}


def test_the_gateway_refusing_a_link_leaves_the_payer_a_clear_page(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
    from cis.db import make_engine

    lite = make_engine(url)
    upgrade(lite)
    lite.dispose()
    port = _free_port()
    settings = Settings(
        database_url=url, public_url=f"http://127.0.0.1:{port}", secret_key="pay-web-tests-" + "1" * 32,
        razorpay_api_url=f"http://127.0.0.1:{_free_port()}",  # nobody there
        prompts_dir=str(tmp_path / "no-prompts"),
    )  # fmt: skip
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live = Live(
            settings.public_url, app.extensions["urja.engine"], settings, app.extensions["urja.sandbox_gateway"]
        )
        token, _ = live.intent()
        browser = requests.Session()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{live.url}/p/{token}").text)
        assert csrf is not None
        answer = browser.post(f"{live.url}/p/{token}", data={"csrf_token": csrf.group(1)}, allow_redirects=False)
        assert answer.status_code == 503
        assert "The payment gateway is not answering just now" in answer.text
        assert "upi://pay" in answer.text  # UPI still offered
        for form in ({"csrf_token": "stale"}, {}):
            refused = browser.post(f"{live.url}/p/{token}", data=form, allow_redirects=False)
            assert refused.status_code == 400
            assert "The page had expired" in refused.text
        assert browser.get(f"{live.url}/p/abcdefghjk").status_code == 404
    finally:
        server.shutdown()
        app.extensions["urja.engine"].dispose()
