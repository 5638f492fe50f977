"""Restoration checks: after a restoration a sample of those told is asked "is power back? reply 1/2".

The sample is drawn by the database (INSERT ... SELECT ... ORDER BY random() LIMIT n) from the accounts whose
restoration SMS is in the outbox, one `outage_check` row and one "outage.check" SMS each, both keyed so that
running it again asks nobody twice. A reply of 1 or 2 from an asked mobile is recorded once. Each 2 logs a
no-supply complaint for that consumer (one house without supply is a fault of its own: a fuse, a service
line); only when enough of the sample say 2 (`reopen_after`, URJA_CHECK_REOPEN) is the event put back on the
desk as live (`outage.events.reopen`), and those complaints are linked to it again.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, case, cast, exists, func, literal, select, update
from sqlalchemy.orm import Session

from cis import audit, complaints
from cis.db import UnitOfWork, insert_ignore
from cis.errors import AccountClosed, UnknownAccount
from cis.models import Account, AuditLog, DistributionTransformer, Feeder, OutageCheck, OutageEvent, Outbox
from cis.models.base import UtcDateTime
from cis.notify import OUTBOX_COLUMNS
from outage.errors import InvalidOutage, UnknownEvent
from outage.events import Actor, reopen

TEMPLATE = "outage.check"
ANSWERS = (1, 2)  # 1 power back, 2 still off
ANSWER_WITHIN = dt.timedelta(hours=24)
# How many of a restoration's sample must say "2" before the event is reopened (fewer when fewer were asked).
DEFAULT_REOPEN_AFTER = 3
DEFAULT_DELAY = dt.timedelta(minutes=15)
CONSUMER = Actor("consumer:check")
REOPEN_NOTE = "consumer reports supply still off"
MAX_AREA = 30  # a DLT template variable holds at most 30 characters
# The alerts that did not reach the consumer: nobody is asked about an SMS they never got.
NOT_RECEIVED = ("failed", "cancelled", "expired")
# The outbox columns the questions fill: the common set, with when each may go.
QUESTION_COLUMNS = (*OUTBOX_COLUMNS[:-1], "not_before")


@dataclass(frozen=True)
class CheckAnswer:
    """What a consumer's 1 or 2 did."""

    event_id: int
    area: str  # the feeder's name as the SMS shows it (at most 30 characters)
    answer: int
    reopened: bool  # this answer put the restored event back on the desk as live
    live: bool  # the event is live on the desk now (reopened by this answer or an earlier one)
    account_no: str | None = None  # the account the consumer was asked about
    # A 2: the no-supply complaint logged for the consumer (linked to the event when it is live again).
    complaint: complaints.ComplaintReceipt | None = None


def sample_size(told: int, *, share: float, at_most: int, at_least: int) -> int:
    """How many of `told` consumers to ask: `share` of them, rounded up, within [at_least, at_most] and <= told."""
    return min(told, max(at_least, min(at_most, math.ceil(told * share))))


def _area(name: Any) -> Any:
    """The feeder's name cut to a template variable, in SQL (as the alerts' `area`)."""
    return func.coalesce(func.nullif(func.trim(func.substr(name, 1, MAX_AREA)), ""), "your area")


