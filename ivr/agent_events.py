"""Who answered a transferred call, as Asterisk and Twilio say it: the screen-pop's transports.

Asterisk: the IVR sets the channel variable URJA_CALL_ID (the call's record id) before `Queue`; with
`channelvars = URJA_CALL_ID` in manager.conf every AMI event of that channel carries `ChanVariable:
URJA_CALL_ID=<id>`, and app_queue's `AgentConnect` (class `agent`) names the queue member that answered in
`Interface` (`PJSIP/agent1`). `AgentConnectListener` keeps one AMI connection (reconnecting when it drops) and
hands each answer to `on_answer(interface, call_id)`.

Twilio: the `<Dial>` to the agent carries the call id on the `<Sip>`/`<Client>` noun's status callback URL, and
Twilio posts "answered" there, signed, with `To` naming the agent (ivr.twilio_voice).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from typing import Any
from urllib.parse import unquote, urlsplit

from asterisk.ami import Event, SimpleAction

from cis.logs import get_logger
from ivr.agi import CALL_ID_VARIABLE
from ivr.outbound import _AmiClient

log = get_logger(__name__)
VARIABLE_KEYS = ("ChanVariable", "DestChanVariable")


def _collect_variables(event_name: str, keys: dict[str, Any]) -> Callable[[str, str], None]:
    """asterisk-ami keeps one value per key: a channel's several `ChanVariable` lines are gathered in a list."""

    def add(key: str, value: str) -> None:
        keys.setdefault(key, []).append(value)

    return add


Event.register_parser(*VARIABLE_KEYS)(_collect_variables)


def call_id_of(keys: Mapping[str, Any], variable: str = CALL_ID_VARIABLE) -> int | None:
    """The record id in an event's URJA_CALL_ID channel variable (the caller's channel), or None.

    Asterisk 12 and later write `ChanVariable: URJA_CALL_ID=42`; Asterisk 11 wrote `ChanVariable(URJA_CALL_ID): 42`.
    """
    values: Iterable[str] = keys.get("ChanVariable") or ()
    if isinstance(values, str):
        values = [values]
    found = [v.split("=", 1)[1] for v in values if "=" in v and v.split("=", 1)[0].strip() == variable]
    old = keys.get(f"ChanVariable({variable})")
    if isinstance(old, str):
        found.append(old)
    for text in found:
        text = text.strip()
        if text.isdigit() and len(text) < 19:
            return int(text)
    return None


class AgentConnectListener:
    """Follows AMI `AgentConnect` events on one connection and calls `on_answer(interface, call_id)` for each
    answered call that carries URJA_CALL_ID. `url` is `ami://user:secret@host:5038` (the AMI user needs `read =
    agent`). The connection is reopened `retry_s` after it drops; `stop()` ends it."""

    def __init__(
        self,
        url: str,
        on_answer: Callable[[str, int], object],
        *,
        timeout_s: float = 5.0,
        retry_s: float = 5.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "ami" or not parts.hostname or not parts.username:
            raise ValueError("the AMI URL must look like ami://user:secret@host:5038")
        self._address = (parts.hostname, parts.port or 5038)
        self._username = unquote(parts.username)
        self._secret = unquote(parts.password or "")
        self._on_answer = on_answer
        self._timeout_s = timeout_s
        self._retry_s = retry_s
        self._stop = threading.Event()
        self._client: _AmiClient | None = None
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agent-connect-listener", daemon=True)

    def start(self) -> AgentConnectListener:
        self._thread.start()
        return self

    def _event(self, event: Any, **_kwargs: Any) -> None:
        if event.name != "AgentConnect":
            return
        interface = str(event.keys.get("Interface") or event.keys.get("MemberName") or "")
        call_id = call_id_of(event.keys)
        if not interface or call_id is None:
            log.info("AgentConnect without an interface or URJA_CALL_ID: no screen-pop")
            return
        try:
            self._on_answer(interface, call_id)
        except Exception:  # one bad event must not end the listener
            log.exception("screen-pop for call %s failed", call_id)

    def _run(self) -> None:
        while not self._stop.is_set():
            client = _AmiClient(address=self._address[0], port=self._address[1], timeout=self._timeout_s)
            try:
                client.connect()
                future = client.login(username=self._username, secret=self._secret)
                response = future.response
                if response is None or response.is_error():
                    raise ConnectionError(f"AMI login refused: {getattr(response, 'keys', {}).get('Message')}")
                # Only what the screen-pop needs from the flood of events.
                client.send_action(SimpleAction("Events", EventMask="agent"))
                client.add_event_listener(self._event, white_list=["AgentConnect"])
                self._client = client
                self.connected.set()
                listening = client._thread  # ends when Asterisk closes the link (or we do)
                while not self._stop.is_set() and listening is not None and listening.is_alive():
                    listening.join(1.0)
            except Exception as exc:
                log.warning("AMI for the screen-pop: %s; trying again in %s s", exc, self._retry_s)
            finally:
                self.connected.clear()
                self._client = None
                with suppress(Exception):
                    client.disconnect()
            if not self._stop.is_set():
                time.sleep(self._retry_s)

    def stop(self) -> None:
        self._stop.set()
        client = self._client
        if client is not None:
            with suppress(Exception):
                client.disconnect()
        if self._thread.is_alive():
            self._thread.join(self._timeout_s)
