"""Outage alert calls from the outbox: claim voice rows within the trunk's free slots, place them, record how they end.

A voice row's life: `pending` > claimed as `sending` (committed before the call is placed, so two dispatchers
never place one row twice) > the call is placed and the row names its provider and call id > the call's end
settles it: answered and the alert flow ran > `delivered`; busy, unanswered, failed, or answered while the flow
never ran (FastAGI unreachable: Asterisk hung up on a consumer who heard nothing) > `pending` again after a
pause, until `max_attempts` calls were tried > `failed`. Whether the flow ran is what the call record says:
each attempt carries its own reference (`outbox:<row>:<attempt>`) through the dialplan (AMI) or the answer URL
(Twilio) into the record the dialog opens, and a record spoilt by a system fault does not count. A row past its
`expires_at` becomes `expired` when it reaches the head of the queue. Every call placed counts as an attempt; a
call the trunk had no slot for does not.

Ends reach `settle_call` from the provider: AMI events through `AmiDialer(on_end=...)`, Twilio's status callback
through the voice blueprint's `on_call_status=`; `call_outcome_recorder` makes such a callback. An end that
arrives before the row names its call (a very fast failure) is kept in this process and applied when it does.
A row whose end is never reported is moved to `unknown` by `settle_stuck_calls`: it is not called again on a
guess, and a late report still settles it.

The trunk's limit is per dialer, so per process: each process claims only as many rows as its own dialer has
free slots. On PostgreSQL the claim skips rows another dispatcher holds locked (FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, String, Table, case, cast, exists, func, literal, select, update

from cis.models import Account, IvrCall, Outbox
from cis.models.notify import PENDING_VOICE
from ivr.alerts import NotAVoiceAlert, call_params
from ivr.logs import get_logger
from ivr.outbound import CallLimitReached, Dialer, DialError, OutboundCall, PlacedCall

log = get_logger(__name__)

OUTBOX: Table = Outbox.__table__  # type: ignore[assignment]
CALLS: Table = IvrCall.__table__  # type: ignore[assignment]
CHANNEL = "voice"
FLOW = "alert"
CLOSURE_TEMPLATE, CLOSURE_FLOW = "complaint.resolved", "closure"  # cis.escalation asks it of callers who prefer calls
MAX_ATTEMPTS = 3
DIAL_RETRY = dt.timedelta(minutes=5)  # the provider refused the call or could not be reached
UNANSWERED_RETRY = dt.timedelta(minutes=10)  # busy, no answer
STUCK_AFTER = dt.timedelta(minutes=30)  # well past a dialer's max_call_s (10 minutes)
ANSWERED = frozenset({"answered", "completed"})
NEEDS_NO_RECORD = frozenset({"console"})  # the console dialer's calls are over before place() returns
UNANSWERED = frozenset({"busy", "no-answer", "failed", "canceled", "congestion"})
REMEMBERED_ENDS = 1024
IST = ZoneInfo("Asia/Kolkata")
CALLS_FROM, CALLS_UNTIL = dt.time(8, 0), dt.time(21, 0)
CLAIM_ROUNDS = 20


@dataclass
class CallStats:
    claimed: int = 0  # rows taken from the queue to call now
    placed: int = 0  # calls the provider accepted
    delivered: int = 0  # calls answered by the time `place()` returned (the console dialer)
    deferred: int = 0  # claimed, but every slot was busy: pending again, no attempt counted
    retried: int = 0  # the provider refused the call: pending again after a pause
    failed: int = 0  # out of attempts, or nothing a call could say
    expired: int = 0  # past their expires_at before they could be called


@dataclass(frozen=True)
class _Claimed:
    id: int
    template: str
    recipient: str
    payload: dict[str, Any]
    attempts: int
    account_no: str | None = None


def flow_and_params(template: str, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The flow a voice row's call runs and the parameters it carries: a resolved complaint's closure question
    (ivr.menus CLOSURE, the complaint's number), else an outage alert (`call_params`). Raises NotAVoiceAlert."""
    if template == CLOSURE_TEMPLATE:
        number = str(payload.get("number") or "")
        if not number.isdigit() or len(number) > 16:
            raise NotAVoiceAlert("a closure call needs the complaint's number")
        return CLOSURE_FLOW, {"number": number}
    return FLOW, call_params(template, payload)


def attempt_ref(row_id: int, attempt: int) -> str:
    """Our reference of one call placed for an outbox row: it comes back on the call record the alert opens."""
    return f"outbox:{row_id}:{attempt}"


