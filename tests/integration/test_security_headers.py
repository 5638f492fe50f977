"""Issue 12, security headers: every response tells the browser to run no inline script, never to frame the site,
not to guess content types and not to leak our URLs (they carry account numbers); HSTS when served over https;
and the server `urjamitra up` runs does not announce itself."""

from __future__ import annotations

import re
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from tests.web_support import PUBLIC, TWILIO_TOKEN, USSD_SECRET, Site, build_site, running
from urjamitra.cli import _bind

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("headers"))


@pytest.fixture
def client(site: Site) -> Iterator[FlaskClient]:
    with running(site.app()) as c:
        yield c


def _every_kind_of_response(site: Site, client: FlaskClient) -> dict[str, object]:
    voice = {"CallSid": "CA" + "1" * 32, "From": site.world.single_mobile, "To": "+911800180000"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}/voice/incoming", voice)
    return {
        "landing page": client.get("/"),
        "API": client.get(f"/api/accounts/{site.world.single}"),
        "API error": client.get("/api/accounts/123"),
        "public page": client.get("/outages"),
        "sign-in form": client.get("/login"),
        "redirect to sign in": client.get("/admin/system"),
        "not found": client.get("/no/such/page"),
        "stylesheet": client.get("/static/site/site.css"),
        "TwiML": client.post("/voice/incoming", data=voice, headers={"X-Twilio-Signature": signature}),
        "USSD": client.post(
            "/ussd",
            data={"sessionId": "hdr-1", "serviceCode": "*1912#", "phoneNumber": "+919999900001", "text": ""},
            headers={"X-USSD-Secret": USSD_SECRET},
        ),
        "health": client.get("/healthz"),
    }


def test_every_response_carries_the_security_headers(site: Site, client: FlaskClient) -> None:
    responses = _every_kind_of_response(site, client)
    for response in responses.values():
        response.close()  # type: ignore[attr-defined]  # a static file is streamed from an open file
    for what, response in responses.items():
        headers = response.headers  # type: ignore[attr-defined]
        policy = headers.get("Content-Security-Policy", "")
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
        assert directives.get("script-src") == "'self'", what
        assert directives.get("frame-ancestors") == "'none'", what
        assert directives.get("object-src") == "'none'", what
        assert "unsafe-inline" not in policy, what
        assert headers.get("X-Content-Type-Options") == "nosniff", what
        assert headers.get("Referrer-Policy") == "same-origin", what
        assert headers.get("X-Frame-Options") == "DENY", what
        # The site's public URL is https: browsers are to come back over https only.
        assert headers.get("Strict-Transport-Security") == "max-age=31536000; includeSubDomains", what


def test_no_hsts_when_the_site_is_served_over_plain_http(site: Site) -> None:
    with running(site.app(public_url="http://127.0.0.1:8080")) as client:
        response = client.get("/")

    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_page_is_served_with_its_styles_and_no_inline_script(site: Site, client: FlaskClient) -> None:
    """A page that worked only with inline styles or script would break under the policy: none has any, and
    the stylesheets each page links are served."""
    templates = [
        p
        for p in ROOT.glob("*/**/*.html")
        if ".venv" not in p.parts and "tests" not in p.parts and "bench" not in p.parts
    ]
    assert len(templates) > 15
    for template in templates:
        text = template.read_text(encoding="utf-8")
        assert "<style" not in text, template
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert not re.search(r"\sstyle\s*=", text), template
        assert "javascript:" not in text, template
    pages = [
        client.get(path).get_data(as_text=True) for path in ("/", "/outages", "/reliability", "/calculator", "/login")
    ]
    for page in pages:
        for sheet in re.findall(r'<link rel="stylesheet" href="([^"]+)">', page):
            with client.get(sheet) as response:
                assert response.status_code == 200, sheet
                assert response.mimetype == "text/css", sheet


def test_the_server_up_runs_does_not_announce_werkzeug(site: Site) -> None:
    settings = replace(site.settings, web_bind="127.0.0.1:0")  # no Redis: counts stay in this process
    server = _bind(settings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/", timeout=10) as response:
            headers = response.headers
            status = response.status
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        server.app.extensions["urja.engine"].dispose()  # type: ignore[attr-defined]
        server.app.extensions["urja.celery"].close()  # type: ignore[attr-defined]

    assert status == 200
    assert headers.get("Server") is None
    assert headers.get("Date")
    assert "Werkzeug" not in str(headers)
    assert "Python" not in str(headers)
