"""Counter collection: a cashier takes cash, a cheque or a DD for an account of their sub-division; a form sent
twice is one payment; a bounced cheque reverses its payment; the day's cash book totals what goes to the bank."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.errors import AmountOutOfRange, UnknownAccount
from cis.models import AuditLog, Bill, Outbox, Payment, Staff
from cis.payments.counter import MissingInstrument, NotACashier, NotBounceable, bounce, cash_book, collect
from cis.payments.posting import receipt_document
from cis.receipt_pdf import receipt_pdf
from tests import factories
from tests.pdf_support import Extracted

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
AT = dt.datetime(2026, 11, 20, 11, 30, tzinfo=IST)


def _cashier(session: Session, sub: int | None, *, role: str = "cashier", name: str = "cashier.one") -> int:
    staff = Staff(
        username=name, name="Counter cashier", role=role, scope_level="sub_division" if sub else None,
        scope_id=sub, password_hash="x", active=True, created_at=AT,
    )  # fmt: skip
    session.add(staff)
    session.commit()
    return staff.id


def _billed(session: Session, n: int, amount: int = 172_700) -> tuple[str, int]:
    acc = factories.account(session, mobiles=(f"+9198760{n:05d}",))
    factories.bill(session, acc, amount_paise=amount)
    sub = factories.sub_division_of(session, acc)
    session.commit()
    return acc.account_no, sub


def test_cash_is_posted_once_per_form_with_a_receipt_sms_and_an_audit_row(uow: UnitOfWork, session: Session) -> None:
    account_no, sub = _billed(session, 1)
    cashier = _cashier(session, sub)

    first = collect(uow, cashier, account_no, 172_700, mode="cash", form_id="form-0001", now=AT)
    again = collect(uow, cashier, account_no, 172_700, mode="cash", form_id="form-0001", now=AT)

    assert (first.duplicate, again.duplicate, again.receipt_no) == (False, True, first.receipt_no)
    session.expire_all()
    payment = session.scalars(select(Payment)).one()
    assert (payment.channel, payment.method, payment.collected_by, payment.gateway) == (
        "counter",
        "cash",
        cashier,
        "counter",
    )
    assert session.scalars(select(Bill.status)).one() == "paid"
    assert session.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "payment.receipt")) == 1
    assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "payment.posted")) == 1


def test_limits_instruments_roles_and_the_area(uow: UnitOfWork, session: Session) -> None:
    account_no, sub = _billed(session, 2)
    other_no, _ = _billed(session, 3)
    cashier = _cashier(session, sub)
    agent = _cashier(session, sub, role="agent", name="agent.counter")
    with pytest.raises(AmountOutOfRange):  # section 269ST: no cash of Rs 2 lakh or more
        collect(uow, cashier, account_no, 2_00_000_00, mode="cash", form_id="form-0002", now=AT)
    with pytest.raises(MissingInstrument):
        collect(uow, cashier, account_no, 172_700, mode="cheque", form_id="form-0003", now=AT)
    with pytest.raises(MissingInstrument):
        collect(uow, cashier, account_no, 172_700, mode="dd", form_id="form-0004", instrument_no="12", now=AT)
    with pytest.raises(NotACashier):
        collect(uow, agent, account_no, 172_700, mode="cash", form_id="form-0005", now=AT)
    with pytest.raises(UnknownAccount):  # another sub-division's account is as if it did not exist
        collect(uow, cashier, other_no, 172_700, mode="cash", form_id="form-0006", now=AT)
    with pytest.raises(ValueError, match="a counter payment is one of cash, cheque, dd"):
        collect(uow, cashier, account_no, 172_700, mode="gold", form_id="form-0007", now=AT)
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_bounced_cheque_reverses_its_payment_and_leaves_the_cash_book(
    uow: UnitOfWork, session: Session, tmp_path: Path
) -> None:
    account_no, _ = _billed(session, 4)
    second_no, _ = _billed(session, 5)
    cashier = _cashier(session, None)  # a discom-wide cashier (head office)
    cheque = collect(
        uow, cashier, account_no, 172_700, mode="cheque", form_id="form-0008", instrument_no="004512",
        instrument_bank="State Bank of India, Kidwai Nagar", now=AT,
    )  # fmt: skip
    cash = collect(uow, cashier, second_no, 50_000, mode="cash", form_id="form-0009", now=AT + dt.timedelta(minutes=5))

    with pytest.raises(NotBounceable):
        bounce(uow, cashier, cash.payment_id, reason="cash cannot bounce", now=AT)
    assert bounce(uow, cashier, cheque.payment_id, reason="insufficient funds", now=AT + dt.timedelta(days=2)) == (
        cheque.receipt_no
    )
    with pytest.raises(NotBounceable):  # once
        bounce(uow, cashier, cheque.payment_id, reason="again", now=AT)

    session.expire_all()
    assert session.get(Payment, cheque.payment_id).status == "reversed"  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "payment.reversed")) == 1
    assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "payment.reversed")) == 1
    book = cash_book(uow, cashier, AT.date())
    assert [(line.mode, line.amount_paise, line.reversed, line.instrument) for line in book.lines] == [
        ("cheque", 172_700, True, "004512 State Bank of India, Kidwai Nagar"),
        ("cash", 50_000, False, None),
    ]
    assert (book.totals, book.total_paise) == ({"cash": 50_000}, 50_000)
    assert cash_book(uow, cashier, AT.date() + dt.timedelta(days=1)).lines == []

    # The printed receipt of the cheque says it was reversed, and what was paid.
    doc = receipt_document(uow, session.get(Payment, cheque.payment_id).account_id, cheque.payment_id)  # type: ignore[union-attr]
    assert doc is not None
    printed = Extracted(receipt_pdf(doc), tmp_path)
    for text in (
        cheque.receipt_no,
        "₹1,727.00",
        "चेक / Cheque",
        "नकद काउंटर / Cash counter",
        "This payment was reversed",
    ):
        assert printed.has(text), text