def drain_calls(
    engine: Engine,
    dialer: Dialer,
    *,
    now: dt.datetime,
    limit: int | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> CallStats:
    """Place the next due voice alerts, as many as `dialer` has free slots (and at most `limit`).

    Promises: a row is claimed and committed before its call is placed, and placed at most once per claim;
    no more calls are placed than the dialer's limit allows at this moment; a row past `expires_at` is never
    called. A provider that refuses a call ends this drain (it may be down): the rows not yet tried go back
    to the queue as they were.
    """
    stats = CallStats()
    wanted = dialer.limit - dialer.in_flight
    if limit is not None:
        wanted = min(wanted, limit)
    if wanted <= 0:
        return stats
    with engine.begin() as conn:
        claimed = _claim(conn, wanted, now, stats)
    stats.claimed = len(claimed)
    for index, row in enumerate(claimed):
        try:
            flow, params = flow_and_params(row.template, row.payload)
            if row.account_no:
                params["account"] = row.account_no  # the call record names the account the alert was for
            call = OutboundCall(to=row.recipient, call_ref=attempt_ref(row.id, row.attempts), flow=flow, params=params)
        except (NotAVoiceAlert, ValueError) as e:
            _give_up(engine, row.id, f"nothing to call: {e}"[:300], now)
            stats.failed += 1
            continue
        try:
            placed = dialer.place(call)
        except CallLimitReached:
            _unclaim(engine, [c.id for c in claimed[index:]], now)
            stats.deferred += len(claimed) - index
            break
        except DialError as e:
            log.warning("alert call for outbox row %d not placed: %s", row.id, e)
            if _retry(engine, row.id, row.attempts, f"not placed: {e}"[:300], now + DIAL_RETRY, max_attempts, now):
                stats.retried += 1
            else:
                stats.failed += 1
            _unclaim(engine, [c.id for c in claimed[index + 1 :]], now)
            stats.deferred += len(claimed) - index - 1
            break
        except BaseException as e:
            # Whether the provider took the call is not known: never call this row again on a guess.
            _mark_unknown(engine, row.id, f"placing failed: {e!r}"[:300], now)
            _unclaim(engine, [c.id for c in claimed[index + 1 :]], now)
            raise
        stats.placed += 1
        if _bind(engine, dialer.name, row, placed, now, max_attempts) == "delivered":
            stats.delivered += 1
    return stats


def settle_call(
    engine: Engine,
    provider: str,
    provider_id: str,
    outcome: str,
    *,
    now: dt.datetime,
    max_attempts: int = MAX_ATTEMPTS,
) -> str | None:
    """Record how the call `provider_id` ended; its row's new status, or None when no row is waiting for it.

    `outcome`: answered/completed > `delivered` when the alert flow ran (a call record with this attempt's
    reference and no system fault; the console provider needs none); answered without it, or busy, no-answer,
    failed, canceled, congestion > `pending` again after UNANSWERED_RETRY, or `failed` once `max_attempts`
    calls were made. A second report of the same end changes nothing. Raises ValueError for any other outcome.
    """
    if outcome not in ANSWERED | UNANSWERED:
        raise ValueError(f"not a call outcome: {outcome!r}")
    o = OUTBOX.c
    with _ENDS.lock:
        # One UPDATE, no read before it: on SQLite a read-then-write transaction fails at once under a writer.
        with engine.begin() as conn:
            status = _settle(
                conn,
                (o.provider == provider) & (o.provider_id == provider_id) & (o.channel == CHANNEL),
                outcome,
                now,
                max_attempts,
                needs_record=provider not in NEEDS_NO_RECORD,
            )
        if status is None:
            with engine.connect() as conn:
                known = conn.scalar(select(o.id).where(o.provider == provider, o.provider_id == provider_id))
            if known is None:
                # Reported before the dispatcher recorded the call's id (or not a call from the outbox at all).
                _ENDS.remember((provider, provider_id), outcome)
        return status


def settle_stuck_calls(engine: Engine, *, now: dt.datetime, older_than: dt.timedelta = STUCK_AFTER) -> int:
    """Move voice rows claimed more than `older_than` ago and never settled to `unknown`; how many.

    Such a call's end was lost (a dropped AMI link, a lost callback) or its dispatcher died while placing it.
    """
    o = OUTBOX.c
    with engine.begin() as conn:
        result = conn.execute(
            update(OUTBOX)
            .where(o.status == "sending", o.channel == CHANNEL, o.claimed_at <= now - older_than)
            .values(status="unknown", last_error="no end of the call was reported", updated_at=now)
        )
    return int(result.rowcount or 0)


def calls_in_flight(engine: Engine, *, now: dt.datetime, within: dt.timedelta = STUCK_AFTER) -> int:
    """Alert calls placed by any process and not ended yet (voice rows `sending`, claimed within `within`):
    what the trunk's limit is counted against when several processes place calls."""
    o = OUTBOX.c
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count()).where(o.status == "sending", o.channel == CHANNEL, o.claimed_at > now - within)
            )
            or 0
        )


