"""Reconciliation: a day's settlement report from the gateway against the payments we posted.

What the gateway settled and we never posted (its webhook lost) is posted now, through the same posting as a
webhook, so once; what names no intent of ours is reported; an amount that differs is reported; and a payment we
posted that no settlement has paid out after T+2 days is reported. Matched payments record their settlement. Each
finding is kept (`payment_recon_issue`, once per day, kind and payment) for the console's MIS and as CSV, and the
run writes an audit row with its counts. Running it again for the same day finds the same and posts nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update

from cis import audit
from cis.db import UnitOfWork, insert_ignore
from cis.errors import UnknownPaymentLink
from cis.models import Payment, PaymentReconIssue
from cis.payments.posting import GatewayPayment, post_gateway_payment

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
SETTLE_DAYS = 2  # T+2: a payment not paid out by then is chased
LOOK_BACK = dt.timedelta(days=45)  # how far back a run looks for payments still not settled
CHUNK = 1_000


@dataclass(frozen=True)
class Settled:
    """One line of the gateway's settlement report (Razorpay's settlement reconciliation columns, in paise)."""

    entity_id: str  # pay_... for a payment, rfnd_... for a refund
    kind: str  # payment | refund | adjustment | transfer
    amount_paise: int
    fee_paise: int
    created_at: dt.datetime
    settled_at: dt.datetime | None
    settlement_id: str | None
    order_receipt: str | None  # a payment link's reference_id: our intent's token
    method: str | None


@dataclass
class ReconReport:
    gateway: str
    day: dt.date
    settled: int = 0
    matched: int = 0
    posted_now: list[str] = field(default_factory=list)  # gateway ids posted by this run
    unmatched: list[str] = field(default_factory=list)  # settled, naming no intent of ours
    mismatched: list[tuple[str, int, int]] = field(default_factory=list)  # (gateway id, ours, theirs)
    not_settled: list[tuple[str, int, dt.datetime]] = field(default_factory=list)  # (gateway id, ours, paid at)

    @property
    def clean(self) -> bool:
        return not (self.posted_now or self.unmatched or self.mismatched or self.not_settled)


def reconcile(
    uow: UnitOfWork,
    gateway: str,
    day: dt.date,
    items: list[Settled],
    *,
    now: dt.datetime | None = None,
    settle_days: int = SETTLE_DAYS,
) -> ReconReport:
    """Reconcile `day`'s settlement report `items` of `gateway` with the payments on record."""
    at = now or audit.utcnow()
    report = ReconReport(gateway, day)
    payments = [i for i in items if i.kind == "payment" and i.entity_id.startswith("pay_")]
    report.settled = len(payments)
    ours: dict[str, tuple[int, int]] = {}
    refs = [i.entity_id for i in payments]
    with uow.reading():
        for start in range(0, len(refs), CHUNK):
            rows = uow.session.execute(
                select(Payment.gateway_ref, Payment.id, Payment.amount_paise).where(
                    Payment.gateway == gateway, Payment.gateway_ref.in_(refs[start : start + CHUNK])
                )
            )
            ours.update({str(ref): (int(pid), int(amount)) for ref, pid, amount in rows})
    settled_refs: list[Settled] = []
    for item in payments:
        found = ours.get(item.entity_id)
        if found is None:
            paid = GatewayPayment(
                gateway, item.entity_id, item.order_receipt, None, item.amount_paise, item.method, item.created_at
            )
            try:
                post_gateway_payment(uow, paid, now=at)
            except UnknownPaymentLink:
                report.unmatched.append(item.entity_id)
                continue
            report.posted_now.append(item.entity_id)
            settled_refs.append(item)
            continue
        if found[1] != item.amount_paise:
            report.mismatched.append((item.entity_id, found[1], item.amount_paise))
            continue
        report.matched += 1
        settled_refs.append(item)
    cutoff = dt.datetime.combine(day - dt.timedelta(days=settle_days - 1), dt.time(), IST)
    with uow:
        session = uow.session
        for item in settled_refs:
            session.execute(
                update(Payment)
                .where(Payment.gateway == gateway, Payment.gateway_ref == item.entity_id, Payment.settled_at.is_(None))
                .values(settlement_id=item.settlement_id, settled_at=item.settled_at or at)
            )
        late = session.execute(
            select(Payment.gateway_ref, Payment.amount_paise, Payment.paid_at).where(
                Payment.gateway == gateway,
                Payment.intent_id.is_not(None),  # paid through one of our links, so the gateway owes it to us
                Payment.status == "success",
                Payment.settled_at.is_(None),
                Payment.paid_at < cutoff,
                Payment.paid_at >= cutoff - LOOK_BACK,
            )
        ).all()
        report.not_settled = [(str(r[0]), int(r[1]), r[2]) for r in late]
        issues = (
            [("posted_now", ref, None, None, "settled but not posted: posted now") for ref in report.posted_now]
            + [("unmatched", ref, None, None, "settled, naming no intent of ours") for ref in report.unmatched]
            + [("amount_mismatch", ref, o, t, "the amounts differ") for ref, o, t in report.mismatched]
            + [("not_settled", ref, o, None, f"posted, not settled after T+{settle_days}") for ref, o, _ in late]
        )
        if issues:
            session.execute(
                insert_ignore(session.get_bind().dialect.name, PaymentReconIssue.__table__),
                [
                    {"gateway": gateway, "day": day, "kind": kind, "gateway_ref": ref, "ours_paise": o,
                     "theirs_paise": t, "detail": detail, "found_at": at}
                    for kind, ref, o, t, detail in issues
                ],
            )  # fmt: skip
        audit.record(
            session,
            actor="system:reconcile",
            action="payments.reconciled",
            entity="settlement_day",
            entity_id=f"{gateway}:{day.isoformat()}",
            at=at,
            settled=report.settled,
            matched=report.matched,
            posted_now=len(report.posted_now),
            unmatched=len(report.unmatched),
            mismatched=len(report.mismatched),
            not_settled=len(report.not_settled),
        )
        uow.commit()
    return report
