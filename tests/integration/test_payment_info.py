"""Payment information by SMS against a real database: the amount due, where it goes, and once per request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.errors import (
    CisError,
    MalformedAccountNumber,
    NoMobileForAccount,
    NothingDue,
    UnknownAccount,
    UnknownChannel,
)
from cis.models import Account, AccountMobile, Outbox, PaymentIntent
from cis.payment_info import PaymentInfoReceipt, send_payment_info
from tests import factories

NOW = factories.NOW
REGISTERED = "+919876543210"
CALLER = "+919811122233"
PORTAL = "https://urjamitra.example.in/pay"


def _with_dues(session: Session, account_no: str, *, mobiles: tuple[str, ...] = (REGISTERED,), **kw: bool) -> Account:
    """An account billed ₹1,727 for October (due 15 November) that has paid ₹727 of it."""
    acc = factories.account(session, account_no=account_no, mobiles=mobiles, **kw)
    factories.bill(session, acc, cycle="2026-10", amount_paise=172_700)
    factories.payment(session, acc, amount_paise=72_700, paid_at=NOW - dt.timedelta(days=5))
    session.commit()
    return acc


def _sms(session_factory: Callable[[], Session], account_id: int) -> list[Outbox]:
    with session_factory() as fresh:
        return list(fresh.scalars(select(Outbox).where(Outbox.account_id == account_id).order_by(Outbox.id)))


def _send(uow: UnitOfWork, account_no: str, mobile: str | None, request_id: str = "CA-1") -> PaymentInfoReceipt:
    return send_payment_info(uow, account_no, mobile, channel="ivr", request_id=request_id, now=NOW, portal_url=PORTAL)


def test_the_amount_due_and_the_ways_to_pay_go_by_sms_to_the_callers_mobile(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = _with_dues(session, "4920000001")

    receipt = _send(uow, "4920000001", "9811122233")

    intent = session.scalars(select(PaymentIntent)).one()
    assert receipt == PaymentInfoReceipt(
        amount_due_paise=100_000,
        due_date=dt.date(2026, 11, 15),
        mobile_masked="+91*******233",
        token=intent.token,
        until=intent.expires_at,
    )
    assert (intent.amount_paise, intent.channel, intent.mobile, intent.purpose) == (100_000, "ivr", CALLER, "due")
    [sms] = _sms(session_factory, acc.id)
    assert (sms.channel, sms.template, sms.recipient, sms.status) == ("sms", "payment.link", CALLER, "pending")
    assert sms.payload == {
        "account_no": "4920000001",
        "amount_paise": 100_000,
        "due_date": "2026-11-15",
        "portal_url": PORTAL,
        "token": intent.token,
        "until": intent.expires_at.isoformat(),
    }
    assert "CA-1" in sms.dedupe_key
    assert sms.created_at == NOW
    assert sms.expires_at == NOW + dt.timedelta(hours=24)


def test_a_retried_request_sends_no_second_sms_and_gets_the_first_receipt(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = _with_dues(session, "4920000002")
    first = _send(uow, "4920000002", CALLER)

    again = _send(uow, "4920000002", None)

    assert again == first
    assert [sms.recipient for sms in _sms(session_factory, acc.id)] == [CALLER]


def test_asking_again_in_another_call_sends_again(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = _with_dues(session, "4920000003")

    _send(uow, "4920000003", CALLER, request_id="CA-1")
    _send(uow, "4920000003", CALLER, request_id="CA-2")

    assert len(_sms(session_factory, acc.id)) == 2


@pytest.mark.parametrize("mobile", [None, "", "anonymous", "05122345678"])
def test_without_a_valid_mobile_the_sms_goes_to_the_verified_registered_mobile(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], mobile: str | None
) -> None:
    acc = _with_dues(session, "4920000004", mobiles=())
    session.add(AccountMobile(account_id=acc.id, e164=CALLER, verified=False, added_via="portal", added_at=NOW))
    session.add(AccountMobile(account_id=acc.id, e164=REGISTERED, verified=True, added_via="office", added_at=NOW))
    session.commit()

    receipt = _send(uow, "4920000004", mobile)

    assert receipt.mobile_masked == "+91*******210"
    assert [sms.recipient for sms in _sms(session_factory, acc.id)] == [REGISTERED]


def test_an_account_that_opted_out_of_alerts_still_gets_the_sms_it_asked_for(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = _with_dues(session, "4920000005", opt_out=True)

    _send(uow, "4920000005", None)

    assert [sms.recipient for sms in _sms(session_factory, acc.id)] == [REGISTERED]


def test_without_any_mobile_no_sms_can_be_sent(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = _with_dues(session, "4920000006", mobiles=())

    with pytest.raises(NoMobileForAccount):
        _send(uow, "4920000006", "anonymous")

    assert _sms(session_factory, acc.id) == []


def test_nothing_is_sent_when_nothing_is_due(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    paid = factories.account(session, account_no="4920000007", mobiles=(REGISTERED,))
    factories.bill(session, paid, cycle="2026-10", amount_paise=172_700)
    factories.payment(session, paid, amount_paise=172_700, paid_at=NOW - dt.timedelta(days=5))
    never_billed = factories.account(session, account_no="4920000008", mobiles=(REGISTERED,))
    session.commit()

    for account in (paid, never_billed):
        with pytest.raises(NothingDue):
            _send(uow, account.account_no, CALLER)
        assert _sms(session_factory, account.id) == []


@pytest.mark.parametrize(
    ("account_no", "channel", "error"),
    [
        pytest.param("4929999999", "ivr", UnknownAccount, id="unknown-account"),
        pytest.param("492", "ivr", MalformedAccountNumber, id="malformed-account"),
        pytest.param("4920000001", "telegram", UnknownChannel, id="unknown-channel"),
    ],
)
def test_a_request_that_cannot_be_served_is_refused(
    uow: UnitOfWork, account_no: str, channel: str, error: type[CisError]
) -> None:
    with pytest.raises(error):
        send_payment_info(uow, account_no, CALLER, channel=channel, request_id="CA-1", now=NOW, portal_url=PORTAL)


def test_eight_simultaneous_retries_queue_one_sms_and_all_get_its_receipt(postgres_url: str) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from cis.db import make_session_factory
    from tests.conftest import own_postgres_database

    with own_postgres_database(postgres_url, "urja_payrace") as engine:
        factory = make_session_factory(engine)
        with factory() as s:
            account_id = _with_dues(s, "4900000001").id
        start = threading.Barrier(8)

        def send(_: int) -> PaymentInfoReceipt:
            start.wait(timeout=30)
            return _send(UnitOfWork(factory), "4900000001", CALLER, request_id="CA-race")

        with ThreadPoolExecutor(max_workers=8) as pool:
            receipts = list(pool.map(send, range(8)))
        assert len(set(receipts)) == 1
        assert len(_sms(factory, account_id)) == 1
        assert engine.pool.checkedout() == 0  # no connection left behind by the clash
