"""A scripted Asterisk Manager Interface peer on a free TCP port: greets, answers actions, emits events.

The wire is AMI's: a greeting line `Asterisk Call Manager/<version>`, then packets of `Key: value` lines (CRLF)
ending with a blank line, both ways. Actions are recorded in arrival order (repeated keys such as `Variable`
kept as lists). `emit()` sends an event to every connected client, as Asterisk does.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

GREETING = b"Asterisk Call Manager/5.0.1\r\n"
Packet = dict[str, Any]


class FakeAmi:
    def __init__(self, *, username: str = "urja", secret: str = "change-me") -> None:
        self.username, self.secret = username, secret
        self.actions: list[Packet] = []
        self.originate_reply: tuple[str, str] = ("Success", "Originate successfully queued")
        self.on_originate: Callable[[Packet], object] | None = None
        self._cond = threading.Condition()
        self._clients: list[socket.socket] = []
        self._send_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._closed = False
        self._spawn(self._accept)

    @property
    def url(self) -> str:
        return f"ami://{self.username}:{self.secret}@127.0.0.1:{self.port}"

    def __enter__(self) -> FakeAmi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def originates(self) -> list[Packet]:
        with self._cond:
            return [action for action in self.actions if action["Action"] == "Originate"]

    def wait_for_originates(self, count: int, timeout: float = 5.0) -> list[Packet]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([a for a in self.actions if a["Action"] == "Originate"]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} Originate actions, got {len(self.originates())}")
                self._cond.wait(remaining)
        return self.originates()

    def emit(self, event: str, **keys: str) -> None:
        """Send `Event: <event>` with `keys` to every connected client."""
        packet = f"Event: {event}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in keys.items()) + "\r\n"
        with self._cond:
            clients = list(self._clients)
        for client in clients:
            self._send(client, packet)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() alone leaves it listening
        self._server.close()
        with self._cond:
            clients = list(self._clients)
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()
        for thread in self._threads:
            thread.join(5)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with self._cond:
                self._clients.append(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.sendall(GREETING)
            buffer = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buffer += data
                while b"\r\n\r\n" in buffer:
                    raw, buffer = buffer.split(b"\r\n\r\n", 1)
                    self._answer(conn, _parse(raw.decode()))
        except OSError:
            return
        finally:
            with self._cond:
                if conn in self._clients:
                    self._clients.remove(conn)
            conn.close()

    def _answer(self, conn: socket.socket, action: Packet) -> None:
        with self._cond:
            self.actions.append(action)
            self._cond.notify_all()
        name, action_id = action.get("Action", ""), action.get("ActionID", "")
        if name == "Login":
            ok = action.get("Username") == self.username and action.get("Secret") == self.secret
            status, message = ("Success", "Authentication accepted") if ok else ("Error", "Authentication failed")
        elif name == "Originate":
            status, message = self.originate_reply
        elif name == "Logoff":
            status, message = "Goodbye", "Thanks for all the fish."
        else:
            status, message = "Error", "Invalid/unknown command"
        self._send(conn, f"Response: {status}\r\nActionID: {action_id}\r\nMessage: {message}\r\n\r\n")
        if name == "Originate" and status == "Success" and self.on_originate is not None:
            self.on_originate(action)

    def _send(self, conn: socket.socket, text: str) -> None:
        try:
            with self._send_lock:
                conn.sendall(text.encode())
        except OSError:
            pass


def _parse(raw: str) -> Packet:
    packet: Packet = {}
    for line in raw.split("\r\n"):
        key, _, value = line.partition(": ")
        if key == "Variable":
            packet.setdefault("Variable", []).append(value)
        else:
            packet[key] = value
    return packet
