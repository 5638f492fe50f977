"""The inbound SMS command service against a real database: each keyword's reply, as the consumer reads it."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cis.models import Account, AccountMobile, AuditLog, Complaint, Outbox, SmsOptOut
from sms.service import Reply, handle_inbound, rupees
from tests.factories import NOW
from tests.ivr_support import World, build_world


@pytest.fixture(autouse=True)
def _no_reply_from_the_fallback(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every reply here comes from its command's path, not from the catch-all that logs and sends HELP."""
    yield
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
def world(session_factory: Callable[[], Session]) -> World:
    with session_factory() as s:
        w = build_world(s)
        s.commit()
    return w


@pytest.fixture
def sms(session_factory: Callable[[], Session]) -> Callable[..., Reply]:
    counter = iter(range(1, 1_000))

    def send(mobile: str, text: str, message_id: str | None = None, now: dt.datetime = NOW) -> Reply:
        mid = message_id or f"SM{next(counter):04d}"
        return handle_inbound(session_factory, mobile=mobile, text=text, message_id=mid, now=now)

    return send


def test_bill_from_the_registered_mobile_gives_the_latest_bill(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.single_mobile, "bill")
    assert reply.template_key == "reply.bill"
    assert reply.text.startswith(f"A/c {world.single}: bill for Oct 2026 Rs ")
    assert reply.segments == 1


def test_bill_naming_another_account_answers_for_that_account(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.stranger_mobile, f"BILL {world.outage}")
    assert reply.template_key == "reply.bill"
    assert reply.text.startswith(f"A/c {world.outage}: ")
    assert reply.segments == 1


def test_account_number_alone_means_bill(world: World, sms: Callable[..., Reply]) -> None:
    assert sms(world.stranger_mobile, world.single).template_key == "reply.bill"


def test_an_unknown_mobile_is_asked_to_register(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.stranger_mobile, "BILL")
    assert reply.template_key == "reply.not_registered"
    assert reply.segments == 1


def test_an_unknown_account_is_told_to_check_the_number(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.single_mobile, "BILL 7199999999")
    assert reply.template_key == "reply.unknown_account"
    assert "7199999999" in reply.text


def test_two_accounts_on_one_mobile_ask_which(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.pair_mobile, "BILL")
    assert reply.template_key == "reply.choose_account"
    assert "linked to 2 accounts" in reply.text
    assert f"BILL {world.pair[0]}" in reply.text
    named = sms(world.pair_mobile, f"BILL {world.pair[1]}")
    assert named.template_key == "reply.bill"
    assert world.pair[1] in named.text


def test_a_complaint_is_registered_once_when_the_message_arrives_twice(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    first = sms(world.single_mobile, "COMP NOSUPPLY since morning", message_id="SMdup1")
    again = sms(world.single_mobile, "COMP NOSUPPLY since morning", message_id="SMdup1")
    assert first.template_key == "complaint.ack"
    assert first.already_queued
    assert again.text == first.text
    assert first.segments == 1
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Complaint).where(Complaint.channel == "sms")) == 1
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "complaint.ack")) == 1


def test_a_second_open_complaint_of_the_same_kind_is_answered_with_the_first_ones_number(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    first = sms(world.single_mobile, "COMP NOSUPPLY since morning")
    again = sms(world.single_mobile, "COMP NOSUPPLY still off", now=NOW + dt.timedelta(seconds=20))

    with session_factory() as s:
        number = s.scalars(select(Complaint.number).where(Complaint.channel == "sms")).one()
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "complaint.ack")) == 1
    assert first.template_key == "complaint.ack"
    assert (again.template_key, again.already_queued) == ("reply.complaint_exists", False)
    assert again.text == (
        f"Complaint already registered for A/c {world.single}, number {number}. "
        f"Expected resolution by 20 Nov 2026, 7:30 PM. Track: SMS STATUS {number} -Urja Mitra"
    )
    assert again.segments == 1