def call_outcome_recorder(
    engine: Engine, provider: str, *, clock: Callable[[], dt.datetime] | None = None
) -> Callable[[str, str], None]:
    """A callback `(provider_id, outcome)` that settles the call's outbox row: for `AmiDialer(on_end=...)` and
    the voice blueprint's `on_call_status=`. Outcomes it does not know are logged and ignored."""
    now = clock or (lambda: dt.datetime.now(dt.UTC))

    def record(provider_id: str, outcome: str) -> None:
        if outcome not in ANSWERED | UNANSWERED:
            log.warning("call %s ended with an outcome not known here: %r", provider_id, outcome)
            return
        settle_call(engine, provider, provider_id, outcome, now=now())

    return record


# --- inside ------------------------------------------------------------------------------------------------


class _EarlyEnds:
    """Ends reported before their row named the call, by (provider, call id); bounded, thread-safe with `lock`."""

    def __init__(self, size: int) -> None:
        self.lock = threading.Lock()
        self._size = size
        self._ends: OrderedDict[tuple[str, str], str] = OrderedDict()

    def remember(self, key: tuple[str, str], outcome: str) -> None:
        self._ends[key] = outcome
        while len(self._ends) > self._size:
            self._ends.popitem(last=False)

    def pop(self, key: tuple[str, str]) -> str | None:
        return self._ends.pop(key, None)


_ENDS = _EarlyEnds(REMEMBERED_ENDS)


def in_calling_hours(now: dt.datetime) -> bool:
    """08:00-21:00 in India: when a call that is not urgent (a planned shutdown's notice) may ring."""
    return CALLS_FROM <= now.astimezone(IST).time() < CALLS_UNTIL


def _urgent_at_night(now: dt.datetime) -> list[Any]:
    # Priority 0 (a breakdown, a restoration) rings day or night; a planned shutdown's notice waits for morning.
    return [] if in_calling_hours(now) else [OUTBOX.c.priority == 0]


def _claim(conn: Connection, wanted: int, now: dt.datetime, stats: CallStats) -> list[_Claimed]:
    """Take up to `wanted` due rows (expiring those past their time on the way), committed by the caller."""
    o = OUTBOX.c
    claimed: list[_Claimed] = []
    for _ in range(CLAIM_ROUNDS):  # each round past the first only makes up for rows that had expired
        if len(claimed) >= wanted:
            break
        due = (
            select(o.id)
            # The partial index's own predicate, written out, so PostgreSQL uses ix_outbox_pending_voice_priority_id.
            .where(PENDING_VOICE, (o.not_before.is_(None)) | (o.not_before <= now), *_urgent_at_night(now))
            .order_by(o.priority, o.id)
            .limit(wanted - len(claimed))
            .with_for_update(skip_locked=True)
        )
        # A CTE, not `id IN (subquery)`: PostgreSQL evaluates it once, so it never claims more than the limit.
        picked = due.cte("picked")
        expired = (o.expires_at.is_not(None)) & (o.expires_at <= now)
        rows = conn.execute(
            update(OUTBOX)
            .where(o.id == picked.c.id, o.status == "pending")
            .values(
                status=case((expired, "expired"), else_="sending"),
                claimed_at=case((expired, None), else_=now),
                attempts=case((expired, o.attempts), else_=o.attempts + 1),
                last_error=case((expired, "expired before it could be called"), else_=o.last_error),
                updated_at=now,
            )
            .returning(o.id, o.status, o.template, o.recipient, o.payload, o.attempts, o.account_id)
        ).all()
        if not rows:
            break
        account_ids = {row.account_id for row in rows if row.account_id is not None and row.status != "expired"}
        numbers = (
            {
                r.id: r.account_no
                for r in conn.execute(select(Account.id, Account.account_no).where(Account.id.in_(account_ids)))
            }
            if account_ids
            else {}
        )
        for row in rows:
            if row.status == "expired":
                stats.expired += 1
            else:
                number = numbers.get(row.account_id) if row.account_id is not None else None
                payload = dict(row.payload or {})
                claimed.append(_Claimed(row.id, row.template, row.recipient, payload, row.attempts, number))
    return sorted(claimed, key=lambda c: c.id)


