"""A scripted Asterisk for the AGI tests, and a small scripted dialog to stand behind the server.

`FakeAsterisk(host, port).call(script)` dials a FastAGI server as Asterisk 22 does: it sends the agi_
block, then answers every command the way Asterisk answers it for a caller who follows `script`. The
script is a list of steps; each command that plays or waits (STREAM FILE, WAIT FOR DIGIT, GET DATA,
EXEC) takes the next step unless keys pressed earlier are still waiting:

- `LISTEN`: the caller presses nothing: the prompt plays to its end (`200 result=0 endpos=8000`), the
  wait times out (`200 result=0`), the queue answers (`200 result=0`);
- a string of keys, `"2"` or `"12345#"`: pressed during this command; the first answers it (when the
  command listens for it, as `result=<ASCII code>`), the rest wait for the following commands, as
  keys typed ahead do. A key offered to a command that does not listen for it is thrown away;
- `HANGUP`: the caller hangs up during this command: its reply (`200 result=-1 ...`), then a bare
  `HANGUP` line (res_agi's run_agi finds the channel hung up before it reads another command), then
  `511` to every later command;
- `GONE`: the caller hangs up just after this command: it is answered normally, every later command
  gets `511` and no `HANGUP` line comes;
- `MISSING`: this STREAM FILE's sound file does not exist: `200 result=-1 endpos=0`, and nothing else:
  the channel and the AGI live on (handle_streamfile returns RESULT_FAILURE, which only sets AGISTATUS);
  `missing={"urjamitra/hi/menu/main"}` does the same for a sound whenever it is played;
- `SILENT`: Asterisk never answers this command (a wedged channel): the connection stays open.

`CHANNEL STATUS` is answered `200 result=6` (up) on a live channel, `511` on a dead one, and takes no
step. When the script runs out the caller listens (`then=LISTEN`). `replies={"EXEC": "510 ..."}`
replaces Asterisk's answer to a command by its verb. The returned `AsteriskCall` has the transcript:
the commands, and `lines` with `> command` and `< reply` in order.
"""

from __future__ import annotations

import shlex
import socket
import threading
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ivr.turns import Digits, Gather, Hangup, Number, Say, Transfer, Turn

LISTEN = "-"
HANGUP = "<hangup>"
GONE = "<gone>"
MISSING = "<missing>"
SILENT = "<silent>"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
INVALID = "510 Invalid or unknown command"
USAGE = "520-Invalid command syntax.  Proper usage follows:\nUsage: {usage}\n520 End of proper usage."
MEDIA = ("STREAM FILE", "WAIT FOR DIGIT", "GET DATA", "EXEC")
VERBS = (
    "ANSWER",
    "HANGUP",
    "NOOP",
    "EXEC",
    "STREAM FILE",
    "WAIT FOR DIGIT",
    "GET DATA",
    "SET VARIABLE",
    "CHANNEL STATUS",
)


def agi_env(
    *,
    request: str,
    callerid: str = "919876543210",
    uniqueid: str = "1767000000.1",
    dnid: str = "1912",
    network: bool = True,
    args: Sequence[str] = (),
) -> str:
    """The agi_ block as Asterisk 22 writes it (res_agi.c: launch_netscript, then setup_env)."""
    lines = ["agi_network: yes", f"agi_network_script: {request.split('/', 3)[-1]}"] if network else []
    lines += [
        f"agi_request: {request}",
        f"agi_channel: PJSIP/trunk-{abs(hash(uniqueid)) % 0xFFFFFFFF:08x}",
        "agi_language: en",
        "agi_type: PJSIP",
        f"agi_uniqueid: {uniqueid}",
        "agi_version: 22.10.0",
        f"agi_callerid: {callerid}",
        "agi_calleridname: unknown",
        "agi_callingpres: 0",
        "agi_callingani2: 0",
        "agi_callington: 0",
        "agi_callingtns: 0",
        f"agi_dnid: {dnid}",
        "agi_rdnis: unknown",
        "agi_context: urjamitra-in",
        f"agi_extension: {dnid}",
        "agi_priority: 2",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
        "agi_threadid: 140245236221632",
    ]
    lines += [f"agi_arg_{n}: {arg}" for n, arg in enumerate(args, 1)]
    return "\n".join(lines) + "\n\n"


@dataclass
class AsteriskCall:
    """One call's transcript as Asterisk saw it."""

    commands: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    hung_up: bool = False  # the caller hung up (HANGUP or GONE)

    @property
    def sounds(self) -> list[str]:
        """The files STREAM FILE played, in order."""
        return [shlex.split(c)[2] for c in self.commands if c.startswith("STREAM FILE")]

    def replies_to(self, verb: str) -> list[str]:
        """The replies Asterisk gave to commands starting with `verb`."""
        out = []
        for i, line in enumerate(self.lines):
            if line.startswith("> " + verb) and i + 1 < len(self.lines):
                out.append(self.lines[i + 1][2:])
        return out


