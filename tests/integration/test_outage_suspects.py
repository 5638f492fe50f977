"""Suspected breakdowns: a burst of no-supply complaints from one feeder is put on the desk, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork
from cis.models import AuditLog, Complaint, Feeder, OutageEvent, Outbox
from outage.events import Actor, Breakdown, cancel, confirm_suspected, publish_breakdown, restore
from outage.suspects import detect_suspected
from tests import factories

NOW = factories.NOW
DESK = Actor("staff:desk.test")


def _feeder_with_accounts(session: Session, count: int) -> tuple[int, list[str]]:
    dtr = factories.network(session)
    numbers = [
        factories.account(session, dtr=dtr, mobiles=(f"+9198391{n:05d}",), account_no=f"47000000{n:02d}").account_no
        for n in range(count)
    ]
    session.commit()
    return dtr.feeder_id, numbers


def _complain(uow: UnitOfWork, accounts: list[str], at: dt.datetime, category: str = "no_supply") -> None:
    for n, account_no in enumerate(accounts):
        register_complaint(
            uow,
            RegisterComplaint(channel="sms", category=category, account_no=account_no, channel_request_id=f"{at}-{n}"),
            now=at + dt.timedelta(minutes=n),
        )


def test_three_no_supply_complaints_in_a_few_minutes_raise_one_suspected_breakdown(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    feeder_id, accounts = _feeder_with_accounts(session, 4)
    _complain(uow, accounts[:3], NOW)

    (suspect,) = detect_suspected(uow, now=NOW + dt.timedelta(minutes=5), threshold=3)
    assert detect_suspected(uow, now=NOW + dt.timedelta(minutes=6), threshold=3) == []
    with session_factory() as s:
        event = s.get(OutageEvent, suspect)
        assert event is not None
        assert (event.kind, event.status, event.starts_at) == ("breakdown", "suspected", NOW)
        assert s.scalars(select(Outbox.template).where(Outbox.template.like("outage.%"))).all() == []
        linked = s.scalars(select(Complaint.outage_event_id).where(Complaint.feeder_id == feeder_id)).all()
    assert linked == [suspect] * 3  # nobody told yet; the burst belongs to the suspicion


def test_two_complaints_or_other_categories_raise_nothing(uow: UnitOfWork, session: Session) -> None:
    _, accounts = _feeder_with_accounts(session, 4)
    _complain(uow, accounts[:2], NOW)
    _complain(uow, accounts[2:4], NOW, category="voltage")
    assert detect_suspected(uow, now=NOW + dt.timedelta(minutes=5), threshold=3) == []
    # Spread over more than the window, three are not a burst either.
    _complain(uow, accounts[2:3], NOW + dt.timedelta(minutes=40))
    assert detect_suspected(uow, now=NOW + dt.timedelta(minutes=41), threshold=3) == []


def test_a_dismissed_suspicion_is_not_raised_again_by_the_same_complaints(uow: UnitOfWork, session: Session) -> None:
    _, accounts = _feeder_with_accounts(session, 3)
    _complain(uow, accounts, NOW)
    (suspect,) = detect_suspected(uow, now=NOW + dt.timedelta(minutes=5), threshold=3)
    dismissed = cancel(uow, suspect, actor=DESK, now=NOW + dt.timedelta(minutes=6))
    assert (dismissed.action, dismissed.notify) == ("dismissed", False)
    assert detect_suspected(uow, now=NOW + dt.timedelta(minutes=7), threshold=3) == []


def test_a_confirmed_suspicion_tells_the_feeder_and_its_restoration_resolves_the_complaints(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    feeder_id, accounts = _feeder_with_accounts(session, 3)
    _complain(uow, accounts, NOW)
    (suspect,) = detect_suspected(uow, now=NOW + dt.timedelta(minutes=5), threshold=3)
    confirmed = confirm_suspected(uow, suspect, actor=DESK, now=NOW + dt.timedelta(minutes=8), cause="HT fuse off")
    assert (confirmed.action, confirmed.notify) == ("published", True)
    restore(uow, suspect, actor=DESK, now=NOW + dt.timedelta(minutes=50))
    with session_factory() as s:
        statuses = s.scalars(select(Complaint.status).where(Complaint.feeder_id == feeder_id)).all()
    assert statuses == ["resolved"] * 3


def test_complaints_from_a_feeder_already_under_an_outage_raise_no_suspicion(uow: UnitOfWork, session: Session) -> None:
    feeder_id, accounts = _feeder_with_accounts(session, 3)
    publish_breakdown(
        uow,
        Breakdown(since=NOW - dt.timedelta(minutes=30), cause="Conductor snapped", feeder_ids=(feeder_id,)),
        actor=DESK,
        now=NOW,
    )
    _complain(uow, accounts, NOW)
    assert detect_suspected(uow, now=NOW + dt.timedelta(minutes=5), threshold=3) == []
    assert session.get(Feeder, feeder_id) is not None


def test_no_supply_complaints_lodged_before_a_breakdown_is_published_are_linked_and_resolved_with_it(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    feeder_id, accounts = _feeder_with_accounts(session, 4)
    other = factories.account(session, account_no="4700000099", mobiles=("+919839199999",))
    session.commit()
    since = NOW - dt.timedelta(hours=1)
    _complain(uow, accounts[:1], since - dt.timedelta(hours=2))  # before the breakdown began: another fault
    _complain(uow, accounts[1:3], NOW - dt.timedelta(minutes=40))  # since it began, before the desk knew
    _complain(uow, accounts[3:], NOW - dt.timedelta(minutes=30), category="voltage")
    _complain(uow, [other.account_no], NOW - dt.timedelta(minutes=20))  # another feeder

    ref = publish_breakdown(
        uow, Breakdown(since=since, cause="Jumper snapped", feeder_ids=(feeder_id,)), actor=DESK, now=NOW
    )

    def complaints() -> dict[str, tuple[int | None, str]]:
        with session_factory() as s:
            rows = s.execute(
                select(Complaint.channel_request_id, Complaint.outage_event_id, Complaint.status).order_by(Complaint.id)
            ).all()
        return {str(r[0]): (r[1], r[2]) for r in rows}

    before = complaints()
    linked = [key for key, (event, _) in before.items() if event == ref.event_id]
    assert len(linked) == 2
    assert all(key.startswith(str(NOW - dt.timedelta(minutes=40))) for key in linked)
    with session_factory() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "complaint.linked_to_outage")).one()
        assert (audit.entity, audit.entity_id, audit.actor) == ("outage_event", str(ref.event_id), DESK.name)
        assert len(audit.detail["complaints"]) == 2

    restore(uow, ref.event_id, actor=DESK, now=NOW + dt.timedelta(hours=1))

    after = complaints()
    assert sorted(status for key, (_, status) in after.items() if key in linked) == ["resolved", "resolved"]
    assert sorted(status for key, (_, status) in after.items() if key not in linked) == ["open", "open", "open"]


def test_complaints_lodged_while_a_breakdown_is_only_suspected_are_linked_when_it_is_confirmed(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    feeder_id, accounts = _feeder_with_accounts(session, 5)
    _complain(uow, accounts[:3], NOW)
    (suspect,) = detect_suspected(uow, now=NOW + dt.timedelta(minutes=5), threshold=3)
    _complain(uow, accounts[3:], NOW + dt.timedelta(minutes=10))  # on the suspected feeder, not yet linked

    confirm_suspected(uow, suspect, actor=DESK, now=NOW + dt.timedelta(minutes=20))

    with session_factory() as s:
        linked = s.scalars(select(Complaint.outage_event_id).where(Complaint.feeder_id == feeder_id)).all()
    assert linked == [suspect] * 5
