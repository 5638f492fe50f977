"""Posting what a gateway says was paid, exactly once, and undoing it when the money goes back.

A gateway tells us of a payment at least once, perhaps many times, perhaps out of order (a "failed" for an earlier
attempt after the "paid"). The payment's gateway id is a unique key: the INSERT that would post it a second time
does nothing, so retries, replays and two workers at once post it once, and everything a posting owes (the bill's
status, the intent closed, the receipt SMS, the audit row) is written in that same transaction or not at all.

The amount is checked against what is owed: less is posted as a part payment, more leaves an advance. It pays the
oldest dues first: the bill's arrears and surcharge, then its current charges. A bill paid in full has nothing
carried to the next run, so no late payment surcharge is charged on it.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from cis import audit, notify
from cis.db import UnitOfWork, insert_ignore
from cis.errors import UnknownPaymentLink
from cis.models import Account, AuditLog, Bill, GatewayEvent, Outbox, Payment, PaymentIntent
from cis.numbers import receipt_no_for_id
from cis.payments.intents import Due, account_due, normalise_token

RECEIPT_TEMPLATE = "payment.receipt"
_IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")
REVERSED_TEMPLATE = "payment.reversed"


@dataclass(frozen=True)
class GatewayPayment:
    """A captured payment as a gateway reports it."""

    gateway: str
    payment_ref: str  # the gateway's payment id (Razorpay: pay_...)
    reference: str | None  # our intent's token, as the link's reference_id or the UPI intent's tr
    link_id: str | None  # the gateway's link id (plink_...), when it names one
    amount_paise: int
    method: str | None
    paid_at: dt.datetime
    instrument_no: str | None = None  # a cheque's or DD's number (the counter)
    instrument_bank: str | None = None
    collected_by: int | None = None  # the cashier's staff id (the counter)


@dataclass(frozen=True)
class Allocation:
    arrears_paise: int
    current_paise: int
    advance_paise: int


@dataclass(frozen=True)
class Posted:
    receipt_no: str
    account_no: str
    amount_paise: int
    paid_at: dt.datetime
    kind: str  # full | partial | advance
    allocation: Allocation
    duplicate: bool  # True: this payment was posted before; nothing was written now


def allocate(amount: int, due: Due) -> Allocation:
    """Oldest dues first: the bill's arrears and surcharge still unpaid, then its current charges, then advance."""
    arrears_left = max(0, due.arrears_paise - due.paid_paise)
    current_left = max(0, due.outstanding_paise - arrears_left)
    to_arrears = min(amount, arrears_left)
    to_current = min(amount - to_arrears, current_left)
    return Allocation(to_arrears, to_current, amount - to_arrears - to_current)


