"""Outbound voice calls (outage alerts): one `Dialer` interface over Asterisk's AMI and Twilio's Calls API.

A dialer places a call and counts it as in flight until the provider says it ended, so no more than `limit`
calls ring or talk at once (a trunk has only so many channels; Twilio queues the excess at one call per second
anyway). When the limit is reached, `place()` waits up to `wait_s` seconds for a slot and then raises
`CallLimitReached`: a Celery task can catch it and retry later, an interactive caller can pass `wait_s=0`.

How a call ends, by provider:
- AMI: the dialer listens on its own AMI connection. `OriginateResponse` with `Response: Failure` and a `Reason`
  that says why (3 no answer, 5 busy, 8 congestion) frees the slot; `Reason: 0` says nothing (a SIP 486 Busy Here
  arrives so, then the channel's `Hangup` with `Cause: 17`), so the dialer waits a few seconds for the Hangup's
  Q.850 cause. Otherwise the channel's `Hangup` event frees it. The Originate names the channel's unique id
  (`ChannelId`, Asterisk 13+) so the `Hangup` is recognised even before `OriginateResponse` arrives; on an older
  Asterisk the `Uniqueid` from `OriginateResponse` is used. The AMI user needs `originate` write and `call` read
  permissions. The channel dialled is a template (`URJA_AMI_DIAL`): `PJSIP/{e164_digits}@{trunk}` by default,
  `DAHDI/g0/0{national}` for an E1/PRI trunk that wants national numbers with the trunk prefix.
- Twilio: its status callback (`/voice/status`, final states only) reaches `TwilioDialer.call_ended(CallSid)`,
  which the voice blueprint calls (`on_call_ended=`). The count lives in this process: place calls from the
  process that serves the webhooks, or give both a shared `CallSlots`.
A slot whose end is never reported (a lost callback, a dropped AMI link) is reclaimed after `max_call_s`.

Outcomes. Whoever places calls from the outbox (`ivr.alert_calls`) also wants to know how each ended. AMI: pass
`on_end(provider_id, outcome)` to `AmiDialer`; it is called once per call, on the listener thread, with
`completed` (answered, then hung up), `busy`, `no-answer`, `congestion` or `failed`. Answered is not heard:
`ivr.alert_calls` counts a call delivered only when the call record shows the alert flow ran. Twilio: the status
callback's CallStatus reaches the voice blueprint's `on_call_status(CallSid, CallStatus)`. `ConsoleDialer` (no
telephony: the embedded default) prints what the call would say and returns the call already `completed`.

What the call does is carried with it: a flow name (`alert`), the caller's own reference (`call_ref`, e.g. the
outbox row) and small parameters (ids, not texts). AMI sets them as channel variables `URJA_FLOW`,
`URJA_CALL_REF`, `URJA_PARAMS`; Twilio gets them in the query of its `/voice/incoming` URL (`flow`, `ref`,
`params`), which Twilio signs with the rest of the URL. Parameters travel as unpadded base64url of compact JSON
(`encode_params`/`decode_params`): Asterisk splits an Originate `Variable` value at commas and strips quotes, so
raw JSON would not survive it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import sys
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO
from urllib.parse import unquote, urlencode, urlsplit

import phonenumbers
from asterisk.ami import AMIClient, SimpleAction
from asterisk.ami.response import FutureResponse
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from cis.phones import mask_mobile
from ivr.engine import Start, step
from ivr.logs import get_logger
from ivr.menus import FLOWS
from ivr.speech import spoken_text
from ivr.turns import Turn
from prompts.catalog import catalog

log = get_logger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
REF = re.compile(r"[A-Za-z0-9._:-]{1,64}")
FLOW = re.compile(r"[a-z][a-z0-9_]{0,31}")
TWILIO_API = "https://api.twilio.com"
CONSOLE_KEEPS = 1000


class OutboundError(Exception):
    """An outbound call could not be placed."""


class CallLimitReached(OutboundError):
    """Every slot stayed busy for as long as `place()` was allowed to wait."""


class DialError(OutboundError):
    """The provider refused the call, or could not be reached."""


@dataclass(frozen=True, kw_only=True)
class OutboundCall:
    """A call to place: `to` in E.164, the flow to run when it is answered, and what that flow needs."""

    to: str
    call_ref: str
    flow: str = "alert"
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not E164.fullmatch(self.to):
            raise ValueError("an outbound call needs an E.164 number (+91...)")
        if not REF.fullmatch(self.call_ref):
            raise ValueError(f"call_ref must be 1-64 letters, digits or ._:- : {self.call_ref!r}")
        if not FLOW.fullmatch(self.flow):
            raise ValueError(f"not a flow name: {self.flow!r}")
        encode_params(self.params)  # fails now, not in a worker, if the params are not JSON


@dataclass(frozen=True)
class PlacedCall:
    """The provider's id for the call (Twilio's CallSid, Asterisk's channel unique id) and its first status.

    Status: `queued` (accepted), or `unconfirmed` when Asterisk did not answer the Originate in time (the call
    may still ring; its slot stays taken until an event or `max_call_s` frees it).
    """

    provider_id: str
    status: str


class Dialer(Protocol):
    name: str  # the provider, as outbox rows record it (`asterisk`, `twilio`, `console`)
    limit: int

    @property
    def in_flight(self) -> int: ...

    def place(self, call: OutboundCall) -> PlacedCall: ...

    def call_ended(self, provider_id: str) -> None: ...

    def close(self) -> None: ...


def encode_params(params: Mapping[str, Any]) -> str:
    """Compact JSON as unpadded base64url: safe in a URL query and in an Asterisk channel variable."""
    text = json.dumps(dict(params), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_params(text: str) -> dict[str, Any]:
    """The inverse of `encode_params`; '' is {}. Raises ValueError on anything else."""
    if not text:
        return {}
    try:
        data = json.loads(base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError("not encoded call parameters") from e
    if not isinstance(data, dict):
        raise ValueError("call parameters must be a JSON object")
    return data


DIAL_FIELDS = ("e164", "e164_digits", "national", "trunk", "number")


def dial_string(template: str, e164: str, trunk: str) -> str:
    """The channel an Originate dials: `template` with `{e164}` (+919876543210), `{e164_digits}` (919876543210),
    `{national}` (9876543210, the number within its country), `{trunk}`; `{number}` is `{e164_digits}` (the
    older name). `PJSIP/{e164_digits}@{trunk}`, `DAHDI/g0/0{national}`, `SIP/{trunk}/0{national}`."""
    try:
        national = str(phonenumbers.parse(e164).national_number)
    except phonenumbers.NumberParseException:
        national = e164.lstrip("+")
    digits = e164.lstrip("+")
    return template.format(e164=e164, e164_digits=digits, national=national, trunk=trunk, number=digits)


class CallSlots:
    """Calls in flight in this process, at most `limit`; thread-safe.

    `acquire()` takes a slot under a key (waiting up to `wait_s` for one), `bind()` renames it once the
    provider's id is known, `release()` frees it. An end reported before its `bind()` (a fast status callback)
    is remembered, so the bind frees the slot at once. Slots older than `max_call_s` are reclaimed.
    """

    def __init__(
        self,
        limit: int,
        *,
        wait_s: float = 60.0,
        max_call_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        remember: int = 1024,
    ) -> None:
        if limit < 1:
            raise ValueError("the call limit must be at least 1")
        self.limit = limit
        self.wait_s = wait_s
        self.max_call_s = max_call_s
        self._clock = clock
        self._remember = remember
        self._cond = threading.Condition()
        self._active: dict[str, float] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()

    @property
    def in_flight(self) -> int:
        with self._cond:
            self._expire()
            return len(self._active)

    def holds(self, key: str) -> bool:
        with self._cond:
            return key in self._active

    def acquire(self, key: str | None = None, *, wait_s: float | None = None) -> str:
        key = key or f"pending-{uuid.uuid4().hex}"
        deadline = time.monotonic() + (self.wait_s if wait_s is None else wait_s)
        with self._cond:
            while True:
                self._expire()
                if len(self._active) < self.limit:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CallLimitReached(f"all {self.limit} outbound call slots are busy")
                # Wake at least once a second: a slot may expire without anyone notifying.
                self._cond.wait(min(remaining, 1.0))
            self._active[key] = self._clock()
        return key

    def bind(self, key: str, provider_id: str) -> None:
        with self._cond:
            started = self._active.pop(key, None)
            if started is None:
                return
            if provider_id in self._ended:
                del self._ended[provider_id]
                self._cond.notify_all()
                return
            self._active[provider_id] = started

    def release(self, key: str, *, remember: bool = False) -> bool:
        """Free `key`'s slot; False if it held none (then, with `remember`, a later `bind` to it frees at once)."""
        with self._cond:
            if self._active.pop(key, None) is not None:
                self._cond.notify_all()
                return True
            if remember:
                self._ended[key] = None
                while len(self._ended) > self._remember:
                    self._ended.popitem(last=False)
            return False

    def _expire(self) -> None:
        cutoff = self._clock() - self.max_call_s
        stale = [key for key, started in self._active.items() if started <= cutoff]
        for key in stale:
            del self._active[key]
            log.warning("outbound call %s: no end reported in %.0f s, its slot is reclaimed", key, self.max_call_s)
        if stale:
            self._cond.notify_all()


