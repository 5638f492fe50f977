"""The phone on the desk: call the FastAGI server as Asterisk would, with the keyboard as keypad.

`run_phone` connects like Asterisk's FastAGI client, sends the agi_ block, and answers each command
as Asterisk does for a caller at a keypad: prompts are shown as their catalog text instead of played,
and the keys the user types are the caller's key presses. It needs no Asterisk and no sound files.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.agi import ANY_KEY, parse_command
from prompts.catalog import LANGS, Catalog
from prompts.catalog import catalog as packaged_catalog

_channels = iter(range(1, 1 << 31))
_channels_lock = threading.Lock()


@dataclass
class Transcript:
    """What the caller saw and did: `IVR: ...` lines, `YOU: ...` lines and `-- ...` events."""

    lines: list[str] = field(default_factory=list)
    unknown_sounds: list[str] = field(default_factory=list)
    caller_hung_up: bool = False

    def __str__(self) -> str:
        return "\n".join(self.lines)


def agi_block(
    host: str,
    port: int,
    caller: str,
    *,
    route: str = "ivr",
    uniqueid: str | None = None,
    dnid: str = "1912",
    language: str = "hi",
    caller_name: str = "Desk phone",
) -> str:
    """The agi_ block Asterisk 22 sends a FastAGI server, in its order, ending with the empty line."""
    with _channels_lock:
        channel = next(_channels)
    uniqueid = uniqueid or f"{int(time.time())}.{secrets.randbelow(1_000_000)}"
    fields = [
        ("agi_network", "yes"),
        ("agi_network_script", route),
        ("agi_request", f"agi://{host}:{port}/{route}"),
        ("agi_channel", f"PJSIP/desk-{channel:08x}"),
        ("agi_language", language),
        ("agi_type", "PJSIP"),
        ("agi_uniqueid", uniqueid),
        ("agi_version", "22.10.0"),
        ("agi_callerid", caller),
        ("agi_calleridname", caller_name),
        ("agi_callingpres", "0"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        ("agi_dnid", dnid),
        ("agi_rdnis", "unknown"),
        ("agi_context", "urjamitra-in"),
        ("agi_extension", dnid),
        ("agi_priority", "2"),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", ""),
        ("agi_threadid", str(threading.get_ident())),
    ]
    return "".join(f"{name}: {value}\n" for name, value in fields) + "\n"


def prompt_text(sound: str, catalog: Catalog, sounds_prefix: str = "urjamitra") -> str | None:
    """The text of the prompt a sound file speaks (`urjamitra/hi/bill/amount_due` > its Hindi text), or None."""
    prefix = sounds_prefix.rstrip("/") + "/" if sounds_prefix else ""
    if not sound.startswith(prefix):
        return None
    lang, _, stem = sound[len(prefix) :].partition("/")
    prompt = catalog.by_stem(stem)
    if prompt is None or lang not in LANGS:
        return None
    return prompt.text("hi" if lang == "hi" else "en")


class _DeskCall:
    """One call's state on the Asterisk side: prompts heard since the last wait, keys typed ahead."""

    def __init__(
        self,
        sock: socket.socket,
        keys: Callable[[], str],
        show: Callable[[str], None],
        catalog: Catalog,
        sounds_prefix: str,
    ) -> None:
        self.sock = sock
        self.keys = keys
        self.show = show
        self.catalog = catalog
        self.sounds_prefix = sounds_prefix
        self.transcript = Transcript()
        self.heard: list[str] = []
        self.pending: deque[str] = deque()

    def record(self, line: str) -> None:
        self.transcript.lines.append(line)
        self.show(line)

    def speak(self) -> None:
        """Show the prompts played since the last wait as one sentence, as the caller hears them."""
        if self.heard:
            self.record("IVR: " + " ".join(self.heard))
            self.heard.clear()

    def text_of(self, sound: str) -> str:
        text = prompt_text(sound, self.catalog, self.sounds_prefix)
        if text is None:
            self.transcript.unknown_sounds.append(sound)
            return f"[no prompt for {sound}]"
        return text

    def reply(self, text: str) -> None:
        self.sock.sendall(text.encode() + b"\n")

    def type_keys(self) -> bool:
        """Ask the user for keys; False when they hang up (`q`, or the end of input)."""
        self.speak()
        try:
            typed = self.keys()
        except (EOFError, KeyboardInterrupt):
            typed = "q"
        if typed.strip().lower() == "q":
            return False
        pressed = [c for c in typed if c in ANY_KEY]
        self.record(f"YOU: {''.join(pressed)}" if pressed else "YOU: (nothing)")
        self.pending.extend(pressed)
        return True

    def answer(self, line: str) -> bool:
        """Answer one command as Asterisk would; False when the caller hangs up instead."""
        verb, args = parse_command(line)
        if verb == "ANSWER":
            self.reply("200 result=0")
        elif verb == "STREAM FILE" and args:
            escape = args[1] if len(args) > 1 else ""
            text = self.text_of(args[0])
            if self.pending and self.pending[0] in escape:
                self.heard.append(text + " (interrupted)")
                self.reply(f"200 result={ord(self.pending.popleft())} endpos=800")
            else:
                self.heard.append(text)
                self.reply("200 result=0 endpos=8000")
        elif verb == "WAIT FOR DIGIT":
            if not self.pending and not self.type_keys():
                return False
            self.reply(f"200 result={ord(self.pending.popleft())}" if self.pending else "200 result=0")
        elif verb == "GET DATA" and args:
            self.heard.append(self.text_of(args[0]))
            if not self.pending and not self.type_keys():
                return False
            wanted = int(args[2]) if len(args) > 2 and args[2].isdigit() else 1024
            digits = ""
            while self.pending and len(digits) < wanted:
                key = self.pending.popleft()
                if key == "#":
                    break
                digits += key
            self.reply(f"200 result={digits}" if digits else "200 result= (timeout)")
        elif verb == "EXEC":
            self.speak()
            app, target = [*args, "", ""][:2]
            queue = target.split(",", 1)[0]  # Queue(queuename,options,URL,announceoverride,timeout)
            where = f"the {queue} agent queue" if app.lower() == "queue" else f"{target} ({app})"
            self.record(f"-- transferred to {where}")
            self.reply("200 result=0")
        elif verb == "HANGUP":
            self.speak()
            self.record("-- the IVR hung up")
            self.reply("200 result=1")
        elif verb == "SET VARIABLE":
            self.reply("200 result=1")
        elif verb == "CHANNEL STATUS":
            self.reply("200 result=6")  # up
        else:
            self.reply("510 Invalid or unknown command")
        return True


