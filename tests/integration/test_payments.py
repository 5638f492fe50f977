"""Payments by link: intents (the amount, reuse, limits) and posting what a gateway reports exactly once, with
the bill's status, the receipt SMS and the audit trail; late and repeated events; refunds."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork, make_session_factory
from cis.errors import AmountOutOfRange, NothingDue, UnknownPaymentLink
from cis.models import AuditLog, Bill, Outbox, Payment, PaymentIntent
from cis.numbers import payment_id_for_receipt_no
from cis.payments import GatewayPayment, intent_by_token, open_intent, post_gateway_payment, reverse_payment
from cis.payments.posting import record_failed_attempt
from tests import factories

NOW = factories.NOW
MOBILE = "+919876512345"


def _account(session: Session, *, amount: int = 172_700, arrears: int = 0, lps: int = 0) -> str:
    acc = factories.account(session, mobiles=(MOBILE,))
    bill = factories.bill(session, acc, amount_paise=amount)
    bill.arrears_paise, bill.lps_paise = arrears, lps
    session.commit()
    return acc.account_no


def _paid(
    token: str | None, ref: str, amount: int, *, at: dt.datetime = NOW, link: str | None = None
) -> GatewayPayment:
    return GatewayPayment("sandbox", ref, token, link, amount, "upi", at)


def _count(session: Session, model: type, *where: object) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _receipts(session: Session) -> list[Outbox]:
    session.expire_all()
    return list(session.scalars(select(Outbox).where(Outbox.template == "payment.receipt")))


# --- intents ------------------------------------------------------------------------------------------------------


def test_an_intent_asks_for_what_is_due_and_pressing_pay_again_gives_the_same_link(
    uow: UnitOfWork, session: Session
) -> None:
    account_no = _account(session)

    first = open_intent(uow, account_no, channel="ivr", mobile=MOBILE, now=NOW)
    again = open_intent(uow, account_no, channel="ivr", mobile=MOBILE, now=NOW + dt.timedelta(minutes=5))

    assert (first.amount_paise, first.purpose, first.status, first.reused) == (172_700, "due", "open", False)
    assert (again.token, again.reused) == (first.token, True)
    assert first.name_masked == "Ra**** Ve***"
    assert _count(session, PaymentIntent) == 1
    upi = first.upi_link(vpa="kesco.bills@sbi", payee="KESCO Kanpur")
    assert upi == (
        f"upi://pay?pa=kesco.bills@sbi&pn=KESCO%20Kanpur&am=1727.00&tr={first.token}"
        f"&tn=Electricity%20A/c%20{account_no}&cu=INR"
    )


def test_a_part_payment_an_advance_and_amounts_out_of_range(uow: UnitOfWork, session: Session) -> None:
    account_no = _account(session)
    assert open_intent(uow, account_no, channel="portal", amount_paise=50_000, now=NOW).purpose == "partial"
    with pytest.raises(AmountOutOfRange):
        open_intent(uow, account_no, channel="portal", amount_paise=99, now=NOW)
    with pytest.raises(AmountOutOfRange):
        open_intent(uow, account_no, channel="portal", amount_paise=50_000_001, now=NOW)
    paid = factories.account(session)
    session.commit()
    with pytest.raises(NothingDue):
        open_intent(uow, paid.account_no, channel="sms", now=NOW)
    assert open_intent(uow, paid.account_no, channel="sms", amount_paise=100_000, now=NOW).purpose == "advance"


def test_a_link_past_its_time_shows_as_expired_and_a_made_up_one_is_unknown(uow: UnitOfWork, session: Session) -> None:
    intent = open_intent(uow, _account(session), channel="sms", now=NOW)
    assert intent_by_token(uow, intent.token.upper(), now=NOW).status == "open"
    assert intent_by_token(uow, intent.token, now=NOW + dt.timedelta(days=4)).status == "expired"
    for made_up in ("", "abc", "zzzzzzzzzz", "0000000000", "../../etc"):
        with pytest.raises(UnknownPaymentLink):
            intent_by_token(uow, made_up, now=NOW)


# --- posting ------------------------------------------------------------------------------------------------------


def test_a_payment_is_posted_once_closes_the_intent_and_the_bill_and_sends_one_receipt(
    uow: UnitOfWork, session: Session
) -> None:
    account_no = _account(session)
    intent = open_intent(uow, account_no, channel="sms", mobile=MOBILE, now=NOW)
    at = NOW + dt.timedelta(minutes=3)

    posted = post_gateway_payment(uow, _paid(intent.token, "pay_A1", 172_700, at=at), now=at)
    again = post_gateway_payment(uow, _paid(intent.token, "pay_A1", 172_700, at=at), now=at)

    assert (posted.kind, posted.duplicate, again.duplicate, again.receipt_no) == (
        "full",
        False,
        True,
        posted.receipt_no,
    )
    assert intent_by_token(uow, intent.token, now=at).status == "paid"
    assert _count(session, Payment, Payment.gateway_ref == "pay_A1") == 1
    payment = session.get(Payment, payment_id_for_receipt_no(posted.receipt_no))
    assert payment is not None
    assert (payment.amount_paise, payment.channel, payment.method) == (172_700, "sms", "upi")
    assert session.scalars(select(Bill.status)).one() == "paid"
    [receipt] = _receipts(session)
    assert (receipt.recipient, receipt.payload["receipt"], receipt.payload["amount_paise"]) == (
        MOBILE,
        posted.receipt_no,
        172_700,
    )
    assert _count(session, AuditLog, AuditLog.action == "payment.posted", AuditLog.entity_id == posted.receipt_no) == 1


def test_less_is_a_part_payment_paying_arrears_first_and_more_leaves_an_advance(
    uow: UnitOfWork, session: Session
) -> None:
    account_no = _account(session, amount=300_000, arrears=100_000, lps=2_000)
    token = open_intent(uow, account_no, channel="portal", now=NOW).token

    part = post_gateway_payment(uow, _paid(token, "pay_P1", 50_000), now=NOW)
    assert (part.kind, part.allocation.arrears_paise, part.allocation.current_paise) == ("partial", 50_000, 0)
    assert session.scalars(select(Bill.status)).one() == "part_paid"

    rest = post_gateway_payment(uow, _paid(token, "pay_P2", 260_000), now=NOW)
    assert (rest.kind, rest.allocation.arrears_paise, rest.allocation.current_paise, rest.allocation.advance_paise) == (
        "full",
        52_000,
        198_000,
        10_000,
    )
    session.expire_all()
    assert session.scalars(select(Bill.status)).one() == "paid"


def test_a_failure_reported_after_the_payment_does_not_reopen_the_link(uow: UnitOfWork, session: Session) -> None:
    token = open_intent(uow, _account(session), channel="sms", now=NOW).token
    assert record_failed_attempt(uow, token, None, "card declined") is True
    post_gateway_payment(uow, _paid(token, "pay_F1", 172_700), now=NOW)
    assert record_failed_attempt(uow, token, None, "an earlier attempt, told late") is False

    session.expire_all()
    intent = session.scalars(select(PaymentIntent)).one()
    assert (intent.status, intent.failed_attempts, intent.last_failure) == ("paid", 1, "card declined")


def test_a_payment_for_no_intent_of_ours_is_refused(uow: UnitOfWork, session: Session) -> None:
    _account(session)
    with pytest.raises(UnknownPaymentLink):
        post_gateway_payment(uow, _paid("zzzzzzzzzz", "pay_X1", 100), now=NOW)
    with pytest.raises(UnknownPaymentLink):
        post_gateway_payment(uow, _paid(None, "pay_X2", 100, link="plink_unknown"), now=NOW)
    assert _count(session, Payment) == 0


def test_a_refund_reverses_the_payment_once_with_an_audit_row_and_an_sms(uow: UnitOfWork, session: Session) -> None:
    token = open_intent(uow, _account(session), channel="sms", now=NOW).token
    posted = post_gateway_payment(uow, _paid(token, "pay_R1", 172_700), now=NOW)

    reversed_no = reverse_payment(uow, "pay_R1", reason="refund rfnd_1", actor="gateway:sandbox", now=NOW)
    assert reversed_no == posted.receipt_no
    assert reverse_payment(uow, "pay_R1", reason="refund rfnd_1", actor="gateway:sandbox", now=NOW) is None
    assert reverse_payment(uow, "pay_unknown", reason="x", actor="gateway:sandbox", now=NOW) is None

    session.expire_all()
    assert session.scalars(select(Payment.status)).one() == "refunded"
    assert session.scalars(select(Bill.status)).one() == "issued"
    assert _count(session, AuditLog, AuditLog.action == "payment.refunded") == 1
    assert _count(session, Outbox, Outbox.template == "payment.reversed") == 1


# --- at once, on both databases -----------------------------------------------------------------------------------


@pytest.fixture
def payments_pg(postgres_url: str) -> Iterator[Engine]:
    from tests.conftest import own_postgres_database

    with own_postgres_database(postgres_url, "urja_payments") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def committing_engine(request: pytest.FixtureRequest) -> Engine:
    from tests.conftest import emptied_engine

    return emptied_engine(request, "payments_pg")


def test_the_same_payment_reported_50_times_from_20_threads_is_posted_once(committing_engine: Engine) -> None:
    factory: Callable[[], Session] = make_session_factory(committing_engine)
    with factory() as s:
        account_no = _account(s)
    token = open_intent(UnitOfWork(factory), account_no, channel="portal", now=NOW).token
    start = threading.Barrier(20)

    def report(i: int) -> bool:
        if i < 20:
            start.wait()
        return post_gateway_payment(UnitOfWork(factory), _paid(token, "pay_SAME", 172_700), now=NOW).duplicate

    with ThreadPoolExecutor(20) as pool:
        duplicates = list(pool.map(report, range(50)))

    assert duplicates.count(False) == 1
    with factory() as s:
        assert _count(s, Payment) == 1
        assert len(_receipts(s)) == 1
        assert _count(s, AuditLog, AuditLog.action == "payment.posted") == 1
        assert s.scalars(select(PaymentIntent.status)).one() == "paid"
