"""The outbox dispatcher: claims SMS rows in batches, renders them, sends them through a provider, records the outcome.

At most once: a batch is claimed (status `sending`) and committed before anything leaves. A dispatcher that
dies while the provider holds a batch leaves those rows in `sending`; the next claim never takes them, and
`settle_stuck` later moves them to `unknown`, where only a delivery receipt (which names our ref) settles
them. Nothing is ever sent a second time on a guess.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, bindparam, or_, select, text, tuple_, update

from cis.logs import get_logger
from cis.models import Account, Outbox, SmsOptOut
from cis.preferences import ALERT_KINDS, alert_kind
from sms.providers import (
    OutgoingSms,
    ProviderOutcomeUnknown,
    ProviderUnavailable,
    SendResult,
    SmsProvider,
)
from sms.ratelimit import TokenBucket, take_tokens
from sms.service import cycle_text, date_text, kwh_text, moment_text, rupees
from sms.templates import DEVELOPMENT_ENTITY_ID, RenderedSms, SmsError, SmsTemplate, TemplateMismatch, render

IST = ZoneInfo("Asia/Kolkata")
CHANNEL = "sms"
DAY_STARTS = dt.time(8, 0)  # TRAI: no non-urgent messages outside 08:00-21:00 IST
DAY_ENDS = dt.time(21, 0)
REWIND_S = 5.0  # how often a long drain looks at the head of the queue again, for urgent rows queued since

log = get_logger(__name__)


@dataclass(frozen=True)
class DispatchConfig:
    batch_size: int = 500
    max_attempts: int = 5  # a row refused for now this often is failed for good
    backoff_s: float = 30.0  # the first retry waits this long, then doubles...
    backoff_max_s: float = 3600.0  # ...up to this
    entity_id: str = DEVELOPMENT_ENTITY_ID
    allowed_urls: tuple[str, ...] = ()
    allowed_numbers: tuple[str, ...] = ()
    defaults: Mapping[str, str] = field(default_factory=dict)  # variables a payload may leave out (portal_url)


@dataclass
class DispatchStats:
    batches: int = 0
    claimed: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    retried: int = 0
    unknown: int = 0
    expired: int = 0
    opted_out: int = 0
    watermark: tuple[int, int] | None = field(default=None, compare=False)

    def add(self, other: DispatchStats) -> None:
        for name in self._counts():
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self._counts()}

    def _counts(self) -> list[str]:
        return [name for name in self.__dataclass_fields__ if name != "watermark"]


def in_sending_hours(now: dt.datetime) -> bool:
    """True between 08:00 and 21:00 in India, when reminders and other non-urgent messages may go."""
    local = now.astimezone(IST).time()
    return DAY_STARTS <= local < DAY_ENDS


def backoff(attempts: int, config: DispatchConfig) -> dt.timedelta:
    return dt.timedelta(seconds=min(config.backoff_max_s, config.backoff_s * 2 ** max(0, attempts - 1)))


# --- payload to template variables ------------------------------------------------------------------------

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_CYCLE = re.compile(r"\d{4}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_RENAMED = {"account_no": "account", "due_date": "due"}


def variables_for(
    template: SmsTemplate, payload: Mapping[str, Any], defaults: Mapping[str, str] | None = None
) -> dict[str, str | int]:
    """The template's variables from an outbox payload, as SMS shows them.

    Payloads hold CIS values (`account_no`, `amount_paise`, ISO dates and times, `cycle` as YYYY-MM) or
    values already written for the reader; only the names the template uses are kept.
    """
    wanted = template.variables
    out: dict[str, str | int] = {}
    for key, value in payload.items():
        name, shown = _shown(key, value)
        if name in wanted:
            out[name] = shown
    for name, value in (defaults or {}).items():
        if name in wanted and name not in out:
            out[name] = value
    return out


def _shown(key: str, value: Any) -> tuple[str, str | int]:
    name = _RENAMED.get(key, key)
    if key.endswith("_paise") and isinstance(value, int):
        return key.removesuffix("_paise"), rupees(value)
    if isinstance(value, bool):
        return name, "yes" if value else "no"
    if isinstance(value, int):
        return name, kwh_text(value) if name in ("units", "reading", "kwh") else value
    if isinstance(value, str):
        if key == "cycle" and _ISO_CYCLE.fullmatch(value):
            return name, cycle_text(value)
        if _ISO_DATE.fullmatch(value):
            return name, date_text(dt.date.fromisoformat(value))
        if _ISO_MOMENT.match(value):
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                return name, value
            return name, moment_text(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
        return name, value
    return name, str(value)


# --- one batch ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: int
    template: str
    recipient: str
    account_id: int | None
    payload: Mapping[str, Any]
    expires_at: dt.datetime | None
    attempts: int
    priority: int
    created_at: dt.datetime


def dispatch_batch(
    engine: Engine,
    provider: SmsProvider,
    *,
    templates: Mapping[str, SmsTemplate],
    bucket: TokenBucket | None,
    now: dt.datetime,
    config: DispatchConfig,
    sleep: Callable[[float], None] = time.sleep,
    after: tuple[int, int] | None = None,
) -> DispatchStats | None:
    """Claim, render, send and record one batch; None when nothing is due now.

    `after` is a (priority, id) watermark: only rows queued behind it are claimed. A drain passes the last
    one it claimed, so it never walks again over the index entries its own claims left behind.
    """
    stats = DispatchStats()
    limit = min(config.batch_size, provider.max_batch)
    if bucket is not None:
        # Tokens first, then claim only as many rows: a claimed row never waits for the rate limit, so it
        # cannot outlive STUCK_AFTER in `sending` or cross into the quiet hours while waiting.
        limit = take_tokens(bucket, limit, sleep=sleep)
    urgent = sorted(key for key, t in templates.items() if t.urgent)
    with engine.begin() as conn:
        claimed = _claim(conn, limit=limit, now=now, urgent=urgent, daytime=in_sending_hours(now), after=after)
        if not claimed:
            return None
        stats.batches, stats.claimed = 1, len(claimed)
        stats.watermark = max((c.priority, c.id) for c in claimed)
        outgoing, settled = _prepare(conn, claimed, templates=templates, now=now, config=config)
        for status, rows in settled.items():
            _settle(conn, status, rows, now)
        stats.expired = len(settled.get("expired", ()))
        stats.opted_out = len(settled.get("cancelled", ()))
        stats.failed = len(settled.get("failed", ()))
    # The claim is committed: from here on a crash leaves the rows in `sending`, never pending again.
    if not outgoing:
        return stats
    messages = list(outgoing.values())
    attempts = {c.id: c.attempts for c in claimed}
    try:
        results = provider.send_batch(messages)
    except ProviderUnavailable as e:
        log.warning("sms provider %s took none of %d messages: %s", provider.name, len(messages), e)
        results = [SendResult(m.ref, "retry", None, str(e)) for m in messages]
    except ProviderOutcomeUnknown as e:
        log.error("sms provider %s: outcome of %d messages unknown: %s", provider.name, len(messages), e)
        results = [SendResult(m.ref, "unknown", None, str(e)) for m in messages]
    with engine.begin() as conn:
        _record(conn, provider.name, results, outgoing, attempts, now=now, config=config, stats=stats)
    return stats


def _claim(
    conn: Connection,
    *,
    limit: int,
    now: dt.datetime,
    urgent: Sequence[str],
    daytime: bool,
    after: tuple[int, int] | None,
) -> list[_Claimed]:
    o = Outbox.__table__.c
    due = (
        select(o.id)
        .where(o.status == "pending", o.channel == CHANNEL, (o.not_before.is_(None)) | (o.not_before <= now))
        .order_by(o.priority, o.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if after is not None:
        due = due.where(tuple_(o.priority, o.id) > tuple_(*after))
    if not daytime:
        due = due.where(o.template.in_(urgent))
    # A CTE, not `id IN (subquery)`: PostgreSQL may run such a subquery more than once and so claim more
    # than `limit` rows; a CTE is evaluated exactly once.
    picked = due.cte("picked")
    stmt = (
        update(Outbox.__table__)
        .where(o.id == picked.c.id, o.status == "pending")
        .values(status="sending", claimed_at=now, updated_at=now, attempts=o.attempts + 1)
        .returning(
            o.id, o.template, o.recipient, o.account_id, o.payload, o.expires_at, o.attempts, o.priority, o.created_at
        )
    )
    rows = conn.execute(stmt).all()
    return sorted((_Claimed(*row) for row in rows), key=lambda c: c.id)


def _prepare(
    conn: Connection,
    claimed: Sequence[_Claimed],
    *,
    templates: Mapping[str, SmsTemplate],
    now: dt.datetime,
    config: DispatchConfig,
) -> tuple[dict[str, OutgoingSms], dict[str, list[tuple[int, str | None]]]]:
    stopped, quiet_accounts, switched_off = _opted_out(
        conn, {c.recipient for c in claimed}, {c.account_id for c in claimed}
    )
    rendered_before: dict[tuple[str, frozenset[tuple[str, str | int]]], RenderedSms] = {}
    outgoing: dict[str, OutgoingSms] = {}
    settled: dict[str, list[tuple[int, str | None]]] = {}
    for c in claimed:
        template = templates.get(c.template)
        if template is None:
            settled.setdefault("failed", []).append((c.id, f"no template {c.template!r}"))
            continue
        # A message is good until the row's own expiry or its template's validity from when it was queued,
        # whichever comes first: held overnight or retried, it does not get a fresh lease on life.
        deadlines = [_aware(c.expires_at)] if c.expires_at is not None else []
        if template.validity is not None:
            deadlines.append(_aware(c.created_at) + template.validity)
        expires = min(deadlines, default=None)
        if expires is not None and expires <= now:
            settled.setdefault("expired", []).append((c.id, "validity ran out before it could be sent"))
            continue
        if not template.opt_out_exempt and (c.recipient in stopped or c.account_id in quiet_accounts):
            settled.setdefault("cancelled", []).append((c.id, "opted out"))
            continue
        kind = alert_kind(c.template)
        if kind is not None and c.account_id is not None and kind in switched_off.get(c.account_id, ()):
            settled.setdefault("cancelled", []).append((c.id, f"{kind} alerts switched off"))
            continue
        variables = variables_for(template, c.payload, config.defaults)
        key = (template.key, frozenset(variables.items()))
        rendered = rendered_before.get(key)  # an alert fan-out renders one text for thousands of rows
        if rendered is None:
            try:
                rendered = render(
                    template,
                    variables,
                    allowed_urls=config.allowed_urls,
                    allowed_numbers=config.allowed_numbers,
                    entity_id=config.entity_id,
                    now=now,
                )
            except (TemplateMismatch, SmsError, ValueError) as e:
                settled.setdefault("failed", []).append((c.id, f"not sent: {e}"[:300]))
                continue
            rendered_before[key] = rendered
        outgoing[str(c.id)] = OutgoingSms.rendered(str(c.id), c.recipient, rendered, expires)
    return outgoing, settled


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC


def _opted_out(
    conn: Connection, recipients: set[str], account_ids: set[int | None]
) -> tuple[set[str], set[int], dict[int, set[str]]]:
    """(mobiles that sent STOP, accounts marked no-SMS, the alert kinds each account switched off on the portal)
    among a batch's recipients: what was queued before a switch went off is held back too."""
    ids = [i for i in account_ids if i is not None]
    if conn.dialect.name == "postgresql":  # one array parameter rather than a thousand
        stopped = set(
            conn.execute(text("SELECT e164 FROM sms_opt_out WHERE e164 = ANY(:m)"), {"m": list(recipients)}).scalars()
        )
        accounts = conn.execute(
            text(
                "SELECT id, sms_opt_out, alert_outage, alert_roster, alert_bill FROM account WHERE id = ANY(:i) "
                "AND (sms_opt_out OR NOT alert_outage OR NOT alert_roster OR NOT alert_bill)"
            ),
            {"i": ids},
        ).all()
    else:
        a = Account
        stopped = set(conn.scalars(select(SmsOptOut.e164).where(SmsOptOut.e164.in_(recipients))))
        accounts = conn.execute(
            select(a.id, a.sms_opt_out, a.alert_outage, a.alert_roster, a.alert_bill).where(
                a.id.in_(ids),
                or_(a.sms_opt_out, ~a.alert_outage, ~a.alert_roster, ~a.alert_bill),
            )
        ).all()
    quiet = {int(r.id) for r in accounts if r.sms_opt_out}
    switched_off: dict[int, set[str]] = {}
    for r in accounts:
        switches = (r.alert_outage, r.alert_roster, r.alert_bill)
        off = {kind for kind, on in zip(ALERT_KINDS, switches, strict=True) if not on}
        if off:
            switched_off[int(r.id)] = off
    return stopped, quiet, switched_off