def run_phone(
    host: str,
    port: int,
    caller: str,
    *,
    keys: Callable[[], str],
    show: Callable[[str], None],
    catalog: Catalog | None = None,
    sounds_prefix: str = "urjamitra",
    route: str = "ivr",
    timeout: float = 30.0,
) -> Transcript:
    """Place one call to the FastAGI server at host:port from `caller`; returns its transcript.

    `keys()` is asked for input whenever the IVR waits for a key: a line such as `1` or `1234567890#`
    (keys beyond the first wait for the next prompts, as a caller typing ahead), an empty line to let
    the wait time out, or `q` to hang up. `show(line)` is given each transcript line as it happens.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock, sock.makefile("rb") as commands:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        call = _DeskCall(sock, keys, show, catalog or packaged_catalog(), sounds_prefix)
        sock.sendall(agi_block(host, port, caller, route=route).encode())
        try:
            for raw in iter(commands.readline, b""):
                if not call.answer(raw.decode("utf-8", "replace")):
                    call.transcript.caller_hung_up = True
                    break
        except (TimeoutError, ConnectionError) as exc:
            call.speak()
            call.record(f"-- the line dropped: {exc}")
            return call.transcript
        call.speak()
        if call.transcript.caller_hung_up:
            call.record("-- you hung up")
            sock.sendall(b"HANGUP\n")
        else:
            call.record("-- call ended")
    return call.transcript
