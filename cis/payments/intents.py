"""Payment intents: what an account is asked to pay through a channel, at our own short URL /p/<token>.

An intent is made by the IVR ("press 1 for a payment link"), SMS PAY, the portal's "Pay now" or an agent; it holds
the amount (what is due, a part of it, or an advance), the bill it is for, and expires. The short URL on our own
domain is what SMS carry (DLT whitelists one URL prefix); it leads to the gateway's hosted page, whose link is made
the first time the payer opens it. A UPI intent (`upi://pay?...`, with its QR) pays the same intent: NPCI is
withdrawing collect requests, so intents, QR and links only.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import audit
from cis.consumer_auth import masked_name
from cis.db import UnitOfWork
from cis.errors import AmountOutOfRange, NothingDue, UnknownAccount, UnknownChannel, UnknownPaymentLink
from cis.models import Account, Bill, Consumer, Payment, PaymentIntent
from cis.numbers import bill_no_for_id, parse_account_no

INTENT_TTL = dt.timedelta(hours=72)
# An open intent is given out again only while it has this long to run: a link sent now must not die in an hour.
REUSE_MARGIN = dt.timedelta(hours=12)
MIN_PAISE = 100  # Rs 1
MAX_PAISE = 50_000_000  # Rs 5,00,000 in one payment by link (an LT consumer's largest bills are far below)
# The short URL's token: no 0/o, 1/i/l, so it can be read from an SMS and typed; 31^10 (about 2^49) of them.
TOKEN_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
TOKEN_LENGTH = 10
INTENT_CHANNELS = ("ivr", "sms", "ussd", "portal", "console", "bank", "counter")  # bank: a BBPS operating unit


@dataclass(frozen=True)
class Due:
    """What an account owes now: its latest bill (none before the first) and what is left of it."""

    bill_id: int | None
    bill_cycle: str | None
    bill_amount_paise: int
    arrears_paise: int  # the bill's arrears and late payment surcharge: paid first
    due_date: dt.date | None
    paid_paise: int  # received since the cycle's first bill was issued
    outstanding_paise: int


@dataclass(frozen=True)
class Intent:
    """A payment intent as the pay page, the SMS and the IVR show it."""

    token: str
    account_no: str
    name_masked: str
    amount_paise: int
    purpose: str  # due | partial | advance
    channel: str
    status: str  # open | paid | expired | cancelled
    bill_no: str | None
    due_date: dt.date | None
    expires_at: dt.datetime
    gateway_link_id: str | None
    gateway_url: str | None
    mobile: str | None
    reused: bool = False

    def upi_link(self, *, vpa: str, payee: str) -> str:
        """The UPI intent (NPCI's deep link): any UPI app opens it with the amount filled in; `tr` carries the
        token, so the credit it makes is matched to this intent."""
        note = f"Electricity A/c {self.account_no}"
        return (
            f"upi://pay?pa={quote(vpa, safe='@.')}&pn={quote(payee)}&am={self.amount_paise // 100}."
            f"{self.amount_paise % 100:02d}&tr={self.token}&tn={quote(note)}&cu=INR"
        )


def account_due(db: Session | Connection, account_id: int) -> Due:
    """The account's latest bill and what is still owed on it (payments count from the cycle's first issue, so
    a revised bill does not forget them). One statement, built once; a webhook's posting reads it too."""
    bill = db.execute(_due_query(), {"a": account_id}).first()
    if bill is None:
        return Due(None, None, 0, 0, None, 0, 0)
    paid = int(bill[6] or 0)
    arrears = max(0, int(bill.arrears_paise) + int(bill.lps_paise))
    amount = int(bill.amount_paise)
    return Due(bill.id, bill.cycle, amount, arrears, bill.due_date, paid, max(0, amount - paid))


@functools.cache
def _due_query() -> Any:
    account = bindparam("a")
    first = Bill.__table__.alias("first_issue")
    first_issue = (
        select(func.min(first.c.issued_at))
        .where(first.c.account_id == account, first.c.cycle == Bill.cycle)
        .correlate(Bill.__table__)  # the bill of the outermost query, two levels up
        .scalar_subquery()
    )
    paid_since = (
        select(func.coalesce(func.sum(Payment.amount_paise), 0))
        .where(Payment.account_id == account, Payment.status == "success", Payment.paid_at >= first_issue)
        .correlate(Bill.__table__)
        .scalar_subquery()
    )
    return (
        select(Bill.id, Bill.cycle, Bill.amount_paise, Bill.arrears_paise, Bill.lps_paise, Bill.due_date, paid_since)
        .where(Bill.account_id == account, Bill.status != "superseded")
        .order_by(Bill.cycle.desc(), Bill.version.desc())
        .limit(1)
    )


def account_holder(session: Session, account_no: str) -> tuple[int, str]:
    """(account id, the consumer's name) of an account number; UnknownAccount when there is none."""
    row = session.execute(
        select(Account.id, Consumer.name)
        .join(Consumer, Consumer.id == Account.consumer_id)
        .where(Account.account_no == account_no)
    ).first()
    if row is None:
        raise UnknownAccount(account_no)
    return int(row[0]), str(row[1])


