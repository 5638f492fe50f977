"""The inbound SMS command service against a real database: each keyword's reply, as the consumer reads it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cis.models import Complaint, Outbox
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
    assert "Restoration expected by 20 Nov 2026, 6:00 PM." in reply.text
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
    assert "(last 12,000 kWh)" in reply.text
    assert reply.segments == 1


def test_calc_estimates_a_bill(world: World, sms: Callable[..., Reply]) -> None:
    reply = sms(world.stranger_mobile, "CALC LMV-1U 2 150")
    assert reply.template_key == "reply.calc"
    assert reply.text.startswith("Estimated bill for LMV-1U, 2 kW, 150 units: Rs ")
    assert reply.segments == 1


def test_pay_queues_the_pay_info_sms_once(
    world: World, sms: Callable[..., Reply], session_factory: Callable[[], Session]
) -> None:
    first = sms(world.single_mobile, "PAY", message_id="SMpay1")
    sms(world.single_mobile, "PAY", message_id="SMpay1")
    assert first.template_key == "bill.pay_info"
    assert first.already_queued
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "bill.pay_info")) == 1


@pytest.mark.parametrize("text", ["", "hello there", "x" * 2000, "🙂🙂", "बिल", "'; DROP TABLE account;--", "HELP"])
def test_garbage_and_help_get_the_command_list(world: World, sms: Callable[..., Reply], text: str) -> None:
    reply = sms(world.single_mobile, text)
    assert reply.template_key == "reply.help"
    assert reply.segments == 1


@pytest.mark.parametrize(("text", "key"), [("STOP", "reply.opted_out"), ("START", "reply.opted_in")])
def test_stop_and_start_are_acknowledged(world: World, sms: Callable[..., Reply], text: str, key: str) -> None:
    assert sms(world.single_mobile, text).template_key == key


def test_rupees_use_indian_grouping() -> None:
    assert rupees(172_750) == "1,727.50"
    assert rupees(12_345_600) == "1,23,456.00"
    assert rupees(5) == "0.05"
