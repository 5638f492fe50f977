"""The AGI script form: Asterisk runs `AGI(urjamitra-agi)` and talks to it over stdin and stdout.

The same call flow as the FastAGI server, driven with blocking reads: the agi_ block and every reply
arrive on stdin, commands leave on stdout. One process per call, so use it for a small exchange or a
test bench; the FastAGI server is the production path.

stdout is the call: nothing but AGI commands may reach it. `main` hands the real stdout to the call and
points `sys.stdout` at stderr, so a stray print or warning cannot corrupt the channel; logs go to stderr
(Asterisk's own: its console, or the journal of its service), to syslog, or to a file.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ivr.agi import (
    AgiConfig,
    AgiHangup,
    AgiReply,
    CallOutcome,
    DialogPort,
    mask_caller,
    read_env,
    read_reply,
    run_call,
)
from ivr.logs import get_logger
from ivr.turns import Turn

log = get_logger(__name__)


def run_agi_script(
    dialog: DialogPort,
    stdin: TextIO,
    stdout: TextIO,
    *,
    sounds_prefix: str = "urjamitra",
    agent_queue: str = "1912",
    transfer_app: str = "Queue",
    transfer_target: str = "{queue}",
) -> CallOutcome | None:
    """Run one call over text streams; returns how it went, or None when the agi_ block never came."""
    try:
        env = read_env(stdin.readline)
        # Asterisk's uniqueid is unique on one Asterisk box only; the script runs on that box.
        env["agi_uniqueid"] = f"{socket.gethostname()}/{env.get('agi_uniqueid', '')}"
    except AgiHangup:
        log.warning("stdin closed before the agi_ block ended")
        return None

    def send(command: str) -> AgiReply:
        try:
            stdout.write(command + "\n")
            stdout.flush()
        except (OSError, ValueError) as exc:  # Asterisk closed the pipe
            raise AgiHangup(f"stdout closed: {exc}") from exc
        return read_reply(stdin.readline)

    config = AgiConfig(sounds_prefix, agent_queue, transfer_app, transfer_target)
    outcome = run_call(env, config, send, dialog)
    request = outcome.request
    if outcome.rejected:
        log.warning("call %s: no dialog for route %r", request.call_ref, request.route)
    caller = mask_caller(request.caller)
    log.info("call %s from %s ended: %s after %d turns", request.call_ref, caller, outcome.how, outcome.turns)
    for sound in dict.fromkeys(outcome.missing_sounds):
        log.error("call %s: Asterisk could not play the sound file %s (missing or unreadable)", request.call_ref, sound)
    for exc in outcome.errors:
        if isinstance(exc, DialogRefused):
            log.error("call %s: %s", request.call_ref, str(exc))
        else:
            log.error("call %s failed", request.call_ref, exc_info=exc)
    return outcome


class DialogRefused(Exception):
    """The dialog will not run here (no database configured, no schema): said plainly, without a traceback."""


class _Unavailable:
    """Stands in for a dialog that could not be built, so the caller still hears the apology."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def start(self, **_: Any) -> tuple[Any, Turn]:
        raise DialogRefused(f"the dialog could not be built: {self.error}")

    def resume(self, call: Any, digits: str) -> Turn:
        raise DialogRefused(f"the dialog could not be built: {self.error}")

    def finish(self, call: Any, **_: Any) -> None:
        return None


def log_handler(log_to: str) -> logging.Handler:
    """Where the script logs: `stderr`, `syslog` (the local syslog socket), or a file path (appended to)."""
    if log_to == "stderr":
        return logging.StreamHandler(sys.stderr)
    if log_to == "syslog":
        address = "/dev/log" if os.path.exists("/dev/log") else ("localhost", 514)
        handler: logging.Handler = logging.handlers.SysLogHandler(address=address)
        handler.ident = "urjamitra-agi: "
        return handler
    return logging.FileHandler(log_to, encoding="utf-8")


def main(
    argv: Sequence[str] | None = None,
    *,
    make_dialog: Callable[[], DialogPort],
    sounds_prefix: str = "urjamitra",
    agent_queue: str = "1912",
    transfer_target: str = "{queue}",
    log_to: str = "stderr",
) -> int:
    """The `urjamitra-agi` entry point, given how to build the dialog (the composition root knows).

    `argv` is accepted for a console script and otherwise unused: Asterisk passes the AGI() arguments
    both as argv and as `agi_arg_N` in the block, and the block is what routes the call. A dialog that
    cannot be built (DialogRefused, or any error) still answers the caller: the apology, then the agents.
    """
    del argv
    # Asterisk sends SIGHUP when the caller hangs up; the next reply says so too, and the call must
    # still be recorded, so do not let the signal kill the process.
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    # stdout is the AGI channel: keep it for the call alone, and send anything else printed to stderr.
    channel = sys.stdout
    sys.stdout = sys.stderr
    try:
        handler = log_handler(log_to)
    except OSError as exc:
        handler = logging.StreamHandler(sys.stderr)
        print(f"urjamitra-agi: cannot log to {log_to} ({exc}); logging to stderr", file=sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s urjamitra-agi[%(process)d] %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    try:
        dialog: DialogPort = make_dialog()
    except DialogRefused as exc:
        log.error("%s; apologising to the caller and sending them to the agents", str(exc))
        dialog = _Unavailable(exc)
    except Exception as exc:
        log.exception("could not build the dialog; apologising to the caller")
        dialog = _Unavailable(exc)
    try:
        run_agi_script(
            dialog,
            sys.stdin,
            channel,
            sounds_prefix=sounds_prefix,
            agent_queue=agent_queue,
            transfer_target=transfer_target,
        )
    finally:
        sys.stdout = channel
    return 0
