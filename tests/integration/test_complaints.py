"""Complaint use cases against a real database: registration from every channel, its SMS, SLA and status."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from cis.complaints import (
    CHANNELS,
    ComplaintReceipt,
    RegisterComplaint,
    complaint_status,
    register_complaint,
)
from cis.db import UnitOfWork, make_session_factory
from cis.errors import (
    AccountClosed,
    CisError,
    MalformedAccountNumber,
    MalformedMobile,
    MissingDetails,
    TextTooLong,
    UnknownAccount,
    UnknownChannel,
    UnknownComplaint,
    UnknownComplaintCategory,
)
from cis.interruptions import InterruptionNotice, record_interruption
from cis.models import (
    Account,
    AccountMobile,
    AuditLog,
    Circle,
    Complaint,
    ComplaintEvent,
    Consumer,
    DistributionTransformer,
    Division,
    Feeder,
    Outbox,
    Staff,
    SubDivision,
    Substation,
    Zone,
)
from cis.numbers import complaint_no_for_id
from outage.events import Actor, Breakdown, Shutdown, cancel, publish_breakdown, publish_shutdown, restore
from sms.dispatch import variables_for
from sms.templates import load_templates, render
from tests import factories

NOW = factories.NOW
REGISTERED = "+919876543210"  # the account's registered mobile
CALLER = "+919811122233"  # a mobile the consumer calls or texts from
TOO_LONG = "x" * 1001


def _complaint(fresh: Session, number: str) -> Complaint:
    row = fresh.scalar(select(Complaint).where(Complaint.number == number))
    assert row is not None, f"complaint {number} was not committed"
    return row


def _acks(fresh: Session, number: str) -> list[Outbox]:
    rows = fresh.scalars(select(Outbox).where(Outbox.template == "complaint.ack").order_by(Outbox.id))
    return [row for row in rows if row.payload.get("number") == number]


def _counts(session_factory: Callable[[], Session]) -> tuple[int, int, int]:
    with session_factory() as fresh:
        complaints, audits, outbox = (
            fresh.scalar(select(func.count()).select_from(model)) or 0 for model in (Complaint, AuditLog, Outbox)
        )
    return complaints, audits, outbox


# --- registering and reading back ---------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_complaint_from_any_channel_gets_a_digits_only_number_on_record(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], channel: str
) -> None:
    factories.account(session, account_no="4600000001", mobiles=(REGISTERED,))
    session.commit()

    receipt = register_complaint(
        uow,
        RegisterComplaint(
            channel=channel,
            category="no_supply",
            account_no="4600000001",
            channel_request_id=f"{channel}-req-1",
        ),
        now=NOW,
    )

    assert receipt.created is True
    assert receipt.number.isascii()
    assert receipt.number.isdigit()
    with session_factory() as fresh:
        complaint = _complaint(fresh, receipt.number)
        assert (complaint.channel, complaint.channel_request_id) == (channel, f"{channel}-req-1")


def test_status_finds_a_registered_complaint_and_says_where_it_stands(uow: UnitOfWork, session: Session) -> None:
    factories.account(session, account_no="4600000001", mobiles=(REGISTERED,))
    session.commit()
    receipt = register_complaint(
        uow, RegisterComplaint(channel="ivr", category="no_supply", account_no="4600000001"), now=NOW
    )

    status = complaint_status(uow, receipt.number)

    assert status.number == receipt.number
    assert status.category == "no_supply"
    assert status.status == "open"
    assert status.account_no == "4600000001"
    assert status.registered_at == NOW
    assert status.sla_due_at == NOW + dt.timedelta(hours=4)
    assert status.escalation_level == "je"
    assert status.resolved_at is None
    assert status.resolution is None


def test_a_complaint_is_committed_with_its_audit_row_and_ack_sms_before_its_number_is_returned(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4600000002", mobiles=(REGISTERED,))
    session.commit()

    receipt = register_complaint(
        uow,
        RegisterComplaint(
            channel="ivr",
            category="no_supply",
            account_no="4600000002",
            mobile="09811122233",
            text="Light gone since morning",
            channel_request_id="call-1",
        ),
        now=NOW,
    )

    with session_factory() as fresh:
        complaint = _complaint(fresh, receipt.number)
        assert complaint.account_id == acc.id
        assert complaint.mobile == CALLER
        assert complaint.channel == "ivr"
        assert complaint.text == "Light gone since morning"
        assert complaint.status == "open"
        audit = fresh.scalars(
            select(AuditLog).where(AuditLog.entity == "complaint", AuditLog.entity_id == receipt.number)
        ).all()
        assert [(a.actor, a.action) for a in audit] == [("channel:ivr", "complaint.registered")]
        assert audit[0].detail["account_no"] == "4600000002"
        acks = _acks(fresh, receipt.number)
        assert len(acks) == 1
        ack = acks[0]
        assert (ack.channel, ack.status, ack.recipient) == ("sms", "pending", CALLER)
        assert ack.account_id == acc.id
        assert ack.payload["number"] == receipt.number
        assert ack.payload["category"] == "No supply"


def test_without_a_caller_mobile_the_ack_sms_goes_to_the_accounts_registered_mobile(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no="4600000003", mobiles=(REGISTERED,))
    session.commit()

    receipt = register_complaint(
        uow, RegisterComplaint(channel="portal", category="voltage", account_no="4600000003"), now=NOW
    )

    with session_factory() as fresh:
        assert [ack.recipient for ack in _acks(fresh, receipt.number)] == [REGISTERED]


def test_an_account_that_opted_out_of_sms_and_gave_no_mobile_gets_no_ack_sms(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4600000004", mobiles=(REGISTERED,), opt_out=True)
    session.commit()

    receipt = register_complaint(
        uow, RegisterComplaint(channel="console", category="meter", account_no="4600000004"), now=NOW
    )

    with session_factory() as fresh:
        assert _complaint(fresh, receipt.number).account_id == acc.id
        assert _acks(fresh, receipt.number) == []
        assert fresh.scalar(select(func.count()).select_from(Outbox).where(Outbox.account_id == acc.id)) == 0


# --- idempotency --------------------------------------------------------------------------------


def test_the_same_channel_request_twice_gives_the_first_complaint_back_and_one_sms(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no="4600000005", mobiles=(REGISTERED,))
    session.commit()
    cmd = RegisterComplaint(
        channel="sms",
        category="no_supply",
        account_no="4600000005",
        mobile=CALLER,
        channel_request_id="SM0001",
    )

    first = register_complaint(uow, cmd, now=NOW)
    again = register_complaint(uow, cmd, now=NOW + dt.timedelta(minutes=3))

    assert first.created is True
    # The retry says whom the first one's acknowledgement went to: the caller.
    assert first.acknowledged_to == (CALLER,)
    assert again == ComplaintReceipt(first.number, False, "no_supply", first.sla_due_at, acknowledged_to=(CALLER,))
    with session_factory() as fresh:
        rows = fresh.scalars(
            select(Complaint).where(Complaint.channel == "sms", Complaint.channel_request_id == "SM0001")
        ).all()
        assert [row.number for row in rows] == [first.number]
        assert len(_acks(fresh, first.number)) == 1


def test_the_same_request_id_on_different_channels_makes_different_complaints(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no="4600000006", mobiles=(REGISTERED,))
    session.commit()

    by_ivr, by_ussd = (
        register_complaint(
            uow,
            RegisterComplaint(channel=channel, category=category, account_no="4600000006", channel_request_id="42"),
            now=NOW,
        )
        for channel, category in (("ivr", "no_supply"), ("ussd", "voltage"))  # one open complaint of each kind
    )

    assert by_ivr.created is True
    assert by_ussd.created is True
    assert by_ivr.number != by_ussd.number
    with session_factory() as fresh:
        assert (
            fresh.scalar(select(func.count()).select_from(Complaint).where(Complaint.channel_request_id == "42")) == 2
        )


# --- SLA and assignment -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "hours"), [("urban", 4), ("rural", 8)])
def test_a_no_supply_complaint_is_due_within_the_sla_of_its_feeder_kind(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], kind: str, hours: int
) -> None:
    factories.account(session, account_no="4600000007", kind=kind)
    session.commit()
    now = dt.datetime(2026, 6, 1, 22, 30, tzinfo=dt.UTC)

    receipt = register_complaint(
        uow, RegisterComplaint(channel="ivr", category="no_supply", account_no="4600000007"), now=now
    )

    assert receipt.sla_due_at == now + dt.timedelta(hours=hours)
    with session_factory() as fresh:
        assert _complaint(fresh, receipt.number).sla_due_at == now + dt.timedelta(hours=hours)


def test_the_je_of_the_accounts_sub_division_is_assigned_the_complaint(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no="4600000008")  # another sub-division with its own JE
    acc = factories.account(session, account_no="4600000009")
    sub_division_id = session.scalar(
        select(Substation.sub_division_id)
        .join(Feeder, Feeder.substation_id == Substation.id)
        .join(DistributionTransformer, DistributionTransformer.feeder_id == Feeder.id)
        .where(DistributionTransformer.id == acc.dt_id)
    )
    session.commit()

    receipt = register_complaint(
        uow, RegisterComplaint(channel="console", category="no_supply", account_no="4600000009"), now=NOW
    )

    with session_factory() as fresh:
        complaint = _complaint(fresh, receipt.number)
        assert complaint.sub_division_id == sub_division_id
        assert complaint.assignee_id is not None
        assignee = fresh.get(Staff, complaint.assignee_id)
        assert assignee is not None
        assert assignee.role == "je"
        assert (assignee.scope_level, assignee.scope_id) == ("sub_division", sub_division_id)


# --- refusals, before anything is written -------------------------------------------------------


def _bad(cmd: RegisterComplaint, error: type[CisError], case_id: str) -> object:
    return pytest.param(cmd, error, id=case_id)


@pytest.mark.parametrize(
    ("cmd", "error"),
    [
        _bad(
            RegisterComplaint(channel="whatsapp", category="no_supply", account_no="4600000010"),
            UnknownChannel,
            "unknown-channel",
        ),
        _bad(
            RegisterComplaint(channel="ivr", category="streetlight", account_no="4600000010"),
            UnknownComplaintCategory,
            "unknown-category",
        ),
        _bad(
            RegisterComplaint(channel="ivr", category="no_supply", mobile=CALLER, text="K block"),
            MissingDetails,
            "no-supply-without-account",
        ),
        _bad(
            RegisterComplaint(channel="ivr", category="no_supply", account_no="4699999999"),
            UnknownAccount,
            "unknown-account",
        ),
        _bad(
            RegisterComplaint(channel="ivr", category="no_supply", account_no="46000000"),
            MalformedAccountNumber,
            "malformed-account-number",
        ),
        _bad(
            RegisterComplaint(channel="sms", category="no_supply", account_no="4600000010", mobile="12345"),
            MalformedMobile,
            "malformed-mobile",
        ),
        _bad(
            RegisterComplaint(channel="portal", category="voltage", account_no="4600000010", text=TOO_LONG),
            TextTooLong,
            "text-over-1000-characters",
        ),
        _bad(
            RegisterComplaint(channel="ivr", category="no_supply", account_no="4600000011"),
            AccountClosed,
            "no-supply-on-perm-disconnected-account",
        ),
        _bad(
            RegisterComplaint(channel="sms", category="dangerous_line", mobile=CALLER),
            MissingDetails,
            "hazard-without-account-or-location",
        ),
    ],
)
def test_a_bad_complaint_is_refused_before_anything_is_written(
    uow: UnitOfWork,
    session: Session,
    session_factory: Callable[[], Session],
    cmd: RegisterComplaint,
    error: type[CisError],
) -> None:
    factories.account(session, account_no="4600000010", mobiles=(REGISTERED,))
    factories.account(session, account_no="4600000011", mobiles=(REGISTERED,), status="perm_disconnected")
    session.commit()
    before = _counts(session_factory)

    with pytest.raises(error):
        register_complaint(uow, cmd, now=NOW)

    assert _counts(session_factory) == before


def test_a_billing_complaint_on_a_permanently_disconnected_account_is_accepted(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4600000012", mobiles=(REGISTERED,), status="perm_disconnected")
    session.commit()

    receipt = register_complaint(
        uow,
        RegisterComplaint(
            channel="portal",
            category="billing",
            account_no="4600000012",
            text="Final bill charges a month after disconnection",
        ),
        now=NOW,
    )

    assert receipt.created is True
    assert receipt.sla_due_at == NOW + dt.timedelta(hours=168)
    with session_factory() as fresh:
        assert _complaint(fresh, receipt.number).account_id == acc.id
        assert [ack.recipient for ack in _acks(fresh, receipt.number)] == [REGISTERED]


def test_a_complaint_text_of_exactly_1000_characters_is_accepted(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no="4600000013")
    session.commit()

    receipt = register_complaint(
        uow,
        RegisterComplaint(channel="portal", category="voltage", account_no="4600000013", text="v" * 1000),
        now=NOW,
    )

    with session_factory() as fresh:
        assert _complaint(fresh, receipt.number).text == "v" * 1000


def test_a_dangerous_line_reported_with_a_mobile_and_a_location_but_no_account_is_accepted(
    uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    receipt = register_complaint(
        uow,
        RegisterComplaint(
            channel="sms",
            category="dangerous_line",
            mobile="098111 22233",
            text="Sparking pole near Kidwai Nagar chauraha",
            channel_request_id="SM77",
        ),
        now=NOW,
    )

    assert receipt.created is True
    assert receipt.sla_due_at == NOW + dt.timedelta(hours=4)
    with session_factory() as fresh:
        complaint = _complaint(fresh, receipt.number)
        assert complaint.account_id is None
        assert complaint.mobile == CALLER
        assert complaint.text == "Sparking pole near Kidwai Nagar chauraha"
        assert [(ack.recipient, ack.account_id) for ack in _acks(fresh, receipt.number)] == [(CALLER, None)]


# --- status -------------------------------------------------------------------------------------


def test_status_of_a_well_formed_number_that_is_not_on_record_raises_unknown_complaint(
    uow: UnitOfWork,
) -> None:
    with pytest.raises(UnknownComplaint):
        complaint_status(uow, complaint_no_for_id(987_654_321))


def test_status_of_a_number_with_a_mistyped_last_digit_raises_unknown_complaint(
    uow: UnitOfWork, session: Session
) -> None:
    factories.account(session, account_no="4600000014")
    session.commit()
    receipt = register_complaint(
        uow, RegisterComplaint(channel="ivr", category="no_supply", account_no="4600000014"), now=NOW
    )
    mistyped = receipt.number[:-1] + str((int(receipt.number[-1]) + 1) % 10)

    with pytest.raises(UnknownComplaint):
        complaint_status(uow, mistyped)


# --- concurrency (PostgreSQL, real commits) -----------------------------------------------------


def _delete_committed(engine: Engine, account_id: int, request_id: str) -> None:
    """Delete, in foreign-key order, exactly the rows the concurrency test committed."""
    with make_session_factory(engine)() as s:
        account = s.get(Account, account_id)
        assert account is not None
        dtr = s.get(DistributionTransformer, account.dt_id)
        assert dtr is not None
        feeder = s.get(Feeder, dtr.feeder_id)
        assert feeder is not None
        substation = s.get(Substation, feeder.substation_id)
        assert substation is not None
        sub = s.get(SubDivision, substation.sub_division_id)
        assert sub is not None
        division = s.get(Division, sub.division_id)
        assert division is not None
        circle = s.get(Circle, division.circle_id)
        assert circle is not None
        complaints = s.execute(
            select(Complaint.id, Complaint.number).where(
                (Complaint.account_id == account_id) | (Complaint.channel_request_id == request_id)
            )
        ).all()
        numbers = [number for _, number in complaints if number is not None]
        staff_ids = s.scalars(
            select(Staff.id).where(Staff.scope_level == "sub_division", Staff.scope_id == sub.id)
        ).all()
        s.execute(delete(Outbox).where(Outbox.account_id == account_id))
        s.execute(delete(AuditLog).where(AuditLog.entity == "complaint", AuditLog.entity_id.in_(numbers)))
        ids = [cid for cid, _ in complaints]
        s.execute(delete(ComplaintEvent).where(ComplaintEvent.complaint_id.in_(ids)))
        s.execute(delete(Complaint).where(Complaint.id.in_(ids)))
        s.execute(delete(AccountMobile).where(AccountMobile.account_id == account_id))
        s.execute(delete(Account).where(Account.id == account_id))
        s.execute(delete(Consumer).where(Consumer.id == account.consumer_id))
        s.execute(delete(Staff).where(Staff.id.in_(staff_ids)))
        s.execute(delete(DistributionTransformer).where(DistributionTransformer.id == dtr.id))
        s.execute(delete(Feeder).where(Feeder.id == feeder.id))
        s.execute(delete(Substation).where(Substation.id == substation.id))
        s.execute(delete(SubDivision).where(SubDivision.id == sub.id))
        s.execute(delete(Division).where(Division.id == division.id))
        s.execute(delete(Circle).where(Circle.id == circle.id))
        s.execute(delete(Zone).where(Zone.id == circle.zone_id))
        s.commit()


def test_eight_simultaneous_retries_of_one_channel_request_make_one_complaint(pg_engine: Engine) -> None:
    factory = make_session_factory(pg_engine)
    account_no = "49" + "".join(secrets.choice("0123456789") for _ in range(8))
    request_id = f"race-{secrets.token_hex(8)}"
    with factory() as s:
        account_id = factories.account(s, account_no=account_no, mobiles=(REGISTERED,)).id
        s.commit()
    try:
        cmd = RegisterComplaint(
            channel="ivr", category="no_supply", account_no=account_no, channel_request_id=request_id
        )
        start = threading.Barrier(8)

        def register(_: int) -> ComplaintReceipt:
            start.wait(timeout=30)
            return register_complaint(UnitOfWork(factory), cmd, now=NOW)

        with ThreadPoolExecutor(max_workers=8) as pool:
            receipts = list(pool.map(register, range(8)))

        assert len({r.number for r in receipts}) == 1
        assert sum(r.created for r in receipts) == 1
        with factory() as fresh:
            rows = fresh.scalars(
                select(Complaint).where(Complaint.channel == "ivr", Complaint.channel_request_id == request_id)
            ).all()
            assert [row.number for row in rows] == [receipts[0].number]
            assert len(_acks(fresh, receipts[0].number)) == 1
    finally:
        _delete_committed(pg_engine, account_id, request_id)


# --- a no-supply complaint during a published outage ---------------------------------------------

DESK = Actor("staff:desk-test")
CAUSE = "11 kV jumper snapped"


def _sms_text(row: Outbox) -> str:
    """The acknowledgement as the consumer reads it, rendered from its outbox row as the dispatcher does."""
    template = load_templates()[row.template]
    return render(template, variables_for(template, row.payload), allowed_urls=(), allowed_numbers=(), now=NOW).text


def _acks_of(fresh: Session, number: str) -> list[Outbox]:
    rows = fresh.scalars(select(Outbox).where(Outbox.template.like("complaint.ack%")).order_by(Outbox.id))
    return [row for row in rows if row.payload.get("number") == number]


def _breakdown(
    uow: UnitOfWork, feeder_id: int, *, since: dt.datetime, etr: dt.datetime | None, now: dt.datetime = NOW
) -> int:
    report = Breakdown(since=since, cause=CAUSE, feeder_ids=(feeder_id,), expected_restore_at=etr)
    return publish_breakdown(uow, report, actor=DESK, now=now).event_id


def test_a_no_supply_complaint_during_a_published_breakdown_is_linked_and_told_the_etr(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4610000001", mobiles=(REGISTERED,))
    feeder = factories.feeder_of(session, acc)
    feeder_id, feeder_name = feeder.id, feeder.name
    session.commit()
    event_id = _breakdown(uow, feeder_id, since=NOW - dt.timedelta(hours=1), etr=NOW + dt.timedelta(hours=3))

    receipt = register_complaint(
        uow,
        RegisterComplaint(
            channel="sms", category="no_supply", account_no="4610000001", mobile=CALLER, channel_request_id="SMo1"
        ),
        now=NOW,
    )

    assert receipt.created is True
    assert receipt.number.isdigit()
    assert receipt.sla_due_at == NOW + dt.timedelta(hours=3)  # nobody is sent before the promised restoration
    assert receipt.outage == InterruptionNotice(
        kind="breakdown",
        started_at=NOW - dt.timedelta(hours=1),
        expected_restore_at=NOW + dt.timedelta(hours=3),
        reason=CAUSE,
        feeder_name=feeder_name,
    )
    with session_factory() as fresh:
        complaint = _complaint(fresh, receipt.number)
        assert complaint.outage_event_id == event_id
        assert complaint.status == "open"
        assert complaint.sla_due_at == NOW + dt.timedelta(hours=3)
        acks = _acks_of(fresh, receipt.number)
        assert [(a.template, a.recipient) for a in acks] == [("complaint.ack_outage", CALLER)]
        assert acks[0].payload == {
            "number": receipt.number,
            "account_no": "4610000001",
            "area": feeder_name,
            "reason": "breakdown",
            "etr": (NOW + dt.timedelta(hours=3)).isoformat(),
        }
        assert _sms_text(acks[0]) == (
            f"Complaint {receipt.number} noted: power in {feeder_name} is off due to a "
            "breakdown, expected back by 20 Nov 2026, 6:30 PM. -Urja Mitra"
        )
        audit = fresh.scalars(
            select(AuditLog).where(AuditLog.entity == "complaint", AuditLog.entity_id == receipt.number)
        ).one()
        assert audit.detail["outage_event_id"] == event_id


def test_a_linked_complaint_numbers_in_the_same_series_as_any_other(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    on_outage = factories.account(session, account_no="4610000002")
    factories.account(session, account_no="4610000003")
    feeder_id = factories.feeder_of(session, on_outage).id
    session.commit()
    _breakdown(uow, feeder_id, since=NOW - dt.timedelta(hours=1), etr=NOW + dt.timedelta(hours=2))

    plain = register_complaint(uow, RegisterComplaint("ivr", "no_supply", "4610000003"), now=NOW)
    linked = register_complaint(uow, RegisterComplaint("ivr", "no_supply", "4610000002"), now=NOW)

    assert linked.outage is not None
    assert plain.outage is None
    with session_factory() as fresh:
        assert _complaint(fresh, linked.number).id == _complaint(fresh, plain.number).id + 1
        assert linked.number == complaint_no_for_id(_complaint(fresh, linked.number).id)


@pytest.mark.parametrize("etr_after_start", [dt.timedelta(hours=1), None], ids=["etr-past", "no-etr"])
def test_a_linked_complaint_with_no_etr_ahead_keeps_the_usual_sla_and_promises_no_time(
    uow: UnitOfWork,
    session: Session,
    session_factory: Callable[[], Session],
    etr_after_start: dt.timedelta | None,
) -> None:
    acc = factories.account(session, account_no="4610000004", mobiles=(REGISTERED,))
    feeder_id = factories.feeder_of(session, acc).id
    session.commit()
    since = NOW - dt.timedelta(hours=3)
    _breakdown(uow, feeder_id, since=since, etr=since + etr_after_start if etr_after_start else None, now=since)

    receipt = register_complaint(uow, RegisterComplaint("portal", "no_supply", "4610000004"), now=NOW)

    assert receipt.outage is not None
    assert receipt.sla_due_at == NOW + dt.timedelta(hours=4)
    with session_factory() as fresh:
        (ack,) = _acks_of(fresh, receipt.number)
        assert (ack.template, ack.recipient) == ("complaint.ack_outage_no_etr", REGISTERED)
        assert "etr" not in ack.payload
        assert _sms_text(ack) == (
            f"Complaint {receipt.number} noted: power in {ack.payload['area']} is off due to a breakdown; "
            "restoration time not known yet. -Urja Mitra"
        )


def test_a_no_supply_complaint_during_a_planned_shutdown_under_way_names_it(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4610000005", mobiles=(REGISTERED,))
    feeder_id = factories.feeder_of(session, acc).id
    session.commit()
    plan = Shutdown((feeder_id,), NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=5), "Tree trimming")
    publish_shutdown(uow, plan, actor=DESK, now=NOW - dt.timedelta(days=1))

    receipt = register_complaint(uow, RegisterComplaint("ivr", "no_supply", "4610000005"), now=NOW)

    assert receipt.outage is not None
    assert receipt.outage.kind == "shutdown"
    assert receipt.sla_due_at == NOW + dt.timedelta(hours=5)
    with session_factory() as fresh:
        (ack,) = _acks_of(fresh, receipt.number)
        assert ack.payload["reason"] == "planned shutdown"
        assert "is off due to a planned shutdown, expected back by 20 Nov 2026, 8:30 PM." in _sms_text(ack)


def test_a_retried_request_for_a_linked_complaint_gives_the_same_receipt_and_one_sms(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4610000006", mobiles=(REGISTERED,))
    feeder_id = factories.feeder_of(session, acc).id
    session.commit()
    _breakdown(uow, feeder_id, since=NOW - dt.timedelta(hours=1), etr=NOW + dt.timedelta(hours=2))
    cmd = RegisterComplaint("sms", "no_supply", "4610000006", mobile=CALLER, channel_request_id="SMo6")

    first = register_complaint(uow, cmd, now=NOW)
    again = register_complaint(uow, cmd, now=NOW + dt.timedelta(minutes=2))

    assert first.outage is not None
    assert again == ComplaintReceipt(
        first.number, False, "no_supply", first.sla_due_at, first.outage, acknowledged_to=(CALLER,)
    )
    with session_factory() as fresh:
        assert len(_acks_of(fresh, first.number)) == 1


def _restored(uow: UnitOfWork, feeder_id: int, other_feeder_id: int) -> None:
    event_id = _breakdown(uow, feeder_id, since=NOW - dt.timedelta(hours=3), etr=None, now=NOW - dt.timedelta(hours=3))
    restore(uow, event_id, actor=DESK, now=NOW - dt.timedelta(minutes=30))


def _withdrawn(uow: UnitOfWork, feeder_id: int, other_feeder_id: int) -> None:
    event_id = _breakdown(uow, feeder_id, since=NOW - dt.timedelta(hours=1), etr=None, now=NOW - dt.timedelta(hours=1))
    cancel(uow, event_id, actor=DESK, now=NOW - dt.timedelta(minutes=30), note="published in error")


def _shutdown_ahead(uow: UnitOfWork, feeder_id: int, other_feeder_id: int) -> None:
    plan = Shutdown((feeder_id,), NOW + dt.timedelta(hours=2), NOW + dt.timedelta(hours=6), "Line maintenance")
    publish_shutdown(uow, plan, actor=DESK, now=NOW - dt.timedelta(hours=20))


def _other_feeder(uow: UnitOfWork, feeder_id: int, other_feeder_id: int) -> None:
    _breakdown(uow, other_feeder_id, since=NOW - dt.timedelta(hours=1), etr=NOW + dt.timedelta(hours=2))


def _recorded_without_event(uow: UnitOfWork, feeder_id: int, other_feeder_id: int) -> None:
    record_interruption(uow, feeder_id, "breakdown", NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=2), now=NOW)


@pytest.mark.parametrize(
    "arrange",
    [_restored, _withdrawn, _shutdown_ahead, _other_feeder, _recorded_without_event],
    ids=["restored", "cancelled", "shutdown-not-started", "another-feeder", "no-event"],
)
def test_a_no_supply_complaint_without_a_live_published_outage_on_its_feeder_is_not_linked(
    uow: UnitOfWork,
    session: Session,
    session_factory: Callable[[], Session],
    arrange: Callable[[UnitOfWork, int, int], None],
) -> None:
    acc = factories.account(session, account_no="4610000007", mobiles=(REGISTERED,))
    other = factories.account(session, account_no="4610000008")
    feeder_id, other_feeder_id = factories.feeder_of(session, acc).id, factories.feeder_of(session, other).id
    session.commit()
    arrange(uow, feeder_id, other_feeder_id)

    receipt = register_complaint(uow, RegisterComplaint("ivr", "no_supply", "4610000007"), now=NOW)

    assert receipt.outage is None
    assert receipt.sla_due_at == NOW + dt.timedelta(hours=4)
    with session_factory() as fresh:
        assert _complaint(fresh, receipt.number).outage_event_id is None
        assert [a.template for a in _acks_of(fresh, receipt.number)] == ["complaint.ack"]


def test_a_complaint_of_another_category_during_an_outage_is_not_linked(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    acc = factories.account(session, account_no="4610000009", mobiles=(REGISTERED,))
    feeder_id = factories.feeder_of(session, acc).id
    session.commit()
    _breakdown(uow, feeder_id, since=NOW - dt.timedelta(hours=1), etr=NOW + dt.timedelta(hours=2))

    receipt = register_complaint(uow, RegisterComplaint("ivr", "meter", "4610000009"), now=NOW)

    assert receipt.outage is None
    assert receipt.sla_due_at == NOW + dt.timedelta(hours=168)
    with session_factory() as fresh:
        assert _complaint(fresh, receipt.number).outage_event_id is None
        assert [a.template for a in _acks_of(fresh, receipt.number)] == ["complaint.ack"]


# --- who is sent the acknowledgement --------------------------------------------------------------

STRANGER = "+919700000001"  # a mobile somebody typed into a web form: nobody proved it is theirs


def _outbox_to(fresh: Session, recipient: str) -> list[Outbox]:
    return list(fresh.scalars(select(Outbox).where(Outbox.recipient == recipient)))


def test_a_web_complaint_naming_a_mobile_nobody_proved_acknowledges_the_accounts_own_mobile(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no="4620000001", mobiles=(REGISTERED,))
    session.commit()

    receipt = register_complaint(
        uow, RegisterComplaint("portal", "voltage", "4620000001", mobile=STRANGER, text="Fan runs slow"), now=NOW
    )

    assert receipt.created is True
    with session_factory() as fresh:
        assert [ack.recipient for ack in _acks(fresh, receipt.number)] == [REGISTERED]
        assert _outbox_to(fresh, STRANGER) == []
        assert _complaint(fresh, receipt.number).mobile == STRANGER  # kept as a contact for the field staff


def test_a_hazard_from_the_web_with_an_unproved_mobile_sends_no_sms_at_all(
    uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    receipt = register_complaint(
        uow,
        RegisterComplaint("portal", "dangerous_line", mobile=STRANGER, text="Sparking pole near the school gate"),
        now=NOW,
    )

    assert receipt.created is True
    with session_factory() as fresh:
        assert _acks(fresh, receipt.number) == []
        assert _outbox_to(fresh, STRANGER) == []


@pytest.mark.parametrize(
    ("mobile", "verified"), [("+919876543211", False), (STRANGER, True)], ids=["registered", "proven-by-otp"]
)
def test_a_web_complaint_acknowledges_a_mobile_registered_on_the_account_or_proven_by_otp(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], mobile: str, verified: bool
) -> None:
    factories.account(session, account_no="4620000002", mobiles=(REGISTERED, "+919876543211"))
    session.commit()

    receipt = register_complaint(
        uow,
        RegisterComplaint("portal", "meter", "4620000002", mobile=mobile, mobile_verified=verified),
        now=NOW,
    )

    with session_factory() as fresh:
        assert [ack.recipient for ack in _acks(fresh, receipt.number)] == [mobile]


@pytest.mark.parametrize("channel", ["ivr", "sms", "ussd"])
def test_the_caller_id_of_a_call_sms_or_ussd_session_is_proof_of_the_mobile(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session], channel: str
) -> None:
    factories.account(session, account_no="4620000003", mobiles=(REGISTERED,))
    session.commit()

    receipt = register_complaint(uow, RegisterComplaint(channel, "billing", "4620000003", mobile=CALLER), now=NOW)

    with session_factory() as fresh:
        assert [ack.recipient for ack in _acks(fresh, receipt.number)] == [CALLER]


# --- one open complaint of a kind per account ------------------------------------------------------


def test_a_second_open_complaint_of_the_same_kind_answers_with_the_first_ones_number(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no="4630000001", mobiles=(REGISTERED,))
    session.commit()
    first = register_complaint(
        uow, RegisterComplaint("sms", "no_supply", "4630000001", mobile=CALLER, channel_request_id="SM-a"), now=NOW
    )

    by_sms = register_complaint(
        uow,
        RegisterComplaint("sms", "no_supply", "4630000001", mobile=CALLER, channel_request_id="SM-b"),
        now=NOW + dt.timedelta(seconds=5),
    )
    by_ivr = register_complaint(
        uow,
        RegisterComplaint("ivr", "no_supply", "4630000001", mobile=CALLER, channel_request_id="call-c"),
        now=NOW + dt.timedelta(minutes=10),
    )

    assert (first.created, first.already_open) == (True, False)
    for again in (by_sms, by_ivr):
        assert again == ComplaintReceipt(first.number, False, "no_supply", first.sla_due_at, already_open=True)
    with session_factory() as fresh:
        rows = fresh.scalars(select(Complaint).where(Complaint.account_id.is_not(None))).all()
        assert [(r.number, r.channel_request_id) for r in rows] == [(first.number, "SM-a")]
        assert len(_acks(fresh, first.number)) == 1


def test_another_kind_or_a_complaint_after_the_first_is_resolved_is_registered_anew(
    uow: UnitOfWork, session: Session, session_factory: Callable[[], Session]
) -> None:
    factories.account(session, account_no="4630000002", mobiles=(REGISTERED,))
    session.commit()
    first = register_complaint(uow, RegisterComplaint("ivr", "voltage", "4630000002"), now=NOW)

    meter = register_complaint(uow, RegisterComplaint("ivr", "meter", "4630000002"), now=NOW)
    with session_factory() as s:
        _complaint(s, first.number).status = "resolved"
        s.commit()
    again = register_complaint(uow, RegisterComplaint("ivr", "voltage", "4630000002"), now=NOW + dt.timedelta(days=1))

    assert meter.created is True
    assert again.created is True
    assert len({first.number, meter.number, again.number}) == 3


def test_hazards_without_an_account_are_never_taken_for_duplicates(
    uow: UnitOfWork, session_factory: Callable[[], Session]
) -> None:
    one, two = (
        register_complaint(uow, RegisterComplaint("sms", "dangerous_line", mobile=CALLER, text=where), now=NOW)
        for where in ("Pole 14 sparking", "Wire down at the market")
    )

    assert (one.created, two.created) == (True, True)
    assert one.number != two.number


def _eight_at_once(engine: Engine, account_no: str) -> list[ComplaintReceipt]:
    """Eight different requests (channels, request ids) for the same account and kind, all let go at once."""
    factory = make_session_factory(engine)
    start = threading.Barrier(8)
    channels = ("sms", "ivr", "ussd", "portal", "sms", "ivr", "ussd", "portal")

    def register(n: int) -> ComplaintReceipt:
        cmd = RegisterComplaint(channels[n], "no_supply", account_no, mobile=CALLER, channel_request_id=f"at-once-{n}")
        start.wait(timeout=30)
        return register_complaint(UnitOfWork(factory), cmd, now=NOW)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(register, range(8)))


def _assert_one_complaint(engine: Engine, account_id: int, receipts: list[ComplaintReceipt]) -> None:
    assert len({r.number for r in receipts}) == 1
    assert [r.created for r in receipts].count(True) == 1
    assert [r.already_open for r in receipts].count(True) == 7
    with make_session_factory(engine)() as fresh:
        rows = fresh.scalars(select(Complaint).where(Complaint.account_id == account_id)).all()
        assert [row.number for row in rows] == [receipts[0].number]
        assert len(_acks(fresh, receipts[0].number)) == 1


def test_eight_simultaneous_complaints_of_one_kind_on_postgresql_make_one(pg_engine: Engine) -> None:
    account_no = "49" + "".join(secrets.choice("0123456789") for _ in range(8))
    with make_session_factory(pg_engine)() as s:
        account_id = factories.account(s, account_no=account_no, mobiles=(REGISTERED,)).id
        s.commit()
    try:
        _assert_one_complaint(pg_engine, account_id, _eight_at_once(pg_engine, account_no))
    finally:
        _delete_committed(pg_engine, account_id, "at-once-0")


def test_eight_simultaneous_complaints_of_one_kind_on_a_sqlite_file_make_one(sqlite_engine: Engine) -> None:
    with make_session_factory(sqlite_engine)() as s:
        account_id = factories.account(s, account_no="4630000003", mobiles=(REGISTERED,)).id
        s.commit()

    _assert_one_complaint(sqlite_engine, account_id, _eight_at_once(sqlite_engine, "4630000003"))


def test_the_migration_closes_duplicates_already_open_before_it_adds_the_index(sqlite_engine: Engine) -> None:
    from alembic import command

    from cis.migrate import alembic_config, upgrade

    factory = make_session_factory(sqlite_engine)
    with factory() as s:  # the account as today's model has it, before the schema goes back to 0004
        account_id = factories.account(s, account_no="4630000004", mobiles=(REGISTERED,)).id
        s.commit()
    config = alembic_config(sqlite_engine.url.render_as_string(hide_password=False))
    with sqlite_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    with factory() as s:
        for n in range(3):
            # The columns of complaint as revision 0004 has them (later ones are not there yet).
            s.execute(
                insert(Complaint.__table__).values(
                    number=complaint_no_for_id(900 + n),
                    id=900 + n,
                    account_id=account_id,
                    category="no_supply",
                    channel="sms",
                    status="open",
                    escalation_level=0,
                    sla_due_at=NOW,
                    created_at=NOW,
                )
            )
        s.commit()

    upgrade(sqlite_engine)

    with factory() as fresh:
        rows = fresh.scalars(select(Complaint).order_by(Complaint.id)).all()
        assert [r.status for r in rows] == ["open", "closed", "closed"]
        assert rows[1].resolution == (
            f"Closed as a duplicate of complaint {rows[0].number}, open for the same account and category."
        )
        audits = fresh.scalars(select(AuditLog).where(AuditLog.action == "complaint.closed_as_duplicate")).all()
        assert sorted(a.entity_id for a in audits) == [rows[1].number, rows[2].number]
