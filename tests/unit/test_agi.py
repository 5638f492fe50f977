"""The AGI protocol without sockets: replies, the agi_ block, routing, and turns played as commands."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from ivr.agi import (
    AgiChannelFailed,
    AgiConfig,
    AgiDeadChannel,
    AgiError,
    AgiHangup,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiReply,
    AgiUsageError,
    ReplyReader,
    agi_commands,
    mask_caller,
    parse_command,
    parse_env,
    parse_reply,
    parse_request,
    play_turn,
    quote,
    read_reply,
    run_call,
    split_args,
)
from ivr.outbound import encode_params
from ivr.turns import Amount, Digits, Gather, Hangup, Say, Transfer, Turn
from tests.protocol.fake_asterisk import DEAD, MenuDialog, agi_env

MENU = Turn("hi", (Say("welcome.greeting"), Say("menu.main")), Gather(max_digits=1, timeout_ms=5000))
ACCOUNT = Turn("hi", (Say("account.enter"),), Gather(max_digits=10, timeout_ms=7000, terminator="#"))
ANY = '"0123456789*#"'


# --- replies -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("200 result=0", AgiReply(200, "0")),
        ("200 result=1\n", AgiReply(200, "1")),
        ("200 result=49 endpos=1234", AgiReply(200, "49", endpos=1234)),
        ("200 result=0 endpos=8000\r\n", AgiReply(200, "0", endpos=8000)),
        ("200 result= (timeout)", AgiReply(200, "", data="timeout")),
        ("200 result=12 (timeout)", AgiReply(200, "12", data="timeout")),
        ("200 result=0123", AgiReply(200, "0123")),
        ("200 result=-1 endpos=0", AgiReply(200, "-1", endpos=0)),
        ("200 result=1 (a value (with parens))", AgiReply(200, "1", data="a value (with parens)")),
        ("200 result=0 (timeout) endpos=9600", AgiReply(200, "0", data="timeout", endpos=9600)),
    ],
)
def test_every_200_reply_is_parsed_by_one_function(line: str, reply: AgiReply) -> None:
    assert parse_reply(line) == reply


def test_get_data_digits_keep_their_leading_zero() -> None:
    assert parse_reply("200 result=0123").result == "0123"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("HANGUP", AgiHangup),
        ("510 Invalid or unknown command", AgiInvalidCommand),
        (DEAD, AgiDeadChannel),
        ("520 Invalid command syntax.  Proper usage not available.", AgiUsageError),
        ("hello", AgiProtocolError),
        ("200 res=1", AgiProtocolError),
    ],
)
def test_failures_map_onto_the_error_tree(line: str, error: type[AgiError]) -> None:
    with pytest.raises(error) as caught:
        parse_reply(line)
    assert isinstance(caught.value, AgiError)
    assert caught.value.line == line


def test_a_dead_channel_is_a_hang_up_and_so_is_a_failed_channel() -> None:
    assert issubclass(AgiDeadChannel, AgiHangup)
    assert issubclass(AgiChannelFailed, AgiHangup)
    assert not issubclass(AgiInvalidCommand, AgiHangup)
    assert not issubclass(AgiUsageError, AgiHangup)


def test_a_520_runs_over_several_lines_to_the_end_of_proper_usage() -> None:
    reader = ReplyReader()
    assert reader.feed("520-Invalid command syntax.  Proper usage follows:\n") is None
    assert reader.feed("Usage: WAIT FOR DIGIT <timeout>\n") is None
    assert reader.feed(" Waits up to <timeout> milliseconds for channel to receive a DTMF digit.\n") is None
    with pytest.raises(AgiUsageError) as caught:
        reader.feed("520 End of proper usage.\n")
    assert caught.value.usage.splitlines() == [
        "Usage: WAIT FOR DIGIT <timeout>",
        " Waits up to <timeout> milliseconds for channel to receive a DTMF digit.",
    ]
    assert reader.feed("200 result=0") == AgiReply(200, "0")  # the reader is ready for the next reply


def test_read_reply_treats_the_end_of_input_as_a_hang_up() -> None:
    with pytest.raises(AgiHangup):
        read_reply(iter([""]).__next__)
    assert read_reply(iter(["200 result=1\n"]).__next__) == AgiReply(200, "1")


@pytest.mark.parametrize(("result", "key"), [("0", ""), ("49", "1"), ("35", "#"), ("42", "*")])
def test_a_reply_carries_the_key_as_its_ascii_code(result: str, key: str) -> None:
    assert AgiReply(200, result).key == key


def test_result_minus_one_is_a_failed_channel() -> None:
    with pytest.raises(AgiChannelFailed):
        _ = parse_reply("200 result=-1 endpos=0").key


# --- the agi_ block and routing -------------------------------------------------------------------


def test_the_agi_block_ends_at_the_empty_line() -> None:
    env = parse_env([*agi_env(request="agi://127.0.0.1:4573/ivr").splitlines(keepends=True), "not: read\n"])
    assert env["agi_network"] == "yes"
    assert env["agi_request"] == "agi://127.0.0.1:4573/ivr"
    assert env["agi_callerid"] == "919876543210"
    assert env["agi_accountcode"] == ""
    assert env["agi_enhanced"] == "0.0"
    assert "not" not in env


def test_an_inbound_request_names_the_caller_and_the_number_dialled() -> None:
    env = parse_env(agi_env(request="agi://10.0.0.5:4573/ivr", callerid="09876543210", uniqueid="17.3").splitlines())
    request = parse_request(env)
    assert (request.route, request.flow, request.params) == ("ivr", "inbound", {})
    assert (request.call_ref, request.caller, request.called) == ("17.3", "09876543210", "1912")


def test_an_alert_request_carries_the_dialers_reference_and_params() -> None:
    url = f"agi://10.0.0.5/alert?ref=outbox-77&params={encode_params({'interruption': 5, 'kind': 'breakdown'})}"
    request = parse_request({"agi_request": url, "agi_uniqueid": "urja-1"})
    assert request.flow == "alert"
    assert request.outbound_ref == "outbox-77"
    assert request.params == {"interruption": 5, "kind": "breakdown"}
    assert request.problem is None


def test_params_that_do_not_decode_are_a_problem_to_apologise_for() -> None:
    request = parse_request({"agi_request": "agi://10.0.0.5/alert?params=%%%"})
    assert request.flow == "alert"
    assert request.problem


def test_the_script_form_is_routed_by_its_first_argument() -> None:
    env = {"agi_request": "urjamitra-agi", "agi_arg_1": "alert", "agi_arg_2": "ref=9", "agi_arg_3": "feeder=F12"}
    request = parse_request(env)
    assert (request.route, request.outbound_ref, request.params) == ("alert", "9", {"feeder": "F12"})
    assert parse_request({"agi_request": "urjamitra-agi"}).flow == "inbound"


def test_an_unknown_route_has_no_dialog() -> None:
    assert parse_request({"agi_request": "agi://h/billing"}).flow is None


def test_the_called_number_falls_back_to_the_extension() -> None:
    env = {"agi_request": "agi://h/ivr", "agi_dnid": "unknown", "agi_extension": "18001801912"}
    assert parse_request(env).called == "18001801912"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [("919876543210", "+91*******210"), ("09876543210", "+91*******210"), ("unknown", "unknown"), ("", "")],
)
def test_caller_ids_are_masked_for_logs(raw: str, masked: str) -> None:
    assert mask_caller(raw) == masked


# --- commands ------------------------------------------------------------------------------------


@pytest.mark.parametrize("arg", ["plain", "", "two words", 'say "hi"', "back\\slash", "0123456789*#"])
def test_arguments_survive_asterisks_parser(arg: str) -> None:
    assert split_args(f"EXEC Dial {quote(arg)}") == ["EXEC", "Dial", arg]


def test_an_argument_cannot_smuggle_a_second_command() -> None:
    with pytest.raises(ValueError, match="line break"):
        quote("x\nHANGUP")


def test_commands_are_split_into_verb_and_arguments() -> None:
    assert parse_command('STREAM FILE urjamitra/hi/menu/main "0123456789*#"\n') == (
        "STREAM FILE",
        ["urjamitra/hi/menu/main", "0123456789*#"],
    )
    assert parse_command("wait for digit 5000") == ("WAIT FOR DIGIT", ["5000"])
    assert parse_command("FOO bar") == ("FOO", ["bar"])


# --- turns as commands ----------------------------------------------------------------------------


def play(turn: Turn, replies: Sequence[str], config: AgiConfig | None = None) -> tuple[list[str], str]:
    """Play a turn against scripted reply lines; returns the commands sent and the digits gathered."""
    player = play_turn(turn, config or AgiConfig())
    lines: Iterator[str] = iter(replies)
    commands = [next(player)]
    try:
        while True:
            commands.append(player.send(parse_reply(next(lines))))
    except StopIteration as stop:
        digits: str = stop.value
    return commands, digits


def test_the_prompts_of_a_gather_turn_listen_for_every_key_then_wait() -> None:
    assert agi_commands(MENU) == [
        f"STREAM FILE urjamitra/hi/welcome/greeting {ANY}",
        f"STREAM FILE urjamitra/hi/menu/main {ANY}",
        "WAIT FOR DIGIT 5000",
    ]


def test_nothing_pressed_is_an_empty_entry() -> None:
    commands, digits = play(MENU, ["200 result=0 endpos=8000", "200 result=0 endpos=8000", "200 result=0"])
    assert commands[-1] == "WAIT FOR DIGIT 5000"
    assert digits == ""


def test_a_key_during_the_first_prompt_stops_the_rest() -> None:
    commands, digits = play(MENU, ["200 result=50 endpos=1234"])
    assert commands == [f"STREAM FILE urjamitra/hi/welcome/greeting {ANY}"]
    assert digits == "2"


def test_a_key_after_the_prompts_is_the_entry() -> None:
    _, digits = play(MENU, ["200 result=0 endpos=8000", "200 result=0 endpos=8000", "200 result=57"])
    assert digits == "9"


def test_a_barge_in_starts_a_long_entry_that_ends_at_the_terminator() -> None:
    replies = ["200 result=55 endpos=900", "200 result=49", "200 result=48", "200 result=35"]
    commands, digits = play(ACCOUNT, replies)
    assert commands == [f"STREAM FILE urjamitra/hi/account/enter {ANY}"] + ["WAIT FOR DIGIT 7000"] * 3
    assert digits == "710"


def test_a_long_entry_stops_at_max_digits_without_the_terminator() -> None:
    replies = ["200 result=0 endpos=8000"] + [f"200 result={ord(c)}" for c in "7100000001"]
    commands, digits = play(ACCOUNT, replies)
    assert digits == "7100000001"
    assert commands.count("WAIT FOR DIGIT 7000") == 10


def test_a_pause_in_a_long_entry_ends_it_with_what_was_typed() -> None:
    _, digits = play(ACCOUNT, ["200 result=0 endpos=8000", "200 result=55", "200 result=49", "200 result=0"])
    assert digits == "71"


def test_the_terminator_alone_is_an_empty_entry() -> None:
    _, digits = play(ACCOUNT, ["200 result=35 endpos=100"])
    assert digits == ""


def test_a_hangup_turn_plays_without_escape_digits_then_hangs_up() -> None:
    turn = Turn("hi", (Say("bill.amount_due"), Amount(123_450), Say("common.goodbye")), Hangup())
    assert agi_commands(turn) == [
        'STREAM FILE urjamitra/hi/bill/amount_due ""',
        'STREAM FILE urjamitra/hi/num/1 ""',
        'STREAM FILE urjamitra/hi/num/thousand ""',
        'STREAM FILE urjamitra/hi/num/2 ""',
        'STREAM FILE urjamitra/hi/num/hundred ""',
        'STREAM FILE urjamitra/hi/num/34 ""',
        'STREAM FILE urjamitra/hi/money/rupees ""',
        'STREAM FILE urjamitra/hi/money/and ""',
        'STREAM FILE urjamitra/hi/num/50 ""',
        'STREAM FILE urjamitra/hi/money/paise ""',
        'STREAM FILE urjamitra/hi/common/goodbye ""',
        "HANGUP",
    ]


def test_a_transfer_turn_runs_the_queue_or_the_configured_dial() -> None:
    turn = Turn("en", (Say("common.transfer"),), Transfer("1912"))
    assert agi_commands(turn, "sounds") == ['STREAM FILE sounds/en/common/transfer ""', "EXEC Queue 1912"]
    dial = AgiConfig(transfer_app="Dial", transfer_target="PJSIP/{queue}@agents,30")
    assert agi_commands(turn, config=dial)[-1] == "EXEC Dial PJSIP/1912@agents,30"


def test_digits_are_read_one_by_one() -> None:
    turn = Turn("hi", (Digits("905"),), Gather())
    assert agi_commands(turn)[:3] == [f"STREAM FILE urjamitra/hi/num/{d} {ANY}" for d in "905"]


# --- a whole call, without sockets ----------------------------------------------------------------


class ScriptedAsterisk:
    """Answers commands from a list of reply lines, as `send` for `run_call`."""

    def __init__(self, replies: Sequence[str]) -> None:
        self.replies = list(replies)
        self.commands: list[str] = []

    def __call__(self, command: str) -> AgiReply:
        self.commands.append(command)
        if not self.replies:
            raise AgiHangup("the connection closed")
        lines = iter(self.replies.pop(0).split("\n"))
        return read_reply(lambda: next(lines, ""))


def call(dialog: Any, replies: Sequence[str], request: str = "agi://h/ivr") -> tuple[ScriptedAsterisk, Any]:
    asterisk = ScriptedAsterisk(replies)
    env = parse_env(agi_env(request=request, uniqueid="c1").splitlines())
    outcome = run_call(env, AgiConfig(), asterisk, dialog)
    return asterisk, outcome


PLAYED = "200 result=0 endpos=8000"


def test_a_call_answers_plays_each_turn_and_records_its_end() -> None:
    dialog = MenuDialog()
    asterisk, outcome = call(dialog, ["200 result=0", PLAYED, "200 result=49 endpos=10", *[PLAYED] * 7, "200 result=1"])
    assert asterisk.commands[0] == "ANSWER"
    assert asterisk.commands[3] == 'STREAM FILE urjamitra/hi/bill/amount_due ""'
    assert asterisk.commands[-2:] == ['STREAM FILE urjamitra/hi/common/goodbye ""', "HANGUP"]
    assert dialog.finished["c1"].hung_up is False
    assert dialog.finished["c1"].entries == ["1"]
    assert (outcome.turns, outcome.how, outcome.errors) == (2, "completed", [])


def test_a_hang_up_mid_prompt_finishes_the_call_as_hung_up() -> None:
    dialog = MenuDialog()
    asterisk, outcome = call(dialog, ["200 result=0", PLAYED, "HANGUP\n200 result=-1 endpos=4000"])
    assert len(asterisk.commands) == 3
    assert dialog.finished["c1"].hung_up is True
    assert outcome.how == "hung up"


def test_a_missing_sound_file_is_told_from_a_hang_up_by_asking_for_the_channel_status() -> None:
    dialog = MenuDialog()
    missing = "200 result=-1 endpos=0"
    asterisk, outcome = call(dialog, ["200 result=0", missing, "200 result=6", PLAYED, "200 result=0"])
    assert asterisk.commands == [
        "ANSWER",
        f"STREAM FILE urjamitra/hi/welcome/greeting {ANY}",
        "CHANNEL STATUS",
        'STREAM FILE urjamitra/hi/common/sorry_error ""',
        "EXEC Queue 1912",
    ]
    finished = dialog.finished["c1"]
    assert (finished.hung_up, finished.transferred) == (False, True)
    assert finished.fault == "missing prompt: urjamitra/hi/welcome/greeting"
    assert outcome.missing_sounds == ["urjamitra/hi/welcome/greeting"]


def test_a_failed_prompt_followed_by_the_hangup_line_is_a_hang_up() -> None:
    dialog = MenuDialog()
    # Asterisk 22 replies to the prompt, then finds the channel hung up and says HANGUP before reading the probe.
    asterisk, outcome = call(dialog, ["200 result=0", "200 result=-1 endpos=1600", "HANGUP\n511 Command Not Permitted"])
    assert asterisk.commands[-1] == "CHANNEL STATUS"
    assert (dialog.finished["c1"].hung_up, dialog.finished["c1"].fault) == (True, None)
    assert outcome.how == "hung up"


@pytest.mark.parametrize(
    ("command", "seconds"),
    [
        ("WAIT FOR DIGIT 5000", 15.0),
        ('STREAM FILE urjamitra/hi/menu/main "0123456789*#"', 70.0),
        ('STREAM FILE urjamitra/hi/num/5 ""', 10.8),
        ("GET DATA urjamitra/hi/account/enter 7000 10", 60 + 77 + 10),
        ("EXEC Queue 1912", 4 * 3600 + 10),
        ("ANSWER", 10.0),
        ("CHANNEL STATUS", 10.0),
    ],
)
def test_every_command_waits_for_its_reply_for_its_own_time_and_a_margin(command: str, seconds: float) -> None:
    config = AgiConfig(prompt_seconds={"urjamitra/hi/num/5": 0.8})
    assert config.reply_timeout(command) == pytest.approx(seconds)


def test_a_dialog_failure_apologises_and_transfers_to_the_agents() -> None:
    dialog = MenuDialog()
    asterisk, outcome = call(dialog, ["200 result=0", "200 result=55 endpos=1", PLAYED, "200 result=0"])
    assert asterisk.commands[-2:] == ['STREAM FILE urjamitra/hi/common/sorry_error ""', "EXEC Queue 1912"]
    assert dialog.finished["c1"].hung_up is False
    assert outcome.apologised
    assert outcome.transferred
    assert [str(e) for e in outcome.errors] == ["the database went away"]


def test_a_failed_start_apologises_without_a_call_to_finish() -> None:
    dialog = MenuDialog(fail_on_start=True)
    asterisk, outcome = call(dialog, ["200 result=0", PLAYED, "200 result=0"])
    assert asterisk.commands == ["ANSWER", 'STREAM FILE urjamitra/hi/common/sorry_error ""', "EXEC Queue 1912"]
    assert dialog.finished == {}
    assert not outcome.started


def test_a_refused_command_apologises_once_and_gives_up_when_that_is_refused_too() -> None:
    dialog = MenuDialog()
    refused = "510 Invalid or unknown command"
    asterisk, outcome = call(dialog, ["200 result=0", refused, refused])
    assert asterisk.commands[-1] == 'STREAM FILE urjamitra/hi/common/sorry_error ""'
    assert len(outcome.errors) == 2
    assert dialog.finished["c1"].hung_up is False


def test_an_alert_call_is_not_answered_again() -> None:
    dialog = MenuDialog()
    asterisk, _ = call(dialog, [PLAYED, "HANGUP"], request="agi://h/alert?ref=r1")
    assert asterisk.commands[0].startswith("STREAM FILE")
    assert dialog.started["c1"]["flow"] == "alert"
    assert dialog.started["c1"]["outbound_ref"] == "r1"


def test_an_unknown_route_sends_nothing() -> None:
    dialog = MenuDialog()
    asterisk, outcome = call(dialog, [], request="agi://h/nothing-here")
    assert asterisk.commands == []
    assert outcome.how == "rejected"
    assert dialog.started == {}
