"""The SMS keyword parser: what consumers really type becomes the right command, and anything else becomes HELP."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.commands import (
    Bill,
    Calc,
    CheckReply,
    Command,
    Complaint,
    Help,
    OtpReply,
    Outage,
    Pay,
    Read,
    Register,
    Roster,
    Start,
    Status,
    Stop,
    parse,
)

ACCT = "1234567890"

READABLE: list[tuple[str, Command]] = [
    # BILL, with and without an account, misspelt, glued, and the account alone
    ("BILL", Bill(None)),
    ("bill", Bill(None)),
    ("  Bill.  ", Bill(None)),
    ("BILL 1234567890", Bill(ACCT)),
    ("bill   1234567890", Bill(ACCT)),
    ("BILL1234567890", Bill(ACCT)),
    ("BIL 1234567890", Bill(ACCT)),
    ("BILLL 1234567890", Bill(ACCT)),
    ("Bills", Bill(None)),
    ("BILL 12345 67890", Bill(ACCT)),
    ("BILL 123-456-7890", Bill(ACCT)),
    ("BILL: 1234567890!!", Bill(ACCT)),
    ("BILL A/C NO 1234567890", Bill(ACCT)),
    ("Hi, please send my bill 1234567890.", Bill(ACCT)),
    ("1234567890", Bill(ACCT)),
    ("12345 67890", Bill(ACCT)),
    ("123-456-7890", Bill(ACCT)),
    (" 1234567890 ", Bill(ACCT)),
    ("1234567890 BILL", Bill(ACCT)),
    ("१२३४५६७८९०", Bill(ACCT)),
    ("ＢＩＬＬ １２３４５６７８９０", Bill(ACCT)),
    ("BILL\x00 1234567890", Bill(ACCT)),
    ("BILL " * 400, Bill(None)),
    # PAY
    ("PAY", Pay(None)),
    ("pay 1234567890", Pay(ACCT)),
    ("PAYMENT 1234567890", Pay(ACCT)),
    ("PAYMNET 1234567890", Pay(ACCT)),
    # COMP: every type, the account before or after the type, free text, misspelt keywords
    ("COMP NOSUPPLY", Complaint(None, "no_supply", None)),
    ("COMP 1234567890 NOSUPPLY", Complaint(ACCT, "no_supply", None)),
    ("COMP NOSUPPLY 1234567890", Complaint(ACCT, "no_supply", None)),
    ("comp 1234567890 no supply since morning", Complaint(ACCT, "no_supply", "since morning")),
    ("COMP NO POWER", Complaint(None, "no_supply", None)),
    ("COMP NOPOWER", Complaint(None, "no_supply", None)),
    ("COMP NOSUPLY", Complaint(None, "no_supply", None)),
    ("COMPNOSUPPLY", Complaint(None, "no_supply", None)),
    ("COMP VOLTAGE", Complaint(None, "voltage", None)),
    ("COMP LOW VOLTAGE 1234567890", Complaint(ACCT, "voltage", None)),
    ("comp lowvoltage bulbs dim at night", Complaint(None, "voltage", "bulbs dim at night")),
    ("COMP METER", Complaint(None, "meter", None)),
    ("COMPLAINT 1234567890 METER burnt", Complaint(ACCT, "meter", "burnt")),
    ("COMPLAIN METRE", Complaint(None, "meter", None)),
    ("COMP BILLING", Complaint(None, "billing", None)),
    ("COMP 1234567890 BILL wrong amount", Complaint(ACCT, "billing", "wrong amount")),
    ("CMP WRONG BILL", Complaint(None, "billing", None)),
    ("COMP DANGER", Complaint(None, "dangerous_line", None)),
    ("COMP DANGER wire hanging low near school", Complaint(None, "dangerous_line", "wire hanging low near school")),
    ("COMP transformer sparking near school", Complaint(None, "dangerous_line", "transformer sparking near school")),
    ("COMP THEFT", Complaint(None, "theft", None)),
    ("COMPLIANT THEFT katiya on pole 12", Complaint(None, "theft", "katiya on pole 12")),
    ("COMP NOSUPPLY call 9876543210", Complaint(None, "no_supply", "call 9876543210")),
    ("comp: no supply, since 5 hrs", Complaint(None, "no_supply", "since 5 hrs")),
    # STATUS
    ("STATUS 12345674", Status("12345674")),
    ("STAUS 12345674", Status("12345674")),
    ("STATS 12345674", Status("12345674")),
    ("status 1234 5674", Status("12345674")),
    ("STATSU #12345674", Status("12345674")),
    # OUTAGE
    ("OUTAGE", Outage(None)),
    ("OUTAGES 1234567890", Outage(ACCT)),
    ("POWERCUT", Outage(None)),
    ("power cut 1234567890", Outage(ACCT)),
    # REG
    ("REG 1234567890", Register(ACCT)),
    ("REGISTER 12345-67890", Register(ACCT)),
    ("REGSITER 1234567890", Register(ACCT)),
    # CALC: category spellings, kW and units written out, decimals and thousands
    ("CALC LMV-1U 2 150", Calc("LMV-1U", Decimal(2), 150)),
    ("calc lmv1u 2kw 150 units", Calc("LMV-1U", Decimal(2), 150)),
    ("CALC LMV 1 U 2 150", Calc("LMV-1U", Decimal(2), 150)),
    ("CALC lmv-1u, 2, 150", Calc("LMV-1U", Decimal(2), 150)),
    ("CALC LMV-1L 1 30", Calc("LMV-1L", Decimal(1), 30)),
    ("CALCULATE LMV-1R 1 45", Calc("LMV-1R", Decimal(1), 45)),
    ("CALC LMV-2 2 kW 300 kWh", Calc("LMV-2", Decimal(2), 300)),
    ("CALC LMV-5 3.73 600", Calc("LMV-5", Decimal("3.73"), 600)),
    ("CALC HV-2 10000 40,000", Calc("HV-2", Decimal(10000), 40000)),
    ("CALCLMV1U 2 150", Calc("LMV-1U", Decimal(2), 150)),
    ("CALC LMV-1U 2 0", Calc("LMV-1U", Decimal(2), 0)),
    # READ with and without an account
    ("READ 4567", Read(None, 4567)),
    ("READ 1234567890 4567", Read(ACCT, 4567)),
    ("READ 12345 67890 4567", Read(ACCT, 4567)),
    ("READING 04567 kWh", Read(None, 4567)),
    ("read 4,567", Read(None, 4567)),
    ("READ 4567.8", Read(None, 4567)),
    ("METER READING 1234567890 4567", Read(ACCT, 4567)),
    # STOP / START / HELP / OTP
    ("STOP", Stop()),
    ("stop.", Stop()),
    ("Stop sending messages", Stop()),
    ("UNSUBSCRIBE", Stop()),
    ("opt out", Stop()),
    ("START", Start()),
    ("SUBSCRIBE", Start()),
    ("Start please", Start()),
    ("HELP", Help(None)),
    ("help me", Help(None)),
    ("?", Help(None)),
    ("INFO", Help(None)),
    ("123456", OtpReply("123456")),
    ("OTP 123456", OtpReply("123456")),
    # The answer to "is power back? reply 1/2" (the service answers HELP when nothing was asked)
    ("1", CheckReply(1)),
    ("2", CheckReply(2)),
    (" 2. ", CheckReply(2)),
    ("२", CheckReply(2)),
    ("２", CheckReply(2)),
    ("yes", CheckReply(1)),
    ("NO", CheckReply(2)),
    # ROSTER: on by default, OFF and its ways of saying it, an account before or after, misspelt, glued
    ("ROSTER", Roster(None, on=True)),
    ("roster on", Roster(None, on=True)),
    ("Roster please", Roster(None, on=True)),
    ("ROSTER OFF", Roster(None, on=False)),
    ("roster stop", Roster(None, on=False)),
    ("ROSTER BAND", Roster(None, on=False)),
    ("ROSTEROFF", Roster(None, on=False)),
    ("ROSTERON", Roster(None, on=True)),
    ("ROSTR", Roster(None, on=True)),
    ("ROASTER OFF", Roster(None, on=False)),
    ("schedule", Roster(None, on=True)),
    ("ROSTER 1234567890", Roster(ACCT, on=True)),
    ("ROSTER OFF 12345 67890", Roster(ACCT, on=False)),
    ("1234567890 roster off", Roster(ACCT, on=False)),
    ("ROSTER 1234567890 OFF", Roster(ACCT, on=False)),
    ("STOP ROSTER", Roster(None, on=False)),
    ("unsubscribe roster 1234567890", Roster(ACCT, on=False)),
    ("START ROSTER", Roster(None, on=True)),
]


@pytest.mark.parametrize(("text", "expected"), READABLE)
def test_real_looking_message_is_read_as_its_command(text: str, expected: Command) -> None:
    assert parse(text) == expected


GARBAGE = [
    "",
    "   ",
    "\n\t ",
    "\x00\x00",
    "x" * 2000,
    "COMP " + "x" * 2000,
    "z" * 1990 + " BILL",
    "🔌💡⚡",
    "बिल",
    "बिल भेजो",
    "'; DROP TABLE account;--",
    "<script>alert(1)</script>",
    "hello",
    "thanks",
    "BILL 12345",
    "BILL 12345678901",
    "BILL 1234567890 1234567890",
    "12345",
    "1234567890 4567",
    "PAY 98765",
    "COMP",
    "COMP 1234567890",
    "COMP 12345 NOSUPPLY",
    "COMP please help",
    "NO SUPPLY 1234567890",
    "STATUS",
    "STATUS 123",
    "REG",
    "REG 12345",
    "CALC",
    "CALC 2 150",
    "CALC LMV-1 2 150",
    "CALC LMV-9 2 150",
    "CALC LMV-1U two 100",
    "CALC LMV-1U 2",
    "CALC LMV-1U 2 150 300",
    "CALC LMV-1U 0 150",
    "CALC LMV-1U -2 150",
    "CALC LMV-1U 2 150.5",
    "READ",
    "READ -5",
    "READ 1234567890",
    "READ twelve",
    "READ 12 34",
    "READ 123456789012",
    "OTP 12",
    "3",
    "12",
    "1 2",
    "1.5",
    "-2",
    "yes please",
    "ROSTER 12345",
    "ROSTER ON OFF",
]


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_or_malformed_message_gets_help(text: str) -> None:
    assert isinstance(parse(text), Help)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("COMP 1234567890", "COMP needs a type: NOSUPPLY, VOLTAGE, METER, BILLING, DANGER, THEFT"),
        ("BILL 12345", "BILL takes one 10-digit account number"),
        ("NO SUPPLY", "start a complaint with COMP, e.g. COMP NOSUPPLY"),
        ("बिल", "commands are English words, e.g. BILL"),
        ("", "empty message"),
        ("READ -5", "the reading must be a whole number of kWh"),
    ],
)
def test_help_reason_says_what_was_wrong(text: str, reason: str) -> None:
    command = parse(text)
    assert isinstance(command, Help)
    assert command.reason == reason


def test_a_digit_other_than_1_or_2_is_still_asked_for_an_account_number() -> None:
    assert parse("3") == Help("an account number has 10 digits", "ACCOUNT")
    assert parse("-1") == Help("an account number has 10 digits", "ACCOUNT")


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("COMP", "COMP"),
        ("complaint", "COMP"),
        ("COMP 1234567890", "COMP"),
        ("NO SUPPLY", "COMP"),
        ("HELP COMP", "COMP"),
        ("STATUS", "STATUS"),
        ("STATUS 123", "STATUS"),
        ("help status", "STATUS"),
        ("CALC", "CALC"),
        ("CALC LMV-1U 2", "CALC"),
        ("READ", "READ"),
        ("READ twelve", "READ"),
        ("HELP READING", "READ"),
        ("REG", "REG"),
        ("OTP 12", "REG"),
        ("BILL 12345", "ACCOUNT"),
        ("HELP", None),
        ("HELP BILL", None),
        ("WHATEVER", None),
    ],
)
def test_help_names_the_command_whose_syntax_the_sender_needs(text: str, command: str | None) -> None:
    parsed = parse(text)
    assert isinstance(parsed, Help)
    assert parsed.command == command


def test_stop_alone_still_turns_every_alert_off_but_stop_roster_only_the_schedule() -> None:
    assert parse("STOP") == Stop()
    assert parse("STOP ROSTER") == Roster(None, on=False)


def test_help_asked_for_has_no_reason_but_unknown_text_has_one() -> None:
    assert parse("HELP") == Help(None)
    assert parse("WHATEVER") == Help("unknown command")


def test_complaint_text_is_capped_at_one_segment() -> None:
    command = parse("COMP NOSUPPLY " + "dark " * 300)
    assert isinstance(command, Complaint)
    assert command.text is not None
    assert len(command.text) <= 160


def test_one_slip_in_a_long_keyword_is_forgiven_but_a_short_word_is_not_guessed() -> None:
    assert parse("OUTAEG") == Outage(None)
    assert parse("REGISTRE 1234567890") == Register(ACCT)
    assert isinstance(parse("BELL"), Help)


@given(st.text(max_size=3000))
def test_parse_never_raises_on_any_text(text: str) -> None:
    assert parse(text) is not None


SOUP = ["BILL", "COMP", "READ", "CALC", "LMV-1U", "NO", "SUPPLY", "-", ".", ",", "1", "12345", "67890", ACCT, " "]
SOUP += ["kw", "?", "बिल", "\x00", "🔌"]


@given(st.lists(st.sampled_from(SOUP), max_size=60))
def test_parse_never_raises_on_keyword_like_soup(pieces: list[str]) -> None:
    assert parse("".join(pieces)) is not None


@given(st.text(min_size=2000, max_size=2000) | st.just("9" * 2000) | st.just("COMP NOSUPPLY " + "1 " * 1000))
def test_a_long_message_is_parsed_in_milliseconds(text: str) -> None:
    started = time.perf_counter()
    parse(text)
    assert time.perf_counter() - started < 0.05