def test_a_complaint_for_an_account_not_on_this_mobile_is_refused(world: World, sms: Callable[..., Reply]) -> None:
    assert sms(world.stranger_mobile, f"COMP {world.single} VOLTAGE").template_key == "reply.not_registered"


def test_status_of_a_complaint_just_made(world: World, sms: Callable[..., Reply]) -> None:
    ack = sms(world.single_mobile, "COMP METER")
    number = ack.text.split("complaint ")[1].split(" ")[0]
    reply = sms(world.stranger_mobile, f"STATUS {number}")
    assert reply.template_key == "reply.status"
    assert reply.text.startswith(f"Complaint {number}: open since 20 Nov 2026, 3:30 PM.")
    assert reply.segments == 1


def test_status_of_an_unknown_complaint(world: World, sms: Callable[..., Reply]) -> None:
    assert sms(world.single_mobile, "STATUS 12345678").template_key == "reply.unknown_complaint"


def test_outage_on_the_outage_feeder_gives_the_restoration_time(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.outage_mobile, "outage")
    assert reply.template_key == "reply.outage"
    assert "due to a fault" in reply.text
    assert "Expected back by 20 Nov 2026, 6:00 PM." in reply.text
    assert reply.segments == 1


def test_outage_where_supply_is_on(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.single_mobile, "OUTAGE")
    assert reply.template_key == "reply.no_outage"
    assert reply.segments == 1


def test_a_plausible_reading_is_recorded(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.single_mobile, f"READ {world.last_kwh + 280}")
    assert reply.template_key == "reply.reading"
    assert reply.text == (
        f"Meter reading 12,280 kWh for A/c {world.single} is recorded on 20 Nov 2026. Thank you. -Urja Mitra"
    )


def test_a_reading_below_the_last_is_questioned(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.single_mobile, "READ 11000")
    assert reply.template_key == "reply.reading_doubtful"
    assert "is below the last reading, 12,000 kWh." in reply.text
    assert reply.segments == 1


def test_calc_estimates_a_bill(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.stranger_mobile, "CALC LMV-1U 2 150")
    assert reply.template_key == "reply.calc"
    assert reply.text.startswith("Estimated bill for LMV-1U, 2 kW, 150 units: Rs ")
    assert reply.segments == 1


def test_pay_queues_the_payment_link_sms_once(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    first = sms(world.single_mobile, "PAY", message_id="SMpay1")
    sms(world.single_mobile, "PAY", message_id="SMpay1")
    assert first.template_key == "payment.link"
    assert first.already_queued
    assert re.search(r"/p/[a-z2-9]{10} by UPI, card or net banking", first.text)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "payment.link")) == 1


@pytest.mark.parametrize("text", ["", "hello there", "x" * 2000, "🙂🙂", "बिल", "'; DROP TABLE account;--", "HELP"])
def test_garbage_and_help_get_the_command_list(world: World, sms: Callable[..., Reply], text: str) -> None:
    reply = sms(world.single_mobile, text)
    assert reply.template_key == "reply.help"
    assert reply.segments == 1


@pytest.mark.parametrize(("text", "key"), [("STOP", "reply.opted_out"), ("START", "reply.opted_in")])
def test_stop_and_start_are_acknowledged(world: World, sms: Callable[..., Reply], text: str, key: str) -> None:
    assert sms(world.single_mobile, text).template_key == key


def _opt_outs(session_factory: Callable[[], Session]) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """The opt-out rows (mobile, via, message) and the audit actions about mobiles, as committed."""
    with session_factory() as s:
        rows = [(r.e164, r.via, r.message_ref) for r in s.scalars(select(SmsOptOut).order_by(SmsOptOut.e164))]
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.entity == "mobile").order_by(AuditLog.id)))
    return rows, actions