class ScriptedCaller:
    """Answers commands as Asterisk would for a caller following a script (see the module docstring)."""

    def __init__(
        self,
        script: Sequence[str],
        *,
        then: str = LISTEN,
        replies: Mapping[str, str] | None = None,
        missing: Collection[str] = (),
    ) -> None:
        self.steps = deque(script)
        self.then = then
        self.replies = dict(replies or {})
        self.missing = set(missing)
        self.pending: deque[str] = deque()
        self.dead = False
        self.call = AsteriskCall()

    def answer(self, line: str) -> tuple[list[str], bool]:
        """The lines Asterisk sends for one command, and whether it then ends the AGI."""
        command = line.rstrip("\r\n")
        self.call.commands.append(command)
        self.call.lines.append("> " + command)
        out, end = self._answer(command)
        self.call.lines += ["< " + o for o in out]
        return out, end

    def _answer(self, command: str) -> tuple[list[str], bool]:
        if self.dead:
            return [DEAD], False
        verb, args = _parse(command)
        if verb in self.replies:
            return self.replies[verb].split("\n"), False
        if verb not in VERBS:
            return [INVALID], False
        if verb in MEDIA:
            return self._media(verb, args)
        if verb == "ANSWER":
            return ["200 result=0"], False
        if verb == "HANGUP":
            # Asterisk answers, then notices the channel hung up and says so.
            self.dead = True
            return ["200 result=1", "HANGUP"], False
        if verb == "SET VARIABLE":
            return (["200 result=1"] if len(args) == 2 else _usage("SET VARIABLE <variablename> <value>")), False
        if verb == "CHANNEL STATUS":
            return ["200 result=6"], False
        return ["200 result=0"], False

    def _media(self, verb: str, args: list[str]) -> tuple[list[str], bool]:
        if verb == "STREAM FILE" and len(args) not in (2, 3):
            return _usage("STREAM FILE <filename> <escape_digits> [<sample offset>]"), False
        if verb == "WAIT FOR DIGIT" and len(args) != 1:
            return _usage("WAIT FOR DIGIT <timeout>"), False
        listens = {"STREAM FILE": args[1] if len(args) > 1 else "", "WAIT FOR DIGIT": "0123456789*#"}.get(
            verb, "0123456789*#" if verb == "GET DATA" else ""
        )
        if verb == "STREAM FILE" and args[0] in self.missing:
            return ["200 result=-1 endpos=0"], False
        if not self.pending:
            step = self.steps.popleft() if self.steps else self.then
            if step == HANGUP:
                self.dead = self.call.hung_up = True
                return ["200 result=-1 endpos=4000" if verb == "STREAM FILE" else "200 result=-1", "HANGUP"], False
            if step == MISSING:
                return ["200 result=-1 endpos=0"], False
            if step == SILENT:
                return [], False
            if step == GONE:
                self.dead = self.call.hung_up = True
            elif step != LISTEN:
                self.pending.extend(step)
        if verb == "GET DATA":
            digits = ""
            while self.pending and self.pending[0] != "#" and len(digits) < int(args[2] if len(args) > 2 else 1024):
                digits += self.pending.popleft()
            if self.pending and self.pending[0] == "#":
                self.pending.popleft()
            return [f"200 result={digits}" if digits else "200 result= (timeout)"], False
        if self.pending and self.pending[0] in listens:
            key = self.pending.popleft()
            return [f"200 result={ord(key)} endpos=1234" if verb == "STREAM FILE" else f"200 result={ord(key)}"], False
        self.pending.clear()  # keys pressed while nothing listens for them are thrown away
        return ["200 result=0 endpos=8000" if verb == "STREAM FILE" else "200 result=0"], False


def _usage(usage: str) -> list[str]:
    return USAGE.format(usage=usage).split("\n")


def _parse(command: str) -> tuple[str, list[str]]:
    # Asterisk's own argument parser treats double quotes and backslashes as shlex does.
    words = shlex.split(command)
    for verb in sorted(VERBS, key=len, reverse=True):
        size = verb.count(" ") + 1
        if [w.upper() for w in words[:size]] == verb.split():
            return verb, words[size:]
    return (words[0].upper() if words else ""), words[1:]