def post_gateway_payment(
    uow: UnitOfWork,
    paid: GatewayPayment,
    *,
    now: dt.datetime | None = None,
    event: tuple[str, str] | None = None,
) -> Posted:
    """Post `paid` against its intent once, whatever the retries; returns what was (or had been) posted.

    `event` (the gateway's event id and kind) is recorded in the same transaction, first: a delivery of an event
    already acted on writes nothing and comes back `duplicate` (with `receipt_no` empty if that event posted
    nothing). Raises UnknownPaymentLink when neither its reference nor its link id is one of our intents (the
    event is then kept by the caller for reconciliation).

    One transaction of at most nine statements, written at the level of the tables: a gateway's busiest hour
    arrives here (docs/benchmarks.md, payments)."""
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        conn = session.connection()
        sql = _statements(conn.dialect.name)
        if event is not None:
            fresh = conn.execute(
                sql.event,
                {"g": paid.gateway, "e": event[0], "k": event[1][:40], "o": "posted", "r": paid.payment_ref, "at": at},
            ).scalar()
            if fresh is None:
                session.rollback()
                return _already_posted(session, paid.payment_ref, event_seen=True)
        token = normalise_token(paid.reference) if paid.reference else None
        intent = conn.execute(sql.intent, {"token": token, "link": paid.link_id or None}).first()
        if intent is None:
            session.rollback()
            raise UnknownPaymentLink(paid.reference or paid.link_id or "")
        due = account_due(conn, intent.account_id)
        inserted = conn.execute(
            sql.payment,
            {
                "account_id": intent.account_id,
                "bill_id": due.bill_id,
                "amount": paid.amount_paise,
                "channel": intent.channel,
                "gateway": paid.gateway,
                "ref": paid.payment_ref,
                "paid_at": paid.paid_at,
                "at": at,
                "intent_id": intent.id,
                "method": paid.method,
                "instrument_no": paid.instrument_no,
                "instrument_bank": paid.instrument_bank,
                "collected_by": paid.collected_by,
            },
        ).scalar()
        if inserted is None:
            # Another event of the same payment (payment.captured, then payment_link.paid) posted it already.
            if event is not None:
                conn.execute(sql.event_outcome, {"g": paid.gateway, "e": event[0], "o": "already_posted"})
                session.commit()
            else:
                session.rollback()
            return _already_posted(session, paid.payment_ref)
        payment_id = int(inserted)
        allocation = allocate(paid.amount_paise, due)
        kind = (
            "advance"
            if due.outstanding_paise <= 0
            else "partial"
            if paid.amount_paise < due.outstanding_paise
            else "full"
        )
        if due.bill_id is not None and allocation.arrears_paise + allocation.current_paise > 0:
            settled = due.paid_paise + paid.amount_paise >= due.bill_amount_paise
            conn.execute(sql.bill, {"bill": due.bill_id, "status": "paid" if settled else "part_paid"})
        # A late or repeated event never moves an intent backwards: only an open (or lapsed) one becomes paid.
        conn.execute(sql.close_intent, {"intent": intent.id, "paid_at": paid.paid_at})
        receipt = receipt_no_for_id(payment_id)
        detail = {
            "account_no": intent.account_no,
            "amount_paise": paid.amount_paise,
            "gateway_ref": paid.payment_ref,
            "intent": intent.token,
            "kind": kind,
            "to_arrears_paise": allocation.arrears_paise,
            "to_current_paise": allocation.current_paise,
            "advance_paise": allocation.advance_paise,
        }
        conn.execute(sql.audit, {"at": at, "actor": f"gateway:{paid.gateway}", "receipt": receipt, "detail": detail})
        mobile = intent.mobile or next(iter(notify.account_mobiles(session, intent.account_id)), None)
        if mobile is not None:
            payload = {
                "account_no": intent.account_no,
                "amount_paise": paid.amount_paise,
                "date": paid.paid_at.astimezone(_IST).date().isoformat(),
                "receipt": receipt,
            }
            conn.execute(
                sql.receipt_sms,
                {
                    "to": mobile,
                    "account_id": intent.account_id,
                    "payload": payload,
                    "key": f"{RECEIPT_TEMPLATE}:{receipt}",
                    "at": at,
                },
            )
        uow.commit()
        return Posted(receipt, intent.account_no, paid.amount_paise, paid.paid_at, kind, allocation, False)


@dataclass(frozen=True)
class _Statements:
    """The posting's statements, built once per dialect with named parameters: SQLAlchemy then neither builds nor
    compiles them again for each webhook (a third of its time when they were built per call)."""

    event: Any
    event_outcome: Any
    intent: Any
    payment: Any
    bill: Any
    close_intent: Any
    audit: Any
    receipt_sms: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    intent = (
        select(
            PaymentIntent.id,
            PaymentIntent.token,
            PaymentIntent.channel,
            PaymentIntent.mobile,
            Account.id.label("account_id"),
            Account.account_no,
        )
        .join(Account, Account.id == PaymentIntent.account_id)
        .where(or_(PaymentIntent.token == bindparam("token"), PaymentIntent.gateway_link_id == bindparam("link")))
        .limit(1)
    )
    if dialect == "postgresql":
        # One posting at a time per account (two payments at once must not both read the same dues).
        intent = intent.with_for_update(of=Account.__table__)
    events = GatewayEvent.__table__
    return _Statements(
        event=insert_ignore(dialect, events, ["gateway", "event_id"])
        .values(
            gateway=bindparam("g"),
            event_id=bindparam("e"),
            kind=bindparam("k"),
            outcome=bindparam("o"),
            payment_ref=bindparam("r"),
            received_at=bindparam("at"),
        )
        .returning(events.c.id),
        event_outcome=update(events)
        .where(events.c.gateway == bindparam("g"), events.c.event_id == bindparam("e"))
        .values(outcome=bindparam("o")),
        intent=intent,
        payment=insert_ignore(dialect, Payment.__table__, ["gateway_ref"])
        .values(
            account_id=bindparam("account_id"),
            bill_id=bindparam("bill_id"),
            amount_paise=bindparam("amount"),
            channel=bindparam("channel"),
            gateway=bindparam("gateway"),
            gateway_ref=bindparam("ref"),
            status="success",
            paid_at=bindparam("paid_at"),
            created_at=bindparam("at"),
            intent_id=bindparam("intent_id"),
            method=bindparam("method"),
            instrument_no=bindparam("instrument_no"),
            instrument_bank=bindparam("instrument_bank"),
            collected_by=bindparam("collected_by"),
        )
        .returning(Payment.__table__.c.id),
        bill=update(Bill.__table__)
        .where(Bill.id == bindparam("bill"), Bill.status.in_(("issued", "part_paid")))
        .values(status=bindparam("status")),
        close_intent=update(PaymentIntent.__table__)
        .where(PaymentIntent.id == bindparam("intent"), PaymentIntent.status.in_(("open", "expired")))
        .values(status="paid", paid_at=bindparam("paid_at")),
        audit=insert(AuditLog.__table__).values(
            at=bindparam("at"),
            actor=bindparam("actor"),
            action="payment.posted",
            entity="payment",
            entity_id=bindparam("receipt"),
            detail=bindparam("detail"),
        ),
        receipt_sms=insert_ignore(dialect, Outbox.__table__, ["dedupe_key"]).values(
            channel="sms",
            template=RECEIPT_TEMPLATE,
            recipient=bindparam("to"),
            account_id=bindparam("account_id"),
            payload=bindparam("payload"),
            dedupe_key=bindparam("key"),
            status="pending",
            priority=1,
            attempts=0,
            created_at=bindparam("at"),
            updated_at=bindparam("at"),
        ),
    )