def test_stop_records_the_opt_out_once_and_start_removes_it(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    assert sms(world.stranger_mobile, "stop", message_id="SMstop1").template_key == "reply.opted_out"
    sms(world.stranger_mobile, "STOP", message_id="SMstop2")
    assert _opt_outs(session_factory) == ([(world.stranger_mobile, "sms", "SMstop1")], ["sms.opted_out"])

    reply = sms(world.stranger_mobile, "START", message_id="SMstart1")
    assert reply.text == "Alert SMS are on again for this mobile. SMS STOP to turn them off. -Urja Mitra"
    sms(world.stranger_mobile, "START", message_id="SMstart2")
    assert _opt_outs(session_factory) == ([], ["sms.opted_out", "sms.opted_in"])


# --- REG: linking a new mobile by an OTP sent to the mobile on record -------------------------------------


def _otp_rows(session_factory: Callable[[], Session]) -> list[Outbox]:
    with session_factory() as s:
        return list(s.scalars(select(Outbox).where(Outbox.template == "otp.register").order_by(Outbox.id)))


def _code_sent(session_factory: Callable[[], Session]) -> str:
    return str(_otp_rows(session_factory)[-1].payload["otp"])


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_reg_from_a_new_mobile_sends_an_otp_to_the_mobile_on_record_and_the_code_links_it(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    asked = sms(world.stranger_mobile, f"REG {world.single}")
    assert asked.template_key == "reply.otp_sent"
    assert asked.text == (
        f"An OTP to link this mobile to A/c {world.single} is sent to the mobile on record ending 3210. "
        "Reply with the 6-digit OTP within 10 minutes. -Urja Mitra"
    )
    assert asked.segments == 1
    [otp_sms] = _otp_rows(session_factory)
    assert (otp_sms.recipient, otp_sms.status, otp_sms.priority) == (world.single_mobile, "pending", 0)
    assert otp_sms.expires_at == NOW + dt.timedelta(minutes=10)

    linked = sms(world.stranger_mobile, _code_sent(session_factory), now=NOW + dt.timedelta(minutes=2))
    assert linked.template_key == "reply.registered"
    assert (
        linked.text
        == f"This mobile is now linked to A/c {world.single}. SMS HELP for the list of commands. -Urja Mitra"
    )

    bill = sms(world.stranger_mobile, "BILL", now=NOW + dt.timedelta(minutes=3))
    assert bill.template_key == "reply.bill"
    assert bill.text.startswith(f"A/c {world.single}: bill for Oct 2026 Rs ")


def test_reg_from_a_mobile_already_linked_says_so_without_an_otp(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    assert sms(world.single_mobile, f"REG {world.single}").template_key == "reply.registered"
    assert _otp_rows(session_factory) == []


def test_a_wrong_otp_says_how_many_tries_are_left(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    sms(world.stranger_mobile, f"REG {world.single}")
    wrong = _wrong(_code_sent(session_factory))

    reply = sms(world.stranger_mobile, wrong)
    assert reply.template_key == "reply.otp_wrong"
    assert reply.text.startswith("That OTP is not correct. Tries left: 4. ")
    assert reply.segments == 1
    for _ in range(4):
        last = sms(world.stranger_mobile, f"OTP {wrong}")
    assert "Tries left: 0." in last.text
    # The challenge is dead: even the right code now gets the command list, and nothing is linked.
    assert sms(world.stranger_mobile, _code_sent(session_factory)).template_key == "reply.help"
    assert sms(world.stranger_mobile, "BILL").template_key == "reply.not_registered"


def test_an_expired_otp_links_nothing(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    sms(world.stranger_mobile, f"REG {world.single}")
    late = NOW + dt.timedelta(minutes=11)
    assert sms(world.stranger_mobile, _code_sent(session_factory), now=late).template_key == "reply.help"
    assert sms(world.stranger_mobile, "BILL", now=late).template_key == "reply.not_registered"


def test_six_digits_with_no_otp_pending_get_the_command_list(world: World, sms: Callable[..., Reply]) -> None:
    assert sms(world.stranger_mobile, "482913").template_key == "reply.help"


def test_a_fourth_reg_within_the_hour_is_asked_to_try_later(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    for minute in range(3):
        reply = sms(world.stranger_mobile, f"REG {world.single}", now=NOW + dt.timedelta(minutes=minute))
        assert reply.template_key == "reply.otp_sent"
    later = sms(world.stranger_mobile, f"REG {world.single}", now=NOW + dt.timedelta(minutes=20))
    assert later.template_key == "reply.otp_later"
    assert later.text == (
        "Too many OTP requests for this mobile or account. Please try again after an hour, or call 1912 for help. "
        "-Urja Mitra"
    )
    assert len(_otp_rows(session_factory)) == 3


def test_a_reg_delivered_twice_sends_one_otp(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    first = sms(world.stranger_mobile, f"REG {world.single}", message_id="SMreg1")
    again = sms(world.stranger_mobile, f"REG {world.single}", message_id="SMreg1", now=NOW + dt.timedelta(seconds=40))
    assert again.text == first.text
    assert len(_otp_rows(session_factory)) == 1


def test_reg_for_an_account_with_no_mobile_on_record_sends_them_to_the_office(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    reply = sms(world.stranger_mobile, f"REG {world.no_bill}")
    assert reply.template_key == "reply.no_mobile_on_record"
    assert reply.text == (
        f"A/c {world.no_bill} has no mobile on record to send an OTP to. Please visit your sub-division office "
        "or call 1912 to link this mobile. -Urja Mitra"
    )
    assert reply.segments == 1
    assert _otp_rows(session_factory) == []


def test_reg_for_a_closed_account_says_it_is_disconnected(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.stranger_mobile, f"REG {world.closed}")
    assert reply.template_key == "reply.account_closed"
    assert reply.text.startswith(f"A/c {world.closed} is permanently disconnected")
    assert reply.segments == 1


@pytest.mark.parametrize("keyword", ["BILL", "PAY"])
def test_an_account_never_billed_is_told_there_is_no_bill_yet(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session], keyword: str
) -> None:
    with session_factory() as s:  # the new connection's owner has the mobile on record
        s.add(
            AccountMobile(
                account_id=s.scalar(select(Account.id).where(Account.account_no == world.no_bill)),
                e164="+919800011122",
                verified=True,
                added_via="office",
                added_at=NOW,
            )
        )
        s.commit()
    reply = sms("+919800011122", keyword)
    assert reply.template_key == "reply.no_bill"
    assert reply.text == f"No bill has been issued yet for A/c {world.no_bill}. For help, call 1912. -Urja Mitra"


def test_rupees_use_indian_grouping() -> None:
    assert rupees(172_750) == "1,727.50"
    assert rupees(12_345_600) == "1,23,456.00"
    assert rupees(5) == "0.05"


# --- what each reply must say (issue 12, section 5) ---------------------------------------------------------


def test_a_reading_far_above_the_usual_use_says_how_far_with_no_value_missing(
    world: World, sms: Callable[..., Reply]
) -> None:
    reply = sms(world.single_mobile, "READ 99999")
    assert reply.template_key == "reply.reading_implausible"
    # 12,000 kWh on 15 Oct; 87,999 more units in 36 days against a usual 8 a day.
    assert reply.text == (
        f"Reading 99,999 kWh for A/c {world.single} would mean 2,444 units a day; "
        "you usually use 8 a day. Please check and SMS READ again -Urja Mitra"
    )
    assert "on record" not in reply.text
    assert reply.segments == 1


def _paid_up_account(session_factory: Callable[[], Session]) -> tuple[str, str]:
    from tests import factories

    with session_factory() as s:
        acc = factories.account(s, account_no="7100000099", mobiles=("+919811100099",))
        factories.bill(s, acc, amount_paise=172_700)
        factories.payment(s, acc, amount_paise=172_700, paid_at=NOW - dt.timedelta(days=2))
        s.commit()
    return "7100000099", "+919811100099"


def test_pay_with_nothing_due_says_nothing_is_due_instead_of_asking_to_send_pay(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    account_no, mobile = _paid_up_account(session_factory)
    for text in ("PAY", "BILL"):
        reply = sms(mobile, text)
        assert reply.template_key == "reply.bill_paid"
        assert reply.text == (
            f"A/c {account_no}: bill for Oct 2026 Rs 1,727.00, due by 15 Nov 2026. "
            "Nothing is due now (Rs 0.00). Thank you. -Urja Mitra"
        )
        assert "PAY" not in reply.text
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "payment.link")) == 0


@pytest.mark.parametrize(
    ("text", "key", "teaches"),
    [
        ("COMP", "reply.help_comp", "Types: NOSUPPLY VOLTAGE METER BILLING DANGER THEFT"),
        ("comp 7100000001", "reply.help_comp", "COMP <type> <details>"),
        ("CALC", "reply.help_calc", "CALC <category> <load kW> <units>, e.g. CALC LMV-1U 2 150"),
        ("STATUS", "reply.help_status", "STATUS <complaint no>"),
        ("READ", "reply.help_read", "READ <kWh>"),
        ("HELP READ", "reply.help_read", "READ <kWh>"),
        ("REG", "reply.help_reg", "REG <10-digit A/c no>"),
        ("BILL 12345", "reply.help_account", "An A/c no has 10 digits"),
    ],
)
def test_a_command_without_what_it_needs_is_taught_its_syntax(
    world: World, sms: Callable[..., Reply], text: str, key: str, teaches: str
) -> None:
    reply = sms(world.single_mobile, text)
    assert reply.template_key == key
    assert teaches in reply.text
    assert reply.segments == 1


def test_help_gives_each_commands_syntax(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.single_mobile, "HELP")
    assert reply.template_key == "reply.help"
    for syntax in ("COMP <type>", "STATUS <complaint no>", "READ <kWh>", "REG <A/c no>", "HELP COMP"):
        assert syntax in reply.text


def _resolve(session_factory: Callable[[], Session], number: str, at: dt.datetime, status: str) -> None:
    with session_factory() as s:
        complaint = s.scalars(select(Complaint).where(Complaint.number == number)).one()
        complaint.status = status
        complaint.resolved_at = at
        s.commit()


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_a_resolved_complaint_says_when_it_was_resolved_and_what_to_do_if_not(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session], status: str
) -> None:
    ack = sms(world.single_mobile, "COMP VOLTAGE")
    number = ack.variables["number"]
    _resolve(session_factory, str(number), NOW + dt.timedelta(hours=1, minutes=14), status)  # 4:44 PM in India
    reply = sms(world.single_mobile, f"STATUS {number}", now=NOW + dt.timedelta(hours=2))
    assert reply.template_key == f"reply.status_{status}"
    if status == "resolved":
        assert reply.text == (
            f"Complaint {number} was resolved on 20 Nov 2026, 4:44 PM. "
            "If the problem is still there, SMS COMP again or call 1912. -Urja Mitra"
        )
    else:
        assert reply.text.startswith(f"Complaint {number} was resolved on 20 Nov 2026, 4:44 PM and is closed.")
    assert "Expected resolution" not in reply.text
    assert "since" not in reply.text


def test_an_escalated_complaint_says_it_is_late_and_with_whom(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    ack = sms(world.single_mobile, "COMP VOLTAGE")
    with session_factory() as s:
        complaint = s.scalars(select(Complaint).where(Complaint.number == ack.variables["number"])).one()
        complaint.escalation_level = 2
        s.commit()
    reply = sms(world.single_mobile, f"STATUS {ack.variables['number']}", now=NOW + dt.timedelta(days=3))
    assert reply.template_key == "reply.status_escalated"
    assert reply.text == (
        f"Complaint {ack.variables['number']} is past its due time (21 Nov 2026, 3:30 PM) and is now with the "
        "executive engineer. We regret the delay. -Urja Mitra"
    )