class FakeAsterisk:
    """Places calls into a FastAGI server at host:port, one TCP connection per call."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def call(
        self,
        script: Sequence[str] = (),
        *,
        callerid: str = "919876543210",
        uniqueid: str = "1767000000.1",
        path: str = "ivr",
        then: str = LISTEN,
        replies: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        missing: Collection[str] = (),
    ) -> AsteriskCall:
        """Run one call to its end (the server closes the connection, or Asterisk ends the AGI)."""
        caller = ScriptedCaller(script, then=then, replies=replies, missing=missing)
        env = agi_env(request=f"agi://{self.host}:{self.port}/{path}", callerid=callerid, uniqueid=uniqueid, args=args)
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with sock.makefile("rb") as incoming:
                sock.sendall(env.encode())
                for raw in iter(incoming.readline, b""):
                    out, end = caller.answer(raw.decode())
                    for line in out:  # one write per line, as Asterisk writes them
                        sock.sendall(line.encode() + b"\n")
                    if end:
                        break
        return caller.call


def converse_over_pipes(
    commands: TextIO, replies: TextIO, script: Sequence[str] = (), *, env: str, then: str = LISTEN
) -> AsteriskCall:
    """The same caller for the AGI script form: the block and replies go to the script's stdin."""
    caller = ScriptedCaller(script, then=then)
    replies.write(env)
    replies.flush()
    for line in iter(commands.readline, ""):
        out, end = caller.answer(line)
        replies.write("".join(o + "\n" for o in out))
        replies.flush()
        if end:
            break
    return caller.call


# --- a scripted dialog -------------------------------------------------------------------------------

MAIN = Turn("hi", (Say("welcome.greeting"), Say("menu.main")), Gather(max_digits=1, timeout_ms=5000))
ACCOUNT = Turn("hi", (Say("account.enter"),), Gather(max_digits=10, timeout_ms=7000, terminator="#"))
AGAIN = Turn("hi", (Say("common.no_input"), Say("menu.main")), Gather(max_digits=1, timeout_ms=5000))
GOODBYE = Turn("hi", (Say("common.goodbye"),), Hangup())
AGENT = Turn("hi", (Say("common.transfer"),), Transfer("1912"))


@dataclass
class FakeCall:
    call_ref: str
    start: dict[str, Any]
    node: str = "main"
    entries: list[str] = field(default_factory=list)
    quiet: int = 0


@dataclass(frozen=True)
class Finished:
    hung_up: bool
    entries: list[str]
    duration_s: int | None
    fault: str | None = None
    transferred: bool = False


class MenuDialog:
    """A tiny dialog in place of `ivr.dialog.Dialog`.

    Main menu (greeting, menu; one key): 1 reads an amount and says goodbye; 2 asks for an account
    number (10 digits or `#`) and reads it back; 0 transfers to the agents; 7 raises (a broken
    database); nothing twice says goodbye. `finished[call_ref]` records each `finish`.
    """

    def __init__(
        self,
        *,
        fail_on_start: bool = False,
        before_resume: Callable[[FakeCall, str], None] | None = None,
    ) -> None:
        self.fail_on_start = fail_on_start
        self.before_resume = before_resume
        self.started: dict[str, dict[str, Any]] = {}
        self.finished: dict[str, Finished] = {}
        self.finish_calls = 0
        self._changed = threading.Condition()

    def start(self, *, channel: str, call_ref: str, caller: str, called: str, flow: str, **rest: Any) -> Any:
        # Calls are kept by Asterisk's uniqueid; the server scopes it by the Asterisk box ("box/uniqueid").
        key = call_ref.rsplit("/", 1)[-1]
        with self._changed:
            self.started[key] = {
                "channel": channel,
                "call_ref": call_ref,
                "caller": caller,
                "called": called,
                "flow": flow,
                **rest,
            }
        if self.fail_on_start:
            raise RuntimeError("the database is down")
        return FakeCall(key, self.started[key]), MAIN

    def resume(self, call: FakeCall, digits: str) -> Turn:
        if self.before_resume is not None:
            self.before_resume(call, digits)
        call.entries.append(digits)
        if call.node == "account":
            if len(digits) != 10:
                return GOODBYE
            return Turn("hi", (Say("identify.account_for"), Digits(digits)), Hangup())
        if digits == "":
            call.quiet += 1
            return AGAIN if call.quiet < 2 else GOODBYE
        if digits == "1":
            return Turn("hi", (Say("bill.amount_due"), Number(1234), Say("common.goodbye")), Hangup())
        if digits == "2":
            call.node = "account"
            return ACCOUNT
        if digits == "0":
            return AGENT
        if digits == "7":
            raise RuntimeError("the database went away")
        return AGAIN

    def finish(
        self,
        call: FakeCall,
        *,
        hung_up: bool,
        duration_s: int | None = None,
        fault: str | None = None,
        transferred: bool = False,
    ) -> None:
        with self._changed:
            self.finish_calls += 1
            self.finished[call.call_ref] = Finished(hung_up, list(call.entries), duration_s, fault, transferred)
            self._changed.notify_all()

    def wait_finished(self, call_ref: str, timeout: float = 10.0) -> Finished:
        """The call's finish, waiting for it (Asterisk may close the line before the server has finished)."""
        with self._changed:
            if not self._changed.wait_for(lambda: call_ref in self.finished, timeout):
                raise AssertionError(f"call {call_ref} was never finished")
            return self.finished[call_ref]
