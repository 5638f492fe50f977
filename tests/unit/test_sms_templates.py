"""SMS templates: every registered text renders in one part, scrubbing-bound messages are refused, segments count."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.templates import (
    GSM7,
    UCS2,
    MalformedTemplateFile,
    SmsError,
    SmsTemplate,
    TemplateMismatch,
    load_templates,
    render,
    segments,
)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
PORTAL = "https://urja.in/pay"
URLS = [PORTAL]
NUMBERS = ["1912", "+91 522 2287000"]

# Values as the dispatcher will format them, near the longest each is likely to be.
PLAUSIBLE = {
    "account": "1234567890",
    "number": "100001253",
    "due": "15 Aug 2025, 6 PM",
    "cycle": "Jul 2025",
    "units": 1245,
    "amount": "12,345.00",
    "old_amount": "12,345.00",
    "balance": "12,345.00",
    "portal_url": PORTAL,
    "date": "15 Aug 2025",
    "receipt": "RC2508150012345",
    "area": "Indira Nagar Sector 14",
    "since": "10:15 AM",
    "etr": "1:30 PM",
    "start": "10:00 AM",
    "end": "2:00 PM",
    "slots": "10-12 AM and 4-6 PM",
    "time": "11:40 AM",
    "otp": "482913",
    "minutes": 10,
    "count": 3,
    "example": "1234567890",
    "status": "Lineman assigned",
    "updated": "14 Aug, 9:40 AM",
    "reason": "a feeder fault",
    "reading": 12345,
    "last": 12100,
    "category": "Domestic LMV-1",
    "load": 2,
    "ending": "3210",
    "attempts": 4,
    "limit": 5,
    "registered": "14 Aug 2025, 9:40 AM",
    "resolved": "15 Aug 2025, 7:44 AM",
    "officer": "executive engineer",
    "per_day": "1,234",
    "usual": "8.2",
    "kind": "a permanent disconnection",
    "what": "meter tested and found correct",
    "code": "482913",
    "token": "ab3kq7xz9m",
    "until": "15 Aug 2025, 11:59 PM",
}

TEMPLATES = load_templates()


def _template(text: str, *, references: frozenset[str] = frozenset()) -> SmsTemplate:
    return SmsTemplate(
        key="test.message",
        text=text,
        dlt_template_id="1107170000000009999",
        category="service_implicit",
        sender="URJAMT",
        reference_variables=references,
    )


def _render(template: SmsTemplate, **variables: str | int) -> str:
    return render(template, variables, allowed_urls=URLS, allowed_numbers=NUMBERS).text


# --- The packaged templates ---------------------------------------------------------------------


def test_the_outbox_templates_the_cis_already_queues_are_registered() -> None:
    assert {"complaint.ack", "bill.issued", "bill.pay_info"} <= TEMPLATES.keys()


def test_every_kind_of_message_the_issue_lists_has_a_template() -> None:
    wanted = {
        "bill.reminder",
        "payment.receipt",
        "outage.breakdown",
        "outage.shutdown",
        "outage.roster",
        "outage.restored",
        "outage.cancelled",
        "otp.login",
        "otp.register",
        "reply.help",
        "reply.bill",
        "reply.unknown_account",
        "reply.status",
    }
    assert wanted <= TEMPLATES.keys()


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_renders_in_one_gsm7_part_with_plausible_values(key: str) -> None:
    template = TEMPLATES[key]
    variables = {name: PLAUSIBLE[name] for name in template.variables}
    sms = render(template, variables, allowed_urls=URLS, allowed_numbers=NUMBERS)
    assert "{" not in sms.text
    assert (sms.segments, sms.encoding) == (1, GSM7), f"{key} renders to {len(sms.text)} characters"
    assert sms.dlt_template_id == template.dlt_template_id
    assert sms.sender == "URJAMT"


@pytest.mark.parametrize("key", sorted(key for key in TEMPLATES if "area" in TEMPLATES[key].variables))
def test_an_area_alert_stays_in_one_part_even_for_a_30_character_area_name(key: str) -> None:
    template = TEMPLATES[key]
    variables = {name: PLAUSIBLE[name] for name in template.variables} | {"area": "Rajajipuram Sector 12 Feeder 3"}
    assert len(variables["area"]) == 30
    sms = render(template, variables, allowed_urls=URLS, allowed_numbers=NUMBERS)
    assert (sms.segments, sms.encoding) == (1, GSM7), f"{key} renders to {len(sms.text)} characters"


# The longest values each alert variable takes, in the shapes the fan-out and the complaint use case queue them
# (ISO times, formatted by the dispatcher as "30 Nov 2026, 12:45 PM"): a 30-character feeder name (the most a
# DLT variable holds), a two-digit day and a 12:45 PM, a 30-character roster schedule, a 10-digit complaint no.
WORST_MOMENT = "2026-11-30T07:15:00+00:00"  # 30 Nov 2026, 12:45 PM in India
WORST_PAYLOADS: dict[str, dict[str, object]] = {
    "outage.breakdown": {"since": WORST_MOMENT, "etr": WORST_MOMENT},
    "outage.breakdown_no_etr": {"since": WORST_MOMENT},
    "outage.shutdown": {"date": "2026-11-30", "start": "12:45 PM", "end": "12:45 PM"},
    "outage.roster": {"date": "2026-11-30", "slots": "10:15-11:45 AM, 12:15-12:45 PM"},
    "outage.restored": {"time": WORST_MOMENT},
    "outage.cancelled": {"date": "2026-11-30", "start": "12:45 PM"},
    "outage.withdrawn": {},
    "outage.etr": {"etr": WORST_MOMENT},
    "outage.shutdown_started": {"end": "12:45 PM"},
    "outage.check": {},
    "complaint.ack": {"number": "1234567897", "account_no": "1234567890", "due": WORST_MOMENT},
    "complaint.ack_outage": {
        "number": "1234567897",
        "account_no": "1234567890",
        "reason": "scheduled power cut",
        "etr": WORST_MOMENT,
    },
    "complaint.ack_outage_no_etr": {
        "number": "1234567897",
        "account_no": "1234567890",
        "reason": "scheduled power cut",
    },
    # The longest closure code's words (cis.escalation.CLOSURE_CODES), the longest officer's title.
    "complaint.resolved": {"number": "1234567897", "what": "meter tested and found correct", "code": "482913"},
    "complaint.escalated": {"number": "1234567897", "officer": "superintending engineer", "due": WORST_MOMENT},
    "complaint.officer_escalated": {"number": "1234567897", "count": 12345},
    "complaint.closed_unconfirmed": {"number": "1234567897"},
}
ALERTS = sorted(key for key in TEMPLATES if key.startswith(("outage.", "complaint.")))


def test_every_alert_template_has_its_worst_case_values() -> None:
    assert sorted(WORST_PAYLOADS) == ALERTS


@pytest.mark.parametrize("key", ALERTS)
def test_every_alert_fits_one_gsm7_part_with_the_longest_realistic_values(key: str) -> None:
    from sms.dispatch import variables_for

    template = TEMPLATES[key]
    payload = {"area": "Rajajipuram Sector 12 Feeder 3", "event": 7, **WORST_PAYLOADS[key]}
    variables = variables_for(template, payload)
    assert set(variables) == template.variables
    sms = render(template, variables, allowed_urls=URLS, allowed_numbers=NUMBERS)
    assert (sms.segments, sms.encoding) == (1, GSM7), f"{key}: {len(sms.text)} characters: {sms.text}"


def test_every_template_signs_off_as_urja_mitra() -> None:
    unsigned = [key for key, template in TEMPLATES.items() if "Urja Mitra" not in template.text]
    assert unsigned == []


def test_outage_alerts_and_otps_expire_and_go_at_once() -> None:
    for key in ("outage.breakdown", "outage.restored", "outage.cancelled", "otp.login", "otp.register"):
        assert TEMPLATES[key].urgent, key
        assert TEMPLATES[key].validity is not None, key
    assert TEMPLATES["otp.login"].validity == dt.timedelta(minutes=10)


def test_what_the_consumer_asked_for_reaches_a_mobile_that_sent_stop() -> None:
    acks = {"complaint.ack", "complaint.ack_outage", "complaint.ack_outage_no_etr", "bill.pay_info", "payment.link"}
    acks |= {"request.bill_revision", "request.application", "bill.revised_on_request"}
    # What becomes of the consumer's own complaint (asked to confirm it, moved up, closed) and the officers' notices.
    acks |= {"complaint.resolved", "complaint.escalated", "complaint.closed_unconfirmed", "complaint.officer_escalated"}
    asked_for = {key for key in TEMPLATES if key.startswith(("reply.", "otp."))} | acks
    assert {"reply.help", "reply.opted_out", "reply.opted_in", "otp.register", "otp.login"} <= asked_for
    exempt = {key for key, template in TEMPLATES.items() if template.opt_out_exempt}
    assert exempt == asked_for


@pytest.mark.parametrize(
    "key", ["bill.issued", "bill.reminder", "payment.receipt", "outage.breakdown", "outage.roster", "outage.restored"]
)
def test_alerts_and_reminders_are_held_back_from_a_mobile_that_sent_stop(key: str) -> None:
    assert not TEMPLATES[key].opt_out_exempt


def test_the_replies_about_linking_a_mobile_read_as_the_consumer_gets_them() -> None:
    sent = _render(TEMPLATES["reply.otp_sent"], account="1234567890", ending="3210", minutes=10)
    assert sent == (
        "An OTP to link this mobile to A/c 1234567890 is sent to the mobile on record ending 3210. "
        "Reply with the 6-digit OTP within 10 minutes. -Urja Mitra"
    )
    wrong = _render(TEMPLATES["reply.otp_wrong"], attempts=2)
    assert wrong.startswith("That OTP is not correct. Tries left: 2. ")


def test_bill_reminders_are_not_urgent_so_they_wait_for_daytime() -> None:
    assert not TEMPLATES["bill.reminder"].urgent


def test_a_rendered_outage_alert_carries_the_time_after_which_it_is_stale() -> None:
    now = dt.datetime(2025, 8, 15, 10, 20, tzinfo=IST)
    variables = {"area": "Aliganj", "since": "10:15 AM", "etr": "1:30 PM"}
    sms = render(TEMPLATES["outage.breakdown"], variables, allowed_urls=(), allowed_numbers=(), now=now)
    assert sms.valid_until == now + dt.timedelta(minutes=120)
    assert sms.text.startswith("Fault: no power in Aliganj since 10:15 AM.")


def test_a_message_rendered_without_a_clock_has_its_validity_but_no_deadline() -> None:
    variables = {"area": "Aliganj", "since": "10:15 AM", "etr": "1:30 PM"}
    sms = render(TEMPLATES["outage.breakdown"], variables, allowed_urls=(), allowed_numbers=())
    assert sms.validity == dt.timedelta(minutes=120)
    assert sms.valid_until is None


def test_a_naive_clock_is_refused_so_ist_and_utc_are_never_confused() -> None:
    with pytest.raises(ValueError, match="aware"):
        render(_template("Hello. -Urja Mitra"), {}, allowed_urls=(), allowed_numbers=(), now=dt.datetime(2025, 8, 15))


def test_the_rendered_message_carries_the_deployments_entity_id() -> None:
    sms = render(
        _template("Hello. -Urja Mitra"), {}, allowed_urls=(), allowed_numbers=(), entity_id="1201160000000000042"
    )
    assert sms.entity_id == "1201160000000000042"
    with pytest.raises(ValueError, match="19 digits"):
        render(_template("Hello. -Urja Mitra"), {}, allowed_urls=(), allowed_numbers=(), entity_id="12345")


def test_the_complaint_acknowledgement_reads_as_the_consumer_gets_it() -> None:
    text = _render(TEMPLATES["complaint.ack"], number="100001253", account="1234567890", due="15 Aug, 6 PM")
    assert text == (
        "Dear consumer, complaint 100001253 for A/c 1234567890 is registered. "
        "Expected resolution by 15 Aug, 6 PM. Track: SMS STATUS 100001253 -Urja Mitra"
    )


# --- Refusals: what DLT scrubbing would drop never leaves ----------------------------------------

GREETING = _template("Dear {name}, your bill is ready. -Urja Mitra")


def test_a_missing_variable_is_refused() -> None:
    with pytest.raises(TemplateMismatch, match="'name': missing"):
        render(GREETING, {}, allowed_urls=URLS, allowed_numbers=NUMBERS)


def test_a_variable_the_template_does_not_have_is_refused() -> None:
    with pytest.raises(TemplateMismatch, match="'extra': not in the template"):
        render(GREETING, {"name": "Ravi", "extra": "x"}, allowed_urls=URLS, allowed_numbers=NUMBERS)


def test_an_empty_variable_is_refused() -> None:
    with pytest.raises(TemplateMismatch, match="empty"):
        _render(GREETING, name="  ")


def test_a_variable_of_30_characters_is_accepted_and_31_refused() -> None:
    assert "x" * 30 in _render(GREETING, name="x" * 30)
    with pytest.raises(TemplateMismatch, match="longer than 30"):
        _render(GREETING, name="x" * 31)


@pytest.mark.parametrize(
    "value", ["Ravi\nKumar", "Ravi\rKumar", "Ravi\tKumar", "Ravi\x00", "Ravi\u2028Kumar", "Ravi\u202e"]
)
def test_a_newline_or_control_character_in_a_variable_is_refused(value: str) -> None:
    with pytest.raises(TemplateMismatch, match="control character"):
        _render(GREETING, name=value)


@pytest.mark.parametrize(
    "value",
    [
        "https://bit.ly/x1",
        "http://evil.example.com",
        "www.freepower.in",
        "bit.ly/abc",
        "urja.in.evil.com/pay",
        "10.0.0.1/a",
    ],
)
def test_a_link_not_on_the_whitelist_is_refused(value: str) -> None:
    with pytest.raises(TemplateMismatch, match="link that is not on the whitelist"):
        _render(GREETING, name=value)


@pytest.mark.parametrize(
    "value", [PORTAL, "https://urja.in/pay/", "urja.in/pay", "HTTPS://URJA.IN/pay?a=1", "urja.in/pay/q7"]
)
def test_a_whitelisted_link_or_a_path_below_it_is_accepted(value: str) -> None:
    assert value in _render(GREETING, name=value)


@pytest.mark.parametrize("value", ["9876543210", "+91 98765 43210", "098765-43210", "1800 180 5555", "98765.43210"])
def test_a_call_back_number_not_on_the_whitelist_is_refused(value: str) -> None:
    with pytest.raises(TemplateMismatch, match="phone number that is not on the whitelist"):
        _render(GREETING, name=value)


@pytest.mark.parametrize("value", ["0522 2287000", "+915222287000", "1912"])
def test_a_whitelisted_number_in_any_usual_spelling_is_accepted(value: str) -> None:
    assert value in _render(GREETING, name=value)


@pytest.mark.parametrize(
    "value", ["Ravi Kumar", "Dr.Sharma", "12,345.00", "15 Aug 2025, 6 PM", "10-12 AM and 4-6 PM", "A.K. Singh"]
)
def test_ordinary_names_amounts_and_times_are_not_mistaken_for_links_or_numbers(value: str) -> None:
    assert value in _render(GREETING, name=value)


def test_a_reference_variable_may_hold_a_ten_digit_account_number() -> None:
    template = _template("A/c {account} is linked. -Urja Mitra", references=frozenset({"account"}))
    assert _render(template, account="9876543210") == "A/c 9876543210 is linked. -Urja Mitra"


@pytest.mark.parametrize("value", ["98765 43210", "urja.in/x", "12/34", "१२३४५६७८९०"])
def test_a_reference_variable_refuses_anything_but_letters_digits_and_dashes(value: str) -> None:
    template = _template("A/c {account} is linked. -Urja Mitra", references=frozenset({"account"}))
    with pytest.raises(TemplateMismatch, match="reference"):
        _render(template, account=value)


def test_a_true_or_false_is_not_a_variable_value() -> None:
    with pytest.raises(TemplateMismatch, match="text or a whole number"):
        render(GREETING, {"name": True}, allowed_urls=URLS, allowed_numbers=NUMBERS)


def test_a_refusal_names_the_variable_but_never_the_consumers_value() -> None:
    with pytest.raises(TemplateMismatch) as caught:
        _render(GREETING, name="9876543210")
    assert "9876543210" not in str(caught.value)
    assert caught.value.variable == "name"
    assert isinstance(caught.value, SmsError)


def test_braces_in_a_value_are_printed_not_expanded() -> None:
    template = _template("Dear {name}, A/c {account}. -Urja Mitra")
    assert _render(template, name="{account}", account="12") == "Dear {account}, A/c 12. -Urja Mitra"


# --- Segment counting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "expected"),
    [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_takes_160_in_one_part_and_153_a_part_when_concatenated(length: int, expected: int) -> None:
    assert segments("a" * length) == (expected, GSM7)


@pytest.mark.parametrize(("length", "expected"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_takes_70_in_one_part_and_67_a_part_when_concatenated(length: int, expected: int) -> None:
    assert segments("क" * length) == (expected, UCS2)


def test_gsm7_extension_characters_cost_two_septets() -> None:
    assert segments("€" * 80) == (1, GSM7)
    assert segments("€" * 80 + "a") == (2, GSM7)
    assert segments("a" * 158 + "^") == (1, GSM7)
    assert segments("a" * 159 + "^") == (2, GSM7)
    for char in "^{}\\[~]|€":
        assert segments("a" * 159 + char) == (2, GSM7), char


def test_an_extension_character_is_not_split_across_parts() -> None:
    # 152 septets, then "[" (2) cannot fit in the first 153-septet part; it moves to the second.
    assert segments("a" * 152 + "[" + "a" * 152) == (3, GSM7)
    assert segments("a" * 151 + "[" + "a" * 153) == (2, GSM7)


def test_accented_letters_of_the_gsm7_alphabet_stay_gsm7_but_others_force_ucs2() -> None:
    assert segments("é" * 160) == (1, GSM7)
    assert segments("a" * 159 + "á") == (3, UCS2)
    assert segments("It’s") == (1, UCS2)


def test_an_emoji_counts_as_two_ucs2_units() -> None:
    assert segments("😀" * 35) == (1, UCS2)
    assert segments("😀" * 35 + "a") == (2, UCS2)


def test_a_devanagari_name_forces_the_whole_message_into_ucs2() -> None:
    sms = render(GREETING, {"name": "रमेश कुमार"}, allowed_urls=URLS, allowed_numbers=NUMBERS)
    assert sms.encoding == UCS2
    assert len(sms.text) == 48
    assert sms.segments == 1


def test_a_devanagari_area_name_turns_a_one_part_alert_into_two_ucs2_parts() -> None:
    variables = {"area": "अलीगंज", "since": "10:15 AM", "etr": "1:30 PM"}
    sms = render(TEMPLATES["outage.breakdown"], variables, allowed_urls=(), allowed_numbers=())
    assert len(sms.text) == 104
    assert (sms.segments, sms.encoding) == (2, UCS2)


GSM7_ALPHABET = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà^{}\\[~]|€"


@given(st.text(alphabet=GSM7_ALPHABET, max_size=800))
def test_gsm7_parts_always_hold_the_whole_text(text: str) -> None:
    count, encoding = segments(text)
    septets = len(text) + sum(char in "^{}\\[~]|€" for char in text)
    assert encoding == GSM7
    capacity = 160 if count == 1 else 153 * count
    assert septets <= capacity
    # never more parts than packing one septet short per part would need
    assert count == 1 or count <= -(-septets // 152)


@given(st.text(max_size=400), st.sampled_from("कá’😀"), st.integers(min_value=0, max_value=400))
def test_ucs2_parts_always_hold_the_whole_text(text: str, foreign: str, at: int) -> None:
    text = text[:at] + foreign + text[at:]
    count, encoding = segments(text)
    units = len(text.encode("utf-16-le")) // 2
    assert encoding == UCS2
    capacity = 70 if count == 1 else 67 * count
    assert units <= capacity
    assert count == 1 or count <= -(-units // 66)


# --- The loader refuses a malformed file ---------------------------------------------------------

GOOD = """
[test.hello]
text = "Dear {name}, hello. -Urja Mitra"
dlt_template_id = "1107170000000000001"
category = "service_implicit"
sender = "URJAMT"
"""


def _load(tmp_path: Path, body: str) -> dict[str, SmsTemplate]:
    path = tmp_path / "templates.toml"
    path.write_text(body, encoding="utf-8")
    return load_templates(path)


def test_a_small_good_file_loads_with_its_defaults(tmp_path: Path) -> None:
    templates = _load(tmp_path, GOOD)
    hello = templates["test.hello"]
    assert hello.variables == {"name"}
    assert hello.validity is None
    assert not hello.urgent
    assert not hello.opt_out_exempt


def test_a_template_may_be_marked_exempt_from_opt_out(tmp_path: Path) -> None:
    exempt = GOOD.replace('sender = "URJAMT"', 'sender = "URJAMT"\nopt_out_exempt = true')
    assert _load(tmp_path, exempt)["test.hello"].opt_out_exempt
    held = GOOD.replace('sender = "URJAMT"', 'sender = "URJAMT"\nopt_out_exempt = false')
    assert not _load(tmp_path, held)["test.hello"].opt_out_exempt


def test_a_quoted_dotted_key_is_the_same_template(tmp_path: Path) -> None:
    templates = _load(tmp_path, GOOD.replace("[test.hello]", '["test.hello"]'))
    assert list(templates) == ["test.hello"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (("[test.hello]", "[test.hello"), "Expected"),
        (('sender = "URJAMT"', 'sender = "URJAMT"\ncolour = "red"'), "unknown field"),
        (('dlt_template_id = "1107170000000000001"\n', ""), "missing field"),
        (('"1107170000000000001"', '"110717000000000001"'), "19 digits"),
        (('"1107170000000000001"', '"11071700000000000A1"'), "19 digits"),
        (('"1107170000000000001"', "1107170000000000001"), "dlt_template_id must be a non-empty string"),
        (('"service_implicit"', '"transaction"'), "category"),
        (('"URJAMT"', '"URJAM"'), "6 capital letters"),
        (('"URJAMT"', '"urjamt"'), "6 capital letters"),
        (('"URJAMT"', '"URJA1T"'), "6 capital letters"),
        (("{name}", "{Name}"), "brace"),
        (("{name}", "{name"), "brace"),
        (("{name}", "{ name }"), "brace"),
        (("{name}", "{0}"), "brace"),
        (("{name}", "{name:>10}"), "brace"),
        (("hello.", "hello’s."), "outside GSM-7"),
        (('text = "Dear', 'text = "\\nDear'), "control character"),
        (('sender = "URJAMT"', 'sender = "URJAMT"\nvalidity_minutes = 0'), "validity_minutes"),
        (('sender = "URJAMT"', 'sender = "URJAMT"\nvalidity_minutes = "60"'), "validity_minutes"),
        (('sender = "URJAMT"', 'sender = "URJAMT"\nurgent = "yes"'), "urgent"),
        (('sender = "URJAMT"', 'sender = "URJAMT"\nopt_out_exempt = "true"'), "opt_out_exempt"),
        (('sender = "URJAMT"', 'sender = "URJAMT"\nopt_out_exempt = 1'), "opt_out_exempt"),
        (('sender = "URJAMT"', 'sender = "URJAMT"\nreference_variables = ["account"]'), "not in the text"),
        (("[test.hello]", "[Test.Hello]"), "dotted lowercase"),
        (("[test.hello]", "[hello]"), "dotted lowercase"),
    ],
)
def test_the_loader_rejects_a_malformed_template(tmp_path: Path, change: tuple[str, str], complaint: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(MalformedTemplateFile, match=complaint):
        _load(tmp_path, GOOD.replace(old, new))


def test_the_loader_rejects_two_templates_with_one_dlt_id(tmp_path: Path) -> None:
    with pytest.raises(MalformedTemplateFile, match=r"already used by test\.hello"):
        _load(tmp_path, GOOD + GOOD.replace("[test.hello]", "[test.again]"))


def test_the_loader_rejects_a_value_where_a_table_of_templates_belongs(tmp_path: Path) -> None:
    with pytest.raises(MalformedTemplateFile, match="expected a table"):
        _load(tmp_path, 'entity_id = "1101000000000000001"\n' + GOOD)


def test_the_loader_rejects_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(MalformedTemplateFile, match="no templates"):
        _load(tmp_path, "# nothing yet\n")


def test_a_promotional_template_needs_a_numeric_header(tmp_path: Path) -> None:
    promotional = GOOD.replace('"service_implicit"', '"promotional"')
    with pytest.raises(MalformedTemplateFile, match="6 digits"):
        _load(tmp_path, promotional)
    assert _load(tmp_path, promotional.replace('"URJAMT"', '"123456"'))["test.hello"].sender == "123456"
