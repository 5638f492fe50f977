"""A BBPS-style biller: any bank or wallet app fetches a consumer's bill by account number and pays it.

Modelled on the publicly documented Bharat BillPay biller fields (bill fetch: customer name, amount, bill date,
due date, bill number, bill period, amount options; payment: the operating unit's transaction reference, answered
with an approval reference number). Amounts are in paise. The payment is posted through the same posting as a
gateway's (`cis.payments.posting`), keyed by the partner and its transaction reference: a retried payment posts
nothing twice and gets the first answer back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from cis import audit
from cis.accounts import account_summary
from cis.consumer_auth import masked_name
from cis.db import UnitOfWork
from cis.errors import AmountOutOfRange, CisError
from cis.models import Account, Bill, Payment
from cis.numbers import bill_no_for_id, parse_account_no, receipt_no_for_id
from cis.payments.intents import MAX_PAISE, MIN_PAISE, account_due, account_holder, open_intent
from cis.payments.posting import GatewayPayment, post_gateway_payment

GATEWAY = "bbps"
EXACTNESS = "EXACT_AND_ABOVE"  # what is due, or more (the rest an advance); nothing less by BBPS
MODES = {"upi": "upi", "netbanking": "netbanking", "internet banking": "netbanking", "debit card": "card",
         "credit card": "card", "wallet": "wallet", "cash": "cash", "imps": "bank", "neft": "bank"}  # fmt: skip
MAX_TXN_REF = 35


class BelowAmountDue(CisError):
    """A BBPS payment less than the amount due (the biller accepts that amount or more)."""

    def __init__(self, paise: int, due: int) -> None:
        super().__init__(f"The amount due is {due} paise: a payment of at least that is accepted.")
        self.paise, self.due = paise, due


@dataclass(frozen=True)
class FetchedBill:
    account_no: str
    customer_name: str  # masked, as bill-payment apps show it
    amount_paise: int  # payable now (0: nothing due)
    bill_date: dt.date | None
    due_date: dt.date | None
    bill_number: str | None
    bill_period: str | None  # the billing cycle, e.g. "2026-11"
    bill_amount_paise: int  # the bill's total as issued


@dataclass(frozen=True)
class BbpsReceipt:
    approval_ref: str  # our receipt number: the approval reference number the customer's receipt carries
    account_no: str
    amount_paise: int
    duplicate: bool


def fetch_bill(uow: UnitOfWork, raw_account_no: str) -> FetchedBill:
    """The account's current bill as BBPS asks for it. Raises MalformedAccountNumber or UnknownAccount."""
    number = parse_account_no(raw_account_no)
    with uow.reading():
        session = uow.session
        account_id, name = account_holder(session, number)
        due = account_due(session, account_id)
        issued = (
            session.scalar(select(Bill.issued_at).where(Bill.id == due.bill_id)) if due.bill_id is not None else None
        )
    return FetchedBill(
        account_no=number,
        customer_name=masked_name(name),
        amount_paise=due.outstanding_paise,
        bill_date=issued.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).date() if issued else None,
        due_date=due.due_date,
        bill_number=bill_no_for_id(due.bill_id) if due.bill_id is not None else None,
        bill_period=due.bill_cycle,
        bill_amount_paise=due.bill_amount_paise,
    )


def pay_bill(
    uow: UnitOfWork,
    partner: str,
    txn_ref: str,
    raw_account_no: str,
    amount_paise: int,
    *,
    mode: str | None,
    now: dt.datetime | None = None,
) -> BbpsReceipt:
    """Post a BBPS payment once per (partner, transaction reference); a retry gets the first receipt back.

    Raises MalformedAccountNumber, UnknownAccount, AmountOutOfRange, BelowAmountDue, or ValueError for a
    transaction reference that is empty or too long."""
    ref = (txn_ref or "").strip()
    if not ref or len(ref) > MAX_TXN_REF or not ref.isascii() or not ref.replace("-", "").isalnum():
        raise ValueError(f"a transaction reference has 1 to {MAX_TXN_REF} letters, digits or dashes")
    number = parse_account_no(raw_account_no)
    gateway_ref = f"{GATEWAY}:{partner}:{ref}"
    at = now or audit.utcnow()
    first = _posted(uow, gateway_ref)
    if first is not None:
        return first
    if not MIN_PAISE <= amount_paise <= MAX_PAISE:
        raise AmountOutOfRange(amount_paise, MIN_PAISE, MAX_PAISE)
    summary = account_summary(uow, number)
    if amount_paise < summary.amount_due_paise:
        raise BelowAmountDue(amount_paise, summary.amount_due_paise)
    intent = open_intent(uow, number, channel="bank", amount_paise=amount_paise, now=at)
    method = MODES.get((mode or "").strip().lower())
    posted = post_gateway_payment(
        uow, GatewayPayment(GATEWAY, gateway_ref, intent.token, None, amount_paise, method, at), now=at
    )
    return BbpsReceipt(posted.receipt_no, number, amount_paise, posted.duplicate)


def _posted(uow: UnitOfWork, gateway_ref: str) -> BbpsReceipt | None:
    with uow.reading():
        row = uow.session.execute(
            select(Payment.id, Account.account_no, Payment.amount_paise)
            .join(Account, Account.id == Payment.account_id)
            .where(Payment.gateway_ref == gateway_ref)
        ).first()
    if row is None:
        return None
    return BbpsReceipt(receipt_no_for_id(row.id), row.account_no, row.amount_paise, True)
