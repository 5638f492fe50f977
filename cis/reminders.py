"""Bill-due reminders: one "bill.reminder" SMS row in the outbox per unpaid bill falling due soon.

Set-based: the bills, what is still due on each, the mobile to tell and the message payload are all
worked out by the database in one INSERT ... SELECT ... ON CONFLICT (dedupe_key) DO NOTHING, so a
million consumers cost one statement (or one per batch of accounts), never a Python loop over bills.
The dedupe key names the bill, so running it again, the same day or the next, queues nothing twice.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from cis.db import UnitOfWork, insert_ignore
from cis.models import Account, AccountMobile, Bill, Outbox, Payment, SmsOptOut
from cis.models.base import UtcDateTime
from cis.notify import OUTBOX_COLUMNS

IST = ZoneInfo("Asia/Kolkata")
TEMPLATE = "bill.reminder"
PRIORITY = 5  # not urgent: the dispatcher holds it outside 08:00-21:00 IST
VALIDITY = dt.timedelta(days=2)  # as the template's validity_minutes: a reminder two days late misleads
UNPAID_STATUSES = ("issued", "part_paid")


def queue_bill_reminders(
    uow: UnitOfWork,
    *,
    today: dt.date,
    now: dt.datetime,
    portal_url: str,
    days_before: int = 3,
    batch: int | None = None,
) -> int:
    """Queue a reminder for every unpaid bill due between `today` and `today + days_before`; rows queued.

    A bill counts when it is its account's latest (newest cycle, newest version: a revision supersedes
    the old version, and a newer cycle carries the old bill's arrears), still has money due on it (its
    amount less the payments since the cycle's first bill was issued, as `account_summary` says), and
    its account is neither closed nor opted out of SMS (nor of bill SMS, the portal's switch). The
    reminder goes to the account's first registered mobile, verified ones first, skipping a mobile that
    sent STOP; an account without one gets none. It expires at the end of the due date (IST) or two
    days after `now`, whichever is sooner. Safe to run any number of times: the dedupe key
    `bill.reminder:<bill id>` decides.

    `batch`: accounts per statement, each committed on its own (shorter transactions on a live
    server); None does it all in one statement.
    """
    if days_before < 0:
        raise ValueError("days_before cannot be negative")
    if batch is not None and batch < 1:
        raise ValueError("batch must be at least one account")
    if now.tzinfo is None:
        raise ValueError("naive datetime given for `now`")
    queued = 0
    with uow:
        session = uow.session
        if batch is None:
            queued = _queue(session, today, days_before, now, portal_url, None)
            uow.commit()
            return queued
        bounds = session.execute(
            select(func.min(Bill.account_id), func.max(Bill.account_id)).where(
                Bill.status.in_(UNPAID_STATUSES), Bill.due_date.between(today, today + dt.timedelta(days=days_before))
            )
        ).one()
        if bounds[0] is None:
            return 0
        for start in range(int(bounds[0]), int(bounds[1]) + 1, batch):
            queued += _queue(session, today, days_before, now, portal_url, (start, start + batch - 1))
            uow.commit()
    return queued


def _expiry(due: dt.date, now: dt.datetime) -> dt.datetime:
    """The end of the due date in IST, or two days after `now`, whichever is sooner (as UTC)."""
    day_end = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0), tzinfo=IST)
    return min(day_end, now + VALIDITY).astimezone(dt.UTC)


def _queue(
    session: Session,
    today: dt.date,
    days_before: int,
    now: dt.datetime,
    portal_url: str,
    account_ids: tuple[int, int] | None,
) -> int:
    dialect = session.connection().dialect.name
    last_day = today + dt.timedelta(days=days_before)
    newer = aliased(Bill)
    first = aliased(Bill)

    # Money counts from the cycle's first bill: a revision does not forget what was paid against it.
    cycle_issued = (
        select(func.min(first.issued_at))
        .where(first.account_id == Bill.account_id, first.cycle == Bill.cycle)
        .correlate(Bill)
        .scalar_subquery()
    )
    paid = (
        select(cast(func.coalesce(func.sum(Payment.amount_paise), 0), BigInteger))
        .where(
            Payment.account_id == Bill.account_id,
            Payment.status == "success",
            Payment.paid_at >= case((Bill.version == 1, Bill.issued_at), else_=cycle_issued),
        )
        .scalar_subquery()
    )
    mobile = (
        select(AccountMobile.e164)
        .where(
            AccountMobile.account_id == Bill.account_id,
            ~exists().where(SmsOptOut.e164 == AccountMobile.e164),
        )
        .order_by(AccountMobile.verified.desc(), AccountMobile.id)
        .limit(1)
        .scalar_subquery()
    )
    conditions: list[ColumnElement[bool]] = [
        Bill.status.in_(UNPAID_STATUSES),
        Bill.due_date.between(today, last_day),
        Account.status != "perm_disconnected",
        Account.sms_opt_out.is_(False),
        Account.alert_bill.is_(True),  # bill and reminder SMS not switched off on the portal
        # The account's latest bill: no newer version of this cycle, no bill of a later cycle.
        ~exists().where(
            newer.account_id == Bill.account_id,
            newer.cycle >= Bill.cycle,  # redundant, but it lets the unique index seek instead of scan the history
            or_(newer.cycle > Bill.cycle, newer.version > Bill.version),
        ),
    ]
    if account_ids is not None:
        conditions.append(Bill.account_id.between(*account_ids))
    # Materialised, so each bill's payments and mobile are looked up once, not once per use below.
    candidates = (
        select(
            Bill.id.label("bill_id"),
            Bill.account_id,
            Account.account_no,
            Bill.due_date,
            (Bill.amount_paise - paid).label("due_paise"),
            mobile.label("recipient"),
        )
        .join(Account, Account.id == Bill.account_id)
        .where(*conditions)
        .cte("reminder_candidate", nesting=True)
        .prefix_with("MATERIALIZED")
    )
    c = candidates.c
    if dialect == "postgresql":
        due_text: ColumnElement[str] = func.to_char(c.due_date, "YYYY-MM-DD")
        build_json = func.jsonb_build_object
    else:
        due_text = cast(c.due_date, String)  # SQLite keeps dates as ISO text already
        build_json = func.json_object
    payload = build_json(
        "account_no",
        c.account_no,
        "amount_paise",
        c.due_paise,
        "due_date",
        due_text,
        "portal_url",
        bindparam("portal_url", portal_url, type_=String),
    )
    days = [today + dt.timedelta(days=n) for n in range(days_before + 1)]
    expires_at = case(
        *(
            (c.due_date == day, bindparam(f"expires_{n}", _expiry(day, now), type_=UtcDateTime))
            for n, day in enumerate(days)
        )
    )
    at = bindparam("now", now, type_=UtcDateTime)
    rows = select(
        literal("sms"),
        literal(TEMPLATE),
        c.recipient,
        c.account_id,
        payload,
        literal(f"{TEMPLATE}:") + cast(c.bill_id, String),
        literal("pending"),
        literal(PRIORITY),
        literal(0),
        at,
        at,
        expires_at,
    ).where(c.due_paise > 0, c.recipient.is_not(None))
    conn = session.connection()
    statement = insert_ignore(dialect, Outbox, ["dedupe_key"]).from_select(OUTBOX_COLUMNS, rows)
    result = conn.execute(statement, execution_options={"preserve_rowcount": True})

    if dialect == "sqlite":
        # Python's sqlite3 counts rows only for statements that begin with INSERT, and this begins with WITH.
        return int(conn.exec_driver_sql("SELECT changes()").scalar_one())
    return int(result.rowcount)