def _settle(conn: Connection, status: str, rows: Iterable[tuple[int, str | None]], now: dt.datetime) -> None:
    params = [{"row_id": row_id, "error": error} for row_id, error in rows]
    if params:
        o = Outbox.__table__.c
        conn.execute(
            update(Outbox.__table__)
            .where(o.id == bindparam("row_id"), o.status == "sending")
            .values(status=status, last_error=bindparam("error"), updated_at=now),
            params,
        )
        _redact_otps(conn, o.id.in_([p["row_id"] for p in params]))


REDACTED = {"otp": "redacted"}


def _redact_otps(conn: Connection, where: Any) -> None:
    """A one-time password, or a complaint's closure code, has no business staying in the outbox once it left, or
    never will."""
    o = Outbox.__table__.c
    secret = o.template.like("otp.%") | (o.template == "complaint.resolved")
    conn.execute(update(Outbox.__table__).where(where, secret).values(payload=REDACTED))


def _record(
    conn: Connection,
    provider: str,
    results: Sequence[SendResult],
    outgoing: Mapping[str, OutgoingSms],
    attempts: Mapping[int, int],
    *,
    now: dt.datetime,
    config: DispatchConfig,
    stats: DispatchStats,
) -> None:
    sent: list[dict[str, Any]] = []
    retry: list[dict[str, Any]] = []
    other: dict[str, list[tuple[int, str | None]]] = {}
    for result in results:
        message = outgoing.get(result.ref)
        if message is None:
            continue
        row_id = int(result.ref)
        if result.outcome in ("accepted", "delivered"):
            sent.append(
                {
                    "row_id": row_id,
                    "status": "sent" if result.outcome == "accepted" else "delivered",
                    "pid": result.provider_id,
                    "segments": message.segments,
                    "delivered_at": now if result.outcome == "delivered" else None,
                }
            )
        elif result.outcome == "retry" and attempts.get(row_id, 0) < config.max_attempts:
            retry.append(
                {
                    "row_id": row_id,
                    "error": result.error,
                    "not_before": now + backoff(attempts.get(row_id, 1), config),
                }
            )
        elif result.outcome == "unknown":
            other.setdefault("unknown", []).append((row_id, result.error))
        else:
            other.setdefault("failed", []).append((row_id, result.error or "refused by the provider"))
    stats.sent += sum(1 for r in sent if r["status"] == "sent")
    stats.delivered += sum(1 for r in sent if r["status"] == "delivered")
    stats.retried += len(retry)
    stats.unknown += len(other.get("unknown", ()))
    stats.failed += len(other.get("failed", ()))
    _mark_sent(conn, provider, sent, now)
    if retry:
        o = Outbox.__table__.c
        conn.execute(
            update(Outbox.__table__)
            .where(o.id == bindparam("row_id"), o.status == "sending")
            .values(
                status="pending", last_error=bindparam("error"), not_before=bindparam("not_before"), updated_at=now
            ),
            retry,
        )
    for status, rows in other.items():
        _settle(conn, status, rows, now)
    secret = [
        int(r.ref)
        for r in results
        if r.ref in outgoing
        and (outgoing[r.ref].template_key.startswith("otp.") or outgoing[r.ref].template_key == "complaint.resolved")
        and (r.outcome != "retry" or attempts.get(int(r.ref), 0) >= config.max_attempts)
    ]
    if secret:
        _redact_otps(conn, Outbox.__table__.c.id.in_(secret))


