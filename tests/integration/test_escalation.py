"""The officers' side of a complaint and the 1912 matrix: resolve with a code, the consumer's word by SMS or on
site, reassign and escalate by hand, and the sweep that moves overdue complaints up and closes unanswered ones."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork, make_session_factory
from cis.errors import ResolutionNotPending, UnknownComplaint
from cis.escalation import (
    AlreadyAtTop,
    ComplaintNotOpen,
    NoSiteCode,
    UnknownClosureCode,
    UnknownOfficer,
    WrongSiteCode,
    answer_by_sms,
    close_with_site_code,
    complaint_todo,
    escalate_by_hand,
    officers_of_area,
    reassign,
    resolve_complaint,
    sweep,
)
from cis.escalation_matrix import matrix
from cis.models import AuditLog, Complaint, ComplaintEvent, Outbox, Staff
from tests import factories
from tests.integration.test_staff_login import add_staff

NOW = factories.NOW
CALLER = "+919876500001"
HOURS = dt.timedelta(hours=1)


def _complaint(session: Session, number: str) -> Complaint:
    session.expire_all()
    return session.scalars(select(Complaint).where(Complaint.number == number)).one()


def _officers(session: Session, sub_division_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Staff.role, Staff.id).where(Staff.scope_level == "sub_division", Staff.scope_id == sub_division_id)
    )
    return {role: staff_id for role, staff_id in rows}


def _place(session: Session, *, kind: str = "urban", mobiles: tuple[str, ...] = (CALLER,)) -> tuple[str, int]:
    acc = factories.account(session, mobiles=mobiles, kind=kind)
    sub = factories.sub_division_of(session, acc)
    session.commit()
    return acc.account_no, sub


def _register(uow: UnitOfWork, account_no: str, category: str = "no_supply", at: dt.datetime = NOW) -> str:
    cmd = RegisterComplaint(channel="ivr", category=category, account_no=account_no, mobile=CALLER)
    return register_complaint(uow, cmd, now=at).number


def _sms(session: Session, template: str) -> list[Outbox]:
    session.expire_all()
    return list(session.scalars(select(Outbox).where(Outbox.template == template).order_by(Outbox.id)))


def _steps(session: Session, number: str) -> list[tuple[str, int | None, str]]:
    complaint = _complaint(session, number)
    rows = session.execute(
        select(ComplaintEvent.step, ComplaintEvent.level, ComplaintEvent.actor)
        .where(ComplaintEvent.complaint_id == complaint.id)
        .order_by(ComplaintEvent.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _audits(session: Session, number: str, action: str) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.entity_id == number, AuditLog.action == action)
        )
        or 0
    )


# --- resolve, and the consumer's word ----------------------------------------------------------------------------


def test_a_resolution_asks_the_consumer_to_confirm_and_sends_a_code_for_the_lineman(
    uow: UnitOfWork, session: Session
) -> None:
    account_no, sub = _place(session)
    number = _register(uow, account_no)
    je = _officers(session, sub)["je"]

    done = resolve_complaint(uow, number, staff_id=je, code="fuse_replaced", note="New 32 A fuse", now=NOW + HOURS)

    assert done.asked == CALLER
    assert done.confirm_by == NOW + HOURS + matrix().closure_wait
    complaint = _complaint(session, number)
    assert (complaint.status, complaint.resolution_code) == ("resolved", "fuse_replaced")
    assert complaint.resolution == "Fuse replaced. New 32 A fuse"
    [asked] = _sms(session, "complaint.resolved")
    assert asked.recipient == CALLER
    assert asked.payload["number"] == number
    assert asked.payload["what"] == "fuse replaced"
    assert re.fullmatch(r"\d{6}", asked.payload["code"])
    assert _steps(session, number)[-1][0] == "resolved"
    assert _audits(session, number, "complaint.resolved") == 1


def test_an_officer_outside_the_complaints_area_cannot_touch_it(uow: UnitOfWork, session: Session) -> None:
    account_no, _ = _place(session)
    _, other_sub = _place(session)
    number = _register(uow, account_no)
    stranger = _officers(session, other_sub)["sdo"]

    with pytest.raises(UnknownComplaint):
        resolve_complaint(uow, number, staff_id=stranger, code="fuse_replaced", now=NOW)
    with pytest.raises(UnknownComplaint):
        escalate_by_hand(uow, number, staff_id=stranger, note="Needs the SDO", now=NOW)
    assert complaint_todo(uow, stranger, scope="all", now=NOW) == [] or all(
        item.number != number for item in complaint_todo(uow, stranger, scope="all", now=NOW)
    )
    assert _complaint(session, number).status == "open"


def test_a_closure_code_must_be_on_the_list_and_a_resolved_complaint_is_not_resolved_again(
    uow: UnitOfWork, session: Session
) -> None:
    account_no, sub = _place(session)
    number = _register(uow, account_no)
    je = _officers(session, sub)["je"]
    with pytest.raises(UnknownClosureCode):
        resolve_complaint(uow, number, staff_id=je, code="magic", now=NOW)
    resolve_complaint(uow, number, staff_id=je, code="fuse_replaced", now=NOW)
    with pytest.raises(ComplaintNotOpen):
        resolve_complaint(uow, number, staff_id=je, code="fuse_replaced", now=NOW)


def test_reply_1_closes_it_as_confirmed(uow: UnitOfWork, session: Session) -> None:
    account_no, sub = _place(session)
    number = _register(uow, account_no)
    resolve_complaint(uow, number, staff_id=_officers(session, sub)["je"], code="fuse_replaced", now=NOW)

    answer = answer_by_sms(uow, CALLER, 1, now=NOW + HOURS)

    assert answer is not None
    assert (answer.number, answer.closed) == (number, True)
    complaint = _complaint(session, number)
    assert (complaint.status, complaint.closed_how) == ("closed", "confirmed")
    assert answer_by_sms(uow, CALLER, 1, now=NOW + 2 * HOURS) is None  # nothing left to answer


def test_reply_2_reopens_it_one_level_up_with_that_levels_time(uow: UnitOfWork, session: Session) -> None:
    account_no, sub = _place(session)
    number = _register(uow, account_no)
    officers = _officers(session, sub)
    resolve_complaint(uow, number, staff_id=officers["je"], code="fuse_replaced", now=NOW)

    answer = answer_by_sms(uow, CALLER, 2, now=NOW + HOURS)

    assert answer is not None
    assert (answer.closed, answer.officer) == (False, "sub-divisional officer")
    complaint = _complaint(session, number)
    assert (complaint.status, complaint.escalation_level, complaint.assignee_id) == ("reopened", 1, officers["sdo"])
    assert complaint.sla_due_at == NOW + HOURS + dt.timedelta(hours=matrix().hours("no_supply", 1, rural=False))
    assert complaint.closure_asked_to is None


def test_a_reply_from_a_mobile_never_asked_means_nothing_here(uow: UnitOfWork, session: Session) -> None:
    account_no, sub = _place(session)
    number = _register(uow, account_no)
    resolve_complaint(uow, number, staff_id=_officers(session, sub)["je"], code="fuse_replaced", now=NOW)
    assert answer_by_sms(uow, "+919812345678", 2, now=NOW + HOURS) is None
    assert _complaint(session, number).status == "resolved"


def test_the_code_given_on_site_closes_it_and_wrong_codes_run_out(uow: UnitOfWork, session: Session) -> None:
    account_no, sub = _place(session)
    je = _officers(session, sub)["je"]
    first = _register(uow, account_no)
    resolve_complaint(uow, first, staff_id=je, code="fuse_replaced", now=NOW)
    code = _sms(session, "complaint.resolved")[-1].payload["code"]

    assert close_with_site_code(uow, first, code, staff_id=je, now=NOW + HOURS) == first
    complaint = _complaint(session, first)
    assert (complaint.status, complaint.closed_how) == ("closed", "site_otp")
    assert _audits(session, first, "complaint.closed") == 1

    second = _register(uow, account_no, "voltage")
    resolve_complaint(uow, second, staff_id=je, code="voltage_corrected", now=NOW)
    right = _sms(session, "complaint.resolved")[-1].payload["code"]
    wrong = "000000" if right != "000000" else "111111"
    left = []
    for _ in range(5):
        with pytest.raises(WrongSiteCode) as refused:
            close_with_site_code(uow, second, wrong, staff_id=je, now=NOW + HOURS)
        left.append(refused.value.tries_left)
    assert left == [4, 3, 2, 1, 0]
    with pytest.raises(NoSiteCode):
        close_with_site_code(uow, second, right, staff_id=je, now=NOW + HOURS)
    assert _complaint(session, second).status == "resolved"
    with pytest.raises(ResolutionNotPending):
        close_with_site_code(uow, first, code, staff_id=je, now=NOW + HOURS)


# --- by hand -----------------------------------------------------------------------------------------------------


def test_escalating_by_hand_moves_it_up_tells_both_and_stops_at_the_se(uow: UnitOfWork, session: Session) -> None:
    account_no, sub = _place(session)
    number = _register(uow, account_no)
    officers = _officers(session, sub)
    session.get(Staff, officers["sdo"]).mobile = "+919700000002"  # type: ignore[union-attr]
    session.commit()

    moved = escalate_by_hand(uow, number, staff_id=officers["je"], note="Needs a new DT: SDO to sanction", now=NOW)

    assert (moved.level, moved.assignee) == ("sdo", session.get(Staff, officers["sdo"]).username)  # type: ignore[union-attr]
    [told] = _sms(session, "complaint.escalated")
    assert (told.recipient, told.payload["officer"]) == (CALLER, "sub-divisional officer")
    [officer] = _sms(session, "complaint.officer_escalated")
    assert officer.recipient == "+919700000002"
    assert _audits(session, number, "complaint.escalated") == 1
    sdo = officers["sdo"]
    for _ in range(2):
        escalate_by_hand(uow, number, staff_id=sdo, note="Up", now=NOW)
    with pytest.raises(AlreadyAtTop):
        escalate_by_hand(uow, number, staff_id=sdo, note="Up", now=NOW)


def test_reassigning_keeps_it_within_the_area(uow: UnitOfWork, session: Session) -> None:
    account_no, sub = _place(session)
    _, other_sub = _place(session)
    number = _register(uow, account_no)
    je = _officers(session, sub)["je"]
    add_staff(session, "je.second", role="je", scope_level="sub_division", scope_id=sub)
    outsider = session.get(Staff, _officers(session, other_sub)["je"])
    session.commit()
    assert outsider is not None

    assert "je.second" in [username for username, _, _ in officers_of_area(uow, number, je)]
    assert outsider.username not in [username for username, _, _ in officers_of_area(uow, number, je)]
    with pytest.raises(UnknownOfficer):
        reassign(uow, number, staff_id=je, to_username=outsider.username, now=NOW)
    moved = reassign(uow, number, staff_id=je, to_username="JE.Second", note="Nearer the site", now=NOW)

    assert moved.assignee == "je.second"
    assert _steps(session, number)[-1][0] == "reassigned"
    assert _audits(session, number, "complaint.reassigned") == 1


# --- the sweep ------------------------------------------------------------------------------------------------


def test_the_sweep_moves_an_overdue_complaint_up_once_and_tells_the_consumer(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    account_no, sub = _place(session)
    number = _register(uow, account_no)  # no supply in a town: the JE has 4 hours
    officers = _officers(session, sub)
    rules = matrix()
    je_hours = rules.hours("no_supply", 0, rural=False)

    early = sweep(session_factory, now=NOW + dt.timedelta(hours=je_hours) - dt.timedelta(minutes=1))
    late = NOW + dt.timedelta(hours=je_hours, minutes=5)
    first = sweep(session_factory, now=late)
    again = sweep(session_factory, now=late)

    assert (early.escalated, first.escalated, again.escalated) == (0, 1, 0)
    complaint = _complaint(session, number)
    assert (complaint.escalation_level, complaint.assignee_id) == (1, officers["sdo"])
    # The SDO's hours count from when the JE's ran out, not from when the sweep ran.
    assert complaint.sla_due_at == NOW + dt.timedelta(hours=je_hours + rules.hours("no_supply", 1, rural=False))
    assert [s for s in _steps(session, number) if s[0] == "escalated"] == [("escalated", 1, "system")]
    assert _audits(session, number, "complaint.escalated") == 1
    [told] = _sms(session, "complaint.escalated")
    assert (told.recipient, told.payload["number"]) == (CALLER, number)


def test_the_sweep_tells_a_typed_in_complaint_on_the_accounts_mobile_and_nobody_who_opted_out(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    # Lodged by an agent who typed a number the caller gave: not proven by the network, so the SMS goes to the
    # account's registered mobile. An account that opted out of SMS is moved and audited all the same, untold.
    registered = "+919876500077"
    told_account, _ = _place(session, mobiles=(registered,))
    quiet = factories.account(session, mobiles=("+919876500078",), opt_out=True)
    session.commit()
    numbers = [
        register_complaint(
            uow, RegisterComplaint(channel="console", category="voltage", account_no=no, mobile="+919800000001"),
            now=NOW,
        ).number
        for no in (told_account, quiet.account_no)
    ]  # fmt: skip

    report = sweep(session_factory, now=NOW + dt.timedelta(days=1))

    assert (report.escalated, report.consumers_told) == (2, 1)
    [sms] = _sms(session, "complaint.escalated")
    assert (sms.recipient, sms.payload["number"], sms.payload["officer"]) == (
        registered,
        numbers[0],
        "sub-divisional officer",
    )
    assert sms.dedupe_key == f"complaint.escalated:{numbers[0]}:1:{registered}"
    moved = _complaint(session, numbers[0])
    assert dt.datetime.fromisoformat(sms.payload["due"]) == moved.sla_due_at
    for number in numbers:
        [detail] = session.scalars(
            select(AuditLog.detail).where(AuditLog.entity_id == number, AuditLog.action == "complaint.escalated")
        )
        assert (detail["level_was"], detail["level"]) == ("je", "sdo")
        assert dt.datetime.fromisoformat(detail["sla_due_at"]) == _complaint(session, number).sla_due_at
        assert [s for s in _steps(session, number) if s[0] == "escalated"] == [("escalated", 1, "system")]


def test_a_sweep_that_did_not_run_for_days_catches_up_to_the_se_and_no_further(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    account_no, _ = _place(session, kind="rural")
    number = _register(uow, account_no)
    report = sweep(session_factory, now=NOW + dt.timedelta(days=10))
    assert report.escalated == 1
    assert report.by_level == {"se": 1}
    assert _complaint(session, number).escalation_level == 3
    assert sweep(session_factory, now=NOW + dt.timedelta(days=20)).escalated == 0


def test_the_sweep_closes_a_resolution_nobody_answered_as_not_confirmed(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    account_no, sub = _place(session)
    number = _register(uow, account_no)
    resolve_complaint(uow, number, staff_id=_officers(session, sub)["je"], code="fuse_replaced", now=NOW)
    wait = matrix().closure_wait

    assert sweep(session_factory, now=NOW + wait - dt.timedelta(minutes=1)).closed_unconfirmed == 0
    assert sweep(session_factory, now=NOW + wait).closed_unconfirmed == 1

    complaint = _complaint(session, number)
    assert (complaint.status, complaint.closed_how) == ("closed", "not_confirmed")
    assert _steps(session, number)[-1][:2] == ("closed", None)
    [told] = _sms(session, "complaint.closed_unconfirmed")
    assert told.recipient == CALLER
    assert answer_by_sms(uow, CALLER, 2, now=NOW + wait + HOURS) is None  # too late: a new complaint is needed


# --- two sweeps at once -------------------------------------------------------------------------------------------


@pytest.fixture
def sweep_pg(postgres_url: str) -> Iterator[Engine]:
    from tests.conftest import own_postgres_database

    with own_postgres_database(postgres_url, "urja_sweep") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def committing_engine(request: pytest.FixtureRequest) -> Engine:
    from tests.conftest import emptied_engine

    return emptied_engine(request, "sweep_pg")


def test_two_sweeps_at_once_move_each_complaint_once(committing_engine: Engine) -> None:
    factory = make_session_factory(committing_engine)
    numbers = []
    with factory() as s:
        for i in range(30):
            acc = factories.account(s, mobiles=(f"+9198765{i:05d}",))
            s.commit()
            cmd = RegisterComplaint(
                channel="ivr", category="no_supply", account_no=acc.account_no, mobile=f"+9198765{i:05d}"
            )
            numbers.append(register_complaint(UnitOfWork(factory), cmd, now=NOW).number)
    late = NOW + dt.timedelta(hours=5)
    barrier = threading.Barrier(2)

    def run() -> Any:
        barrier.wait()
        return sweep(committing_engine, now=late, batch=7)

    with ThreadPoolExecutor(2) as pool:
        reports = [f.result() for f in [pool.submit(run) for _ in range(2)]]

    assert sum(r.escalated for r in reports) == 30
    with factory() as s:
        events = s.scalar(select(func.count()).select_from(ComplaintEvent).where(ComplaintEvent.step == "escalated"))
        told = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "complaint.escalated"))
        levels = set(s.scalars(select(Complaint.escalation_level)))
    assert (events, told, levels) == (30, 30, {1})
