"""The cash counter's pages as a cashier uses them: find the account, take cash or a cheque, print the receipt, see
the day's cash book, mark a cheque bounced; another area's account and other roles get nothing."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cis.db import make_engine, make_session_factory
from cis.models import Account, Payment
from cis.scopes import account_sub_division
from tests.integration.test_staff_login import add_staff, form_token
from tests.pdf_support import Extracted
from tests.web_support import Site, build_site, running, signed_in


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = build_site(tmp_path_factory.mktemp("counter"))
    engine = make_engine(site.url)
    try:
        with make_session_factory(engine)() as session:
            account_id = session.scalar(select(Account.id).where(Account.account_no == site.world.single))
            assert account_id is not None
            sub = account_sub_division(session, account_id)
            add_staff(session, "cashier.near", role="cashier", scope_level="sub_division", scope_id=sub)
            add_staff(session, "cashier.far", role="cashier", scope_level="sub_division", scope_id=(sub or 0) + 999)
            session.commit()
    finally:
        engine.dispose()
    return site


@pytest.fixture
def app(site: Site) -> Flask:
    return site.app()


def _cashier(app: Flask, username: str = "cashier.near") -> Iterator[FlaskClient]:
    with running(app) as client:
        yield signed_in(client, username)


def _form(client: FlaskClient, account_no: str) -> dict[str, str]:
    page = client.get(f"/counter/?account={account_no}").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|form_id)" value="([^"]+)"', page))
    assert set(fields) == {"csrf_token", "form_id"}, page[:400]
    return fields


def test_a_cashier_takes_cash_once_per_form_and_prints_the_receipt(app: Flask, site: Site) -> None:
    for client in _cashier(app):
        fields = _form(client, site.world.single)
        data = {**fields, "account": site.world.single, "amount": "1,500.50", "mode": "cash"}
        first = client.post("/counter/collect", data=data)
        again = client.post("/counter/collect", data=data)  # the same form sent twice
        assert (first.status_code, again.status_code) == (303, 303)
        landed = client.get(first.headers["Location"]).get_data(as_text=True)
        receipt = re.search(r"(?i)receipt number (\d{11})", landed)
        assert receipt is not None
        assert 'id="print-receipt"' in landed
        engine = make_engine(site.url)
        with engine.connect() as conn:
            rows = conn.execute(
                select(Payment.id, Payment.amount_paise, Payment.method).where(Payment.gateway == "counter")
            ).all()
        engine.dispose()
        assert [(amount, method) for _, amount, method in rows] == [(150_050, "cash")]
        pdf = client.get(f"/counter/receipts/{rows[0][0]}.pdf")
        assert pdf.mimetype == "application/pdf"
        printed = Extracted(pdf.get_data(), Path(tempfile.mkdtemp()))
        assert printed.has(receipt.group(1))
        assert printed.has("₹1,500.50")
        assert printed.has("नकद / Cash")
        book = client.get("/counter/cashbook").get_data(as_text=True)
        assert receipt.group(1) in book
        assert re.search(r'data-field="total">₹1,500.50<', book)
        csv = client.get("/counter/cashbook.csv").get_data(as_text=True)
        assert csv.splitlines()[0] == "receipt_no,time_ist,account_no,mode,instrument,amount_paise,reversed"
        assert "total,,,cash,,150050," in csv


def test_a_cheque_needs_its_number_and_a_bounce_reverses_it(app: Flask, site: Site) -> None:
    for client in _cashier(app):
        fields = _form(client, site.world.single)
        base = {**fields, "account": site.world.single, "amount": "200", "mode": "cheque"}
        refused = client.post("/counter/collect", data=base)
        assert refused.status_code == 400
        assert "needs its number" in refused.get_data(as_text=True)
        too_much = client.post("/counter/collect", data={**base, "mode": "cash", "amount": "250000"})
        assert "section 269ST" in too_much.get_data(as_text=True)
        taken = client.post("/counter/collect", data={**base, "instrument_no": "004512", "instrument_bank": "SBI"})
        assert taken.status_code == 303
        engine = make_engine(site.url)
        with engine.connect() as conn:
            cheque_id = conn.scalar(select(Payment.id).where(Payment.method == "cheque"))
        bounced = client.post(
            f"/counter/payments/{cheque_id}/bounce",
            data={"csrf_token": form_token(client), "reason": "insufficient funds"},
        )
        assert bounced.status_code == 303
        with engine.connect() as conn:
            assert conn.scalar(select(Payment.status).where(Payment.id == cheque_id)) == "reversed"
        engine.dispose()
        assert "Reversed" in client.get(bounced.headers["Location"]).get_data(as_text=True)


def test_another_areas_account_other_roles_and_nobody_get_nothing(app: Flask, site: Site) -> None:
    for client in _cashier(app, "cashier.far"):
        assert client.get(f"/counter/?account={site.world.single}").status_code == 404
    with running(app) as client:
        assert client.get("/counter/").status_code in (302, 303)  # to the sign-in
        signed_in(client, "desk.d1")
        assert client.get("/counter/").status_code == 403
