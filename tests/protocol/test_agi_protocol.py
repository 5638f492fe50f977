"""One call at a time through the real FastAGI server, over TCP, against a scripted Asterisk: call transcripts."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from ivr.fastagi import FastAgiThread, start_in_thread
from ivr.outbound import encode_params
from tests.protocol.fake_asterisk import DEAD, GONE, HANGUP, LISTEN, MISSING, SILENT, FakeAsterisk, MenuDialog

ANY = '"0123456789*#"'
GREETING = f"STREAM FILE urjamitra/hi/welcome/greeting {ANY}"
MENU = f"STREAM FILE urjamitra/hi/menu/main {ANY}"
PLAYED = "200 result=0 endpos=8000"


@pytest.fixture
def dialog() -> MenuDialog:
    return MenuDialog()


@pytest.fixture
def server(dialog: MenuDialog) -> Iterator[FastAgiThread]:
    with start_in_thread(dialog, "127.0.0.1", 0, env_timeout=0.5) as handle:
        yield handle


@pytest.fixture
def asterisk(server: FastAgiThread) -> FakeAsterisk:
    return FakeAsterisk(server.host, server.port)


def test_a_caller_who_presses_nothing_hears_the_menu_twice_then_goodbye(
    asterisk: FakeAsterisk, dialog: MenuDialog
) -> None:
    call = asterisk.call([], uniqueid="1767000000.11")
    assert call.lines == [
        "> ANSWER",
        "< 200 result=0",
        f"> {GREETING}",
        f"< {PLAYED}",
        f"> {MENU}",
        f"< {PLAYED}",
        "> WAIT FOR DIGIT 5000",
        "< 200 result=0",
        f"> STREAM FILE urjamitra/hi/common/no_input {ANY}",
        f"< {PLAYED}",
        f"> {MENU}",
        f"< {PLAYED}",
        "> WAIT FOR DIGIT 5000",
        "< 200 result=0",
        '> STREAM FILE urjamitra/hi/common/goodbye ""',
        f"< {PLAYED}",
        "> HANGUP",
        "< 200 result=1",
        "< HANGUP",
    ]
    finished = dialog.wait_finished("1767000000.11")
    assert (finished.hung_up, finished.entries) == (False, ["", ""])


def test_a_key_pressed_during_the_second_prompt_stops_it_and_chooses(
    asterisk: FakeAsterisk, dialog: MenuDialog
) -> None:
    call = asterisk.call([LISTEN, "1"])
    assert call.lines[:8] == [
        "> ANSWER",
        "< 200 result=0",
        f"> {GREETING}",
        f"< {PLAYED}",
        f"> {MENU}",
        "< 200 result=49 endpos=1234",
        '> STREAM FILE urjamitra/hi/bill/amount_due ""',
        f"< {PLAYED}",
    ]
    assert "WAIT FOR DIGIT 5000" not in call.commands
    assert call.sounds[-6:] == [
        "urjamitra/hi/num/1",
        "urjamitra/hi/num/thousand",
        "urjamitra/hi/num/2",
        "urjamitra/hi/num/hundred",
        "urjamitra/hi/num/34",
        "urjamitra/hi/common/goodbye",
    ]
    assert call.commands[-1] == "HANGUP"
    assert dialog.wait_finished("1767000000.1").entries == ["1"]


def test_an_account_number_typed_after_the_prompt_is_collected_key_by_key(
    asterisk: FakeAsterisk, dialog: MenuDialog
) -> None:
    call = asterisk.call([LISTEN, "2", LISTEN, "7100000001"])
    account_prompt = call.commands.index(f"STREAM FILE urjamitra/hi/account/enter {ANY}")
    assert call.commands[account_prompt + 1 : account_prompt + 11] == ["WAIT FOR DIGIT 7000"] * 10
    assert call.replies_to("WAIT FOR DIGIT") == [f"200 result={ord(c)}" for c in "7100000001"]
    assert call.sounds[-10:] == [f"urjamitra/hi/num/{c}" for c in "7100000001"]
    assert dialog.wait_finished("1767000000.1").entries == ["2", "7100000001"]


def test_the_terminator_ends_a_short_entry_and_is_not_part_of_it(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    asterisk.call(["2", "12345#"])
    assert dialog.wait_finished("1767000000.1").entries == ["2", "12345"]


def test_keys_typed_ahead_barge_into_the_next_prompt(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    call = asterisk.call(["2", "7100000001"])  # all ten keys during the account prompt
    assert call.replies_to(f"STREAM FILE urjamitra/hi/account/enter {ANY}") == ["200 result=55 endpos=1234"]
    assert dialog.wait_finished("1767000000.1").entries == ["2", "7100000001"]


def test_a_hang_up_mid_prompt_finishes_the_call_as_hung_up_and_sends_nothing_more(
    asterisk: FakeAsterisk, dialog: MenuDialog
) -> None:
    call = asterisk.call([LISTEN, HANGUP])
    # result=-1 alone does not say why; the HANGUP line that follows does (the probe gets 511 on the dead channel).
    assert call.lines[-5:] == [f"> {MENU}", "< 200 result=-1 endpos=4000", "< HANGUP", "> CHANNEL STATUS", f"< {DEAD}"]
    finished = dialog.wait_finished("1767000000.1")
    assert (finished.hung_up, finished.fault) == (True, None)


def test_commands_to_a_dead_channel_get_511_and_the_call_is_finished_as_hung_up(
    asterisk: FakeAsterisk, dialog: MenuDialog
) -> None:
    call = asterisk.call([GONE])  # hangs up as the greeting ends; no HANGUP line comes
    assert call.lines[-2:] == [f"> {MENU}", f"< {DEAD}"]
    assert dialog.wait_finished("1767000000.1").hung_up is True


def test_a_missing_sound_file_is_no_hang_up_the_caller_hears_the_apology_and_reaches_the_agents(
    asterisk: FakeAsterisk, dialog: MenuDialog, caplog: pytest.LogCaptureFixture
) -> None:
    call = asterisk.call([MISSING])
    assert call.lines == [
        "> ANSWER",
        "< 200 result=0",
        f"> {GREETING}",
        "< 200 result=-1 endpos=0",
        "> CHANNEL STATUS",
        "< 200 result=6",  # the channel is up: the file could not be played, nobody hung up
        '> STREAM FILE urjamitra/hi/common/sorry_error ""',
        f"< {PLAYED}",
        "> EXEC Queue 1912",
        "< 200 result=0",
    ]
    finished = dialog.wait_finished("1767000000.1")
    assert (finished.hung_up, finished.transferred) == (False, True)
    assert finished.fault == "missing prompt: urjamitra/hi/welcome/greeting"
    assert any(r.levelname == "ERROR" and "urjamitra/hi/welcome/greeting" in r.getMessage() for r in caplog.records), (
        caplog.text
    )


def test_a_missing_prompt_of_a_last_turn_is_skipped(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    call = asterisk.call(["1"], missing={"urjamitra/hi/common/goodbye"})
    assert call.lines[-7:] == [
        '> STREAM FILE urjamitra/hi/common/goodbye ""',
        "< 200 result=-1 endpos=0",
        "> CHANNEL STATUS",
        "< 200 result=6",
        "> HANGUP",
        "< 200 result=1",
        "< HANGUP",
    ]
    finished = dialog.wait_finished("1767000000.1")
    assert (finished.hung_up, finished.fault) == (False, "missing prompt: urjamitra/hi/common/goodbye")


def test_a_missing_apology_still_reaches_the_agents(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    call = asterisk.call([], missing={"urjamitra/hi/menu/main", "urjamitra/hi/common/sorry_error"})
    assert call.commands[-3:] == ['STREAM FILE urjamitra/hi/common/sorry_error ""', "CHANNEL STATUS", "EXEC Queue 1912"]
    finished = dialog.wait_finished("1767000000.1")
    assert finished.fault == "missing prompt: urjamitra/hi/menu/main, urjamitra/hi/common/sorry_error"


def test_a_command_asterisk_never_answers_ends_the_call_after_its_time_and_is_recorded() -> None:
    dialog = MenuDialog()
    with start_in_thread(dialog, "127.0.0.1", 0, max_prompt_s=0.2, reply_margin_s=0.3) as server:
        call = FakeAsterisk(server.host, server.port).call([SILENT])
        assert server.server.live_calls == 0
    # No reply to the greeting within its length and the margin: the server closes the line; no apology is tried
    # on a line that does not answer.
    assert call.lines == ["> ANSWER", "< 200 result=0", f"> {GREETING}"]
    finished = dialog.wait_finished("1767000000.1")
    assert (finished.hung_up, finished.transferred) == (False, False)
    assert finished.fault == "AgiNoReply: Asterisk sent no reply to STREAM FILE within 0.5 s"


def test_a_transfer_plays_the_notice_then_runs_the_queue(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    call = asterisk.call(["0"])
    assert call.commands[-2:] == ['STREAM FILE urjamitra/hi/common/transfer ""', "EXEC Queue 1912"]
    assert dialog.wait_finished("1767000000.1").hung_up is False


def test_hanging_up_in_the_queue_is_not_a_caller_lost_by_the_ivr(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    asterisk.call(["0", LISTEN, HANGUP])
    assert dialog.wait_finished("1767000000.1").hung_up is False


def test_a_dialog_failure_apologises_and_offers_the_agent(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    call = asterisk.call(["7"])
    assert call.lines[-6:] == [
        f"> {GREETING}",
        "< 200 result=55 endpos=1234",
        '> STREAM FILE urjamitra/hi/common/sorry_error ""',
        f"< {PLAYED}",
        "> EXEC Queue 1912",
        "< 200 result=0",
    ]
    assert dialog.wait_finished("1767000000.1").hung_up is False


def test_a_usage_error_spanning_several_lines_is_read_whole_and_apologised_for(
    asterisk: FakeAsterisk, dialog: MenuDialog
) -> None:
    usage = "\n".join(
        [
            "520-Invalid command syntax.  Proper usage follows:",
            "Usage: WAIT FOR DIGIT <timeout>",
            "520 End of proper usage.",
        ]
    )
    call = asterisk.call([], replies={"WAIT FOR DIGIT": usage})
    assert call.commands[-2:] == ['STREAM FILE urjamitra/hi/common/sorry_error ""', "EXEC Queue 1912"]
    assert dialog.wait_finished("1767000000.1").hung_up is False


def test_a_refused_transfer_is_apologised_for_once(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    call = asterisk.call(["0"], replies={"EXEC": "510 Invalid or unknown command"})
    assert call.commands.count("EXEC Queue 1912") == 2
    assert dialog.wait_finished("1767000000.1").hung_up is False


def test_an_alert_call_is_routed_with_its_reference_and_params(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    params = encode_params({"interruption": 42})
    call = asterisk.call([HANGUP], path=f"alert?ref=outbox-9&params={params}", callerid="9876543210")
    assert call.commands[0] == GREETING  # an originated call is already answered
    assert dialog.started["1767000000.1"] == {
        "channel": "asterisk",
        "call_ref": "127.0.0.1/1767000000.1",  # Asterisk's uniqueid, scoped by the box it came from
        "caller": "9876543210",
        "called": "1912",
        "flow": "alert",
        "params": {"interruption": 42},
        "outbound_ref": "outbox-9",
    }


def test_an_unknown_route_is_left_to_the_dialplan(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    call = asterisk.call([], path="no-such-script")
    assert call.commands == []
    assert dialog.started == {}


def test_a_failed_start_apologises_and_the_server_serves_the_next_call() -> None:
    broken = MenuDialog(fail_on_start=True)
    with start_in_thread(broken, "127.0.0.1", 0) as other:
        call = FakeAsterisk(other.host, other.port).call([])
        assert call.commands == ["ANSWER", 'STREAM FILE urjamitra/hi/common/sorry_error ""', "EXEC Queue 1912"]
        assert FakeAsterisk(other.host, other.port).call([]).commands[0] == "ANSWER"
        assert broken.finished == {}


def test_a_connection_that_never_sends_its_agi_block_is_dropped(server: FastAgiThread, dialog: MenuDialog) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as silent:
        silent.sendall(b"agi_network: yes\n")
        assert silent.recv(100) == b""  # closed by the server after env_timeout
    assert FakeAsterisk(server.host, server.port).call(["1"]).commands[-1] == "HANGUP"
    assert dialog.started.keys() == {"1767000000.1"}


def test_a_garbled_reply_is_apologised_for(asterisk: FakeAsterisk, dialog: MenuDialog) -> None:
    call = asterisk.call([], replies={"ANSWER": "hello there"})
    assert call.commands == ["ANSWER", 'STREAM FILE urjamitra/hi/common/sorry_error ""', "EXEC Queue 1912"]
    assert dialog.started == {}
