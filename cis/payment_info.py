"""The payment link by SMS: the amount due and our short pay link (/p/<token>: the gateway, UPI), sent when a caller
chooses to pay on the IVR, texts PAY, or an agent sends it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cis import audit, notify
from cis.accounts import account_summary
from cis.complaints import CHANNELS
from cis.db import UnitOfWork
from cis.errors import NoMobileForAccount, NothingDue, UnknownAccount, UnknownChannel
from cis.models import Account, Outbox
from cis.numbers import parse_account_no
from cis.payments import open_intent
from cis.phones import mask_mobile, mobile_or_none

TEMPLATE = "payment.link"
# An amount due read out days later may be wrong (paid meanwhile, a new bill): drop the SMS if it is that late.
VALID_FOR = dt.timedelta(hours=24)
MAX_REQUEST_ID = 100


@dataclass(frozen=True)
class PaymentInfoReceipt:
    """What the caller is told: how much, by when, and (masked) where the SMS goes."""

    amount_due_paise: int
    due_date: dt.date
    mobile_masked: str
    token: str = ""  # the pay link's token: <portal>/p/<token>
    until: dt.datetime | None = None  # when the link stops working


def send_payment_info(
    uow: UnitOfWork,
    account_no: str,
    mobile: str | None,
    *,
    channel: str,
    request_id: str,
    now: dt.datetime | None = None,
    portal_url: str,
) -> PaymentInfoReceipt:
    """Queue one SMS (template 'payment.link') with the amount due and the link that pays it: a payment intent
    (cis.payments) for all that is due, reused if one is open, so asking twice sends the same link.

    The SMS goes to `mobile` when it is a valid Indian mobile, else to the account's first registered
    mobile (verified first); it is sent on the consumer's request, so it goes even to an account that
    opted out of alerts. The outbox row is committed before the receipt returns, and its dedupe key
    holds (account, channel, request_id): a retried request sends no second SMS and gets the first
    request's receipt back.
    Raises UnknownChannel, MalformedAccountNumber, UnknownAccount, NothingDue (no bill, or nothing
    left to pay on the latest) or NoMobileForAccount (no valid mobile given and none registered).
    """
    if channel not in CHANNELS:
        raise UnknownChannel(channel)
    ref = (request_id or "").strip()
    if not ref or len(ref) > MAX_REQUEST_ID:
        raise ValueError(f"a request id has 1 to {MAX_REQUEST_ID} characters")
    number = parse_account_no(account_no)
    key = f"{TEMPLATE}:{number}:{channel}:{ref}"
    first = _already_sent(uow, key)
    if first is not None:
        return first
    summary = account_summary(uow, number)
    if summary.latest_bill is None or summary.amount_due_paise <= 0:
        raise NothingDue(number)
    due_date = summary.latest_bill.due_date
    at = now or audit.utcnow()
    given = mobile_or_none(mobile)
    raced = False
    with uow:
        session = uow.session
        account_id = session.scalar(select(Account.id).where(Account.account_no == number))
        if account_id is None:
            raise UnknownAccount(number)
        recipient = given or next(iter(notify.account_mobiles(session, account_id)), None)
        if recipient is None:
            raise NoMobileForAccount(number)
    intent = open_intent(uow, number, channel=channel, mobile=recipient, now=at)
    with uow:
        session = uow.session
        queued = notify.enqueue(
            session,
            channel="sms",
            template=TEMPLATE,
            recipient=recipient,
            dedupe_key=key,
            at=at,
            account_id=account_id,
            priority=1,  # the caller is waiting for it on the line
            expires_at=at + VALID_FOR,
            payload={
                "account_no": number,
                "amount_paise": intent.amount_paise,
                "due_date": due_date.isoformat(),
                "portal_url": portal_url,
                "token": intent.token,
                "until": intent.expires_at.isoformat(),
            },
        )
        try:
            uow.commit()
        except IntegrityError:
            uow.rollback()
            raced = True
        # A retry that found the first request's row already there gets that request's receipt (its link).
        raced = raced or not queued
    if raced:
        # The same request's retry committed its row first: that one SMS is enough.
        first = _already_sent(uow, key)
        if first is None:
            raise RuntimeError(f"the outbox row {key} clashed but cannot be found")
        return first
    return PaymentInfoReceipt(intent.amount_paise, due_date, mask_mobile(recipient), intent.token, intent.expires_at)


def _already_sent(uow: UnitOfWork, key: str) -> PaymentInfoReceipt | None:
    """The receipt of the request that queued the row under `key`, if one did."""
    with uow:
        row = uow.session.scalar(select(Outbox).where(Outbox.dedupe_key == key))
        if row is None:
            return None
        payload = row.payload
        until = payload.get("until")
        return PaymentInfoReceipt(
            int(payload["amount_paise"]),
            dt.date.fromisoformat(payload["due_date"]),
            mask_mobile(row.recipient),
            str(payload.get("token") or ""),
            dt.datetime.fromisoformat(until) if until else None,
        )