# -- Asterisk (AMI) ------------------------------------------------------------------------------------------


class _Future(FutureResponse):  # type: ignore[misc]
    """asterisk-ami's future, with `notify_all`: its `notifyAll()` warns while holding the lock, and under
    warnings-as-errors that leaves the lock held and every waiter deadlocked."""

    def set_response(self, response: Any) -> None:
        with self._lock:
            self._response = response
            self._lock.notify_all()

    response = property(FutureResponse.get_response, set_response)


class _AmiClient(AMIClient):  # type: ignore[misc]
    """asterisk-ami's client with three fixes for a long-lived connection.

    - Its socket timeout also applied to the listener's `recv`, so a link quiet for `timeout` seconds was
      dropped: here the timeout bounds connecting and waiting for responses, and the listener blocks.
    - `send` could write part of an action; `sendall` writes all of it.
    - `disconnect` shuts the socket down first, so the blocked listener wakes and ends.
    """

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self._port), timeout=self._timeout)
        sock.settimeout(None)
        self._socket = sock
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self.listen, name="ami-listener", daemon=True)
        self._thread.start()

    def send_action(self, action: Any, callback: Any = None) -> _Future:
        if "ActionID" not in action.keys:
            action.keys["ActionID"] = self.next_action_id()
        future = _Future(callback, self._timeout)
        self._futures[action.keys["ActionID"]] = future
        self._fire_on_action(action=action)
        self.send(action)
        return future

    def send(self, pack: Any) -> None:
        self._socket.sendall((str(pack) + "\r\n").encode(self.encoding))

    closing = False  # set on logoff and by `disconnect`: the end of the link that follows is ours, not Asterisk's

    def disconnect(self) -> None:
        self.closing = True
        if self.finished is not None:
            self.finished.set()
        if self._socket is not None:
            with suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
            with suppress(OSError):
                self._socket.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self._timeout)


