"""The inbound menu end to end through the dialog runner and the real CIS, on PostgreSQL and SQLite."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cis.db import UnitOfWork
from cis.models import AuditLog, Complaint, IvrCall, Outbox, PaymentIntent, Reading
from cis.payments import GatewayPayment, open_intent, post_gateway_payment
from ivr.dialog import Call, Dialog
from ivr.speech import spoken_text
from ivr.turns import Hangup, Transfer, Turn
from prompts.catalog import catalog
from tests.ivr_support import NOW, World, build_world, dialog_on


@pytest.fixture
def world(session_factory: Callable[[], Session]) -> World:
    with session_factory() as s:
        w = build_world(s)
        s.commit()
    return w


@pytest.fixture
def dialog(session_factory: Callable[[], Session]) -> Dialog:
    return dialog_on(session_factory)


def said(turn: Turn) -> str:
    return spoken_text(turn.items, turn.lang, catalog())


def call(dialog: Dialog, caller: str | None, *keys: str, ref: str = "call-1") -> tuple[Call, list[Turn]]:
    """Dial in and press `keys` one entry at a time ('' waits out the timeout)."""
    c, turn = dialog.start(channel="asterisk", call_ref=ref, caller=caller)
    turns = [turn]
    for entry in keys:
        turns.append(dialog.resume(c, entry))
    return c, turns


def test_known_caller_hears_the_amount_due_and_the_due_date_in_hindi(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, "09876543210", "", "1")
    assert "स्वागत" in said(turns[0])
    assert "For English, press 9" in said(turns[0])
    assert "बिल की जानकारी के लिए 1" in said(turns[1])  # identified by caller ID: straight to the menu
    bill = said(turns[2])
    assert "आपके खाते पर बकाया राशि" in bill
    assert "सोलह नवंबर दो हज़ार छब्बीस" not in bill
    # Due on 31 October, heard on 20 November: the date has passed.
    assert "भुगतान की अंतिम तिथि इकतीस अक्टूबर दो हज़ार छब्बीस थी। कृपया शीघ्र भुगतान करें।" in bill
    assert "दो सौ पैंतालीस यूनिट" in bill
    assert "आपका पिछला भुगतान एक हज़ार पाँच सौ रुपये एक अक्टूबर दो हज़ार छब्बीस को प्राप्त हुआ" in bill


def test_press_1_explains_the_bill_against_last_year_the_last_bill_slab_arrears_and_estimate(
    dialog: Dialog, world: World
) -> None:
    _, turns = call(dialog, world.single_mobile, "", "1", "1")
    why = said(turns[-1])
    assert "इस बिल में आपकी खपत दो सौ पैंतालीस यूनिट है" in why
    assert "पिछले वर्ष इसी महीने आपकी खपत दो सौ दस यूनिट थी" in why
    assert "पिछले बिल में आपकी खपत दो सौ तीस यूनिट थी" in why
    assert "स्लैब संख्या" in why
    assert "प्रति यूनिट" in why
    assert "इस बिल में पिछला बकाया पाँच सौ रुपये भी शामिल है।" in why
    assert "अनुमानित रीडिंग" in why


def test_english_on_9(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, world.single_mobile, "9", "1")
    assert turns[1].lang == "en"
    assert "For your bill, press 1" in said(turns[1])
    assert "The amount due on your account is" in said(turns[2])


def test_a_complaint_is_stored_before_its_number_is_read_twice_and_an_ack_sms_is_queued(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    c, turns = call(dialog, world.single_mobile, "", "3", "1")
    with session_factory() as s:
        complaint = s.scalars(select(Complaint).where(Complaint.channel == "ivr")).one()
        number = complaint.number
        ack = s.scalars(select(Outbox).where(Outbox.template == "complaint.ack")).one()
    spoken_number = " ".join(catalog().text(f"num.{d}", "hi") for d in number)
    text = said(turns[-1])
    assert text.count(spoken_number) == 2
    assert complaint.category == "no_supply"
    assert ack.recipient == world.single_mobile
    dialog.finish(c, hung_up=True)


@pytest.mark.parametrize("channel", ["asterisk", "ussd"])
def test_a_second_complaint_of_the_same_kind_hears_the_open_ones_number_and_no_sms_is_promised(
    dialog: Dialog, world: World, session_factory: Callable[[], Session], channel: str
) -> None:
    first, _ = call(dialog, world.single_mobile, "", "3", "1")
    number = first.state["data"]["complaint"]
    again, turn = dialog.start(channel=channel, call_ref="call-2", caller=world.single_mobile, lang="hi")
    keys = ("3", "1") if channel == "ussd" else ("", "3", "1")  # a USSD screen shows the menu at once
    turns = [turn] + [dialog.resume(again, entry) for entry in keys]

    text = said(turns[-1])
    spoken_number = " ".join(catalog().text(f"num.{d}", "hi") for d in number)
    assert text.startswith(catalog().text("complaint.already", "hi"))
    assert text.count(spoken_number) == (1 if channel == "ussd" else 2)  # a screen shows it once, the voice repeats
    assert catalog().text("complaint.sms_sent", "hi") not in text
    assert again.state["data"]["complaint"] == number
    with session_factory() as s:
        assert [c.number for c in s.scalars(select(Complaint))] == [number]
        assert len(s.scalars(select(Outbox).where(Outbox.template == "complaint.ack")).all()) == 1


def test_the_same_request_replayed_registers_one_complaint(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    c, _ = call(dialog, world.single_mobile, "", "3")
    before, turn_before = copy.deepcopy(c.state), c.turn
    dialog.resume(c, "2")
    # The transport lost the answer and sends the same keys again from the same state.
    dialog.resume(Call(c.record_id, c.channel, c.call_ref, before, turn_before), "2")
    with session_factory() as s:
        assert len(s.scalars(select(Complaint).where(Complaint.channel == "ivr")).all()) == 1


def test_complaint_status_by_number(dialog: Dialog, world: World) -> None:
    c, turns = call(dialog, world.single_mobile, "", "3", "2")
    number = c.state["data"]["complaint"]
    _, turns = call(dialog, world.single_mobile, "", "4", number, ref="call-2")
    assert "दर्ज है और उस पर कार्य किया जा रहा है" in said(turns[-1])


def test_an_unknown_complaint_number_is_asked_again(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, world.single_mobile, "", "4", "12345")
    assert said(turns[-1]).startswith("क्षमा करें, यह शिकायत संख्या हमारे रिकॉर्ड में नहीं मिली")


def test_pay_reads_the_amount_then_sends_the_link_on_1(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    _, turns = call(dialog, world.single_mobile, "", "2")
    assert "आपके खाते पर बकाया राशि" in said(turns[-1])
    assert "एसएमएस पर भुगतान का लिंक पाने के लिए 1 दबाएँ" in said(turns[-1])
    _, turns = call(dialog, world.single_mobile, "", "2", "1", ref="call-pay")
    assert "भुगतान का लिंक आपके मोबाइल नंबर पर एसएमएस से भेज दिया गया है" in said(turns[-1])
    with session_factory() as s:
        sms = s.scalars(select(Outbox).where(Outbox.template == "payment.link")).one()
        intent = s.scalars(select(PaymentIntent)).one()
    assert sms.recipient == world.single_mobile
    assert sms.payload["amount_paise"] == intent.amount_paise > 0
    assert (sms.payload["token"], intent.channel, intent.mobile) == (intent.token, "ivr", world.single_mobile)


def test_a_caller_who_paid_in_the_last_hour_hears_it_before_the_menu(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    token = open_intent(UnitOfWork(session_factory), world.single, channel="sms", now=NOW).token
    paid = GatewayPayment("sandbox", "pay_IvrHeard0001", token, None, 50_000, "upi", NOW - dt.timedelta(minutes=20))
    post_gateway_payment(UnitOfWork(session_factory), paid, now=paid.paid_at)
    _, turns = call(dialog, world.single_mobile, "")
    assert "आपका पाँच सौ रुपये का भुगतान प्राप्त हो गया है। धन्यवाद।" in said(turns[-1])
    # Two hours later it is old news.
    _, turns = call(dialog_on(session_factory, now=NOW + dt.timedelta(hours=2)), world.single_mobile, "", ref="c-2")
    assert "भुगतान प्राप्त हो गया है" not in said(turns[-1])


def test_a_meter_reading_is_stored_as_the_consumers(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    _, turns = call(dialog, world.single_mobile, "", "5", str(world.last_kwh + 300))
    assert "आपकी मीटर रीडिंग दर्ज कर ली गई है" in said(turns[-1])
    with session_factory() as s:
        stored = s.scalars(select(Reading).where(Reading.kind == "consumer")).one()
    assert stored.kwh == world.last_kwh + 300
    assert stored.source == "ivr"


def test_a_reading_below_the_last_one_is_refused_with_the_last_reading(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, world.single_mobile, "", "5", str(world.last_kwh - 10))
    assert "पिछली रीडिंग बारह हज़ार यूनिट थी।" in said(turns[-1])
    assert "कुल यूनिट की रीडिंग" in said(turns[-1])  # asked again


def test_a_caller_with_two_accounts_chooses_by_the_last_four_digits(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, world.pair_mobile, "", "2")
    choose = said(turns[1])
    assert "एक से अधिक खाते" in choose
    assert " ".join(catalog().text(f"num.{d}", "hi") for d in world.pair[1][-4:]) in choose
    assert "बिल की जानकारी के लिए 1" in said(turns[2])


def test_an_unknown_caller_enters_the_account_number(dialog: Dialog, world: World) -> None:
    c, turns = call(dialog, world.stranger_mobile, "", world.single)
    assert "दस अंकों की खाता संख्या" in said(turns[1])
    assert "बिल की जानकारी के लिए 1" in said(turns[2])
    assert c.state["account"] == world.single


def test_three_tries_at_the_account_number_then_the_agent(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, "unknown", "", "123", "9999999999", "", "")
    assert "खाता संख्या दस अंकों की होती है" in said(turns[2])
    assert "रिकॉर्ड में नहीं मिली" in said(turns[3])
    assert not turns[3].final
    # Ten digits end the entry by themselves: the "#" a caller presses after them reaches the next prompt
    # (as an empty entry where "#" ends entries), which is said again rather than counted as a try.
    assert turns[4] == turns[3]
    assert "आपका चुनाव प्राप्त नहीं हुआ" in said(turns[5])
    assert isinstance(turns[5].action, Transfer)
    assert "प्रतिनिधि से जोड़ा जा रहा है" in said(turns[5])


def test_0_on_a_number_entry_goes_back(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, world.single_mobile, "", "4", "0", "5", "0")
    assert "बिल की जानकारी के लिए 1" in said(turns[3])
    assert "बिल की जानकारी के लिए 1" in said(turns[5])
    _, turns = call(dialog, "unknown", "", "0", ref="call-3")
    assert isinstance(turns[-1].action, Transfer)


def test_a_restoration_time_already_past_is_not_promised_again(
    world: World, session_factory: Callable[[], Session]
) -> None:
    later = dialog_on(session_factory, now=dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC))  # ETR was 12:30 UTC
    _, turns = call(later, world.outage_mobile, "")
    assert "बहाली में अनुमान से अधिक समय लग रहा है" in said(turns[1])
    assert "तक आपूर्ति बहाल होने की संभावना है" not in said(turns[1])


def test_a_closed_account_is_sent_to_the_agent(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, None, "", world.closed)
    assert isinstance(turns[-1].action, Transfer)
    assert "स्थायी रूप से बंद" in said(turns[-1])


def test_an_outage_on_the_callers_feeder_is_announced_before_the_menu(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, world.outage_mobile, "")
    text = said(turns[1])
    assert text.startswith("सूचना: आपके क्षेत्र के फीडर पर खराबी के कारण बिजली आपूर्ति बाधित है।")
    # Since today: the time alone, "दोपहर दो बजकर तीस मिनट से", with no date to sit through.
    assert "है। दोपहर दो बजकर तीस मिनट से आपूर्ति बंद है" in text
    assert "नवंबर" not in text
    assert "शाम छह बजे तक आपूर्ति बहाल होने की संभावना है" in text
    assert text.index("सूचना") < text.index("बिल की जानकारी")


def test_star_repeats_and_0_transfers(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, world.single_mobile, "", "1", "*", "0")
    assert turns[3].items == turns[2].items
    assert isinstance(turns[4].action, Transfer)


def test_invalid_keys_reprompt_three_times_then_offer_the_agent(dialog: Dialog, world: World) -> None:
    _, turns = call(dialog, world.single_mobile, "", "7", "7", "7", "7")
    for t in turns[2:5]:
        assert said(t).startswith("क्षमा करें, यह विकल्प सही नहीं है।")
        assert not t.final
    assert isinstance(turns[5].action, Transfer)


def test_the_call_record_keeps_caller_account_path_outcome_and_duration(
    world: World, session_factory: Callable[[], Session]
) -> None:
    clock = [dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)]
    dialog = dialog_on(session_factory)
    dialog.backend.now = lambda: clock[0]  # type: ignore[attr-defined]
    c, _ = call(dialog, "919876543210", "", "1", "8", "3", "1")
    clock[0] += dt.timedelta(seconds=95)
    dialog.finish(c, hung_up=True)
    with session_factory() as s:
        record = s.scalars(select(IvrCall).where(IvrCall.call_ref == "call-1")).one()
    assert record.caller == "+919876543210"
    assert record.duration_s == 95
    assert record.path[:4] == ["welcome", "identify", "account_ready", "main"]
    assert "complaint_register" in record.path
    assert record.outcome == "bill+complaint"


def test_hanging_up_before_the_number_keeps_the_complaint_whole(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    c, _ = call(dialog, world.single_mobile, "", "3", "5")
    dialog.finish(c, hung_up=True)
    with session_factory() as s:
        complaint = s.scalars(select(Complaint).where(Complaint.channel == "ivr")).one()
        assert s.scalars(select(AuditLog).where(AuditLog.entity_id == complaint.number)).first() is not None


def test_the_alert_flow_plays_the_message_and_repeats_on_1(dialog: Dialog, world: World) -> None:
    c, turn = dialog.start(
        channel="asterisk",
        call_ref="out-1",
        caller=world.single_mobile,
        flow="alert",
        params={"items": [{"say": "outage.breakdown"}, {"clock": "18:00"}]},
    )
    assert "खराबी" in said(turn)
    assert "शाम छह बजे" in said(turn)
    again = dialog.resume(c, "1")
    assert again.items == turn.items
    bye = dialog.resume(c, "")
    assert isinstance(bye.action, Hangup)
    assert "धन्यवाद" in said(bye)


def _record(session_factory: Callable[[], Session], ref: str) -> IvrCall:
    with session_factory() as s:
        return s.scalars(select(IvrCall).where(IvrCall.call_ref == ref)).one()


def test_a_webhook_call_the_provider_ends_is_closed_with_the_providers_duration(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    dialog.handle(channel="twilio", call_ref="CA-dur", caller=world.single_mobile, digits=None)
    dialog.handle(channel="twilio", call_ref="CA-dur", caller=world.single_mobile, digits="")
    dialog.hangup("twilio", "CA-dur", duration_s=42)
    record = _record(session_factory, "CA-dur")
    assert record.ended_at is not None
    assert record.duration_s == 42
    assert record.outcome == "abandoned"


def test_a_late_status_callback_only_corrects_the_duration(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    for digits in (None, "", "0"):  # ... then the agent: the last TwiML closes the call
        dialog.handle(channel="twilio", call_ref="CA-late", caller=world.single_mobile, digits=digits)
    assert _record(session_factory, "CA-late").outcome == "transfer"
    dialog.hangup("twilio", "CA-late", duration_s=95)
    record = _record(session_factory, "CA-late")
    assert (record.outcome, record.duration_s) == ("transfer", 95)


def test_calls_whose_end_never_came_are_closed_by_the_sweep(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    from cis.calls import close_stale_calls
    from cis.db import UnitOfWork

    dialog.handle(channel="ussd", call_ref="S-stale", caller=world.single_mobile, digits=None)
    dialog.handle(channel="ussd", call_ref="S-stale", caller=world.single_mobile, digits="1")
    dialog.handle(channel="ussd", call_ref="S-fresh", caller=world.single_mobile, digits=None)
    later = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    with session_factory() as s:  # the second session started just now
        s.scalars(select(IvrCall).where(IvrCall.call_ref == "S-fresh")).one().started_at = later
        s.commit()
    closed = close_stale_calls(UnitOfWork(session_factory), older_than=dt.timedelta(hours=1), now=later)
    assert closed == 1
    stale, fresh = _record(session_factory, "S-stale"), _record(session_factory, "S-fresh")
    assert (stale.outcome, stale.state) == ("bill", None)
    assert fresh.ended_at is None


def test_on_an_alert_call_the_record_names_the_consumer_called(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    c, _ = dialog.start(
        channel="asterisk",
        call_ref="out-caller",
        caller="911800180000",  # the caller ID our trunk presents
        flow="alert",
        params={"to": world.single_mobile, "items": [{"say": "outage.breakdown"}]},
        outbound_ref="outbox-7",
    )
    dialog.finish(c, hung_up=False)
    record = _record(session_factory, "out-caller")
    assert (record.caller, record.direction) == (world.single_mobile, "outbound")


def test_compensation_waiting_is_offered_and_6_claims_it(
    dialog: Dialog, world: World, session_factory: Callable[[], Session]
) -> None:
    from cis.models import Account, Compensation

    with session_factory() as s:
        account_id = s.scalar(select(Account.id).where(Account.account_no == world.single))
        complaint = Complaint(
            number="10999990", account_id=account_id, category="meter", channel="ivr", status="closed",
            escalation_level=0, sla_due_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
            created_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
        )  # fmt: skip
        s.add(complaint)
        s.flush()
        s.add(
            Compensation(
                account_id=account_id, complaint_id=complaint.id, standard="defective_meter", days=5,
                amount_paise=25_000, status="accrued", accrued_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
            )
        )  # fmt: skip
        s.commit()

    _, turns = call(dialog, "09876543210", "", "6")

    menu = said(turns[1])
    assert "आपके खाते पर देरी के लिए क्षतिपूर्ति की राशि दो सौ पचास रुपये देय है" in menu
    assert "इसका दावा करने के लिए 6 दबाएँ" in menu
    assert "आपका दावा दर्ज हो गया है" in said(turns[2])
    with session_factory() as s:
        claimed = s.scalars(select(Compensation).where(Compensation.account_id == account_id)).one()
    assert (claimed.status, claimed.claimed_via) == ("claimed", "ivr")
