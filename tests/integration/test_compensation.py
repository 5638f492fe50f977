"""The compensation ledger: a resolution later than a Standard of Performance accrues compensation, the consumer
claims it (SMS CLAIM, the portal, 1912), an officer of the area approves it, and the next bill credits it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cis import compensation, my_account
from cis.billing import bill_run
from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork, make_session_factory
from cis.escalation import resolve_complaint
from cis.models import AuditLog, Compensation, Outbox, Staff
from sms.service import handle_inbound
from tests import factories
from tests.integration.test_billing import (  # noqa: F401
    _account,
    _bills,
    _history,
    _reading,
    engine,
    pg_billing_engine,
)
from tests.integration.test_staff_login import add_staff

NOW = factories.NOW
MOBILE = "+919876543210"


def _officer(db: Engine, account_id: int, role: str = "je") -> int:
    with Session(db) as s:
        acc = s.get(factories.Account, account_id)
        assert acc is not None
        sub = factories.sub_division_of(s, acc)
        return int(s.scalar(select(Staff.id).where(Staff.role == role, Staff.scope_id == sub)) or 0)


def _late_meter_complaint(db: Engine, account_no: str, account_id: int, *, days: float) -> str:
    uow = UnitOfWork(make_session_factory(db))
    lodged = dt.datetime(2026, 9, 1, 6, 0, tzinfo=dt.UTC)
    cmd = RegisterComplaint(channel="sms", category="meter", account_no=account_no, mobile=MOBILE)
    number = register_complaint(uow, cmd, now=lodged).number
    resolve_complaint(
        uow, number, staff_id=_officer(db, account_id), code="meter_replaced", now=lodged + dt.timedelta(days=days)
    )
    return number


def test_a_meter_replaced_after_20_days_owes_5_days_at_50_rupees(engine: Engine) -> None:  # noqa: F811
    account_id, account_no = _account(engine, mobiles=(MOBILE,))
    number = _late_meter_complaint(engine, account_no, account_id, days=20)
    rows = compensation.ledger(UnitOfWork(make_session_factory(engine)), account_id)
    assert [(r.standard, r.days, r.amount_paise, r.status, r.complaint_number) for r in rows] == [
        ("defective_meter", 5, 25_000, "accrued", number)
    ]
    with Session(engine) as s:
        [told] = s.scalars(select(Outbox).where(Outbox.template == "compensation.claimable")).all()
        audits = s.scalars(select(AuditLog.action).where(AuditLog.entity == "compensation")).all()
    assert (told.recipient, told.payload["amount_paise"]) == (MOBILE, 25_000)
    assert audits == ["compensation.accrued"]


@pytest.mark.parametrize(("days", "code"), [(14.9, "meter_replaced"), (20, "meter_tested_ok")])
def test_in_time_or_another_fix_owes_nothing(engine: Engine, days: float, code: str) -> None:  # noqa: F811
    account_id, account_no = _account(engine, mobiles=(MOBILE,))
    uow = UnitOfWork(make_session_factory(engine))
    lodged = dt.datetime(2026, 9, 1, 6, 0, tzinfo=dt.UTC)
    cmd = RegisterComplaint(channel="sms", category="meter", account_no=account_no, mobile=MOBILE)
    number = register_complaint(uow, cmd, now=lodged).number
    resolve_complaint(
        uow, number, staff_id=_officer(engine, account_id), code=code, now=lodged + dt.timedelta(days=days)
    )
    assert compensation.ledger(uow, account_id) == []


def test_claimed_by_sms_approved_by_the_sdo_and_credited_on_the_next_bill(engine: Engine) -> None:  # noqa: F811
    account_id, account_no = _account(engine, mobiles=(MOBILE,))
    _history(engine, account_id)
    _reading(engine, account_id, 5250)
    _late_meter_complaint(engine, account_no, account_id, days=20)
    factory = make_session_factory(engine)

    first = handle_inbound(factory, mobile=MOBILE, text="claim", message_id="m-claim-1", now=NOW)
    again = handle_inbound(factory, mobile=MOBILE, text="CLAIM", message_id="m-claim-2", now=NOW)
    assert first.template_key == "reply.claimed"
    assert "Rs 250" in first.text
    assert again.template_key == "reply.nothing_to_claim"

    with Session(engine) as s:
        outsider = add_staff(s, "sdo.elsewhere", role="sdo", scope_level="sub_division", scope_id=999_999)
        s.commit()
        outsider_id = outsider.id
    [claim] = compensation.claims_waiting(UnitOfWork(factory), None)
    with pytest.raises(compensation.UnknownCompensation):
        compensation.decide(UnitOfWork(factory), claim.id, staff_id=outsider_id, approve=True, now=NOW)
    sdo = _officer(engine, account_id, "sdo")
    assert compensation.decide(UnitOfWork(factory), claim.id, staff_id=sdo, approve=True, now=NOW) == "approved"

    bill_run(engine, "2026-10", now=NOW)

    (bill,) = _bills(engine, account_id)
    assert bill.compensation_paise == 25_000
    assert bill.amount_paise == bill.energy_paise + bill.fixed_paise + bill.duty_paise + bill.other_paise - 25_000
    with Session(engine) as s:
        row = s.get(Compensation, claim.id)
        assert row is not None
        assert (row.status, row.bill_id) == ("credited", bill.id)
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.entity == "compensation").order_by(AuditLog.id)
        ).all()
    assert actions == ["compensation.accrued", "compensation.claimed", "compensation.approved"]
    # The bill shows the credit as a line of its own, and its lines still add up to the total.
    document = my_account.bill_document(UnitOfWork(factory), account_id, bill.id)
    lines = dict(document.charge_lines())
    assert lines["compensation"] == -25_000
    assert sum(p for name, p in document.charge_lines() if name != "total") == lines["total"]


def test_a_credit_bigger_than_the_bill_waits_for_the_next_one() -> None:
    assert compensation.take_credit([(1, 10_000), (2, 50_000)], 30_000) == (10_000, [1])
    assert compensation.take_credit([(1, 40_000)], 30_000) == (0, [])
    assert compensation.take_credit([], 30_000) == (0, [])


def test_the_standards_name_their_sources() -> None:
    table = compensation.standards()
    assert table.automatic is False  # Uttar Pradesh: paid on claim
    for standard in table.standards.values():
        assert "SoP 2019" in standard.source
        assert standard.per_day_paise > 0
    assert table.standards["defective_meter"].per_day_paise == 5_000
    assert table.standards["dt_failure"].per_day_paise == 15_000
