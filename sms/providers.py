"""SMS providers behind one interface: send a batch, get one result per message (Twilio, a DLT gateway, console)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TextIO
from urllib.parse import urlencode

import requests
from sqlalchemy import insert
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from cis.logs import get_logger
from cis.models import ConsoleSms
from cis.phones import mask_mobile
from sms.templates import RenderedSms, SmsError, SmsTemplate, blank_secrets, load_templates

log = get_logger(__name__)

# accepted: the provider took it (a receipt comes later); delivered: it is on the handset already (console);
# rejected: refused for good (bad number, template); retry: refused for now, nothing sent, try again later;
# unknown: the provider may or may not hold it (a timeout after the request left) -- never sent again.
Outcome = Literal["accepted", "delivered", "rejected", "retry", "unknown"]


class ProviderUnavailable(SmsError):
    """The provider took none of the batch (down, throttling, refusing our credentials): safe to send again."""


class ProviderOutcomeUnknown(SmsError):
    """The request left but no answer came back: the provider may hold the batch, so it must not be resent."""


@dataclass(frozen=True)
class OutgoingSms:
    ref: str  # our reference (the outbox id): receipts name it, so a row is found even if the answer was lost
    to: str  # E.164
    text: str
    sender: str
    template_key: str
    dlt_template_id: str
    entity_id: str
    segments: int
    valid_until: dt.datetime | None = None

    @classmethod
    def rendered(cls, ref: str, to: str, message: RenderedSms, valid_until: dt.datetime | None) -> OutgoingSms:
        """A rendered template on its way to `to`, under our reference `ref`."""
        return cls(
            ref=ref,
            to=to,
            text=message.text,
            sender=message.sender,
            template_key=message.template_key,
            dlt_template_id=message.dlt_template_id,
            entity_id=message.entity_id,
            segments=message.segments,
            valid_until=valid_until,
        )


@dataclass(frozen=True)
class SendResult:
    ref: str
    outcome: Outcome
    provider_id: str | None = None
    error: str | None = None


class SmsProvider(Protocol):
    name: str
    max_batch: int

    def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """One result per message, in any order; raises ProviderUnavailable or ProviderOutcomeUnknown for all."""
        ...

    def close(self) -> None: ...


# --- console -----------------------------------------------------------------------------------------------


class ConsoleProvider:
    """The embedded default: prints each message and stores it in `sms_console_message` (shown on /sms/console).

    The stored row is what the handset got; the printed line is a log, so its number is masked and its OTP blanked.
    """

    name = "console"
    max_batch = 1000

    def __init__(
        self,
        session_factory: Callable[[], Session],
        *,
        stream: TextIO | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._stream = stream
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._templates: dict[str, SmsTemplate] | None = None

    def _printable(self, m: OutgoingSms) -> str:
        if self._templates is None:
            self._templates = load_templates()
        return blank_secrets(self._templates.get(m.template_key), m.text)

    def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        if not messages:
            return []
        at = self._clock()
        rows = [
            {
                "outbox_id": int(m.ref) if m.ref.isdigit() else None,
                "recipient": m.to,
                "sender": m.sender,
                "template": m.template_key,
                "dlt_template_id": m.dlt_template_id,
                "text": m.text,
                "segments": m.segments,
                "sent_at": at,
            }
            for m in messages
        ]
        with self._session_factory() as session:
            session.execute(insert(ConsoleSms), rows)
            session.commit()
        stream = self._stream if self._stream is not None else sys.stdout
        for m in messages:
            print(f"[sms {m.sender} -> {mask_mobile(m.to)}] {self._printable(m)}", file=stream)
        stream.flush()
        return [SendResult(m.ref, "delivered", f"console-{m.ref}") for m in messages]

    def close(self) -> None:
        pass


# --- a generic Indian DLT bulk HTTP gateway ----------------------------------------------------------------

SIGNATURE_HEADER = "X-Urja-Signature"
_MAYBE_TAKEN = {502, 504}
TIMESTAMP_HEADER = "X-Urja-Timestamp"


def gateway_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 over `<timestamp>.<raw body>`: how the gateway signs what it posts to us."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class DltGatewayProvider:
    """A DLT bulk HTTP gateway (the contract in docs/sms.md): one JSON POST per batch, one result per message.

    Each message carries its DLT template id, principal entity id and sender header, because operators
    scrub every SMS against them; `ref` comes back in the answer and in delivery receipts.
    """

    name = "dlt"

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        receipt_url: str | None,
        max_batch: int = 1000,
        timeout_s: float = 30.0,
    ) -> None:
        if not url or not api_key:
            raise ValueError("the DLT gateway needs its URL and API key")
        self.url = url
        self.max_batch = max_batch
        self.receipt_url = receipt_url
        self.timeout_s = timeout_s
        self._http = requests.Session()
        self._http.headers.update({"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})

    def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        if not messages:
            return []
        body: dict[str, Any] = {
            "messages": [
                {
                    "ref": m.ref,
                    "to": m.to.lstrip("+"),
                    "sender": m.sender,
                    "text": m.text,
                    "dlt_template_id": m.dlt_template_id,
                    "dlt_entity_id": m.entity_id,
                    **({"valid_until": m.valid_until.astimezone(dt.UTC).isoformat()} if m.valid_until else {}),
                }
                for m in messages
            ]
        }
        if self.receipt_url:
            body["receipt_url"] = self.receipt_url
        try:
            response = self._http.post(self.url, data=json.dumps(body, separators=(",", ":")), timeout=self.timeout_s)
        except requests.ConnectionError as e:
            # Refused or reset before an answer: with no answer we cannot tell a refused connection from a
            # dropped one, except that a connect error means the request never left.
            if isinstance(e, requests.ConnectTimeout) or _never_connected(e):
                raise ProviderUnavailable(f"gateway unreachable: {type(e).__name__}") from e
            raise ProviderOutcomeUnknown(f"gateway connection lost: {type(e).__name__}") from e
        except requests.Timeout as e:
            raise ProviderOutcomeUnknown("gateway did not answer in time") from e
        if response.status_code in _MAYBE_TAKEN:
            # A proxy's 502/504 may stand in front of a gateway that took the batch: never send it again.
            raise ProviderOutcomeUnknown(f"gateway answered HTTP {response.status_code}")
        if response.status_code != 200:
            # The contract: any other status but 200 means no message of the batch was taken.
            raise ProviderUnavailable(f"gateway answered HTTP {response.status_code}")
        try:
            answer = response.json()
            results = answer["results"]
        except (ValueError, KeyError, TypeError) as e:
            raise ProviderOutcomeUnknown("gateway answered 200 with a body we cannot read") from e
        return _gateway_results(messages, results)

    def close(self) -> None:
        self._http.close()


def _never_connected(error: requests.ConnectionError) -> bool:
    text = repr(error)
    return "NewConnectionError" in text or "Connection refused" in text or "Name or service not known" in text


def _gateway_results(messages: Sequence[OutgoingSms], results: Any) -> list[SendResult]:
    by_ref: dict[str, SendResult] = {}
    if isinstance(results, list):
        for item in results:
            if not isinstance(item, dict) or str(item.get("ref", "")) == "":
                continue
            ref = str(item["ref"])
            status = item.get("status")
            if status == "accepted":
                by_ref[ref] = SendResult(ref, "accepted", str(item.get("id") or "") or None)
            elif status == "rejected":
                error = f"{item.get('code', 'REJECTED')}: {item.get('error', '')}".strip(": ")[:300]
                outcome: Outcome = "retry" if item.get("retry") is True else "rejected"
                by_ref[ref] = SendResult(ref, outcome, None, error)
    # A message the answer does not mention may or may not have been taken: never guess it was not.
    return [by_ref.get(m.ref) or SendResult(m.ref, "unknown", None, "not in the gateway's answer") for m in messages]


# --- Twilio ------------------------------------------------------------------------------------------------

# Twilio refused the request and created nothing: try again later. Any other 5xx (500, 502, 504) may come
# after the message was created, so it is "unknown", never resent; a 4xx will not change on a retry.
_TWILIO_TEMPORARY_STATUS = {429, 503}


class TwilioSmsProvider:
    """Twilio's Messages API through the `twilio` package: one request per message, several in parallel.

    The status callback URL carries our reference, so a receipt finds its row even when the create call's
    answer was lost. Twilio has no batch endpoint; `workers` requests run at once (the token bucket still
    decides how many per second).
    """

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        public_url: str,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        http_client: TwilioHttpClient | None = None,
        workers: int = 8,
        max_batch: int = 200,
        timeout_s: float = 15.0,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("Twilio SMS needs the account SID and auth token")
        self._client = Client(
            account_sid, auth_token, http_client=http_client or TwilioHttpClient(timeout=timeout_s), environment={}
        )
        self.public_url = public_url.rstrip("/")
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid
        self.max_batch = max_batch
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="twilio-sms")
        self._lock = threading.Lock()

    def status_callback(self, ref: str) -> str:
        return f"{self.public_url}/sms/twilio/status?{urlencode({'ref': ref})}"

    def _send_one(self, m: OutgoingSms) -> SendResult:
        kwargs: dict[str, Any] = {"to": m.to, "body": m.text, "status_callback": self.status_callback(m.ref)}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_ or m.sender
        if m.valid_until is not None:
            seconds = int((m.valid_until - dt.datetime.now(dt.UTC)).total_seconds())
            if seconds < 1:
                return SendResult(m.ref, "rejected", None, "validity ran out before sending")
            kwargs["validity_period"] = min(seconds, 36_000)  # Twilio takes 1 s to 10 h
        try:
            created = self._client.messages.create(**kwargs)
        except TwilioRestException as e:
            outcome: Outcome = (
                "retry" if e.status in _TWILIO_TEMPORARY_STATUS else "unknown" if e.status >= 500 else "rejected"
            )
            return SendResult(m.ref, outcome, None, f"twilio {e.status} code {e.code}: {e.msg}"[:300])
        except requests.ConnectionError as e:
            if _never_connected(e):  # the request never left: nothing was sent
                return SendResult(m.ref, "retry", None, f"Twilio unreachable: {type(e).__name__}")
            log.warning("twilio send to %s: connection lost (%s)", mask_mobile(m.to), type(e).__name__)
            return SendResult(m.ref, "unknown", None, f"connection to Twilio lost: {type(e).__name__}")
        except (TwilioException, OSError) as e:
            log.warning("twilio send to %s: no answer (%s)", mask_mobile(m.to), type(e).__name__)
            return SendResult(m.ref, "unknown", None, f"no answer from Twilio: {type(e).__name__}")
        return SendResult(m.ref, "accepted", str(created.sid))

    def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        return list(self._pool.map(self._send_one, messages))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        session = getattr(self._client.http_client, "session", None)
        if session is not None:
            session.close()
