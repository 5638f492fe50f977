"""The MIS figures on both databases: what happened in a sub-division, counted the way an SE would count it, and
nothing of another sub-division in an officer's view."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.complaint_history import reject_resolution
from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork
from cis.escalation import resolve_complaint, sweep
from cis.mis import csv_rows, mis
from cis.models import DistributionTransformer, Outbox, Staff
from tests import factories
from tests.integration.test_staff_login import add_staff

MOBILES = ("+919811110001", "+919811110002", "+919811110003", "+919811110004")

NOW = factories.NOW
HOUR = dt.timedelta(hours=1)


def _officer(session: Session, sub: int, role: str) -> int:
    return int(
        session.scalar(
            select(Staff.id).where(Staff.role == role, Staff.scope_level == "sub_division", Staff.scope_id == sub)
        )
        or 0
    )


def test_the_mis_counts_a_sub_divisions_period_and_nothing_of_another(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    first = factories.account(session, mobiles=(MOBILES[0],))
    dtr = session.get(DistributionTransformer, first.dt_id)
    mine = [first, *(factories.account(session, mobiles=(m,), dtr=dtr) for m in MOBILES[1:3])]
    other = factories.account(session, mobiles=(MOBILES[3],))
    admin = add_staff(session, "admin.mis", role="admin")
    session.commit()
    sub = factories.sub_division_of(session, first)
    je, sdo = _officer(session, sub, "je"), _officer(session, sub, "sdo")

    def lodge(index: int, account_no: str, category: str, at: dt.datetime) -> str:
        cmd = RegisterComplaint(channel="ivr", category=category, account_no=account_no, mobile=MOBILES[index])
        return register_complaint(uow, cmd, now=at).number

    lodge(0, mine[0].account_no, "no_supply", NOW - 10 * HOUR)  # runs past the JE's 4 hours
    fixed = lodge(1, mine[1].account_no, "voltage", NOW - 5 * HOUR)
    unanswered = lodge(2, mine[2].account_no, "meter", NOW - 100 * HOUR)
    lodge(3, other.account_no, "no_supply", NOW - 10 * HOUR)  # another sub-division's
    sweep(session_factory, now=NOW - HOUR)
    resolve_complaint(uow, fixed, staff_id=je, code="voltage_corrected", now=NOW - 4 * HOUR)
    reject_resolution(uow, mine[1].id, fixed, "Still low in the evening", channel="sms", now=NOW - 3 * HOUR)
    resolve_complaint(uow, unanswered, staff_id=je, code="meter_replaced", now=NOW - 60 * HOUR)
    sweep(session_factory, now=NOW)  # closes the unanswered resolution
    # IVR calls of the sub-division's consumers: one served, one given up at the bill menu; one of another's.
    factories.call(session, acc=mine[0], outcome="bill", duration_s=60, started_at=NOW - 2 * HOUR)
    dropped = factories.call(session, acc=mine[1], outcome="abandoned", duration_s=20, started_at=NOW - 2 * HOUR)
    dropped.path = ["main", "bill.amount"]
    factories.call(session, acc=other, outcome="abandoned", duration_s=20, started_at=NOW - 2 * HOUR)
    outage = factories.interruption(
        session, factories.feeder_of(session, first), started_at=NOW - 3 * HOUR, restored_at=NOW - HOUR
    )
    outage.consumers = 3
    for row in session.scalars(select(Outbox).where(Outbox.template == "complaint.ack")):
        row.status = "delivered"
    session.commit()

    seen = mis(uow, sdo, days=7, now=NOW)

    assert seen.scope.startswith("Sub-division ")
    assert sum(n for _, n, _ in seen.pendency_by_sub_division) == 2  # the late one and the reopened one
    assert seen.complaints == 3
    assert seen.breach.whole == 3
    assert seen.breach.part >= 1
    assert (seen.reopened.part, seen.reopened.whole) == (1, 2)
    assert (seen.not_confirmed.part, seen.not_confirmed.whole) == (1, 1)
    assert (seen.calls, seen.contained.part) == (2, 1)
    assert seen.drop_outs == [("bill.amount", 1)]
    assert ("complaint.ack", 3, 3, 0) in seen.sms
    assert seen.outage_minutes == [(seen.outage_minutes[0][0], 120, 360)]
    everyone = mis(uow, admin.id, days=7, now=NOW)
    assert (everyone.complaints, everyone.calls) == (4, 3)
    assert csv_rows(seen, "rates")[0] == ["figure", "part", "whole", "percent"]


def test_the_reconciliation_findings_are_for_the_whole_discoms_viewers(uow: UnitOfWork, session: Session) -> None:
    from cis.models import PaymentReconIssue

    acc = factories.account(session)
    sub = factories.sub_division_of(session, acc)
    admin = add_staff(session, "admin.recon", role="admin")
    session.add_all(
        [
            PaymentReconIssue(gateway="sandbox", day=NOW.date(), kind="unmatched", gateway_ref="pay_Stranger0001",
                              found_at=NOW),
            PaymentReconIssue(gateway="sandbox", day=NOW.date(), kind="amount_mismatch", gateway_ref="pay_Differs0001",
                              ours_paise=172_700, theirs_paise=170_000, found_at=NOW),
            PaymentReconIssue(gateway="sandbox", day=(NOW - dt.timedelta(days=40)).date(), kind="unmatched",
                              gateway_ref="pay_LongAgo00001", found_at=NOW),
        ]
    )  # fmt: skip
    session.commit()
    je = _officer(session, sub, "je")
    assert je != 0

    everyone = mis(uow, admin.id, days=30, now=NOW)

    assert everyone.reconciliation == [("posted_now", 0), ("unmatched", 1), ("amount_mismatch", 1), ("not_settled", 0)]
    assert {row[2] for row in everyone.reconciliation_latest} == {"pay_Stranger0001", "pay_Differs0001"}
    assert csv_rows(everyone, "reconciliation")[0] == ["day", "kind", "gateway_ref", "ours_paise", "theirs_paise"]
    assert mis(uow, je, days=30, now=NOW).reconciliation == []  # a sub-division's officer sees no discom money