def ask_restoration_checks(
    uow: UnitOfWork,
    event_id: int,
    revision: int,
    *,
    now: dt.datetime,
    share: float = 0.02,
    at_most: int = 200,
    at_least: int = 5,
    delay: dt.timedelta = DEFAULT_DELAY,
) -> int:
    """Ask a random sample of the consumers told of restoration `revision` whether their power is back.

    The sample is `share` of the accounts whose restoration SMS is in the outbox (not failed, cancelled or
    expired), at least `at_least` and at most `at_most`; each gets an `outage_check` row and an "outage.check"
    SMS sent `delay` after `now` (so the supply has had time to settle), and `asked_at` is that moment.
    Safe to run again: accounts already asked about the event are not asked twice, and a rerun tops the sample
    up to its size at most. Returns the checks added; 0 when the event is no longer restored or `revision` is
    not its latest restoration. Raises UnknownEvent, InvalidOutage (a share outside (0, 1], negative sizes).
    """
    if not 0 < share <= 1 or at_least < 0 or at_most < at_least:
        raise InvalidOutage("the sample share must be in (0, 1] and its bounds 0 <= at least <= at most")
    asked_at = now + delay
    with uow:
        session = uow.session
        event = session.scalars(select(OutageEvent).where(OutageEvent.id == event_id).with_for_update()).first()
        if event is None:
            raise UnknownEvent(event_id)
        if event.status != "restored" or event.revision != revision:
            # Reopened, restored again, or a revision that is not the restoration: there is nothing to ask.
            return 0
        dialect = session.connection().dialect.name
        prefix = f"outage:{event_id}:{revision}:"
        told = (
            # Keys after the prefix are digits and ':', all sorting before '~': a range scan of the unique index.
            Outbox.dedupe_key >= prefix,
            Outbox.dedupe_key < prefix + "~",
            Outbox.channel == "sms",
            Outbox.account_id.is_not(None),
            Outbox.status.not_in(NOT_RECEIVED),
        )
        total = int(session.scalar(select(func.count()).select_from(Outbox).where(*told)) or 0)
        already = int(
            session.scalar(
                select(func.count())
                .select_from(OutageCheck)
                .where(OutageCheck.event_id == event_id, OutageCheck.revision == revision)
            )
            or 0
        )
        wanted = sample_size(total, share=share, at_most=at_most, at_least=at_least) - already
        if wanted <= 0:
            return 0
        asked = exists().where(OutageCheck.event_id == event_id, OutageCheck.account_id == Outbox.account_id)
        sample = (
            select(
                literal(event_id),
                literal(revision),
                Outbox.account_id,
                Outbox.recipient,
                bindparam("asked_at", asked_at, type_=UtcDateTime),
            )
            .where(*told, ~asked)
            .order_by(func.random())
            .limit(wanted)
        )
        conn = session.connection()
        result = conn.execute(
            insert_ignore(dialect, OutageCheck, ["event_id", "account_id"]).from_select(
                ("event_id", "revision", "account_id", "e164", "asked_at"), sample
            ),
            execution_options={"preserve_rowcount": True},
        )
        added = int(result.rowcount)
        _queue_questions(session, dialect, event_id, revision, asked_at, now)
        audit.record(
            session,
            actor="system:outage",
            action="outage.checks_asked",
            entity="outage_event",
            entity_id=event_id,
            at=now,
            revision=revision,
            told=total,
            asked=added,
        )
        uow.commit()
    return added


def _queue_questions(
    session: Session, dialect: str, event_id: int, revision: int, asked_at: dt.datetime, now: dt.datetime
) -> None:
    """One "outage.check" SMS per check of the revision (those already queued are left alone)."""
    build_json = func.jsonb_build_object if dialect == "postgresql" else func.json_object
    at = bindparam("now", now, type_=UtcDateTime)
    rows = (
        select(
            literal("sms"),
            literal(TEMPLATE),
            OutageCheck.e164,
            OutageCheck.account_id,
            build_json("area", _area(Feeder.name)),
            literal(f"outage-check:{event_id}:") + cast(OutageCheck.account_id, String),
            literal("pending"),
            literal(0),
            literal(0),
            at,
            at,
            bindparam("not_before", asked_at, type_=UtcDateTime),
        )
        .join(Account, Account.id == OutageCheck.account_id)
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
        .where(OutageCheck.event_id == event_id, OutageCheck.revision == revision)
    )
    session.connection().execute(insert_ignore(dialect, Outbox, ["dedupe_key"]).from_select(QUESTION_COLUMNS, rows))


