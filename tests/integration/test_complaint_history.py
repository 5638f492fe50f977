"""A complaint's status history on both databases: every path that changes a complaint writes its step, the
migration backfills the complaints already on record, and a consumer reads, confirms or rejects only their own."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session

from cis.complaint_history import (
    CONFIRM_WITHIN,
    ResolutionAnswer,
    complaint_timeline,
    confirm_resolution,
    my_complaints,
    reject_resolution,
)
from cis.complaints import RegisterComplaint, register_complaint
from cis.db import UnitOfWork, make_session_factory
from cis.errors import (
    CisError,
    ComplaintAlreadyOpen,
    ConfirmationWindowClosed,
    MissingDetails,
    ResolutionNotPending,
    TextTooLong,
    UnknownComplaint,
)
from cis.escalation_matrix import matrix
from cis.models import AuditLog, Complaint, ComplaintEvent, Outbox, Staff
from cis.numbers import complaint_no_for_id
from outage.events import Actor, Breakdown, cancel, confirm_suspected, publish_breakdown, restore
from outage.suspects import detect_suspected
from tests import factories
from tests.integration.test_complaints import _delete_committed

NOW = factories.NOW
REGISTERED = "+919876543210"
DESK = Actor("desk.kanpur")


def _steps(fresh: Session, number: str) -> list[tuple[str, str, int | None, dt.datetime]]:
    """A complaint's history as stored: (step, actor, level, at), in the order it happened."""
    rows = fresh.execute(
        select(ComplaintEvent.step, ComplaintEvent.actor, ComplaintEvent.level, ComplaintEvent.at)
        .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
        .where(Complaint.number == number)
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _account(session: Session, account_no: str, **kwargs: Any) -> int:
    acc = factories.account(session, account_no=account_no, mobiles=(REGISTERED,), **kwargs)
    session.commit()
    return acc.id


def _register(uow: UnitOfWork, account_no: str, category: str = "voltage", *, at: dt.datetime = NOW) -> str:
    cmd = RegisterComplaint(channel="portal", category=category, account_no=account_no, text="Fan runs slow")
    return register_complaint(uow, cmd, now=at).number


def _resolve(session_factory: Callable[[], Session], number: str, at: dt.datetime, level: int = 0) -> None:
    """An officer's resolution as the console will record it (that use case is the console's): the row and
    its step."""
    with session_factory() as s:
        complaint = s.scalars(select(Complaint).where(Complaint.number == number)).one()
        complaint.status = "resolved"
        complaint.resolved_at = at
        complaint.resolution = "Loose neutral at the pole tightened."
        complaint.escalation_level = level
        s.add(ComplaintEvent(complaint_id=complaint.id, step="resolved", actor="je.test", at=at, note="Tightened"))
        s.commit()


# --- every path writes its step -------------------------------------------------------------------


def test_a_complaint_from_the_portal_is_registered_assigned_to_the_je_and_acknowledged_to_the_registered_mobile(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    _account(session, "4700000101")

    number = _register(uow, "4700000101")

    with session_factory() as fresh:
        assert _steps(fresh, number) == [
            ("registered", "channel:portal", None, NOW),
            ("assigned", "system", 0, NOW),
        ]
        acks = fresh.scalars(select(Outbox).where(Outbox.template == "complaint.ack")).all()
        assert [(a.recipient, a.payload["number"]) for a in acks] == [(REGISTERED, number)]


def test_a_retried_or_second_open_complaint_writes_no_second_history(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    _account(session, "4700000102")
    number = _register(uow, "4700000102")

    again = register_complaint(uow, RegisterComplaint("portal", "voltage", "4700000102"), now=NOW)

    assert (again.number, again.already_open) == (number, True)
    with session_factory() as fresh:
        assert [s[0] for s in _steps(fresh, number)] == ["registered", "assigned"]


def test_a_no_supply_complaint_follows_its_outage_from_link_to_restoration(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4700000103", mobiles=(REGISTERED,))
    feeder_id = factories.feeder_of(session, acc).id
    session.commit()
    event_id = publish_breakdown(
        uow,
        Breakdown(since=NOW - dt.timedelta(hours=1), cause="Jumper snapped", feeder_ids=(feeder_id,)),
        actor=DESK,
        now=NOW,
    ).event_id
    number = _register(uow, "4700000103", "no_supply", at=NOW + dt.timedelta(minutes=5))

    restore(uow, event_id, actor=DESK, now=NOW + dt.timedelta(hours=2))

    with session_factory() as fresh:
        assert _steps(fresh, number) == [
            ("registered", "channel:portal", None, NOW + dt.timedelta(minutes=5)),
            ("assigned", "system", 0, NOW + dt.timedelta(minutes=5)),
            ("linked_to_outage", "system", None, NOW + dt.timedelta(minutes=5)),
            ("resolved", "desk.kanpur", None, NOW + dt.timedelta(hours=2)),
        ]
        note = fresh.scalar(select(ComplaintEvent.note).where(ComplaintEvent.step == "resolved"))
        assert note == f"Supply restored (outage {event_id})."


def test_complaints_lodged_before_a_breakdown_is_published_are_linked_then_unlinked_when_it_is_withdrawn(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    dtr = factories.network(session)
    for n in range(2):
        factories.account(session, dtr=dtr, account_no=f"470000020{n}")
    session.commit()
    numbers = [_register(uow, f"470000020{n}", "no_supply", at=NOW + dt.timedelta(minutes=n)) for n in range(2)]
    event_id = publish_breakdown(
        uow,
        Breakdown(since=NOW, cause="HT fuse", feeder_ids=(dtr.feeder_id,)),
        actor=DESK,
        now=NOW + dt.timedelta(minutes=3),
    ).event_id

    cancel(uow, event_id, actor=DESK, now=NOW + dt.timedelta(minutes=9), note="It was one house")

    with session_factory() as fresh:
        for number in numbers:
            assert [(s[0], s[1]) for s in _steps(fresh, number)][2:] == [
                ("linked_to_outage", "desk.kanpur"),
                ("unlinked_from_outage", "desk.kanpur"),
            ]


def test_a_burst_raises_a_suspicion_that_links_each_complaint_and_its_confirmation_links_later_ones(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    dtr = factories.network(session)
    for n in range(4):
        factories.account(session, dtr=dtr, account_no=f"470000030{n}")
    session.commit()
    burst = [_register(uow, f"470000030{n}", "no_supply", at=NOW + dt.timedelta(minutes=n)) for n in range(3)]
    (suspect,) = detect_suspected(uow, now=NOW + dt.timedelta(minutes=5), threshold=3)
    later = _register(uow, "4700000303", "no_supply", at=NOW + dt.timedelta(minutes=6))

    confirm_suspected(uow, suspect, actor=DESK, now=NOW + dt.timedelta(minutes=8), cause="HT fuse off")

    with session_factory() as fresh:
        for number in burst:
            assert _steps(fresh, number)[-1] == (
                "linked_to_outage",
                "system:outage",
                None,
                NOW + dt.timedelta(minutes=5),
            )
        assert _steps(fresh, later)[-1] == ("linked_to_outage", "desk.kanpur", None, NOW + dt.timedelta(minutes=8))


def test_a_restoration_writes_the_steps_of_all_its_complaints_in_one_statement(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    dtr = factories.network(session)
    for n in range(5):
        factories.account(session, dtr=dtr, account_no=f"470000040{n}")
    session.commit()
    event_id = publish_breakdown(
        uow, Breakdown(since=NOW, cause="Jumper", feeder_ids=(dtr.feeder_id,)), actor=DESK, now=NOW
    ).event_id
    numbers = [_register(uow, f"470000040{n}", "no_supply", at=NOW + dt.timedelta(minutes=n)) for n in range(5)]
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO COMPLAINT_EVENT"):
            inserts.append(statement)

    with session_factory() as probe:
        engine = probe.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        restore(uow, event_id, actor=DESK, now=NOW + dt.timedelta(hours=1))
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert len(inserts) == 1
    assert "SELECT" in inserts[0].upper()
    with session_factory() as fresh:
        assert [_steps(fresh, n)[-1][0] for n in numbers] == ["resolved"] * 5


# --- the migration's backfill -------------------------------------------------------------------


@pytest.fixture(scope="module")
def backfill_pg(postgres_url: str) -> Iterator[Engine]:
    from tests.conftest import own_postgres_database

    with own_postgres_database(postgres_url, "urja_history") as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def committing_engine(request: pytest.FixtureRequest) -> Engine:
    from tests.conftest import emptied_engine

    return emptied_engine(request, "backfill_pg")


def test_the_migration_backfills_the_history_of_complaints_already_on_record(committing_engine: Engine) -> None:
    from alembic import command

    from cis.migrate import alembic_config, upgrade

    factory = make_session_factory(committing_engine)
    with factory() as s:  # the account as today's model has it, before the schema goes back to 0009
        account_id = factories.account(s, account_no="4700000501").id
        s.commit()
    config = alembic_config(committing_engine.url.render_as_string(hide_password=False))
    with committing_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    resolved_at = NOW + dt.timedelta(hours=3)
    with factory() as s:
        for n, (status, channel, category) in enumerate(
            (("open", "ivr", "no_supply"), ("resolved", "sms", "voltage"), ("closed", "console", "meter")), start=1
        ):
            # The columns of complaint as revision 0009 has them (later ones are not there yet).
            s.execute(
                insert(Complaint.__table__).values(
                    id=n,
                    number=complaint_no_for_id(n),
                    account_id=account_id,
                    category=category,
                    channel=channel,
                    status=status,
                    escalation_level=0,
                    sla_due_at=NOW + dt.timedelta(hours=4),
                    created_at=NOW + dt.timedelta(minutes=n),
                    resolved_at=None if status == "open" else resolved_at,
                    resolution=None if status == "open" else "Done at site.",
                )
            )
        s.commit()

    upgrade(committing_engine)

    with factory() as fresh:
        assert _steps(fresh, complaint_no_for_id(1)) == [
            ("registered", "channel:ivr", None, NOW + dt.timedelta(minutes=1))
        ]
        assert _steps(fresh, complaint_no_for_id(2)) == [
            ("registered", "channel:sms", None, NOW + dt.timedelta(minutes=2)),
            ("resolved", "system:migration", None, resolved_at),
        ]
        assert _steps(fresh, complaint_no_for_id(3)) == [
            ("registered", "channel:console", None, NOW + dt.timedelta(minutes=3)),
            ("resolved", "system:migration", None, resolved_at),
            ("closed", "system:migration", None, resolved_at),
        ]
        assert fresh.scalar(select(ComplaintEvent.note).where(ComplaintEvent.step == "resolved").limit(1)) == (
            "Done at site."
        )
        timeline = complaint_timeline(UnitOfWork(factory), account_id, complaint_no_for_id(3), now=NOW)
        assert [s.step for s in timeline.steps] == ["registered", "resolved", "closed"]


# --- the consumer's list and timeline -----------------------------------------------------------


def test_my_complaints_lists_only_mine_newest_first_a_page_at_a_time(uow: UnitOfWork, session: Session) -> None:
    mine = _account(session, "4700000601")
    _account(session, "4700000602")
    numbers = [
        _register(uow, "4700000601", category, at=NOW + dt.timedelta(hours=n))
        for n, category in enumerate(("voltage", "meter", "billing"))
    ]
    _register(uow, "4700000602", "voltage", at=NOW + dt.timedelta(hours=5))

    first = my_complaints(uow, mine, per_page=2, now=NOW + dt.timedelta(hours=6))
    second = my_complaints(uow, mine, page=2, per_page=2, now=NOW + dt.timedelta(hours=6))
    past = my_complaints(uow, mine, page=9, per_page=2)

    assert [c.number for c in first.items] == [numbers[2], numbers[1]]
    assert [c.number for c in second.items] == [numbers[0]]
    assert (first.total, first.pages, first.has_next, second.has_next) == (3, 2, True, False)
    assert past.items == ()
    assert [(c.category, c.status, c.escalation_level) for c in second.items] == [("voltage", "open", "je")]


def test_the_timeline_reads_in_order_and_shows_no_staff_name_or_office_note(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    mine = _account(session, "4700000701")
    number = _register(uow, "4700000701")
    _resolve(session_factory, number, NOW + dt.timedelta(hours=2))

    timeline = complaint_timeline(uow, mine, number, now=NOW + dt.timedelta(hours=3))

    assert [(s.step, s.by, s.channel, s.level) for s in timeline.steps] == [
        ("registered", "consumer", "portal", None),
        ("assigned", "system", None, "je"),
        ("resolved", "staff", None, None),
    ]
    assert [s.at for s in timeline.steps] == [NOW, NOW, NOW + dt.timedelta(hours=2)]
    assert timeline.steps[-1].note == "Tightened"
    assert timeline.text == "Fan runs slow"
    assert timeline.complaint.answer_by == NOW + dt.timedelta(hours=2) + CONFIRM_WITHIN
    assert "je.test" not in repr(timeline)


@pytest.mark.parametrize("use", ["timeline", "confirm", "reject"])
def test_another_accounts_complaint_is_answered_as_if_it_did_not_exist(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], use: str
) -> None:
    _account(session, "4700000801")
    other = _account(session, "4700000802")
    number = _register(uow, "4700000801")
    _resolve(session_factory, number, NOW)
    missing = complaint_no_for_id(999_999)
    calls: dict[str, Callable[[str], object]] = {
        "timeline": lambda n: complaint_timeline(uow, other, n, now=NOW),
        "confirm": lambda n: confirm_resolution(uow, other, n, now=NOW),
        "reject": lambda n: reject_resolution(uow, other, n, "Still slow", now=NOW),
    }

    with pytest.raises(UnknownComplaint) as theirs:
        calls[use](number)
    with pytest.raises(UnknownComplaint) as nobodys:
        calls[use](missing)
    with pytest.raises(UnknownComplaint):
        calls[use]("12345")

    assert str(theirs.value) == str(nobodys.value).replace(missing, number)
    with session_factory() as fresh:
        assert fresh.scalars(select(Complaint.status).where(Complaint.number == number)).one() == "resolved"


# --- was it really fixed? ---------------------------------------------------------------------


def test_confirming_a_resolution_closes_the_complaint_once(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    mine = _account(session, "4700000901")
    number = _register(uow, "4700000901")
    _resolve(session_factory, number, NOW + dt.timedelta(hours=2))
    at = NOW + dt.timedelta(days=1)

    first = confirm_resolution(uow, mine, number, now=at)
    again = confirm_resolution(uow, mine, number, now=at + dt.timedelta(minutes=1))

    assert (first.status, first.changed, again.status, again.changed) == ("closed", True, "closed", False)
    with session_factory() as fresh:
        assert _steps(fresh, number)[-1] == ("resolution_confirmed", "channel:portal", None, at)
        audits = fresh.scalars(select(AuditLog).where(AuditLog.action == "complaint.resolution_confirmed")).all()
        assert [(a.entity_id, a.detail["account_id"]) for a in audits] == [(number, mine)]
    with pytest.raises(ResolutionNotPending):
        reject_resolution(uow, mine, number, "Slow again", now=at)


def test_rejecting_a_resolution_reopens_it_one_level_up_with_a_new_due_time(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    mine = _account(session, "4700001001")
    number = _register(uow, "4700001001")  # voltage: 24 hours in a town
    _resolve(session_factory, number, NOW + dt.timedelta(hours=2))
    at = NOW + dt.timedelta(days=2)

    answer = reject_resolution(uow, mine, number, "  Voltage  still drops   every evening ", now=at)

    assert answer == ResolutionAnswer(number, "reopened", True, "sdo", at + dt.timedelta(hours=24))
    with session_factory() as fresh:
        complaint = fresh.scalars(select(Complaint).where(Complaint.number == number)).one()
        sdo = fresh.scalars(
            select(Staff.id).where(
                Staff.role == "sdo", Staff.scope_level == "sub_division", Staff.scope_id == complaint.sub_division_id
            )
        ).one()
        assert (complaint.status, complaint.escalation_level, complaint.assignee_id) == ("reopened", 1, sdo)
        assert (complaint.resolved_at, complaint.resolution, complaint.sla_due_at) == (
            None,
            None,
            at + dt.timedelta(hours=24),
        )
        assert _steps(fresh, number)[-2:] == [
            ("resolution_rejected", "channel:portal", 1, at),
            ("escalated", "system", 1, at),
        ]
        audit = fresh.scalars(select(AuditLog).where(AuditLog.action == "complaint.resolution_rejected")).one()
        assert audit.detail["reason"] == "Voltage still drops every evening"
        assert (audit.detail["level_was"], audit.detail["level"]) == ("je", "sdo")
    timeline = complaint_timeline(uow, mine, number, now=at)
    assert timeline.steps[-2].note == "Voltage still drops every evening"
    assert timeline.complaint.answer_by is None
    again = reject_resolution(uow, mine, number, "Still", now=at)
    assert (again.status, again.changed) == ("reopened", False)
    with pytest.raises(ResolutionNotPending):
        confirm_resolution(uow, mine, number, now=at)


def test_a_complaint_at_the_top_of_the_matrix_stays_with_the_se_when_reopened(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    mine = _account(session, "4700001101", kind="rural")
    number = _register(uow, "4700001101", "meter")
    _resolve(session_factory, number, NOW, level=3)

    answer = reject_resolution(uow, mine, number, "Meter still stopped", now=NOW + dt.timedelta(hours=1))

    # Reopened with the SE's own time in the matrix for a rural meter complaint, counted from the rejection.
    se_hours = matrix().categories["meter"].rural[3]
    assert (answer.escalation_level, answer.sla_due_at) == ("se", NOW + dt.timedelta(hours=1 + se_hours))
    with session_factory() as fresh:
        assert [s[0] for s in _steps(fresh, number)][-1] == "resolution_rejected"  # no escalation past the SE


def test_only_a_resolved_complaint_within_the_window_can_be_answered(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    mine = _account(session, "4700001201")
    still_open = _register(uow, "4700001201", "voltage")
    old = _register(uow, "4700001201", "meter")
    _resolve(session_factory, old, NOW)
    late = NOW + CONFIRM_WITHIN + dt.timedelta(minutes=1)

    with pytest.raises(ResolutionNotPending) as not_yet:
        confirm_resolution(uow, mine, still_open, now=NOW)
    with pytest.raises(ConfirmationWindowClosed) as too_late:
        reject_resolution(uow, mine, old, "Broken", now=late)
    with pytest.raises(ConfirmationWindowClosed):
        confirm_resolution(uow, mine, old, now=late)
    with pytest.raises(MissingDetails):
        reject_resolution(uow, mine, old, "   ", now=NOW)
    with pytest.raises(TextTooLong):
        reject_resolution(uow, mine, old, "x" * 501, now=NOW)

    assert not_yet.value.status == "open"
    assert "7 days" in str(too_late.value)
    answered = confirm_resolution(uow, mine, old, now=NOW + CONFIRM_WITHIN)  # the last moment still counts
    assert answered.status == "closed"


def test_a_rejection_when_a_newer_complaint_of_the_kind_is_open_points_to_that_one(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    mine = _account(session, "4700001301")
    first = _register(uow, "4700001301")
    _resolve(session_factory, first, NOW)
    newer = _register(uow, "4700001301", at=NOW + dt.timedelta(hours=1))

    with pytest.raises(ComplaintAlreadyOpen) as raised:
        reject_resolution(uow, mine, first, "Still low", now=NOW + dt.timedelta(hours=2))

    assert raised.value.open_number == newer
    with session_factory() as fresh:
        assert fresh.scalars(select(Complaint.status).where(Complaint.number == first)).one() == "resolved"
        assert [s[0] for s in _steps(fresh, first)][-1] == "resolved"


# --- answers at the same moment ----------------------------------------------------------------


def _at_once(engine: Engine, account_id: int, number: str, answers: list[str]) -> list[ResolutionAnswer | CisError]:
    factory = make_session_factory(engine)
    start = threading.Barrier(len(answers))

    def answer(kind: str) -> ResolutionAnswer | CisError:
        uow = UnitOfWork(factory)
        start.wait(timeout=30)
        try:
            if kind == "reject":
                return reject_resolution(uow, account_id, number, "Not fixed", now=NOW + dt.timedelta(hours=1))
            return confirm_resolution(uow, account_id, number, now=NOW + dt.timedelta(hours=1))
        except CisError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(answers)) as pool:
        return list(pool.map(answer, answers))


def _arranged(engine: Engine, account_no: str) -> tuple[int, str]:
    factory = make_session_factory(engine)
    with factory() as s:
        account_id = _account(s, account_no)
    number = _register(UnitOfWork(factory), account_no)
    _resolve(factory, number, NOW)
    return account_id, number


def _assert_one_answer_counted(engine: Engine, number: str, results: list[ResolutionAnswer | CisError]) -> None:
    changed = [r for r in results if isinstance(r, ResolutionAnswer) and r.changed]
    assert len(changed) == 1
    with make_session_factory(engine)() as fresh:
        steps = [s[0] for s in _steps(fresh, number)]
        answered = [s for s in steps if s in ("resolution_confirmed", "resolution_rejected")]
        assert answered == [f"resolution_{'rejected' if changed[0].status == 'reopened' else 'confirmed'}"]
        audits = fresh.scalars(select(AuditLog.action).where(AuditLog.entity_id == number)).all()
        assert len([a for a in audits if a.startswith("complaint.resolution_")]) == 1
        status = fresh.scalars(select(Complaint.status).where(Complaint.number == number)).one()
        assert status == changed[0].status
    for other in results:
        if other is not changed[0]:
            assert isinstance(other, (ResolutionAnswer, ResolutionNotPending))
            if isinstance(other, ResolutionAnswer):
                assert (other.status, other.changed) == (changed[0].status, False)


@pytest.mark.parametrize("answers", [["reject"] * 6, ["reject", "confirm"] * 3])
def test_answers_at_the_same_moment_on_postgresql_count_once(pg_engine: Engine, answers: list[str]) -> None:
    account_no = "48" + "".join(secrets.choice("0123456789") for _ in range(8))
    account_id, number = _arranged(pg_engine, account_no)
    try:
        _assert_one_answer_counted(pg_engine, number, _at_once(pg_engine, account_id, number, answers))
    finally:
        _delete_committed(pg_engine, account_id, "none")


@pytest.mark.parametrize("answers", [["reject"] * 6, ["reject", "confirm"] * 3])
def test_answers_at_the_same_moment_on_a_sqlite_file_count_once(sqlite_engine: Engine, answers: list[str]) -> None:
    account_id, number = _arranged(sqlite_engine, "4700001401")
    _assert_one_answer_counted(sqlite_engine, number, _at_once(sqlite_engine, account_id, number, answers))
