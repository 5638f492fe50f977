"""The FastAGI server as a server: many calls at once, failures kept to their call, stopping, the desk
phone, and the AGI script form over pipes and as a process."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cis.models import IvrCall
from ivr.agi_script import run_agi_script
from ivr.fastagi import FastAgiServer, FastAgiThread, start_in_thread
from ivr.phone import run_phone
from tests.ivr_support import build_world, dialog_on
from tests.protocol.fake_asterisk import (
    HANGUP,
    LISTEN,
    AsteriskCall,
    FakeAsterisk,
    FakeCall,
    MenuDialog,
    agi_env,
    converse_over_pipes,
)
from urjamitra.cli import main
from urjamitra.settings import Settings

ROOT = Path(__file__).parents[2]


@pytest.fixture
def dialog() -> MenuDialog:
    return MenuDialog()


@pytest.fixture
def server(dialog: MenuDialog) -> Iterator[FastAgiThread]:
    with start_in_thread(dialog, "127.0.0.1", 0, executor_workers=8) as handle:
        yield handle


def account(n: int) -> str:
    return f"{7_100_000_000 + n}"


def test_fifty_simultaneous_calls_all_complete_with_their_own_entries(
    server: FastAgiThread, dialog: MenuDialog
) -> None:
    asterisk = FakeAsterisk(server.host, server.port)

    def one(n: int) -> AsteriskCall:
        return asterisk.call([LISTEN, "2", LISTEN, account(n)], uniqueid=f"1767000000.{n}", callerid=f"98765{n:05d}")

    with ThreadPoolExecutor(50) as pool:
        calls = list(pool.map(one, range(50)))
    for n, call in enumerate(calls):
        assert call.sounds[-10:] == [f"urjamitra/hi/num/{c}" for c in account(n)]
        assert dialog.wait_finished(f"1767000000.{n}").entries == ["2", account(n)]
    assert dialog.finish_calls == 50
    assert server.server.calls == 50
    assert server.server.live_calls == 0


def test_one_call_failing_leaves_the_calls_beside_it_alone(server: FastAgiThread, dialog: MenuDialog) -> None:
    asterisk = FakeAsterisk(server.host, server.port)

    def one(n: int) -> AsteriskCall:
        script = ["7"] if n % 3 == 0 else [HANGUP] if n % 3 == 1 else ["1"]
        return asterisk.call(script, uniqueid=f"c{n}")

    with ThreadPoolExecutor(30) as pool:
        calls = list(pool.map(one, range(30)))
    for n, call in enumerate(calls):
        finished = dialog.wait_finished(f"c{n}")
        if n % 3 == 0:
            assert call.commands[-1] == "EXEC Queue 1912"
            assert not finished.hung_up
        elif n % 3 == 1:
            assert finished.hung_up
        else:
            assert call.commands[-1] == "HANGUP"
            assert not finished.hung_up
    assert server.server.failed_calls == 10
    assert "0 live calls, 30 calls served, 10 with errors" in server.status()


def test_a_slow_dialog_call_does_not_stall_the_other_calls() -> None:
    stalled = threading.Event()
    release = threading.Event()

    def stall_the_slow_caller(call: FakeCall, digits: str) -> None:
        if call.call_ref == "slow":
            stalled.set()
            assert release.wait(10), "the slow call was never released"

    dialog = MenuDialog(before_resume=stall_the_slow_caller)
    with start_in_thread(dialog, "127.0.0.1", 0, executor_workers=4) as server, ThreadPoolExecutor(1) as pool:
        asterisk = FakeAsterisk(server.host, server.port)
        slow = pool.submit(asterisk.call, ["1"], uniqueid="slow")
        try:
            assert stalled.wait(10)
            # The slow call holds a dialog thread; these complete meanwhile, or the test times out.
            for n in range(10):
                assert asterisk.call(["1"], uniqueid=f"quick{n}").commands[-1] == "HANGUP"
            assert not slow.done()
            assert server.server.live_calls == 1
        finally:
            release.set()
        assert slow.result(10).commands[-1] == "HANGUP"


def test_stopping_the_server_finishes_live_calls_as_hung_up() -> None:
    entered = threading.Event()
    release = threading.Event()

    def hold(call: FakeCall, digits: str) -> None:
        entered.set()
        release.wait(10)

    dialog = MenuDialog(before_resume=hold)

    async def scenario() -> None:
        server = FastAgiServer(dialog, host="127.0.0.1", port=0)
        await server.start()
        loop = asyncio.get_running_loop()
        asterisk = FakeAsterisk(server.host, server.port)
        caller = loop.run_in_executor(None, lambda: asterisk.call(["1"], uniqueid="cut-off"))
        await loop.run_in_executor(None, entered.wait, 10)
        stopping = asyncio.ensure_future(server.stop(grace=0.1))
        await asyncio.sleep(0.3)
        release.set()
        await stopping
        await caller

    asyncio.run(scenario())
    assert dialog.wait_finished("cut-off").hung_up is True


def test_a_port_in_use_is_reported_by_start_in_thread(server: FastAgiThread) -> None:
    with pytest.raises(OSError, match="in use"):
        start_in_thread(MenuDialog(), server.host, server.port)


# --- the desk phone -------------------------------------------------------------------------------


def typed(*lines: str) -> Callable[[], str]:
    keys = iter(lines)
    return lambda: next(keys)


def test_the_desk_phone_shows_the_prompts_and_sends_the_keys_typed(server: FastAgiThread, dialog: MenuDialog) -> None:
    shown: list[str] = []
    transcript = run_phone(server.host, server.port, "+919876543210", keys=typed("2", "7100000001"), show=shown.append)
    assert transcript.lines == shown
    assert transcript.lines[0].startswith("IVR: ")
    assert "YOU: 2" in transcript.lines
    assert "YOU: 7100000001" in transcript.lines
    assert "सात एक शून्य शून्य शून्य शून्य शून्य शून्य शून्य एक" in transcript.lines[-3]
    assert transcript.lines[-2:] == ["-- the IVR hung up", "-- call ended"]
    assert transcript.unknown_sounds == []
    (finished,) = dialog.finished.values()
    assert finished.entries == ["2", "7100000001"]


def test_keys_typed_ahead_on_the_desk_phone_barge_into_the_next_prompt(
    server: FastAgiThread, dialog: MenuDialog
) -> None:
    transcript = run_phone(server.host, server.port, "+919876543210", keys=typed("27100000001"), show=lambda _: None)
    assert any("(interrupted)" in line for line in transcript.lines)
    (finished,) = dialog.finished.values()
    assert finished.entries == ["2", "7100000001"]


def test_q_on_the_desk_phone_hangs_up_and_the_call_is_finished_as_hung_up(
    server: FastAgiThread, dialog: MenuDialog
) -> None:
    transcript = run_phone(server.host, server.port, "+919876543210", keys=typed("q"), show=lambda _: None)
    assert transcript.caller_hung_up
    assert transcript.lines[-1] == "-- you hung up"
    (call_ref,) = dialog.started
    assert dialog.wait_finished(call_ref).hung_up is True


def test_the_desk_phone_shows_the_agent_transfer(server: FastAgiThread) -> None:
    transcript = run_phone(server.host, server.port, "+919876543210", keys=typed("0"), show=lambda _: None)
    assert transcript.lines[-2:] == ["-- transferred to the 1912 agent queue", "-- call ended"]


def test_the_desk_phone_through_the_real_dialog_and_database(sqlite_engine: Engine) -> None:
    factory: Callable[[], Session] = sessionmaker(bind=sqlite_engine, expire_on_commit=False)
    with factory() as s:
        world = build_world(s)
        s.commit()
    with start_in_thread(dialog_on(factory), "127.0.0.1", 0, executor_workers=1) as server:
        transcript = run_phone(server.host, server.port, world.single_mobile, keys=typed("", "1", "q"), show=print)
    assert transcript.unknown_sounds == []
    assert any("आपके खाते पर बकाया राशि" in line for line in transcript.lines)
    assert transcript.caller_hung_up
    with factory() as s:
        (record,) = s.scalars(select(IvrCall)).all()
    assert (record.channel, record.caller, record.outcome) == ("asterisk", world.single_mobile, "bill")
    assert record.ended_at is not None
    assert record.duration_s is not None


def test_a_desk_phone_call_logs_nothing_alarming(
    server: FastAgiThread, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # What `urjamitra phone` does: look for a server on the port, then call it; the caller presses 0.
    monkeypatch.setattr("sys.stdin", io.StringIO("0\n"))
    settings = Settings(fastagi_bind=f"{server.host}:{server.port}")
    with caplog.at_level(logging.DEBUG):
        assert main(["phone", "--caller", "+919876543210"], settings) == 0
        assert server.server.calls == 1
    alarming = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]
    assert alarming == []


def test_a_connection_that_sends_part_of_its_agi_block_is_still_reported(
    server: FastAgiThread, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.create_connection((server.host, server.port)) as half:
        half.sendall(b"agi_network: yes\n")
    deadline = time.monotonic() + 5
    while not any("dropped before the call began" in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.02)


# --- the AGI script form ----------------------------------------------------------------------------


def pipes() -> tuple[io.TextIOWrapper, io.TextIOWrapper]:
    read_fd, write_fd = os.pipe()
    return open(read_fd, encoding="utf-8"), open(write_fd, "w", encoding="utf-8")


def script_process(dialog: MenuDialog, stdin: io.TextIOWrapper, stdout: io.TextIOWrapper) -> threading.Thread:
    """run_agi_script in a thread that closes its stdout at the end, as the script's process exiting does."""

    def run() -> None:
        with stdout:
            run_agi_script(dialog, stdin, stdout)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_agi_script_form_plays_the_same_call_over_stdin_and_stdout(dialog: MenuDialog) -> None:
    script_stdin, asterisk_out = pipes()
    asterisk_in, script_stdout = pipes()
    with script_stdin, asterisk_out, asterisk_in, script_stdout:
        script = script_process(dialog, script_stdin, script_stdout)
        env = agi_env(request="urjamitra-agi", network=False, uniqueid="s1")
        call = converse_over_pipes(asterisk_in, asterisk_out, [LISTEN, "2", "12345#"], env=env)
        script.join(10)
    assert call.commands[0] == "ANSWER"
    assert call.commands[-1] == "HANGUP"
    assert dialog.wait_finished("s1").entries == ["2", "12345"]


