"""Feeder interruptions as the IVR needs them: is the caller's feeder off now, and since when, until when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, or_, select

from cis import audit
from cis.db import UnitOfWork
from cis.errors import InvalidInterruption, UnknownAccount, UnknownFeeder, UnknownInterruption
from cis.models import Account, DistributionTransformer, Feeder, FeederInterruption
from cis.models.interruptions import INTERRUPTION_KINDS
from cis.numbers import parse_account_no

MAX_REASON = 200


@dataclass(frozen=True)
class InterruptionNotice:
    """What a caller is told about the supply off on their feeder."""

    kind: str  # shutdown | breakdown | roster
    started_at: dt.datetime
    expected_restore_at: dt.datetime | None  # None: no restoration time given yet
    reason: str | None
    feeder_name: str


def active_interruption(uow: UnitOfWork, account_no: str, now: dt.datetime | None = None) -> InterruptionNotice | None:
    """The interruption the account's feeder is under at `now`, or None when its supply is on.

    Live means started at or before `now` and neither restored nor cancelled; a planned shutdown
    starting later is not active yet. An interruption past its expected restoration but not restored
    is still active. With several, the one expected to last longest is told: latest expected
    restoration, an interruption with none given counting as the latest.
    Raises MalformedAccountNumber or UnknownAccount.
    """
    number = parse_account_no(account_no)
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        feeder = session.execute(
            select(Feeder.id, Feeder.name)
            .join(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
            .join(Account, Account.dt_id == DistributionTransformer.id)
            .where(Account.account_no == number)
        ).first()
        if feeder is None:
            raise UnknownAccount(number)
        live = session.scalars(
            select(FeederInterruption)
            .where(
                FeederInterruption.feeder_id == feeder.id,
                FeederInterruption.restored_at.is_(None),
                FeederInterruption.cancelled_at.is_(None),
                FeederInterruption.started_at <= at,
                # A roster slot ends by itself at its planned end, even before close_roster_slots marks it.
                or_(
                    FeederInterruption.kind != "roster",
                    FeederInterruption.expected_restore_at.is_(None),
                    FeederInterruption.expected_restore_at > at,
                ),
            )
            .order_by(
                case((FeederInterruption.expected_restore_at.is_(None), 0), else_=1),
                FeederInterruption.expected_restore_at.desc(),
                FeederInterruption.started_at.desc(),
                FeederInterruption.id.desc(),
            )
            .limit(1)
        ).first()
        if live is None:
            return None
        return InterruptionNotice(
            kind=live.kind,
            started_at=live.started_at,
            expected_restore_at=live.expected_restore_at,
            reason=live.reason,
            feeder_name=feeder.name,
        )


def record_interruption(
    uow: UnitOfWork,
    feeder_id: int,
    kind: str,
    started_at: dt.datetime,
    expected_restore_at: dt.datetime | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
    *,
    actor: str = "system:outage-desk",
) -> int:
    """Record supply off (or planned off) on a feeder, with an audit row; commits and returns its id.

    Raises InvalidInterruption for a kind other than shutdown, breakdown or roster, an expected
    restoration not after the start, or a reason over 200 characters; UnknownFeeder for no such feeder.
    """
    if kind not in INTERRUPTION_KINDS:
        raise InvalidInterruption(f"'{kind}' is not one of {', '.join(INTERRUPTION_KINDS)}")
    if expected_restore_at is not None and expected_restore_at <= started_at:
        raise InvalidInterruption("the expected restoration must come after the start")
    text = (reason or "").strip() or None
    if text is not None and len(text) > MAX_REASON:
        raise InvalidInterruption(f"the reason is over {MAX_REASON} characters")
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        if session.get(Feeder, feeder_id) is None:
            raise UnknownFeeder(feeder_id)
        row = FeederInterruption(
            feeder_id=feeder_id,
            kind=kind,
            started_at=started_at,
            expected_restore_at=expected_restore_at,
            reason=text,
            created_at=at,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="interruption.recorded",
            entity="feeder_interruption",
            entity_id=row.id,
            at=at,
            feeder_id=feeder_id,
            kind=kind,
            started_at=started_at.isoformat(),
            expected_restore_at=expected_restore_at.isoformat() if expected_restore_at else None,
            reason=text,
        )
        row_id = row.id
        uow.commit()
    return row_id


def restore_interruption(
    uow: UnitOfWork,
    interruption_id: int,
    now: dt.datetime | None = None,
    *,
    actor: str = "system:outage-desk",
) -> bool:
    """Mark supply restored at `now`, with an audit row; True if this restored it, False if it already was.

    Raises UnknownInterruption; InvalidInterruption for a cancelled interruption or one that has not
    started by `now` (a planned shutdown called off beforehand is cancelled, not restored).
    """
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        row = session.get(FeederInterruption, interruption_id)
        if row is None:
            raise UnknownInterruption(interruption_id)
        if row.restored_at is not None:
            return False
        if row.cancelled_at is not None:
            raise InvalidInterruption("it was cancelled, so there is no supply to restore")
        if row.started_at > at:
            raise InvalidInterruption("it has not started yet")
        row.restored_at = at
        audit.record(
            session,
            actor=actor,
            action="interruption.restored",
            entity="feeder_interruption",
            entity_id=row.id,
            at=at,
            feeder_id=row.feeder_id,
            kind=row.kind,
            minutes_off=int((at - row.started_at).total_seconds() // 60),
        )
        uow.commit()
    return True