def _mark_sent(conn: Connection, provider: str, rows: Sequence[Mapping[str, Any]], now: dt.datetime) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # One statement for the whole batch: a million messages are a thousand of these, not a million UPDATEs.
        conn.execute(
            text(
                "UPDATE outbox AS o SET status = v.status, provider = :provider, provider_id = v.pid,"
                " segments = v.segments, sent_at = :now, delivered_at = v.delivered_at, updated_at = :now"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:pids AS text[]),"
                " CAST(:segments AS smallint[]), CAST(:delivered AS timestamptz[]))"
                " AS v(id, status, pid, segments, delivered_at)"
                " WHERE o.id = v.id AND o.status = 'sending'"
            ),
            {
                "provider": provider,
                "now": now,
                "ids": [r["row_id"] for r in rows],
                "statuses": [r["status"] for r in rows],
                "pids": [r["pid"] for r in rows],
                "segments": [r["segments"] for r in rows],
                "delivered": [r["delivered_at"] for r in rows],
            },
        )
        return
    o = Outbox.__table__.c
    conn.execute(
        update(Outbox.__table__)
        .where(o.id == bindparam("row_id"), o.status == "sending")
        .values(
            status=bindparam("status"),
            provider=provider,
            provider_id=bindparam("pid"),
            segments=bindparam("segments"),
            sent_at=now,
            delivered_at=bindparam("delivered_at"),
            updated_at=now,
        ),
        list(rows),
    )


