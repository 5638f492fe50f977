"""Call records of the IVR channels: open once per call, keep a webhook call's state, close, count for the MIS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cis import audit
from cis.db import UnitOfWork
from cis.errors import MalformedMobile, UnknownAccount, UnknownCall, UnknownChannel
from cis.models import Account, AccountMobile, IvrCall
from cis.models.accounts import LANGUAGES
from cis.models.calls import CALL_CHANNELS, CALL_DIRECTIONS, CALLER_MAX, FAULT_MAX, OUTBOUND_REF_MAX
from cis.numbers import parse_account_no
from cis.phones import normalise_mobile

IST = ZoneInfo("Asia/Kolkata")
CALL_REF_MAX = 100
# Outcomes that say how a call ended without serving anything.
_NOT_SERVICES = frozenset({"in_progress", "none", "abandoned", "no_service", "system_fault"})


@dataclass(frozen=True)
class CallState:
    """What a webhook needs to carry on a call: its record id, its dialog state, and whether it has ended."""

    id: int
    state: dict[str, Any] | None
    ended: bool


class CallSummary(TypedDict):
    """One day of inbound (or outbound) calls as the MIS reports them."""

    day: str  # YYYY-MM-DD, a calendar day in India
    calls: int
    by_outcome: dict[str, int]  # outcome -> calls; "in_progress" for calls not yet closed, "none" closed without one
    by_service: dict[str, int]  # service (bill, complaint, ..., transfer) -> calls that used it, whatever else they did
    system_faults: int  # calls spoilt on our side (a prompt that would not play, no reply, a failed step)
    faults_by_kind: dict[str, int]  # "missing prompt", "AgiNoReply", "dialog failed", ... -> calls
    average_duration_s: float | None  # over closed calls; None when none closed
    with_account: int  # calls that reached an account, by caller id or by a number keyed in
    identified_by_caller_id: int  # calls from a mobile registered against the account they reached
    caller_id_share: float  # identified_by_caller_id / calls, 0.0 on a day without calls


def _caller(raw: str | None) -> str:
    """E.164 when the caller id is an Indian mobile; otherwise what the trunk sent (e.g. 'anonymous'), cut to fit."""
    text = (raw or "").strip()
    try:
        return normalise_mobile(text)
    except MalformedMobile:
        return text[:CALLER_MAX] or "unknown"


def _find(session: Session, channel: str, call_ref: str) -> IvrCall | None:
    return session.scalar(select(IvrCall).where(IvrCall.channel == channel, IvrCall.call_ref == call_ref))


def _call(session: Session, call_id: int) -> IvrCall:
    call = session.get(IvrCall, call_id)
    if call is None:
        raise UnknownCall(call_id)
    return call


def _check_ref(channel: str, call_ref: str) -> str:
    if channel not in CALL_CHANNELS:
        raise UnknownChannel(channel)
    ref = (call_ref or "").strip()
    if not ref or len(ref) > CALL_REF_MAX:
        raise ValueError(f"a call reference has 1 to {CALL_REF_MAX} characters, not {len(ref)}")
    return ref


def _apply(session: Session, call: IvrCall, path: Sequence[str], account_no: str | None, lang: str | None) -> None:
    call.path = [str(node) for node in path]
    if account_no is not None:
        number = parse_account_no(account_no)
        account_id = session.scalar(select(Account.id).where(Account.account_no == number))
        if account_id is None:
            raise UnknownAccount(number)
        call.account_id = account_id
    if lang is not None:
        if lang not in LANGUAGES:
            raise ValueError(f"{lang!r} is not a language of the IVR")
        call.lang = lang


def open_call(
    uow: UnitOfWork,
    *,
    channel: str,
    call_ref: str,
    caller: str | None,
    direction: str = "inbound",
    now: dt.datetime | None = None,
    outbound_ref: str | None = None,
) -> int:
    """The id of the call record for this provider call, created and committed on first sight.

    Idempotent: the same (channel, call_ref) always gives the same id, also when two webhooks of one
    call race (the unique key decides; the loser reads the winner's row). The caller is stored as
    E.164 when it is an Indian mobile, else as given (cut to 32 characters; 'unknown' when empty).
    A call we placed keeps `outbound_ref`, our own reference of it (an alert's outbox row and attempt),
    so whoever placed it can tell that it was answered and its flow ran.
    Raises UnknownChannel for a channel other than asterisk, twilio or ussd.
    """
    ref = _check_ref(channel, call_ref)
    if direction not in CALL_DIRECTIONS:
        raise ValueError(f"{direction!r} is not a call direction")
    if outbound_ref is not None and not 0 < len(outbound_ref) <= OUTBOUND_REF_MAX:
        raise ValueError(f"an outbound reference has 1 to {OUTBOUND_REF_MAX} characters")
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        found = _find(session, channel, ref)
        if found is not None:
            return found.id
        call = IvrCall(
            channel=channel,
            call_ref=ref,
            direction=direction,
            caller=_caller(caller),
            path=[],
            started_at=at,
            outbound_ref=outbound_ref,
        )
        session.add(call)
        try:
            session.flush()
        except IntegrityError:
            # The same call's other webhook committed its row first: that row is the call.
            uow.rollback()
            found = _find(session, channel, ref)
            if found is None:
                raise
            return found.id
        call_id = call.id
        uow.commit()
    return call_id


def load_call(uow: UnitOfWork, channel: str, call_ref: str) -> CallState | None:
    """The call's id, its saved dialog state and whether it has ended; None for a call never opened."""
    ref = _check_ref(channel, call_ref)
    with uow:
        call = _find(uow.session, channel, ref)
        if call is None:
            return None
        return CallState(id=call.id, state=call.state, ended=call.ended_at is not None)


def save_call(
    uow: UnitOfWork,
    call_id: int,
    *,
    state: dict[str, Any] | None,
    path: Sequence[str],
    account_no: str | None = None,
    lang: str | None = None,
) -> None:
    """Commit a live call's dialog state and the path so far (and its account and language, once known).

    A call already closed is left as it was: a provider's late webhook cannot bring its state back.
    Raises UnknownCall, MalformedAccountNumber or UnknownAccount.
    """
    with uow:
        session = uow.session
        call = _call(session, call_id)
        if call.ended_at is not None:
            return
        _apply(session, call, path, account_no, lang)
        call.state = state
        uow.commit()


def close_call(
    uow: UnitOfWork,
    call_id: int,
    *,
    path: Sequence[str],
    outcome: str | None,
    account_no: str | None = None,
    lang: str | None = None,
    now: dt.datetime | None = None,
    duration_s: int | None = None,
    fault: str | None = None,
) -> bool:
    """Record how the call ended: path, outcome, end time and whole seconds of duration; the state is cleared.

    `fault` names what went wrong on our side, if anything (a prompt that would not play, Asterisk not
    replying, a failed step): the MIS counts such calls as system faults, apart from callers' choices.

    `duration_s` is the provider's own figure (Twilio's CallDuration, the USSD gateway's), which is what
    the trunk bills: it wins over the time between our open and close, also when it arrives after the
    call was closed. True when this closed the call; False when it was already closed, whose first close
    otherwise stands (a hang-up seen by both the dialog and the provider's status callback counts once).
    Raises UnknownCall, MalformedAccountNumber or UnknownAccount.
    """
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        call = _call(session, call_id)
        if call.ended_at is not None:
            if duration_s is not None and duration_s >= 0 and call.duration_s != duration_s:
                call.duration_s = duration_s
                uow.commit()
            return False
        _apply(session, call, path, account_no, lang)
        call.outcome = outcome[:60] if outcome else None
        call.fault = fault[:FAULT_MAX] if fault else None
        call.state = None
        call.ended_at = at
        own = max(0, round((at - call.started_at).total_seconds()))
        call.duration_s = duration_s if duration_s is not None and duration_s >= 0 else own
        uow.commit()
    return True


def close_stale_calls(uow: UnitOfWork, *, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Close the calls still open that started more than `older_than` ago: a webhook call or USSD session
    whose end the provider never reported. The outcome is what the call got done, else 'abandoned';
    the duration is unknown (left empty). Returns how many were closed; safe to run at any time.
    """
    at = now or audit.utcnow()
    closed = 0
    with uow:
        session = uow.session
        stale = session.scalars(
            select(IvrCall)
            .where(IvrCall.ended_at.is_(None), IvrCall.started_at < at - older_than)
            .order_by(IvrCall.id)
            .limit(10_000)
            .with_for_update(skip_locked=True)
        ).all()
        for call in stale:
            served = (call.state or {}).get("served") or []
            call.outcome = ("+".join(str(s) for s in served) or "abandoned")[:60]
            call.state = None
            call.ended_at = at
            call.duration_s = None
            closed += 1
        uow.commit()
    return closed


def call_summary(uow: UnitOfWork, day: dt.date, *, direction: str = "inbound") -> CallSummary:
    """The MIS figures of the calls that started on `day` (a calendar day in India, IST).

    Calls, calls by outcome (every service a call used, joined: `bill+complaint+transfer`) and by service
    (a call that used the bill and then an agent counts once for each), system faults apart (calls our side
    spoilt: a prompt that would not play, no reply from Asterisk, a failed step), average duration of the
    closed ones, and how many were identified by their caller id (the caller's mobile is registered
    against the account the call reached).
    """
    start = dt.datetime(day.year, day.month, day.day, tzinfo=IST).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    in_day = and_(IvrCall.started_at >= start, IvrCall.started_at < end, IvrCall.direction == direction)
    open_ = IvrCall.ended_at.is_(None)
    label = case((open_, "in_progress"), else_=func.coalesce(IvrCall.outcome, "none"))
    with uow:
        session = uow.session
        rows = session.execute(
            select(label, func.count(), func.sum(IvrCall.duration_s), func.count(IvrCall.duration_s))
            .where(in_day)
            .group_by(label)
        ).all()
        with_account = session.scalar(select(func.count()).where(in_day, IvrCall.account_id.is_not(None))) or 0
        faults = session.execute(
            select(IvrCall.fault, func.count()).where(in_day, IvrCall.fault.is_not(None)).group_by(IvrCall.fault)
        ).all()
        by_caller_id = (
            session.scalar(
                select(func.count())
                .select_from(IvrCall)
                .join(
                    AccountMobile,
                    and_(AccountMobile.account_id == IvrCall.account_id, AccountMobile.e164 == IvrCall.caller),
                )
                .where(in_day)
            )
            or 0
        )
    by_outcome = {str(outcome): int(count) for outcome, count, _, _ in rows}
    calls = sum(by_outcome.values())
    by_service: dict[str, int] = {}
    for outcome, count in by_outcome.items():
        if outcome in _NOT_SERVICES:
            continue
        for service in dict.fromkeys(outcome.split("+")):
            by_service[service] = by_service.get(service, 0) + count
    faults_by_kind: dict[str, int] = {}
    for fault, count in faults:
        kind = str(fault).split(":", 1)[0]
        faults_by_kind[kind] = faults_by_kind.get(kind, 0) + int(count)
    seconds = sum(int(total or 0) for _, _, total, _ in rows)
    closed = sum(int(n) for _, _, _, n in rows)
    return CallSummary(
        day=day.isoformat(),
        calls=calls,
        by_outcome=dict(sorted(by_outcome.items())),
        by_service=dict(sorted(by_service.items())),
        system_faults=sum(faults_by_kind.values()),
        faults_by_kind=dict(sorted(faults_by_kind.items())),
        average_duration_s=round(seconds / closed, 1) if closed else None,
        with_account=int(with_account),
        identified_by_caller_id=int(by_caller_id),
        caller_id_share=round(by_caller_id / calls, 3) if calls else 0.0,
    )
