"""The OpenAPI description (urjamitra/openapi.json, served at /api/openapi.json) against the app itself.

1. The description names every JSON API route and provider webhook of the app's URL map, and nothing else: a
   route added without its description fails here.
2. schemathesis generates requests for every operation (the description's examples, its boundary values, then
   random data), signs the webhooks' as Twilio, the SMS gateway and the USSD gateway do (so the requests reach
   the handlers), sends them in-process to the WSGI app on PostgreSQL and on SQLite, and checks each answer:
   never a 5xx, a status, content type, headers and body the description allows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from cis.db import make_engine
from tests.conftest import own_postgres_database
from tests.edge_support import USSD_HEADERS, build_world, close_app, gateway_headers, make_app, twilio_headers
from urjamitra.edge import channel_of

SPEC = json.loads((resources.files("urjamitra") / "openapi.json").read_text())
schema = schemathesis.openapi.from_dict(SPEC)
# One method an operation does not take is enough to check the 405 (the edge answers all alike).
schema.config.phases.coverage.unexpected_methods = {"put"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FORM = "application/x-www-form-urlencoded"
# CI runs a small set, the same cases every run (derandomized); URJA_FUZZ_EXAMPLES=500 explores further with
# fresh random data each run (hypothesis prints how to reproduce what it finds).
FUZZ_EXAMPLES = int(os.environ.get("URJA_FUZZ_EXAMPLES") or 10)
# Routes of the app that are web pages (HTML), or staff-only JSON: the route fuzzer walks those.
NOT_IN_THE_DESCRIPTION = ("/static/", "/desk/", "/sms/console", "/console/", "/sandbox/")
# /sandbox/razorpay/v1/...: the sandbox gateway's imitation of Razorpay's API (Razorpay documents it; the adapter's
# tests and tests/integration/test_pay_web.py hold it to that contract).


def _documented(rule: str) -> bool:
    """Whether a route of the URL map belongs in the description: the JSON API, public JSON and webhooks."""
    if rule.startswith(NOT_IN_THE_DESCRIPTION):
        return False
    return channel_of(rule) != "html" or rule.startswith("/prompts/")


def _as_openapi(rule: str) -> str:
    parts = rule.split("<")
    converted = parts[0]
    for part in parts[1:]:
        name, rest = part.split(">", 1)
        converted += "{" + name.split(":")[-1] + "}" + rest
    return converted


def test_the_description_names_every_json_route_and_webhook_of_the_app(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'routes.db'}")
    try:
        routes = {
            (_as_openapi(rule.rule), method.lower())
            for rule in app.url_map.iter_rules()
            if _documented(rule.rule)
            for method in (rule.methods or ()) - {"HEAD", "OPTIONS"}
        }
        served = app.test_client().get("/api/openapi.json")
    finally:
        close_app(app)
    described = {(path, method) for path, item in SPEC["paths"].items() for method in item}

    assert routes - described == set(), "routes of the app missing from urjamitra/openapi.json"
    assert described - routes == set(), "operations in urjamitra/openapi.json the app does not have"
    assert served.status_code == 200
    assert served.get_json() == SPEC


# --- fuzzing --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_fuzzed(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "openapi") as engine:
        yield engine


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def fuzzed_app(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The whole app, every provider's secret set, on a small world in a database of the module's own."""
    if request.param == "postgres":
        engine: Engine = request.getfixturevalue("pg_fuzzed")
        build_world(engine)
        url = engine.url.render_as_string(hide_password=False)
    else:
        path = tmp_path_factory.mktemp("openapi") / "openapi.db"
        path.write_bytes(sqlite_template.read_bytes())
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        build_world(engine)
        engine.dispose()
    app = make_app(url)
    yield app
    close_app(app)


def _pairs(values: Any) -> list[tuple[str, str]]:
    """Query or form values as generated (strings, numbers, lists, None) as a client would encode them."""
    if not isinstance(values, dict):
        return []
    pairs = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                pairs.append((str(key), item if isinstance(item, str) else json.dumps(item)))
    return pairs


def send_signed(case: Any, app: Flask) -> TestResponse:
    """Send the generated request to the app as its caller would, with a valid signature or secret."""
    sent = case.as_transport_kwargs()
    path, method = sent["url"], sent["method"]
    query = urlencode(_pairs(sent.get("params")))
    headers = {k: str(v) for k, v in (sent.get("headers") or {}).items() if k.lower() != "content-length"}
    body: bytes | None = None
    if "json" in sent:
        body = json.dumps(sent["json"]).encode()
        headers["Content-Type"] = "application/json"
    elif "data" in sent:
        data = sent["data"]
        if isinstance(data, dict):
            body = urlencode(_pairs(data)).encode()
            headers["Content-Type"] = FORM
        else:
            body = data.encode() if isinstance(data, str) else bytes(data)
    channel = channel_of(path)
    if channel in ("voice", "voice_callback", "twilio_sms"):
        form: MultiDict[str, str] = MultiDict()
        if headers.get("Content-Type") == FORM:  # the fields as the app will read them
            form = MultiDict(parse_qsl((body or b"").decode("utf-8", "replace"), keep_blank_values=True))
        headers.update(twilio_headers(path, form, raw_query=query))
    elif path.startswith("/sms/gateway/"):
        headers.update({k: v for k, v in gateway_headers(body or b"").items() if k != "Content-Type"})
    elif channel in ("ussd", "ussd_callback"):
        headers.update(USSD_HEADERS)
    return app.test_client().open(path, method=method, query_string=query, data=body, headers=headers)


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize="URJA_FUZZ_EXAMPLES" not in os.environ,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_described_and_never_with_a_server_error(case: Any, fuzzed_app: Flask) -> None:
    response = send_signed(case, fuzzed_app)

    case.validate_response(response, checks=CHECKS)
