"""Screen-pop: when a caller the IVR handed to the 1912 queue is answered, the agent who answered sees that caller's
consumer 360 at once, with where in the menu the caller was, so nobody repeats their account number.

The telephony says who answered and which call it was (Asterisk's AMI AgentConnect event with the queue member's
interface and the channel variable URJA_CALL_ID; Twilio's "answered" callback of the <Dial> to the agent, carrying
the call id), `record_answer` keeps it, and the agent's console asks `latest_pop` every few seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from cis import audit
from cis.db import UnitOfWork
from cis.models import Account, AccountMobile, IvrCall, ScreenPop, Staff

SOURCES = ("ami", "twilio")
MAX_EXTENSION = 40
POP_FRESH = dt.timedelta(minutes=5)  # an older pop is not "on the line now"


@dataclass(frozen=True)
class Pop:
    id: int
    call_id: int
    at: dt.datetime


@dataclass(frozen=True)
class CallerView:
    """What the agent needs before saying hello: who is calling and where they were in the menu."""

    call_id: int
    caller: str
    started_at: dt.datetime
    path: tuple[str, ...]
    outcome: str | None
    lang: str | None
    account_no: str | None  # the account the IVR identified (None: it did not get that far)
    accounts_on_mobile: tuple[str, ...]  # the caller's registered accounts, when the IVR identified none


def normalise_extension(raw: str) -> str:
    """The queue member's interface as Asterisk and Twilio name it, compared without regard to case:
    `PJSIP/agent1`, `SIP/1001`, `sip:agent1@pbx.example.in`, `client:agent1`."""
    text = (raw or "").strip()
    if text.lower().startswith("local/"):  # Local/1001@agents/n: the extension before the context
        text = text.split("/", 1)[1].split("@", 1)[0]
    return text.lower()[:MAX_EXTENSION]


def record_answer(
    uow: UnitOfWork, *, extension: str, call_id: int, source: str, now: dt.datetime | None = None
) -> Pop | None:
    """The agent whose extension is `extension` answered the transferred call `call_id`: keep it for their
    console. None (nothing kept) when no active agent has that extension or the call is not on record; the same
    answer reported twice (an AMI reconnect replays it) is kept once."""
    if source not in SOURCES:
        raise ValueError(f"source is one of {SOURCES}")
    at = now or audit.utcnow()
    key = normalise_extension(extension)
    if not key:
        return None
    with uow:
        session = uow.session
        staff_id = session.scalar(
            select(Staff.id).where(Staff.extension == key, Staff.active.is_(True), Staff.role.in_(("agent", "admin")))
        )
        if staff_id is None or session.get(IvrCall, call_id) is None:
            return None
        last = session.execute(
            select(ScreenPop.id, ScreenPop.call_id, ScreenPop.at)
            .where(ScreenPop.staff_id == staff_id)
            .order_by(ScreenPop.id.desc())
            .limit(1)
        ).first()
        if last is not None and last.call_id == call_id:
            return Pop(last.id, last.call_id, last.at)
        pop = ScreenPop(staff_id=staff_id, call_id=call_id, source=source, at=at)
        session.add(pop)
        session.flush()
        uow.commit()
        return Pop(pop.id, call_id, at)


def record_answer_for_call(
    uow: UnitOfWork, *, extension: str, channel: str, call_ref: str, source: str, now: dt.datetime | None = None
) -> Pop | None:
    """`record_answer` for a call named by its provider's reference (Twilio's CallSid) instead of our id."""
    with uow:
        call_id = uow.session.scalar(select(IvrCall.id).where(IvrCall.channel == channel, IvrCall.call_ref == call_ref))
    if call_id is None:
        return None
    return record_answer(uow, extension=extension, call_id=call_id, source=source, now=now)


def latest_pop(uow: UnitOfWork, staff_id: int, *, after: int = 0, now: dt.datetime | None = None) -> Pop | None:
    """The newest call popped for this staff member after pop `after`, if it is fresh (5 minutes)."""
    at = now or audit.utcnow()
    with uow.reading():
        row = uow.session.execute(
            select(ScreenPop.id, ScreenPop.call_id, ScreenPop.at)
            .where(ScreenPop.staff_id == staff_id, ScreenPop.id > after)
            .order_by(ScreenPop.id.desc())
            .limit(1)
        ).first()
    if row is None or row.at < at - POP_FRESH:
        return None
    return Pop(row.id, row.call_id, row.at)


def caller_view(uow: UnitOfWork, call_id: int) -> CallerView | None:
    """The call's caller, menu path and outcome so far, and the account(s) it concerns; None for no such call."""
    with uow.reading():
        session = uow.session
        row = session.execute(
            select(IvrCall, Account.account_no)
            .outerjoin(Account, Account.id == IvrCall.account_id)
            .where(IvrCall.id == call_id)
        ).first()
        if row is None:
            return None
        call, account_no = row
        on_mobile: tuple[str, ...] = ()
        if account_no is None and call.caller.startswith("+91"):
            on_mobile = tuple(
                session.scalars(
                    select(Account.account_no)
                    .join(AccountMobile, AccountMobile.account_id == Account.id)
                    .where(AccountMobile.e164 == call.caller)
                    .order_by(Account.account_no)
                    .limit(10)
                )
            )
        return CallerView(
            call_id=call.id,
            caller=call.caller,
            started_at=call.started_at,
            path=tuple(call.path or ()),
            outcome=call.outcome,
            lang=call.lang,
            account_no=account_no,
            accounts_on_mobile=on_mobile,
        )


def set_extension(uow: UnitOfWork, username: str, extension: str | None, *, actor: str, now: dt.datetime) -> None:
    """Give a staff member the phone extension the telephony names them by (None: none). Audited."""
    from cis.staff_auth import _staff_named

    key = normalise_extension(extension) if extension else None
    with uow:
        staff = _staff_named(uow.session, username)
        staff.extension = key or None
        audit.record(
            uow.session,
            actor=actor,
            action="staff.extension",
            entity="staff",
            entity_id=staff.id,
            at=now,
            extension=key,
        )
        uow.commit()