def open_intent(
    uow: UnitOfWork,
    account_no: str,
    *,
    channel: str,
    amount_paise: int | None = None,
    mobile: str | None = None,
    now: dt.datetime | None = None,
) -> Intent:
    """An intent to pay `amount_paise` (by default all that is due) on the account, through `channel`.

    An open intent for the same bill and amount with at least REUSE_MARGIN to run is given again (`reused`), so
    pressing "pay" twice sends one link. Raises UnknownChannel, MalformedAccountNumber, UnknownAccount,
    NothingDue (no amount given and nothing owed) or AmountOutOfRange.
    """
    if channel not in INTENT_CHANNELS:
        raise UnknownChannel(channel)
    number = parse_account_no(account_no)
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        account_id, name = account_holder(session, number)
        due = account_due(session, account_id)
        if amount_paise is None:
            if due.outstanding_paise <= 0:
                raise NothingDue(number)
            amount = due.outstanding_paise
        else:
            amount = amount_paise
        if not MIN_PAISE <= amount <= MAX_PAISE:
            raise AmountOutOfRange(amount, MIN_PAISE, MAX_PAISE)
        purpose = "advance" if due.outstanding_paise <= 0 else "partial" if amount < due.outstanding_paise else "due"
        reuse = session.scalar(
            select(PaymentIntent)
            .where(
                PaymentIntent.account_id == account_id,
                PaymentIntent.status == "open",
                PaymentIntent.amount_paise == amount,
                PaymentIntent.expires_at > at + REUSE_MARGIN,
                PaymentIntent.bill_id.is_(None) if due.bill_id is None else PaymentIntent.bill_id == due.bill_id,
            )
            .order_by(PaymentIntent.id.desc())
            .limit(1)
        )
        if reuse is not None:
            return _view(reuse, number, name, due, reused=True)
        for _ in range(3):
            intent = PaymentIntent(
                token=new_token(),
                account_id=account_id,
                bill_id=due.bill_id,
                amount_paise=amount,
                purpose=purpose,
                channel=channel,
                status="open",
                mobile=mobile,
                failed_attempts=0,
                created_at=at,
                expires_at=at + INTENT_TTL,
            )
            session.add(intent)
            try:
                session.flush()
            except IntegrityError:  # a token drawn twice: about one in 2^49 per pair, drawn again
                session.rollback()
                continue
            audit.record(
                session,
                actor=f"{channel}:consumer",
                action="payment_intent.opened",
                entity="payment_intent",
                entity_id=intent.token,
                at=at,
                account_no=number,
                amount_paise=amount,
                purpose=purpose,
            )
            uow.commit()
            return _view(intent, number, name, due)
    raise RuntimeError("could not draw a free payment token")


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def normalise_token(raw: str) -> str | None:
    """The token in a /p/<token> path as typed (any case), or None when it cannot be one."""
    token = (raw or "").strip().lower()
    if len(token) != TOKEN_LENGTH or any(char not in TOKEN_ALPHABET for char in token):
        return None
    return token


def intent_by_token(uow: UnitOfWork, raw_token: str, *, now: dt.datetime | None = None) -> Intent:
    """The intent behind a pay link, as it stands now (an open one past its time shows as expired). Raises
    UnknownPaymentLink for a token that is not one of ours."""
    token = normalise_token(raw_token)
    if token is None:
        raise UnknownPaymentLink(raw_token)
    at = now or audit.utcnow()
    with uow.reading():
        session = uow.session
        row = session.execute(
            select(PaymentIntent, Account.account_no, Consumer.name)
            .join(Account, Account.id == PaymentIntent.account_id)
            .join(Consumer, Consumer.id == Account.consumer_id)
            .where(PaymentIntent.token == token)
        ).first()
        if row is None:
            raise UnknownPaymentLink(raw_token)
        intent, number, name = row
        due = account_due(session, intent.account_id)
        view = _view(intent, number, name, due)
    if view.status == "open" and view.expires_at <= at:
        return replace(view, status="expired")
    return view


def attach_gateway_link(uow: UnitOfWork, token: str, *, gateway: str, link_id: str, url: str) -> tuple[str, str]:
    """Store the gateway's link made for this intent, unless a concurrent request stored one first; returns the
    link (id, url) the intent keeps."""
    with uow:
        session = uow.session
        session.execute(
            update(PaymentIntent)
            .where(PaymentIntent.token == token, PaymentIntent.gateway_link_id.is_(None))
            .values(gateway=gateway, gateway_link_id=link_id, gateway_url=url)
        )
        uow.commit()
        kept = session.execute(
            select(PaymentIntent.gateway_link_id, PaymentIntent.gateway_url).where(PaymentIntent.token == token)
        ).one()
        return str(kept[0]), str(kept[1])


def _view(intent: PaymentIntent, account_no: str, name: str, due: Due, *, reused: bool = False) -> Intent:
    return Intent(
        token=intent.token,
        account_no=account_no,
        name_masked=masked_name(name),
        amount_paise=intent.amount_paise,
        purpose=intent.purpose,
        channel=intent.channel,
        status=intent.status,
        bill_no=bill_no_for_id(intent.bill_id) if intent.bill_id is not None else None,
        due_date=due.due_date if intent.bill_id == due.bill_id else None,
        expires_at=intent.expires_at,
        gateway_link_id=intent.gateway_link_id,
        gateway_url=intent.gateway_url,
        mobile=intent.mobile,
        reused=reused,
    )
