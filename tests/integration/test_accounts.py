"""Account use cases against a real database: finding accounts, the bill summary, registering mobiles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cis.accounts import account_summary, find_account, find_accounts_by_mobile, register_mobile
from cis.db import UnitOfWork
from cis.errors import (
    AccountClosed,
    MalformedAccountNumber,
    MalformedMobile,
    TooManyMobiles,
    UnknownAccount,
)
from cis.models import AccountMobile, AuditLog, Feeder
from tests import factories

NOW = factories.NOW
MOBILE = "+919876543210"


def _mobiles_of(session_factory: Callable[[], Session], account_id: int) -> list[str]:
    with session_factory() as fresh:
        return list(
            fresh.scalars(
                select(AccountMobile.e164).where(AccountMobile.account_id == account_id).order_by(AccountMobile.id)
            )
        )


def _audit_rows(session_factory: Callable[[], Session], account_no: str) -> list[AuditLog]:
    with session_factory() as fresh:
        return list(
            fresh.scalars(select(AuditLog).where(AuditLog.entity == "account", AuditLog.entity_id == account_no))
        )


# --- find_account ---------------------------------------------------------------------------------


def test_find_account_returns_the_consumer_and_feeder_of_the_account(uow: UnitOfWork, session: Session) -> None:
    dtr = factories.network(session, kind="rural")
    factories.account(session, account_no="4100000001", name="Sunita Devi", category="LMV-1R", dtr=dtr)
    feeder = session.get(Feeder, dtr.feeder_id)
    assert feeder is not None
    session.commit()

    ref = find_account(uow, "4100000001")

    assert ref.account_no == "4100000001"
    assert ref.name == "Sunita Devi"
    assert ref.status == "active"
    assert ref.category == "LMV-1R"
    assert (ref.feeder_id, ref.feeder_name) == (feeder.id, feeder.name)


def test_find_account_accepts_an_account_number_typed_with_spaces(uow: UnitOfWork, session: Session) -> None:
    factories.account(session, account_no="4100000002")
    session.commit()

    assert find_account(uow, " 41 0000 0002 ").account_no == "4100000002"


def test_find_account_with_an_unknown_number_raises_unknown_account(uow: UnitOfWork, session: Session) -> None:
    factories.account(session, account_no="4100000003")
    session.commit()

    with pytest.raises(UnknownAccount) as raised:
        find_account(uow, "4199999999")
    assert raised.value.account_no == "4199999999"


@pytest.mark.parametrize("raw", ["410000000", "41000000011", "41000A0001", "", "४१००००००01"])
def test_find_account_with_a_malformed_number_raises_malformed_account_number(uow: UnitOfWork, raw: str) -> None:
    with pytest.raises(MalformedAccountNumber):
        find_account(uow, raw)


# --- find_accounts_by_mobile --------------------------------------------------------------------


@pytest.mark.parametrize(
    "caller_id",
    [
        "+919876543210",
        "919876543210",
        "09876543210",
        "9876543210",
        "+91 98765 43210",
        "+91-98765-43210",
        "098765 43210",
    ],
)
def test_caller_id_in_any_trunk_format_finds_the_account_of_the_registered_mobile(
    uow: UnitOfWork, session: Session, caller_id: str
) -> None:
    factories.account(session, account_no="4200000001", mobiles=(MOBILE,))
    factories.account(session, account_no="4200000002", mobiles=("+919876543299",))
    session.commit()

    found = find_accounts_by_mobile(uow, caller_id)

    assert [ref.account_no for ref in found] == ["4200000001"]


def test_one_mobile_holding_three_accounts_gets_all_three_by_account_number(uow: UnitOfWork, session: Session) -> None:
    for account_no in ("4300000009", "4300000001", "4300000005"):
        factories.account(session, account_no=account_no, mobiles=(MOBILE,))
    factories.account(session, account_no="4300000003", mobiles=("+919876543211",))
    session.commit()

    found = find_accounts_by_mobile(uow, "9876543210")

    assert [ref.account_no for ref in found] == ["4300000001", "4300000005", "4300000009"]


def test_an_unregistered_mobile_finds_no_account(uow: UnitOfWork, session: Session) -> None:
    factories.account(session, account_no="4300000011", mobiles=(MOBILE,))
    session.commit()

    assert find_accounts_by_mobile(uow, "9876543201") == []


@pytest.mark.parametrize("raw", ["12345", "98765432100", "+14155552671", "022 2345 6789", "987654321O", ""])
def test_a_malformed_mobile_raises_malformed_mobile(uow: UnitOfWork, raw: str) -> None:
    with pytest.raises(MalformedMobile):
        find_accounts_by_mobile(uow, raw)


# --- account_summary ----------------------------------------------------------------------------


def test_summary_shows_the_revised_bill_not_the_version_it_superseded(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, account_no="4400000001")
    factories.bill(session, acc, cycle="2026-09", amount_paise=90_000, issued_at=NOW - dt.timedelta(days=50))
    factories.bill(
        session,
        acc,
        cycle="2026-10",
        version=1,
        amount_paise=172_700,
        units=240,
        status="superseded",
        issued_at=NOW - dt.timedelta(days=20),
    )
    factories.bill(
        session,
        acc,
        cycle="2026-10",
        version=2,
        amount_paise=150_000,
        units=200,
        issued_at=NOW - dt.timedelta(days=10),
    )
    session.commit()

    summary = account_summary(uow, "4400000001")

    assert summary.latest_bill is not None
    assert summary.latest_bill.cycle == "2026-10"
    assert summary.latest_bill.amount_paise == 150_000
    assert summary.latest_bill.units == 200
    assert summary.latest_bill.status == "issued"
    assert summary.latest_bill.due_date == (NOW - dt.timedelta(days=10) + dt.timedelta(days=15)).date()
    assert summary.amount_due_paise == 150_000


def test_a_part_payment_after_the_bill_was_issued_reduces_the_amount_due(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, account_no="4400000002")
    factories.payment(session, acc, amount_paise=50_000, paid_at=NOW - dt.timedelta(days=40), ref="old-cycle")
    factories.bill(session, acc, amount_paise=172_700, issued_at=NOW - dt.timedelta(days=20))
    factories.payment(
        session, acc, amount_paise=72_700, paid_at=NOW - dt.timedelta(days=5), channel="ivr", ref="part-1"
    )
    session.commit()

    summary = account_summary(uow, "4400000002")

    assert summary.amount_due_paise == 100_000
    assert summary.last_payment is not None
    assert summary.last_payment.amount_paise == 72_700
    assert summary.last_payment.channel == "ivr"
    assert summary.last_payment.paid_at == NOW - dt.timedelta(days=5)


def test_a_fully_paid_bill_leaves_nothing_due(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, account_no="4400000003")
    factories.bill(session, acc, amount_paise=172_700, issued_at=NOW - dt.timedelta(days=20))
    factories.payment(session, acc, amount_paise=172_700, paid_at=NOW - dt.timedelta(days=3), ref="full-1")
    session.commit()

    assert account_summary(uow, "4400000003").amount_due_paise == 0


def test_paying_more_than_the_bill_leaves_nothing_due_never_a_negative_amount(
    uow: UnitOfWork, session: Session
) -> None:
    acc = factories.account(session, account_no="4400000004")
    factories.bill(session, acc, amount_paise=172_700, issued_at=NOW - dt.timedelta(days=20))
    factories.payment(session, acc, amount_paise=100_000, paid_at=NOW - dt.timedelta(days=4), ref="over-1")
    factories.payment(session, acc, amount_paise=100_000, paid_at=NOW - dt.timedelta(days=2), ref="over-2")
    session.commit()

    summary = account_summary(uow, "4400000004")

    assert summary.amount_due_paise == 0
    assert summary.last_payment is not None
    assert summary.last_payment.paid_at == NOW - dt.timedelta(days=2)


def test_an_account_without_bills_has_no_latest_bill_and_nothing_due(uow: UnitOfWork, session: Session) -> None:
    factories.account(session, account_no="4400000005")
    session.commit()

    summary = account_summary(uow, "4400000005")

    assert summary.latest_bill is None
    assert summary.amount_due_paise == 0
    assert summary.last_payment is None
    assert summary.account.account_no == "4400000005"


def test_summary_of_an_unknown_account_raises_unknown_account(uow: UnitOfWork) -> None:
    with pytest.raises(UnknownAccount):
        account_summary(uow, "4499999999")


# --- register_mobile ----------------------------------------------------------------------------


def test_registering_a_new_mobile_adds_it_and_says_so(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4500000001")
    session.commit()

    added = register_mobile(uow, "4500000001", "9876543210", via="portal", actor="consumer:web", now=NOW)

    assert added is True
    assert _mobiles_of(session_factory, acc.id) == [MOBILE]
    assert [ref.account_no for ref in find_accounts_by_mobile(uow, MOBILE)] == ["4500000001"]


def test_registering_the_same_mobile_twice_is_a_no_op_with_one_audit_row(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4500000002")
    session.commit()

    first = register_mobile(uow, "4500000002", "+919876543210", via="ivr", actor="channel:ivr", now=NOW)
    second = register_mobile(
        uow, "4500000002", "098765 43210", via="sms", actor="channel:sms", now=NOW + dt.timedelta(minutes=5)
    )

    assert (first, second) == (True, False)
    assert _mobiles_of(session_factory, acc.id) == [MOBILE]
    rows = _audit_rows(session_factory, "4500000002")
    assert len(rows) == 1
    assert rows[0].actor == "channel:ivr"
    assert rows[0].action == "mobile.registered"
    assert rows[0].entity == "account"
    assert rows[0].entity_id == "4500000002"
    assert rows[0].at == NOW
    assert rows[0].detail["mobile"] == MOBILE


def test_registering_a_mobile_on_a_permanently_disconnected_account_is_refused_and_writes_nothing(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4500000003", status="perm_disconnected")
    session.commit()

    with pytest.raises(AccountClosed):
        register_mobile(uow, "4500000003", "9876543210", via="portal", actor="consumer:web", now=NOW)

    assert _mobiles_of(session_factory, acc.id) == []
    assert _audit_rows(session_factory, "4500000003") == []


def test_a_sixth_mobile_is_refused_and_the_five_stay(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    five = tuple(f"+9198765432{i:02d}" for i in range(5))
    acc = factories.account(session, account_no="4500000004", mobiles=five)
    session.commit()

    with pytest.raises(TooManyMobiles) as raised:
        register_mobile(uow, "4500000004", "9876543299", via="portal", actor="consumer:web", now=NOW)

    assert raised.value.limit == 5
    assert _mobiles_of(session_factory, acc.id) == list(five)
    assert _audit_rows(session_factory, "4500000004") == []


def test_a_mobile_typed_with_a_leading_zero_is_stored_in_e164(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4500000005")
    session.commit()

    assert register_mobile(uow, "4500000005", "09876543210", via="console", actor="staff:7", now=NOW) is True

    assert _mobiles_of(session_factory, acc.id) == ["+919876543210"]


def test_registering_a_mobile_on_an_unknown_account_raises_unknown_account(
    uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    with pytest.raises(UnknownAccount):
        register_mobile(uow, "4599999999", "9876543210", via="portal", actor="consumer:web", now=NOW)

    with session_factory() as fresh:
        assert fresh.scalar(select(func.count()).select_from(AccountMobile).where(AccountMobile.e164 == MOBILE)) == 0
