"""Payment information by SMS: the amount due and the ways to pay, sent when a caller chooses to pay."""

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
from cis.phones import mask_mobile, mobile_or_none

TEMPLATE = "bill.pay_info"
WAYS = ("portal", "upi", "counter")
# An amount due read out days later may be wrong (paid meanwhile, a new bill): drop the SMS if it is that late.
VALID_FOR = dt.timedelta(hours=24)
MAX_REQUEST_ID = 100


@dataclass(frozen=True)
class PaymentInfoReceipt:
    """What the caller is told: how much, by when, and (masked) where the SMS goes."""

    amount_due_paise: int
    due_date: dt.date
    mobile_masked: str


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
    """Queue one SMS (template 'bill.pay_info') with the amount due, its due date and the ways to pay.

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
        notify.enqueue(
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
                "amount_paise": summary.amount_due_paise,
                "due_date": due_date.isoformat(),
                "portal_url": portal_url,
                "ways": list(WAYS),
            },
        )
        try:
            uow.commit()
        except IntegrityError:
            uow.rollback()
            raced = True
    if raced:
        # The same request's retry committed its row first: that one SMS is enough.
        first = _already_sent(uow, key)
        if first is None:
            raise RuntimeError(f"the outbox row {key} clashed but cannot be found")
        return first
    return PaymentInfoReceipt(summary.amount_due_paise, due_date, mask_mobile(recipient))


def _already_sent(uow: UnitOfWork, key: str) -> PaymentInfoReceipt | None:
    """The receipt of the request that queued the row under `key`, if one did."""
    with uow:
        row = uow.session.scalar(select(Outbox).where(Outbox.dedupe_key == key))
        if row is None:
            return None
        payload = row.payload
        return PaymentInfoReceipt(
            int(payload["amount_paise"]), dt.date.fromisoformat(payload["due_date"]), mask_mobile(row.recipient)
        )