def record_failed_attempt(uow: UnitOfWork, reference: str | None, link_id: str | None, reason: str) -> bool:
    """A payer's attempt failed: counted on the intent while it is open (a paid one is never touched). True when
    an open intent took note."""
    with uow:
        session = uow.session
        changed = session.execute(
            update(PaymentIntent)
            .where(_names_intent(reference, link_id), PaymentIntent.status == "open")
            .values(failed_attempts=PaymentIntent.failed_attempts + 1, last_failure=reason[:200])
        ).rowcount
        uow.commit()
        return bool(changed)


def reverse_payment(
    uow: UnitOfWork,
    payment_ref: str,
    *,
    reason: str,
    actor: str,
    status: str = "refunded",
    now: dt.datetime | None = None,
) -> str | None:
    """The money went back (a refund, a chargeback, a bounced cheque): the payment stops counting, the bill is
    unpaid again as far as it is, an audit row and an SMS say so. Once: a payment already reversed is left as it
    is. Returns the receipt number reversed, or None when there was nothing to reverse."""
    at = now or audit.utcnow()
    with uow:
        session = uow.session
        row = session.execute(
            select(Payment.id, Payment.account_id, Payment.amount_paise, Payment.bill_id, Payment.intent_id).where(
                Payment.gateway_ref == payment_ref
            )
        ).first()
        if row is None:
            return None
        changed = session.execute(
            update(Payment)
            .where(Payment.id == row.id, Payment.status == "success")
            .values(status=status, reversed_at=at)
        ).rowcount
        if not changed:
            return None
        due = account_due(session, row.account_id)
        if row.bill_id is not None and row.bill_id == due.bill_id:
            session.execute(
                update(Bill)
                .where(Bill.id == row.bill_id, Bill.status.in_(("paid", "part_paid")))
                .values(status="issued" if due.paid_paise <= 0 else "part_paid" if due.outstanding_paise else "paid")
            )
        receipt = receipt_no_for_id(row.id)
        account_no = session.scalar(select(Account.account_no).where(Account.id == row.account_id))
        audit.record(
            session,
            actor=actor,
            action=f"payment.{status}",
            entity="payment",
            entity_id=receipt,
            at=at,
            account_no=account_no,
            amount_paise=row.amount_paise,
            gateway_ref=payment_ref,
            reason=reason,
        )
        mobile = next(iter(notify.account_mobiles(session, row.account_id)), None)
        if mobile is not None:
            notify.enqueue(
                session,
                channel="sms",
                template=REVERSED_TEMPLATE,
                recipient=mobile,
                dedupe_key=f"{REVERSED_TEMPLATE}:{receipt}",
                payload={"account_no": account_no, "amount_paise": row.amount_paise, "receipt": receipt},
                at=at,
                account_id=row.account_id,
                priority=1,
            )
        uow.commit()
        return receipt


def _names_intent(reference: str | None, link_id: str | None):  # type: ignore[no-untyped-def]
    token = normalise_token(reference) if reference else None
    conditions = []
    if token is not None:
        conditions.append(PaymentIntent.token == token)
    if link_id:
        conditions.append(PaymentIntent.gateway_link_id == link_id)
    return or_(*conditions) if conditions else PaymentIntent.id.is_(None)