# --- draining, settling, receipts -------------------------------------------------------------------------


def drain(
    engine: Engine,
    provider: SmsProvider,
    *,
    templates: Mapping[str, SmsTemplate],
    bucket: TokenBucket | None,
    config: DispatchConfig,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    budget_s: float | None = None,
    max_batches: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DispatchStats:
    """Send batches until nothing is due, `budget_s` seconds have passed or `max_batches` were sent."""
    total = DispatchStats()
    started = time.monotonic()
    after: tuple[int, int] | None = None
    rewound = started
    while max_batches is None or total.batches < max_batches:
        if after is not None and time.monotonic() - rewound >= REWIND_S:
            after = None  # look at the head of the queue again: an urgent row may have arrived
        if after is None:
            rewound = time.monotonic()
        stats = dispatch_batch(
            engine, provider, templates=templates, bucket=bucket, now=clock(), config=config, sleep=sleep, after=after
        )
        if stats is None:
            if after is None:
                break
            after = None  # nothing behind the watermark: once more from the head (retries, late rows)
            continue
        total.add(stats)
        after = stats.watermark
        if budget_s is not None and time.monotonic() - started >= budget_s:
            break
    return total


STUCK_AFTER = dt.timedelta(minutes=10)  # far longer than a batch can take (HTTP timeouts are 30 s)
NO_RECEIPT_AFTER = dt.timedelta(days=3)


def settle_stuck(
    engine: Engine,
    *,
    now: dt.datetime,
    stuck_after: dt.timedelta = STUCK_AFTER,
    give_up_after: dt.timedelta = NO_RECEIPT_AFTER,
) -> tuple[int, int]:
    """Rows a dead dispatcher left in `sending` become `unknown` (not resent); `unknown` rows with no receipt
    for days become `failed`. Returns (made unknown, failed)."""
    o = Outbox.__table__.c
    with engine.begin() as conn:
        _redact_otps(conn, (o.status == "sending") & (o.channel == CHANNEL) & (o.claimed_at < now - stuck_after))
        stuck = conn.execute(
            update(Outbox.__table__)
            .where(o.status == "sending", o.channel == CHANNEL, o.claimed_at < now - stuck_after)
            .values(
                status="unknown",
                updated_at=now,
                last_error="the dispatcher stopped while the provider held this message: not resent",
            )
        ).rowcount
        lost = conn.execute(
            update(Outbox.__table__)
            .where(o.status == "unknown", o.channel == CHANNEL, o.claimed_at < now - give_up_after)
            .values(status="failed", updated_at=now, last_error="no delivery receipt came")
        ).rowcount
    if stuck:
        log.warning("%d SMS left in sending by a stopped dispatcher are now unknown", stuck)
    return stuck, lost


@dataclass(frozen=True)
class Receipt:
    """A provider's delivery report: our ref when it carries one, else the provider's id."""

    status: str  # delivered, failed, or an intermediate state (queued, sent, accepted...)
    ref: str | None = None
    provider_id: str | None = None
    error: str | None = None


_FINAL_FAILED = frozenset({"failed", "undelivered", "rejected", "expired", "canceled", "cancelled"})


def record_receipts(engine: Engine, provider: str, receipts: Collection[Receipt], *, now: dt.datetime) -> int:
    """Move rows to delivered or failed from delivery receipts; the rows changed. Replays change nothing.

    An intermediate report ("sent", "queued") on a row in `unknown` proves the provider has it: `sent`.
    A delivered or failed row is never moved back.
    """
    changed = 0
    o = Outbox.__table__.c
    with engine.begin() as conn:
        for receipt in receipts:
            if receipt.ref is not None and receipt.ref.isascii() and receipt.ref.isdigit() and len(receipt.ref) <= 18:
                where = o.id == int(receipt.ref)
            elif receipt.provider_id:
                where = (o.provider == provider) & (o.provider_id == receipt.provider_id)
            else:
                continue
            # A `pending` row was sent at least once when a receipt names it (a retry after an answer that got
            # lost): the receipt settles it, and the retry never happens.
            if receipt.status == "delivered":
                values: dict[str, Any] = {"status": "delivered", "delivered_at": now, "last_error": None}
                open_states: tuple[str, ...] = ("pending", "sending", "sent", "unknown")
            elif receipt.status in _FINAL_FAILED:
                values = {"status": "failed", "last_error": (receipt.error or receipt.status)[:300]}
                open_states = ("pending", "sending", "sent", "unknown")
            else:
                values = {"status": "sent"}
                open_states = ("unknown",)
            values.update(updated_at=now, provider=provider)
            if receipt.provider_id:
                values["provider_id"] = receipt.provider_id[:64]
            result = conn.execute(
                update(Outbox.__table__).where(where, o.channel == CHANNEL, o.status.in_(open_states)).values(**values)
            )
            changed += result.rowcount
    return changed