def answer_check(
    uow: UnitOfWork,
    e164: str,
    answer: int,
    *,
    now: dt.datetime,
    message_id: str,
    reopen_after: int = DEFAULT_REOPEN_AFTER,
) -> CheckAnswer | None:
    """Record a consumer's 1 (power back) or 2 (still off) to the latest check asked of `e164` in the last 24 h.

    None when that mobile has no check waiting for an answer. A check is answered once; the same message
    delivered again (`message_id`) gives the first answer back and records nothing new. A 2 logs a no-supply
    complaint for the consumer's account (channel sms, `message_id` its request id, so a repeat logs one), and
    reopens the event once `reopen_after` of the revision's sample (or all of it, when fewer were asked) have
    said 2 (`outage.events.reopen`: only a restored event, restored not too long ago, and only once); the
    complaint is then linked to the live event. Raises InvalidOutage for an answer other than 1 or 2, or a
    `reopen_after` below 1.
    """
    if answer not in ANSWERS:
        raise InvalidOutage("a check is answered with 1 or 2")
    if reopen_after < 1:
        raise InvalidOutage("at least one answer is needed to reopen an event")
    with uow:
        session = uow.session
        check = session.execute(
            _check_query()
            .where(
                OutageCheck.e164 == e164,
                OutageCheck.answer.is_(None),
                OutageCheck.asked_at <= now,
                OutageCheck.asked_at > now - ANSWER_WITHIN,
            )
            .order_by(OutageCheck.asked_at.desc(), OutageCheck.id.desc())
            .limit(1)
        ).first()
        claimed = 0
        if check is not None:
            claimed = (
                session.connection()
                .execute(
                    update(OutageCheck)
                    .where(OutageCheck.id == check.id, OutageCheck.answer.is_(None))
                    .values(answer=answer, answered_at=now)
                )
                .rowcount
            )
        if claimed == 1:
            assert check is not None
            audit.record(
                session,
                actor=CONSUMER.name,
                action="outage.check_answered",
                entity="outage_check",
                entity_id=check.id,
                at=now,
                event_id=check.event_id,
                answer=answer,
                message_id=message_id,
            )
            uow.commit()
            event_id, revision, account_no, area = (
                int(check.event_id),
                int(check.revision),
                str(check.account_no),
                str(check.area),
            )
        else:
            # No check waiting, or another message answered it a moment ago: is this that message again?
            repeated = _answered_by(session, e164, now, message_id)
            if repeated is None:
                return None
            event_id, revision, account_no, area, answer = repeated
    # A repeated 2 runs this again too: a reopen or complaint lost between the answer's commit and its own is
    # done now (each is idempotent).
    reopened = False
    receipt = None
    if answer == 2:
        if _enough_say_off(uow, event_id, revision, reopen_after):
            reopened = reopen(uow, event_id, actor=CONSUMER, now=now, note=REOPEN_NOTE) is not None
        receipt = _complaint_for(uow, account_no, e164, now=now, message_id=message_id)
    with uow:
        status = uow.session.scalar(select(OutageEvent.status).where(OutageEvent.id == event_id))
    return CheckAnswer(event_id, area, answer, reopened, status == "published", account_no, receipt)


def _enough_say_off(uow: UnitOfWork, event_id: int, revision: int, reopen_after: int) -> bool:
    """True when `reopen_after` of the revision's sample said 2, or every one asked did (a sample smaller)."""
    with uow:
        asked, off = uow.session.execute(
            select(func.count(), func.coalesce(func.sum(case((OutageCheck.answer == 2, 1), else_=0)), 0)).where(
                OutageCheck.event_id == event_id, OutageCheck.revision == revision
            )
        ).one()
    return int(off) >= min(reopen_after, int(asked))


def _complaint_for(
    uow: UnitOfWork, account_no: str, e164: str, *, now: dt.datetime, message_id: str
) -> complaints.ComplaintReceipt | None:
    """The consumer's own no-supply complaint, as if sent by SMS (COMP NOSUPPLY); None for an account that can
    no longer complain (disconnected since)."""
    cmd = complaints.RegisterComplaint(
        channel="sms",
        category="no_supply",
        account_no=account_no,
        mobile=e164,
        text="Answered 2 to the restoration check: supply still off",
        channel_request_id=message_id,
    )
    try:
        return complaints.register_complaint(uow, cmd, now=now)
    except (AccountClosed, UnknownAccount):
        return None


def _check_query() -> Any:
    return (
        select(
            OutageCheck.id,
            OutageCheck.event_id,
            OutageCheck.revision,
            Account.account_no,
            _area(Feeder.name).label("area"),
        )
        .join(Account, Account.id == OutageCheck.account_id)
        .join(DistributionTransformer, DistributionTransformer.id == Account.dt_id)
        .join(Feeder, Feeder.id == DistributionTransformer.feeder_id)
    )


def _answered_by(
    session: Session, e164: str, now: dt.datetime, message_id: str
) -> tuple[int, int, str, str, int] | None:
    """(event, revision, account number, area, answer) of the check this same message answered already, or None."""
    rows = session.execute(
        _check_query()
        .add_columns(OutageCheck.answer)
        .where(
            OutageCheck.e164 == e164,
            OutageCheck.answer.is_not(None),
            OutageCheck.answered_at > now - ANSWER_WITHIN,
        )
        .order_by(OutageCheck.answered_at.desc(), OutageCheck.id.desc())
        .limit(3)  # a retry comes within minutes: the mobile's last few answers are enough to look at
    ).all()
    for row in rows:
        details = session.scalars(
            select(AuditLog.detail).where(
                AuditLog.entity == "outage_check",
                AuditLog.entity_id == str(row.id),
                AuditLog.action == "outage.check_answered",
            )
        ).all()
        if any(detail.get("message_id") == message_id for detail in details):
            return int(row.event_id), int(row.revision), str(row.account_no), str(row.area), int(row.answer)
    return None
