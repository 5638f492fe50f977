"""A local HTTP server speaking the Calls and Messages resources of Twilio's REST API (2010-04-01), for tests.

Messages: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with form fields `To`, `From` (or
`MessagingServiceSid`), `Body`, `StatusCallback`, `ValidityPeriod`; answers 201 and a message resource (`sid`
SM..., `status` queued), or Twilio's JSON error document for a `To` listed in `refuse` (e.g. 400 / 21211).

`POST /2010-04-01/Accounts/{AccountSid}/Calls.json` with HTTP basic auth (account SID, auth token) and form
fields `To`, `From`, `Url`, `StatusCallback`, ...; answers 201 and a JSON call resource (`sid` CA..., `status`
queued), or Twilio's JSON error document. Every request is recorded; calls stay active until `end(sid)`.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

CALLS_PATH = re.compile(r"/2010-04-01/Accounts/(?P<account>AC[0-9a-f]{32})/Calls\.json")
MESSAGES_PATH = re.compile(r"/2010-04-01/Accounts/(?P<account>AC[0-9a-f]{32})/Messages\.json")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    authorization: str
    content_type: str
    form: dict[str, str]


class FakeTwilioApi:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.requests: list[RecordedRequest] = []
        self.fail_with: tuple[int, int, str] | None = None  # (HTTP status, Twilio error code, message)
        self.on_create: Callable[[str], object] | None = None
        self.active: set[str] = set()
        self.messages: list[dict[str, str]] = []  # every message taken, with its sid
        self.refuse: dict[str, tuple[int, int, str]] = {}  # To -> (HTTP status, Twilio error code, message)
        self.most_active = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeTwilioApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def end(self, sid: str) -> None:
        """The call is over (the test then delivers the status callback)."""
        with self._lock:
            self.active.discard(sid)

    def _create(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.fail_with is not None:
            status, code, message = self.fail_with
            return status, {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            }
        sid = "CA" + uuid.uuid4().hex
        with self._lock:
            self.active.add(sid)
            self.most_active = max(self.most_active, len(self.active))
        if self.on_create is not None:
            self.on_create(sid)
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form.get("To"),
            "from": form.get("From"),
            "status": "queued",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": None,
            "price": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
        }

    def _message(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to = form.get("To", "")
        refused = self.refuse.get(to)
        if refused is not None:
            status, code, message = refused
            return status, {"code": code, "message": message, "more_info": "", "status": status}
        if not to or not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
            return 400, {"code": 21604, "message": "A 'To', 'Body' and 'From' are required", "status": 400}
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self.messages.append({**form, "sid": sid})
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": form.get("From"),
            "body": form.get("Body"),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
                authorization = self.headers.get("Authorization", "")
                with api._lock:
                    api.requests.append(
                        RecordedRequest("POST", self.path, authorization, self.headers.get("Content-Type", ""), form)
                    )
                match = CALLS_PATH.fullmatch(self.path)
                message = MESSAGES_PATH.fullmatch(self.path)
                expected = "Basic " + base64.b64encode(f"{api.account_sid}:{api.auth_token}".encode()).decode()
                if authorization != expected:
                    self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
                elif message is not None and message["account"] == api.account_sid:
                    self._reply(*api._message(form))
                elif match is None or match["account"] != api.account_sid:
                    self._reply(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
                else:
                    self._reply(*api._create(form))

            def _reply(self, status: int, document: dict[str, Any]) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
