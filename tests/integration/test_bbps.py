"""The BBPS-style biller API as a partner bank's app calls it: signed fetch and payment, each payment once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select

from cis.db import make_engine, make_session_factory
from cis.migrate import upgrade
from cis.models import AuditLog, Bill, Outbox, Payment
from cis.numbers import bill_no_for_id
from cis.web.pay.bbps import bbps_signature
from tests import factories
from urjamitra.settings import Settings
from urjamitra.web import create_app

SECRET = "bank-one-secret-0123456789"


@pytest.fixture(scope="module")
def bbps_pg(postgres_url: str) -> Iterator[Engine]:
    from tests.conftest import own_postgres_database

    with own_postgres_database(postgres_url, "urja_bbps") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    if request.param == "postgres":
        from cis.seed import reset

        engine: Engine = request.getfixturevalue("bbps_pg")
        reset(engine)
        url = engine.url.render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
        lite = make_engine(url)
        upgrade(lite)
        lite.dispose()
    settings = Settings(
        database_url=url,
        secret_key="bbps-tests-" + "0" * 32,
        bbps_partners=f"bank1:{SECRET}",
        prompts_dir=str(tmp_path / "no-prompts"),
    )
    flask_app = create_app(settings)
    yield flask_app
    flask_app.extensions["urja.engine"].dispose()


def _engine(app: Flask) -> Engine:
    engine: Engine = app.extensions["urja.engine"]
    return engine


def _consumer(app: Flask) -> tuple[str, int]:
    with make_session_factory(_engine(app))() as s:
        acc = factories.account(s, mobiles=("+919876512345",))
        bill = factories.bill(s, acc, amount_paise=172_700)
        s.commit()
        return acc.account_no, bill.id


def _post(app: Flask, path: str, body: dict[str, Any], *, secret: str = SECRET, partner: str = "bank1",
          stamp: int | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    raw = json.dumps(body).encode()
    ts = str(stamp if stamp is not None else int(time.time()))
    headers = {"X-BBPS-Partner": partner, "X-BBPS-Timestamp": ts, "X-BBPS-Signature": bbps_signature(secret, ts, raw)}
    response = app.test_client().post(path, data=raw, headers=headers, content_type="application/json")
    return response.status_code, response.get_json()


def _params(account_no: str) -> list[dict[str, str]]:
    return [{"name": "Account Number", "value": account_no}]


def _count(app: Flask, model: type, *where: Any) -> int:
    with _engine(app).connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_a_partner_fetches_the_bill_as_bill_payment_apps_show_it(app: Flask) -> None:
    account_no, bill_id = _consumer(app)
    status, bill = _post(app, "/bbps/fetch", {"refId": "REF0001", "customerParams": _params(account_no)})
    assert status == 200
    assert bill["status"] == "SUCCESS"
    assert (bill["customerName"], bill["amount"], bill["billNumber"]) == (
        "Ra**** Ve***",
        "172700",
        bill_no_for_id(bill_id),
    )
    assert (bill["billPeriod"], bill["amountExactness"], bill["refId"]) == ("2026-10", "EXACT_AND_ABOVE", "REF0001")
    assert bill["dueDate"]
    assert bill["billDate"]
    assert _post(app, "/bbps/fetch", {"refId": "R2", "customerParams": _params("1999999999")})[0] == 404
    assert _post(app, "/bbps/fetch", {"refId": "R3", "customerParams": _params("12345")})[0] == 400
    assert _post(app, "/bbps/fetch", {"customerParams": _params(account_no)})[0] == 400


def test_unsigned_wrongly_signed_stale_and_unknown_partners_are_refused(app: Flask) -> None:
    account_no, _ = _consumer(app)
    body = {"refId": "REF0001", "customerParams": _params(account_no)}
    for kwargs in ({"secret": "another-secret-0123456789"}, {"partner": "bank2"}, {"stamp": int(time.time()) - 900}):
        status, answer = _post(app, "/bbps/fetch", body, **kwargs)  # type: ignore[arg-type]
        assert status == 401, kwargs
        assert answer["error"] == "signature"
    unsigned = app.test_client().post("/bbps/payment", json={**body, "txnReferenceId": "T1", "amount": "172700"})
    assert unsigned.status_code == 401
    assert _count(app, Payment) == 0


def test_a_payment_is_posted_once_per_transaction_reference(app: Flask) -> None:
    account_no, _ = _consumer(app)
    body = {"refId": "REF0002", "txnReferenceId": "AXB1234567890", "customerParams": _params(account_no),
            "amount": "172700", "paymentMode": "UPI"}  # fmt: skip
    status, first = _post(app, "/bbps/payment", body)
    assert status == 200
    assert first["status"] == "SUCCESS"
    assert len(first["approvalRefNumber"]) == 11
    assert first["duplicate"] is False
    status, again = _post(app, "/bbps/payment", body)
    assert (status, again["approvalRefNumber"], again["duplicate"]) == (200, first["approvalRefNumber"], True)
    assert _count(app, Payment, Payment.gateway == "bbps") == 1
    assert _count(app, Outbox, Outbox.template == "payment.receipt") == 1
    assert _count(app, AuditLog, AuditLog.action == "payment.posted") == 1
    with _engine(app).connect() as conn:
        assert conn.scalar(select(Bill.status)) == "paid"
        assert conn.scalar(select(Payment.method)) == "upi"


def test_less_than_due_is_refused_and_more_is_an_advance(app: Flask) -> None:
    account_no, _ = _consumer(app)
    base = {"refId": "REF0003", "customerParams": _params(account_no), "paymentMode": "Debit Card"}
    status, low = _post(app, "/bbps/payment", {**base, "txnReferenceId": "T-LOW", "amount": "100000"})
    assert (status, low["error"]) == (422, "amount")
    status, _ = _post(app, "/bbps/payment", {**base, "txnReferenceId": "T-HIGH", "amount": "200000"})
    assert status == 200
    assert _count(app, Payment) == 1
    for bad in ({"txnReferenceId": "", "amount": "100"}, {"txnReferenceId": "T 1;", "amount": "172700"},
                {"txnReferenceId": "T2", "amount": "17.50"}):  # fmt: skip
        assert _post(app, "/bbps/payment", {**base, **bad})[0] == 400


def test_the_same_payment_from_ten_threads_is_posted_once(app: Flask) -> None:
    account_no, _ = _consumer(app)
    body = {"refId": "REF0004", "txnReferenceId": "RACE000001", "customerParams": _params(account_no),
            "amount": "172700", "paymentMode": "NEFT"}  # fmt: skip
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: _post(app, "/bbps/payment", body), range(10)))
    assert {status for status, _ in answers} == {200}
    assert len({answer["approvalRefNumber"] for _, answer in answers}) == 1
    assert _count(app, Payment, Payment.gateway == "bbps") == 1
