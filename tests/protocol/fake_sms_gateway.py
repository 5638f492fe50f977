"""A local HTTP server speaking the DLT bulk gateway contract of docs/sms.md, for tests and the SMS benchmark.

`POST /v1/messages` with `Authorization: Bearer <key>` and `{"messages": [{ref, to, sender, text, dlt_template_id,
dlt_entity_id, valid_until?}], "receipt_url"?}`; answers 200 `{"results": [{ref, status: accepted, id} |
{ref, status: rejected, code, error, retry}]}`, 401 for a wrong key, 400 for a body it cannot read, and
whatever `fail_next` asks for. Every message it takes is counted by ref, so a test can prove none came twice.
Run alone (the benchmark does): `python -m tests.protocol.fake_sms_gateway --port 0 --key K` prints its URL.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from sms.providers import SIGNATURE_HEADER, TIMESTAMP_HEADER, gateway_signature

PATH = "/v1/messages"
_DLT_ID = re.compile(r"[0-9]{19}")
_TO = re.compile(r"91[6-9][0-9]{9}")


class FakeSmsGateway:
    def __init__(self, key: str = "gateway-key", *, host: str = "127.0.0.1", port: int = 0, record: bool = True):
        self.key = key
        self.record = record
        self.received: collections.Counter[str] = collections.Counter()  # ref -> times taken
        self.messages: dict[str, dict[str, Any]] = {}  # ref -> the last message with that ref
        self.ids: dict[str, str] = {}  # ref -> our message id
        self.batches = 0
        self.taken = 0
        self.reject_to: dict[str, tuple[str, bool]] = {}  # "91..." -> (code, retry)
        self.on_batch: Callable[[list[dict[str, Any]]], None] | None = None  # runs before the answer is sent
        self._fail: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{PATH}"

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._fail.extend([status] * count)

    def __enter__(self) -> FakeSmsGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _answer(self, document: Any) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._fail:
                status = self._fail.pop(0)
                return status, {"error": "temporarily unavailable"}
        messages = document.get("messages") if isinstance(document, dict) else None
        if not isinstance(messages, list):
            return 400, {"error": "messages must be a list"}
        results = []
        taken = []
        for m in messages:
            ref = str(m.get("ref", "")) if isinstance(m, dict) else ""
            problem = _problem(m) if isinstance(m, dict) else "NOT_AN_OBJECT"
            if problem is None and m["to"] in self.reject_to:
                code, retry = self.reject_to[m["to"]]
                results.append({"ref": ref, "status": "rejected", "code": code, "error": code.lower(), "retry": retry})
                continue
            if problem is not None:
                results.append({"ref": ref, "status": "rejected", "code": problem, "error": problem.lower()})
                continue
            gid = uuid.uuid4().hex
            results.append({"ref": ref, "status": "accepted", "id": gid})
            taken.append((ref, gid, m))
        with self._lock:
            self.batches += 1
            self.taken += len(taken)
            if self.record:
                for ref, gid, m in taken:
                    self.received[ref] += 1
                    self.messages[ref] = m
                    self.ids[ref] = gid
        if self.on_batch is not None:
            self.on_batch([m for _, _, m in taken])
        return 200, {"results": results}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real gateways allow
            # TCP_NODELAY, as a real gateway's web server has it: the stdlib writes headers and body apart, and
            # with Nagle's algorithm the body waits for the client's delayed ACK (40 ms a request).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != PATH:
                    self._reply(404, {"error": "no such endpoint"})
                elif self.headers.get("Authorization") != f"Bearer {gateway.key}":
                    self._reply(401, {"error": "invalid API key"})
                else:
                    try:
                        document = json.loads(body)
                    except ValueError:
                        self._reply(400, {"error": "not JSON"})
                        return
                    self._reply(*gateway._answer(document))

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


def _problem(m: dict[str, Any]) -> str | None:
    if not _TO.fullmatch(str(m.get("to", ""))):
        return "INVALID_NUMBER"
    if not _DLT_ID.fullmatch(str(m.get("dlt_template_id", ""))) or not _DLT_ID.fullmatch(
        str(m.get("dlt_entity_id", ""))
    ):
        return "DLT_ID_MISSING"
    if not re.fullmatch(r"[A-Z]{6}", str(m.get("sender", ""))):
        return "INVALID_HEADER"
    if not m.get("text") or not m.get("ref"):
        return "EMPTY"
    return None


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers the gateway puts on what it posts to us (receipts, inbound messages)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: gateway_signature(secret, stamp, body),
    }


def post_signed(url: str, secret: str, document: dict[str, Any]) -> requests.Response:
    body = json.dumps(document).encode()
    return requests.post(url, data=body, headers=signed_headers(secret, body), timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default="gateway-key")
    args = parser.parse_args()
    gateway = FakeSmsGateway(args.key, port=args.port, record=False)
    print(gateway.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        gateway.close()


if __name__ == "__main__":
    main()
