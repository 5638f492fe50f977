"""The outbox: use cases put notifications here in their own transaction; dispatchers send them later."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.models import AccountMobile, Outbox

IST = ZoneInfo("Asia/Kolkata")
# TRAI: messages that are not urgent go between 08:00 and 21:00 in India (the SMS dispatcher holds them).
DAY_STARTS = dt.time(8, 0)
DAY_ENDS = dt.time(21, 0)


def daytime_from(now: dt.datetime) -> dt.datetime:
    """The first moment at or after `now` inside 08:00-21:00 IST: `now` itself in the day, else the next 08:00."""
    local = now.astimezone(IST)
    if DAY_STARTS <= local.time() < DAY_ENDS:
        return now
    day = local.date() if local.time() < DAY_STARTS else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, DAY_STARTS, tzinfo=IST).astimezone(dt.UTC)


# The columns a set-based INSERT ... SELECT into the outbox fills (reminders, fan-outs, roster SMS).
OUTBOX_COLUMNS = (
    "channel",
    "template",
    "recipient",
    "account_id",
    "payload",
    "dedupe_key",
    "status",
    "priority",
    "attempts",
    "created_at",
    "updated_at",
    "expires_at",
)


def enqueue(
    session: Session,
    *,
    channel: str,
    template: str,
    recipient: str,
    dedupe_key: str,
    payload: dict[str, Any],
    at: dt.datetime,
    account_id: int | None = None,
    priority: int = 5,
    expires_at: dt.datetime | None = None,
) -> bool:
    """Add one outbox row unless a row with `dedupe_key` exists; True when a row was added.

    The unique dedupe key in the table is the real guard; this check only keeps a retry inside one
    transaction from failing on it.
    """
    exists = session.scalar(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key))
    if exists is not None:
        return False
    session.add(
        Outbox(
            channel=channel,
            template=template,
            recipient=recipient,
            dedupe_key=dedupe_key,
            payload=payload,
            account_id=account_id,
            priority=priority,
            status="pending",
            attempts=0,
            created_at=at,
            updated_at=at,
            expires_at=expires_at,
        )
    )
    return True


def account_mobiles(session: Session, account_id: int) -> list[str]:
    """The account's registered mobiles, verified ones first."""
    rows = session.execute(
        select(AccountMobile.e164)
        .where(AccountMobile.account_id == account_id)
        .order_by(AccountMobile.verified.desc(), AccountMobile.id)
    )
    return [row[0] for row in rows]