def _unclaim(engine: Engine, ids: Sequence[int], now: dt.datetime) -> None:
    """Put claimed rows back as they were: no call was tried, so no attempt counts."""
    if not ids:
        return
    o = OUTBOX.c
    with engine.begin() as conn:
        conn.execute(
            update(OUTBOX)
            .where(o.id.in_(ids), o.status == "sending")
            .values(status="pending", attempts=o.attempts - 1, claimed_at=None, updated_at=now)
        )


def _retry(
    engine: Engine,
    row_id: int,
    attempts: int,
    error: str,
    not_before: dt.datetime,
    max_attempts: int,
    now: dt.datetime,
) -> bool:
    """Back to the queue after a pause, or failed when out of attempts; True when it will be tried again."""
    again = attempts < max_attempts
    o = OUTBOX.c
    values: dict[str, Any] = {"last_error": error, "updated_at": now}
    values |= {"status": "pending", "not_before": not_before, "claimed_at": None} if again else {"status": "failed"}
    with engine.begin() as conn:
        conn.execute(update(OUTBOX).where(o.id == row_id, o.status == "sending").values(**values))
    return again


def _give_up(engine: Engine, row_id: int, error: str, now: dt.datetime) -> None:
    o = OUTBOX.c
    with engine.begin() as conn:
        conn.execute(
            update(OUTBOX)
            .where(o.id == row_id, o.status == "sending")
            .values(status="failed", attempts=o.attempts - 1, last_error=error, updated_at=now)
        )


def _mark_unknown(engine: Engine, row_id: int, error: str, now: dt.datetime) -> None:
    o = OUTBOX.c
    with engine.begin() as conn:
        conn.execute(
            update(OUTBOX)
            .where(o.id == row_id, o.status == "sending")
            .values(status="unknown", last_error=error, updated_at=now)
        )


def _bind(engine: Engine, provider: str, row: _Claimed, placed: PlacedCall, now: dt.datetime, max_attempts: int) -> str:
    """Name the call on its row; settle it at once when its end is already known. The row's status."""
    o = OUTBOX.c
    with _ENDS.lock, engine.begin() as conn:
        conn.execute(
            update(OUTBOX)
            .where(o.id == row.id, o.status == "sending")
            .values(provider=provider, provider_id=placed.provider_id, sent_at=now, updated_at=now)
        )
        outcome = _ENDS.pop((provider, placed.provider_id))
        if outcome is None and placed.status in ANSWERED | UNANSWERED:
            outcome = placed.status
        if outcome is None:
            return "sending"
        needs_record = provider not in NEEDS_NO_RECORD
        return _settle(conn, o.id == row.id, outcome, now, max_attempts, needs_record=needs_record) or "sending"


def _settle(
    conn: Connection, which: Any, outcome: str, now: dt.datetime, max_attempts: int, *, needs_record: bool = True
) -> str | None:
    """Settle the row `which` selects if it waits for its call's end; its new status, or None.

    An answered call is delivered only when its alert flow ran (see `settle_call`); that is read inside the
    same UPDATE, so on SQLite it takes no read-then-write transaction."""
    o = OUTBOX.c
    values: dict[str, Any]
    again = o.attempts < max_attempts
    if outcome in ANSWERED and needs_record:
        c = CALLS.c
        ref = literal("outbox:") + cast(o.id, String) + literal(":") + cast(o.attempts, String)
        ran = exists().where(c.outbound_ref == ref, c.fault.is_(None))
        unheard = "answered, but the alert never played (no call record of its flow: was FastAGI down?)"
        values = {
            "status": case((ran, "delivered"), (again, "pending"), else_="failed"),
            "delivered_at": case((ran, now), else_=o.delivered_at),
            "not_before": case((ran, o.not_before), (again, now + UNANSWERED_RETRY), else_=o.not_before),
            "claimed_at": case((ran, o.claimed_at), (again, None), else_=o.claimed_at),
            "last_error": case((ran, None), (again, unheard), else_=f"{unheard}, the last of {max_attempts} tries"),
        }
    elif outcome in ANSWERED:
        values = {"status": "delivered", "delivered_at": now, "last_error": None}
    else:
        values = {
            "status": case((again, "pending"), else_="failed"),
            "not_before": case((again, now + UNANSWERED_RETRY), else_=o.not_before),
            "claimed_at": case((again, None), else_=o.claimed_at),
            "last_error": case((again, f"call {outcome}"), else_=f"call {outcome}, the last of {max_attempts} tries"),
        }
    row = conn.execute(
        update(OUTBOX)
        .where(which, o.status.in_(("sending", "unknown")))
        .values(**values, updated_at=now)
        .returning(o.status)
    ).first()
    return None if row is None else str(row.status)
