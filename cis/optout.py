"""SMS opt-out by mobile: STOP holds back alerts and reminders to a number, START lets them through again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cis import audit
from cis.db import UnitOfWork
from cis.models import SmsOptOut
from cis.phones import normalise_mobile

MAX_MESSAGE_REF = 80  # SmsOptOut.message_ref


def opt_out(uow: UnitOfWork, mobile: str, *, via: str, message_ref: str | None, now: dt.datetime) -> bool:
    """Record that `mobile` wants no more alert SMS; True when it was opted in until now.

    The opt-out and its audit row ('sms.opted_out') commit together. Asking again (a STOP delivered twice,
    two STOPs racing) changes nothing and returns False. MalformedMobile for a number that is no Indian mobile.
    """
    e164 = normalise_mobile(mobile)
    ref = message_ref[:MAX_MESSAGE_REF] if message_ref else None
    with uow:
        session = uow.session
        if session.get(SmsOptOut, e164) is not None:
            return False
        session.add(SmsOptOut(e164=e164, opted_out_at=now, via=via, message_ref=ref))
        audit.record(
            session, actor=f"channel:{via}", action="sms.opted_out", entity="mobile", entity_id=e164, at=now, ref=ref
        )
        try:
            uow.commit()
        except IntegrityError:  # a concurrent STOP for the same number committed first
            uow.rollback()
            return False
    return True


def opt_in(uow: UnitOfWork, mobile: str, *, via: str, message_ref: str | None, now: dt.datetime) -> bool:
    """Let alert SMS reach `mobile` again; True when it had opted out, False when there was nothing to undo.

    The removal and its audit row ('sms.opted_in') commit together.
    """
    e164 = normalise_mobile(mobile)
    ref = message_ref[:MAX_MESSAGE_REF] if message_ref else None
    with uow:
        session = uow.session
        row = session.get(SmsOptOut, e164, with_for_update=True)
        if row is None:
            return False
        session.delete(row)
        audit.record(
            session, actor=f"channel:{via}", action="sms.opted_in", entity="mobile", entity_id=e164, at=now, ref=ref
        )
        uow.commit()
    return True


def is_opted_out(uow: UnitOfWork, mobile: str) -> bool:
    """True when `mobile` has sent STOP and not START since."""
    e164 = normalise_mobile(mobile)
    with uow:
        return uow.session.scalar(select(SmsOptOut.e164).where(SmsOptOut.e164 == e164)) is not None