# How an unanswered call ended. OriginateResponse `Reason` is the last control frame seen on the channel
# (Asterisk's AST_CONTROL_*): 1 hung up, 3 rang out, 5 busy, 8 congestion. 0 says nothing: the channel's Hangup
# and its cause tell (a SIP 486 Busy Here comes as Reason 0, then Hangup Cause 17).
ORIGINATE_REASONS = {"1": "no-answer", "3": "no-answer", "5": "busy", "8": "congestion"}
# Hangup `Cause` (Q.850) of a call never answered: 16 normal clearing (a caller who answers hangs up with it too,
# but then OriginateResponse Success came first), 17 busy, 18/19 no answer, 20 subscriber absent, 21 rejected,
# 34/38/41/42 the network could not carry it (congestion, out of order, temporary failure, equipment congestion).
HANGUP_CAUSES = {
    "16": "completed",
    "17": "busy",
    "18": "no-answer",
    "19": "no-answer",
    "20": "no-answer",
    "21": "no-answer",
    "34": "congestion",
    "38": "congestion",
    "41": "congestion",
    "42": "congestion",
}
CAUSE_WAIT_S = 5.0  # how long an OriginateResponse that names no reason waits for its channel's Hangup


class AmiDialer:
    """Places calls with AMI `Originate` (asynchronous) into `context`, extension `exten`, priority 1.

    `url` is `ami://user:secret@host:5038`. The channel is `dial_string(channel, number, trunk)`, by default
    `PJSIP/<number without +>@<trunk>`. One AMI connection, opened on the first call and reopened after it drops.
    """

    name = "asterisk"

    def __init__(
        self,
        url: str,
        *,
        context: str,
        trunk: str,
        caller_id: str,
        limit: int,
        exten: str = "s",
        channel: str = "PJSIP/{e164_digits}@{trunk}",
        ring_timeout_ms: int = 30_000,
        response_timeout_s: float = 5.0,
        wait_s: float = 60.0,
        max_call_s: float = 600.0,
        slots: CallSlots | None = None,
        on_end: Callable[[str, str], object] | None = None,
        cause_wait_s: float = CAUSE_WAIT_S,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "ami" or not parts.hostname or not parts.username:
            raise ValueError("the AMI URL must look like ami://user:secret@host:5038")
        self._address = (parts.hostname, parts.port or 5038)
        self._username = unquote(parts.username)
        self._secret = unquote(parts.password or "")
        self.context, self.trunk, self.caller_id, self.exten = context, trunk, caller_id, exten
        dial_string(channel, "+919876543210", trunk)  # a template naming an unknown field fails now
        self.channel = channel
        self.cause_wait_s = cause_wait_s
        self._awaiting_cause: dict[str, threading.Timer] = {}  # failed Originates waiting for their Hangup
        self._cause_lock = threading.Lock()  # not `_lock`: the listener thread takes this one
        self.ring_timeout_ms = ring_timeout_ms
        self.response_timeout_s = response_timeout_s
        self.slots = slots or CallSlots(limit, wait_s=wait_s, max_call_s=max_call_s)
        self.limit = self.slots.limit
        self._lock = threading.Lock()  # the connection, and one action on the wire at a time
        self._client: _AmiClient | None = None
        self._aliases: dict[str, str] = {}  # Asterisk's Uniqueid > our ChannelId, when Asterisk ignored ours
        self.on_end = on_end
        self._answered: set[str] = set()  # calls whose OriginateResponse said Success: the callee answered

    @property
    def in_flight(self) -> int:
        return self.slots.in_flight

    def place(self, call: OutboundCall) -> PlacedCall:
        channel_id = f"urja-{uuid.uuid4().hex}"
        self.slots.acquire(channel_id)
        action = SimpleAction(
            "Originate",
            Channel=dial_string(self.channel, call.to, self.trunk),
            Context=self.context,
            Exten=self.exten,
            Priority=1,
            CallerID=self.caller_id,
            Timeout=self.ring_timeout_ms,
            Async="true",
            ChannelId=channel_id,
            ActionID=channel_id,
        )
        action.variables = {
            "URJA_FLOW": call.flow,
            "URJA_CALL_REF": call.call_ref,
            "URJA_PARAMS": encode_params({**call.params, "to": call.to}),  # the consumer, for the call record
        }
        try:
            with self._lock:
                future = self._connected().send_action(action)
            response = future.response
        except OutboundError:
            self.slots.release(channel_id)
            raise
        except Exception as e:
            self.slots.release(channel_id)
            self._drop()
            raise DialError(f"AMI is unreachable: {e}") from e
        if response is None:
            log.warning("outbound call %s: Asterisk did not answer the Originate in time", channel_id)
            return PlacedCall(channel_id, "unconfirmed")
        if response.is_error():
            self.slots.release(channel_id)
            raise DialError(f"Asterisk refused the Originate: {response.keys.get('Message', response.status)}")
        return PlacedCall(channel_id, "queued")

    def call_ended(self, provider_id: str) -> None:
        """Free the call's slot (the AMI events do this by themselves; this is for callers who learn otherwise)."""
        self.slots.release(self._aliases.pop(provider_id, provider_id))

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        with self._cause_lock:
            waiting, self._awaiting_cause = list(self._awaiting_cause.values()), {}
        for timer in waiting:
            timer.cancel()
        if client is not None:
            client.closing = True  # Asterisk answers Logoff with Goodbye and closes the link: that end is ours
            with suppress(Exception):
                client.logoff()
            client.disconnect()

    def _connected(self) -> _AmiClient:
        """The logged-in client; called with `_lock` held."""
        if self._client is not None and not self._client.finished.is_set():
            return self._client
        client = _AmiClient(address=self._address[0], port=self._address[1], timeout=self.response_timeout_s)
        client.add_event_listener(self._on_event, white_list=["OriginateResponse", "Hangup"])
        client.add_listener(on_disconnect=self._on_disconnect)
        response = client.login(username=self._username, secret=self._secret).response
        if response is None or response.is_error():
            client.disconnect()
            reason = "no answer" if response is None else response.keys.get("Message", response.status)
            raise DialError(f"AMI login failed: {reason}")
        self._client = client
        return client

    def _drop(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.disconnect()

    def _on_disconnect(self, source: Any, error: Any = None) -> None:
        if source.finished is not None:
            source.finished.set()  # the listener has stopped: the next call reconnects
        if getattr(source, "closing", False):
            log.debug("AMI connection closed")  # our own logoff: nothing to report
        elif error is None or isinstance(error, StopIteration):
            # The listener's packet reader ends with StopIteration when Asterisk closes the socket.
            log.warning("AMI connection closed by Asterisk; the next call reconnects")
        else:
            log.warning("AMI connection lost: %r; the next call reconnects", error)

    def _on_event(self, event: Any, source: Any) -> None:
        # Runs on the listener thread, whose loop ends at the first exception: never raise.
        try:
            keys = event.keys
            if event.name == "OriginateResponse":
                ours = keys.get("ActionID", "")
                if keys.get("Response") != "Success":
                    reason = keys.get("Reason", "")
                    if reason not in ORIGINATE_REASONS and self.slots.holds(ours):
                        # No reason given: the channel's Hangup, with its cause, follows (busy is Cause 17).
                        self._await_cause(ours)
                    elif self.slots.release(ours):
                        log.info("outbound call %s failed (reason %s)", ours, reason or "?")
                        self._ended(ours, ORIGINATE_REASONS.get(reason, "failed"))
                elif self.slots.holds(ours):
                    # Async Originate reports Success once the callee answered and the call entered the dialplan.
                    self._answered.add(ours)
                    if keys.get("Uniqueid") and keys["Uniqueid"] != ours:
                        self._aliases[keys["Uniqueid"]] = ours
            elif event.name == "Hangup":
                unique = keys.get("Uniqueid", "")
                ours = self._aliases.pop(unique, unique)
                if self.slots.release(ours):
                    answered = ours in self._answered
                    outcome = "completed" if answered else HANGUP_CAUSES.get(keys.get("Cause", ""), "failed")
                    if not answered:
                        log.info("outbound call %s not answered (cause %s: %s)", ours, keys.get("Cause", "?"), outcome)
                    self._ended(ours, outcome)
        except Exception:
            log.exception("AMI event %s not handled", getattr(event, "name", "?"))

    def _await_cause(self, provider_id: str) -> None:
        timer = threading.Timer(self.cause_wait_s, self._no_cause_came, args=(provider_id,))
        timer.daemon = True
        with self._cause_lock:
            self._awaiting_cause[provider_id] = timer
        timer.start()

    def _no_cause_came(self, provider_id: str) -> None:
        with self._cause_lock:
            self._awaiting_cause.pop(provider_id, None)
        if self.slots.release(provider_id):
            log.info("outbound call %s failed (no reason, no hangup cause)", provider_id)
            self._ended(provider_id, "failed")

    def _ended(self, provider_id: str, outcome: str) -> None:
        with self._cause_lock:
            timer = self._awaiting_cause.pop(provider_id, None)
        if timer is not None:
            timer.cancel()
        self._answered.discard(provider_id)
        if self.on_end is not None:
            self.on_end(provider_id, outcome)


# -- Twilio --------------------------------------------------------------------------------------------------


class RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's HTTP client sending to another host (a test double, a proxy): the documented way to change
    where the library sends its requests is a custom `http_client`."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class TwilioDialer:
    """Places calls with Twilio's Calls API; Twilio then fetches `<public_url>/voice/incoming?flow=...` for TwiML
    and posts the final status to `<public_url>/voice/status`, whose handler calls `call_ended(CallSid)`."""

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str,
        public_url: str,
        limit: int,
        base_url: str | None = None,
        ring_timeout_s: int = 30,
        http_timeout_s: float = 10.0,
        wait_s: float = 60.0,
        max_call_s: float = 600.0,
        slots: CallSlots | None = None,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("Twilio calls need the account SID and auth token")
        if not public_url:
            raise ValueError("Twilio calls need the public URL it calls back")
        http_client = (
            RebasedHttpClient(base_url, timeout=http_timeout_s)
            if base_url
            else TwilioHttpClient(timeout=http_timeout_s)
        )
        # environment={}: the settings object is the only reader of os.environ (no TWILIO_EDGE surprises).
        self._client = Client(account_sid, auth_token, http_client=http_client, environment={})
        self.from_number = from_number
        self.public_url = public_url.rstrip("/")
        self.ring_timeout_s = ring_timeout_s
        self.slots = slots or CallSlots(limit, wait_s=wait_s, max_call_s=max_call_s)
        self.limit = self.slots.limit

    @property
    def in_flight(self) -> int:
        return self.slots.in_flight

    def answer_url(self, call: OutboundCall) -> str:
        query = urlencode({"flow": call.flow, "ref": call.call_ref, "params": encode_params(call.params)})
        return f"{self.public_url}/voice/incoming?{query}"

    def place(self, call: OutboundCall) -> PlacedCall:
        token = self.slots.acquire()
        try:
            created = self._client.calls.create(
                to=call.to,
                from_=self.from_number,
                url=self.answer_url(call),
                method="POST",
                status_callback=f"{self.public_url}/voice/status",
                status_callback_method="POST",
                timeout=self.ring_timeout_s,
            )
        except TwilioRestException as e:
            self.slots.release(token)
            raise DialError(f"Twilio refused the call: HTTP {e.status}, code {e.code}: {e.msg}") from e
        except (TwilioException, OSError) as e:
            self.slots.release(token)
            raise DialError(f"Twilio is unreachable: {e}") from e
        except Exception:
            self.slots.release(token)
            raise
        sid = str(created.sid)
        self.slots.bind(token, sid)
        status = created.status
        return PlacedCall(sid, str(getattr(status, "value", status)))

    def call_ended(self, provider_id: str) -> None:
        """The status callback said the call is over (completed, busy, no-answer, failed, canceled)."""
        self.slots.release(provider_id, remember=True)

    def close(self) -> None:
        session = getattr(self._client.http_client, "session", None)
        if session is not None:
            session.close()


# -- no telephony (the embedded default) ----------------------------------------------------------------------


class ConsoleDialer:
    """Places no call: prints the number (masked) and the Hindi text the alert flow would speak, and reports the
    call `completed` at once. For `urjamitra up` without Asterisk or Twilio; nothing is ever in flight."""

    name = "console"

    def __init__(self, *, limit: int = 1, out: TextIO | None = None) -> None:
        if limit < 1:
            raise ValueError("the call limit must be at least 1")
        self.limit = limit
        self.out = out
        # The latest calls and their texts, for a look afterwards (a test, the embedded console).
        self.placed: deque[tuple[OutboundCall, str]] = deque(maxlen=CONSOLE_KEEPS)

    @property
    def in_flight(self) -> int:
        return 0

    def place(self, call: OutboundCall) -> PlacedCall:
        text = spoken_first_turn(call)
        self.placed.append((call, text))
        out = self.out if self.out is not None else sys.stdout
        print(f"[voice call {call.call_ref} to {mask_mobile(call.to)}] {text}", file=out, flush=True)
        return PlacedCall(f"console-{uuid.uuid4().hex}", "completed")

    def call_ended(self, provider_id: str) -> None:
        """Nothing to free: a console call is over before `place()` returns."""

    def close(self) -> None:
        """Nothing to close."""


def spoken_first_turn(call: OutboundCall) -> str:
    """What the call's flow says first when answered, as text in Hindi (the catalog's texts joined)."""
    start = Start("console", call.call_ref, call.to, "hi", {**call.params, "flow": call.flow, "to": call.to})
    _, turn = step(FLOWS, None, start)
    if not isinstance(turn, Turn):
        return f"(the {call.flow} flow asks {turn.name} first)"
    return spoken_text(turn.items, "hi", catalog())