def _already_posted(session: Session, payment_ref: str, *, event_seen: bool = False) -> Posted:
    row = session.execute(
        select(Payment.id, Account.account_no, Payment.amount_paise, Payment.paid_at)
        .join(Account, Account.id == Payment.account_id)
        .where(Payment.gateway_ref == payment_ref)
    ).first()
    kind = "duplicate" if event_seen else "already_posted"
    if row is None:  # an event seen before that posted nothing (it named no intent of ours)
        return Posted("", "", 0, audit.utcnow(), kind, Allocation(0, 0, 0), True)
    paid_at = row.paid_at or audit.utcnow()
    return Posted(receipt_no_for_id(row.id), row.account_no, row.amount_paise, paid_at, kind, Allocation(0, 0, 0), True)


def gateway_event_seen(uow: UnitOfWork, gateway: str, event_id: str) -> bool:
    """True when this gateway event was received and acted on before (its retry needs nothing done)."""
    with uow.reading():
        found = uow.session.scalar(
            select(GatewayEvent.id).where(GatewayEvent.gateway == gateway, GatewayEvent.event_id == event_id)
        )
        return found is not None


def record_gateway_event(
    uow: UnitOfWork, gateway: str, event_id: str, kind: str, outcome: str, payment_ref: str | None, *, at: dt.datetime
) -> None:
    """Note a gateway event as acted on (after it was: a crash in between only means it is acted on again, which
    posting's own unique key makes harmless)."""
    with uow:
        session = uow.session
        session.execute(
            insert_ignore(session.get_bind().dialect.name, GatewayEvent.__table__, ["gateway", "event_id"]).values(
                gateway=gateway, event_id=event_id, kind=kind[:40], outcome=outcome, payment_ref=payment_ref,
                received_at=at,
            )
        )  # fmt: skip
        uow.commit()


@dataclass(frozen=True)
class Receipt:
    receipt_no: str
    amount_paise: int
    paid_at: dt.datetime
    status: str


def paid_receipt(uow: UnitOfWork, token: str) -> Receipt | None:
    """The payment that paid this intent (the first, if a link was paid twice), for the page the payer returns to."""
    with uow.reading():
        row = uow.session.execute(
            select(Payment.id, Payment.amount_paise, Payment.paid_at, Payment.created_at, Payment.status)
            .join(PaymentIntent, PaymentIntent.id == Payment.intent_id)
            .where(PaymentIntent.token == token)
            .order_by(Payment.id)
            .limit(1)
        ).first()
        if row is None:
            return None
        return Receipt(receipt_no_for_id(row.id), row.amount_paise, row.paid_at or row.created_at, row.status)


def paid_since(uow: UnitOfWork, account_id: int, since: dt.datetime) -> int:
    """What the account paid (and still counts) since `since`, in paise: one read of ix_payment_account_id_paid_at."""
    with uow.reading():
        total = uow.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_paise), 0)).where(
                Payment.account_id == account_id, Payment.status == "success", Payment.paid_at >= since
            )
        )
        return int(total or 0)


@dataclass(frozen=True)
class ReceiptDocument:
    """A payment as its receipt prints it."""

    receipt_no: str
    account_no: str
    name: str
    amount_paise: int
    paid_at: dt.datetime
    channel: str
    method: str | None
    gateway_ref: str | None
    bill_no: str | None
    cycle: str | None
    status: str  # success | refunded | reversed
    reversed_at: dt.datetime | None


def receipt_document(uow: UnitOfWork, account_id: int, payment_id: int) -> ReceiptDocument | None:
    """The receipt of one of the account's own payments; None for a payment of another account, or none."""
    from cis.models import Consumer
    from cis.numbers import bill_no_for_id

    with uow.reading():
        row = uow.session.execute(
            select(
                Payment.id,
                Account.account_no,
                Consumer.name,
                Payment.amount_paise,
                Payment.paid_at,
                Payment.created_at,
                Payment.channel,
                Payment.method,
                Payment.gateway_ref,
                Payment.bill_id,
                Bill.cycle,
                Payment.status,
                Payment.reversed_at,
            )
            .join(Account, Account.id == Payment.account_id)
            .join(Consumer, Consumer.id == Account.consumer_id)
            .outerjoin(Bill, Bill.id == Payment.bill_id)
            .where(Payment.id == payment_id, Payment.account_id == account_id, Payment.status != "failed")
        ).first()
    if row is None:
        return None
    return ReceiptDocument(
        receipt_no=receipt_no_for_id(row.id),
        account_no=row.account_no,
        name=row.name,
        amount_paise=row.amount_paise,
        paid_at=row.paid_at or row.created_at,
        channel=row.channel,
        method=row.method,
        gateway_ref=row.gateway_ref,
        bill_no=bill_no_for_id(row.bill_id) if row.bill_id is not None else None,
        cycle=row.cycle,
        status=row.status,
        reversed_at=row.reversed_at,
    )
