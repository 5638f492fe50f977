"""Account use cases: find accounts by mobile or number, the account summary, registering a mobile."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cis import audit
from cis.db import UnitOfWork
from cis.errors import AccountClosed, TooManyMobiles, UnknownAccount
from cis.models import (
    Account,
    AccountMobile,
    Bill,
    Consumer,
    DistributionTransformer,
    Feeder,
    Payment,
)
from cis.models.accounts import MAX_MOBILES_PER_ACCOUNT
from cis.numbers import parse_account_no
from cis.phones import normalise_mobile


@dataclass(frozen=True)
class AccountRef:
    """What a channel needs to greet a consumer and route a request."""

    account_no: str
    name: str
    name_hi: str | None
    category: str
    status: str
    feeder_id: int
    feeder_name: str
    preferred_language: str
    id: int  # the account's row id, for use cases that key on it (a channel speaks account numbers)


@dataclass(frozen=True)
class BillInfo:
    cycle: str
    units: int
    basis: str
    amount_paise: int
    due_date: dt.date
    status: str


@dataclass(frozen=True)
class PaymentInfo:
    amount_paise: int
    paid_at: dt.datetime
    channel: str


@dataclass(frozen=True)
class AccountSummary:
    account: AccountRef
    sanctioned_load_kw: Decimal
    latest_bill: BillInfo | None
    amount_due_paise: int  # what is still payable on the latest bill; 0 when paid or in credit
    last_payment: PaymentInfo | None


def _ref_query():  # type: ignore[no-untyped-def]
    return (
        select(
            Account.account_no,
            Consumer.name,
            Consumer.name_hi,
            Account.category,
            Account.status,
            Feeder.id,
            Feeder.name,
            Consumer.preferred_language,
            Account.id,
        )
        .join(Consumer, Consumer.id == Account.consumer_id)
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
    )


def _account(session: Session, account_no: str) -> Account:
    account = session.scalar(select(Account).where(Account.account_no == account_no))
    if account is None:
        raise UnknownAccount(account_no)
    return account


def find_account(uow: UnitOfWork, raw_account_no: str) -> AccountRef:
    """The account with this number; MalformedAccountNumber or UnknownAccount otherwise."""
    account_no = parse_account_no(raw_account_no)
    with uow:
        row = uow.session.execute(_ref_query().where(Account.account_no == account_no)).first()
    if row is None:
        raise UnknownAccount(account_no)
    return AccountRef(*row)


def find_accounts_by_mobile(uow: UnitOfWork, raw_mobile: str) -> list[AccountRef]:
    """Every account that has this mobile registered (none is a normal answer), by account number.

    MalformedMobile when the text cannot be an Indian mobile number.
    """
    e164 = normalise_mobile(raw_mobile)
    with uow:
        rows = uow.session.execute(
            _ref_query()
            .join(AccountMobile, AccountMobile.account_id == Account.id)
            .where(AccountMobile.e164 == e164)
            .order_by(Account.account_no)
        ).all()
    return [AccountRef(*row) for row in rows]


def account_summary(uow: UnitOfWork, raw_account_no: str) -> AccountSummary:
    """Latest bill, what is still due on it, its due date and the last payment received.

    One transaction of four indexed queries: the IVR asks this on every bill inquiry.
    """
    account_no = parse_account_no(raw_account_no)
    with uow:
        session = uow.session
        row = session.execute(
            _ref_query().add_columns(Account.sanctioned_load_kw).where(Account.account_no == account_no)
        ).first()
        if row is None:
            raise UnknownAccount(account_no)
        ref = AccountRef(*row[:9])
        account_id, load_kw = ref.id, row[9]
        bill = session.execute(
            select(Bill.cycle, Bill.units, Bill.basis, Bill.amount_paise, Bill.due_date, Bill.status)
            .where(Bill.account_id == account_id, Bill.status != "superseded")
            .order_by(Bill.cycle.desc(), Bill.version.desc())
            .limit(1)
        ).first()
        payment = session.execute(
            select(Payment.amount_paise, Payment.paid_at, Payment.channel)
            .where(Payment.account_id == account_id, Payment.status == "success")
            .order_by(Payment.paid_at.desc())
            .limit(1)
        ).first()
        due = 0
        latest = None
        if bill is not None:
            # Payments count from the cycle's first bill: a revision does not forget what was paid.
            cycle_issued = (
                select(func.min(Bill.issued_at))
                .where(Bill.account_id == account_id, Bill.cycle == bill.cycle)
                .scalar_subquery()
            )
            paid_since = session.scalar(
                select(func.coalesce(func.sum(Payment.amount_paise), 0)).where(
                    Payment.account_id == account_id,
                    Payment.status == "success",
                    Payment.paid_at >= cycle_issued,
                )
            )
            due = max(0, bill.amount_paise - int(paid_since or 0))
            latest = BillInfo(*bill)
        last = None
        if payment is not None and payment.paid_at is not None:
            last = PaymentInfo(*payment)
        return AccountSummary(ref, load_kw, latest, due, last)


def register_mobile(
    uow: UnitOfWork,
    raw_account_no: str,
    raw_mobile: str,
    *,
    via: str,
    actor: str,
    verified: bool = False,
    now: dt.datetime | None = None,
) -> bool:
    """Register a mobile against an account; True if added, False if it was already there.

    Refuses a permanently disconnected account (AccountClosed) and a sixth mobile (TooManyMobiles).
    Adding a mobile writes an audit row in the same transaction.
    """
    account_no = parse_account_no(raw_account_no)
    e164 = normalise_mobile(raw_mobile)
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        account = _account(session, account_no)
        if account.status == "perm_disconnected":
            raise AccountClosed(account_no)
        existing = session.scalars(select(AccountMobile).where(AccountMobile.account_id == account.id)).all()
        for mobile in existing:
            if mobile.e164 == e164:
                if verified and not mobile.verified:
                    mobile.verified = True
                    audit.record(
                        session,
                        actor=actor,
                        action="mobile.verified",
                        entity="account",
                        entity_id=account_no,
                        at=at,
                        mobile=e164,
                        via=via,
                    )
                    uow.commit()
                return False
        if len(existing) >= MAX_MOBILES_PER_ACCOUNT:
            raise TooManyMobiles(account_no, MAX_MOBILES_PER_ACCOUNT)
        session.add(AccountMobile(account_id=account.id, e164=e164, verified=verified, added_via=via, added_at=at))
        audit.record(
            session,
            actor=actor,
            action="mobile.registered",
            entity="account",
            entity_id=account_no,
            at=at,
            mobile=e164,
            via=via,
            verified=verified,
        )
        uow.commit()
    return True