def test_the_agi_script_form_records_a_hang_up(dialog: MenuDialog) -> None:
    script_stdin, asterisk_out = pipes()
    asterisk_in, script_stdout = pipes()
    with script_stdin, asterisk_out, asterisk_in, script_stdout:
        script = script_process(dialog, script_stdin, script_stdout)
        env = agi_env(request="urjamitra-agi", network=False, uniqueid="s2")
        converse_over_pipes(asterisk_in, asterisk_out, [HANGUP], env=env)
        script.join(10)
    assert dialog.wait_finished("s2").hung_up is True


def test_the_agi_script_runs_as_a_process_as_asterisk_starts_it() -> None:
    program = (
        "import sys; from ivr.agi_script import main; from tests.protocol.fake_asterisk import MenuDialog; "
        "sys.exit(main(sys.argv[1:], make_dialog=MenuDialog))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", program, "alert"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    env = agi_env(request="urjamitra-agi", network=False, uniqueid="p1", args=["ivr"])
    try:
        call = converse_over_pipes(process.stdout, process.stdin, ["1"], env=env)
    finally:
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert call.commands[0] == "ANSWER"
    assert call.commands[-1] == "HANGUP"
    assert f"call {socket.gethostname()}/p1 from +91*******210 ended: completed after 2 turns" in stderr
