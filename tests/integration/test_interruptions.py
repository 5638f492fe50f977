"""Feeder interruptions against a real database: what a caller on the feeder is told, and recording them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.errors import (
    InvalidInterruption,
    MalformedAccountNumber,
    UnknownAccount,
    UnknownFeeder,
    UnknownInterruption,
)
from cis.interruptions import (
    InterruptionNotice,
    active_interruption,
    record_interruption,
    restore_interruption,
)
from cis.models import AuditLog, FeederInterruption
from tests import factories

NOW = factories.NOW
HOUR = dt.timedelta(hours=1)


def test_a_breakdown_on_the_callers_feeder_is_told_with_its_restoration_time(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, account_no="4800000001")
    feeder = factories.feeder_of(session, acc)
    factories.interruption(
        session,
        feeder,
        kind="breakdown",
        started_at=NOW - HOUR,
        expected_restore_at=NOW + 2 * HOUR,
        reason="11 kV jumper snapped",
    )
    session.commit()

    notice = active_interruption(uow, "4800000001", NOW)

    assert notice == InterruptionNotice(
        kind="breakdown",
        started_at=NOW - HOUR,
        expected_restore_at=NOW + 2 * HOUR,
        reason="11 kV jumper snapped",
        feeder_name=feeder.name,
    )


def test_a_feeder_with_supply_on_has_no_interruption(uow: UnitOfWork, session: Session) -> None:
    factories.account(session, account_no="4800000002")
    session.commit()

    assert active_interruption(uow, "4800000002", NOW) is None


def test_restored_cancelled_and_not_yet_started_interruptions_are_not_active(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, account_no="4800000003")
    feeder = factories.feeder_of(session, acc)
    factories.interruption(session, feeder, started_at=NOW - 3 * HOUR, restored_at=NOW - HOUR)
    factories.interruption(session, feeder, kind="shutdown", started_at=NOW - HOUR, cancelled_at=NOW - 2 * HOUR)
    factories.interruption(session, feeder, kind="shutdown", started_at=NOW + HOUR, expected_restore_at=NOW + 5 * HOUR)
    session.commit()

    assert active_interruption(uow, "4800000003", NOW) is None
    # The planned shutdown is active from the minute it starts.
    starting = active_interruption(uow, "4800000003", NOW + HOUR)
    assert starting is not None
    assert starting.kind == "shutdown"


def test_another_feeders_interruption_is_not_told(uow: UnitOfWork, session: Session) -> None:
    factories.account(session, account_no="4800000004")
    other = factories.account(session, account_no="4800000005")
    factories.interruption(session, factories.feeder_of(session, other), started_at=NOW - HOUR)
    session.commit()

    assert active_interruption(uow, "4800000004", NOW) is None


def test_an_interruption_past_its_expected_restoration_is_still_active(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session, account_no="4800000006")
    factories.interruption(
        session, factories.feeder_of(session, acc), started_at=NOW - 4 * HOUR, expected_restore_at=NOW - HOUR
    )
    session.commit()

    notice = active_interruption(uow, "4800000006", NOW)

    assert notice is not None
    assert notice.expected_restore_at == NOW - HOUR


def test_of_several_the_one_expected_to_last_longest_is_told(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4800000007")
    feeder = factories.feeder_of(session, acc)
    factories.interruption(session, feeder, kind="roster", started_at=NOW - HOUR, expected_restore_at=NOW + HOUR)
    factories.interruption(
        session, feeder, kind="shutdown", started_at=NOW - 2 * HOUR, expected_restore_at=NOW + 3 * HOUR
    )
    factories.interruption(session, feeder, kind="breakdown", started_at=NOW - 30 * dt.timedelta(minutes=1))
    session.commit()

    notice = active_interruption(uow, "4800000007", NOW)
    assert notice is not None
    # A breakdown with no restoration time yet could last longest of all.
    assert (notice.kind, notice.expected_restore_at) == ("breakdown", None)

    with session_factory() as s:
        breakdown = s.scalar(
            select(FeederInterruption).where(
                FeederInterruption.kind == "breakdown", FeederInterruption.feeder_id == feeder.id
            )
        )
        assert breakdown is not None
        breakdown.expected_restore_at = NOW + 2 * HOUR
        s.commit()
    notice = active_interruption(uow, "4800000007", NOW)
    assert notice is not None
    assert (notice.kind, notice.expected_restore_at) == ("shutdown", NOW + 3 * HOUR)


def test_an_account_not_on_record_or_malformed_is_refused(uow: UnitOfWork) -> None:
    with pytest.raises(UnknownAccount):
        active_interruption(uow, "4899999999", NOW)
    with pytest.raises(MalformedAccountNumber):
        active_interruption(uow, "48-99", NOW)


# --- recording and restoring --------------------------------------------------------------------


def test_a_recorded_interruption_is_committed_with_an_audit_row_and_told_to_callers(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4800000010")
    feeder = factories.feeder_of(session, acc)
    session.commit()

    interruption_id = record_interruption(
        uow,
        feeder.id,
        "shutdown",
        NOW - HOUR,
        expected_restore_at=NOW + 4 * HOUR,
        reason=" Tree trimming under the line ",
        now=NOW - 2 * HOUR,
    )

    with session_factory() as fresh:
        row = fresh.get(FeederInterruption, interruption_id)
        assert row is not None
        assert (row.feeder_id, row.kind, row.reason) == (feeder.id, "shutdown", "Tree trimming under the line")
        assert (row.started_at, row.expected_restore_at, row.created_at) == (NOW - HOUR, NOW + 4 * HOUR, NOW - 2 * HOUR)
        audit = fresh.scalars(
            select(AuditLog).where(AuditLog.entity == "feeder_interruption", AuditLog.entity_id == str(interruption_id))
        ).all()
        assert [(a.action, a.at) for a in audit] == [("interruption.recorded", NOW - 2 * HOUR)]
        assert audit[0].detail["kind"] == "shutdown"
        assert audit[0].detail["expected_restore_at"] == (NOW + 4 * HOUR).isoformat()
    notice = active_interruption(uow, "4800000010", NOW)
    assert notice is not None
    assert notice.reason == "Tree trimming under the line"


def test_restoring_ends_the_interruption_once_with_an_audit_row(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4800000011")
    interruption_id = factories.interruption(session, factories.feeder_of(session, acc), started_at=NOW - 2 * HOUR).id
    session.commit()

    assert restore_interruption(uow, interruption_id, NOW) is True
    assert restore_interruption(uow, interruption_id, NOW + HOUR) is False

    assert active_interruption(uow, "4800000011", NOW + HOUR) is None
    with session_factory() as fresh:
        row = fresh.get(FeederInterruption, interruption_id)
        assert row is not None
        assert row.restored_at == NOW
        audit = fresh.scalars(
            select(AuditLog).where(AuditLog.entity == "feeder_interruption", AuditLog.entity_id == str(interruption_id))
        ).all()
        assert [(a.action, a.detail["minutes_off"]) for a in audit] == [("interruption.restored", 120)]


@pytest.mark.parametrize(
    ("kind", "expected_restore_at", "reason"),
    [
        pytest.param("load_shedding", None, None, id="unknown-kind"),
        pytest.param("breakdown", NOW - HOUR, None, id="restoration-before-start"),
        pytest.param("breakdown", None, "x" * 201, id="reason-too-long"),
    ],
)
def test_an_interruption_that_cannot_be_is_refused_before_anything_is_written(
    uow: UnitOfWork,
    session: Session,
    session_factory: Callable[[], Session],
    kind: str,
    expected_restore_at: dt.datetime | None,
    reason: str | None,
) -> None:
    acc = factories.account(session)
    feeder_id = factories.feeder_of(session, acc).id
    session.commit()

    with pytest.raises(InvalidInterruption):
        record_interruption(uow, feeder_id, kind, NOW, expected_restore_at=expected_restore_at, reason=reason, now=NOW)

    with session_factory() as fresh:
        assert fresh.scalars(select(FeederInterruption).where(FeederInterruption.feeder_id == feeder_id)).all() == []


def test_an_interruption_on_a_feeder_not_on_record_is_refused(uow: UnitOfWork) -> None:
    with pytest.raises(UnknownFeeder):
        record_interruption(uow, 987_654_321, "breakdown", NOW, now=NOW)


def test_restoring_what_is_not_on_record_cancelled_or_not_started_is_refused(uow: UnitOfWork, session: Session) -> None:
    acc = factories.account(session)
    feeder = factories.feeder_of(session, acc)
    cancelled = factories.interruption(session, feeder, kind="shutdown", started_at=NOW, cancelled_at=NOW - HOUR)
    planned = factories.interruption(session, feeder, kind="shutdown", started_at=NOW + HOUR)
    session.commit()

    with pytest.raises(UnknownInterruption):
        restore_interruption(uow, 987_654_321, NOW)
    with pytest.raises(InvalidInterruption):
        restore_interruption(uow, cancelled.id, NOW + HOUR)
    with pytest.raises(InvalidInterruption):
        restore_interruption(uow, planned.id, NOW)
