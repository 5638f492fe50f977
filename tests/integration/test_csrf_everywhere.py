"""Every form route of the app refuses a POST without this browser's form token: a table built from Flask's URL map.

A route added later is in the table without a change here. Each POST route the OpenAPI description leaves out (the
description covers the JSON API and the providers' webhooks, which prove themselves by signature or shared secret,
not by a browser's cookie) is posted without a token by a browser signed in as a consumer, as each staff member and
as nobody. None may act: the answer is the form-token refusal (400), a sign-in page, or a refusal of the identity
(403/404), never a success or a redirect onward; and with the right identity it is the form-token refusal itself,
so the check is not hidden behind another one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web_support import Site, build_site, give_portal_password, portal_sign_in, signed_in

SPEC_PATHS = set(json.loads((resources.files("urjamitra") / "openapi.json").read_text())["paths"])
# Routes whose POST changes nothing and belongs to no session: a form token would protect nothing.
STATELESS = {"/calculator": "computes a bill from the numbers posted; stores nothing, reads no session"}
# The sandbox gateway's imitation of Razorpay's API: JSON called by our adapter with HTTP Basic auth, never a form.
NOT_FORMS = ("/sandbox/razorpay/v1/",)
# Form routes found only by a random token (no "1" names one): their own tests post them without the form token
# and see the refusal (tests/integration/test_pay_web.py).
TOKEN_ROUTES = {"/p/<token>", "/sandbox/razorpay/pay/<link_id>"}
SIGN_IN_PAGES = ("/login", "/portal/login")
IDENTITIES = ("anonymous", "consumer", "admin", "desk.d1")


def _spec_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = build_site(tmp_path_factory.mktemp("csrf"))
    give_portal_password(site, site.world.single)
    return site


@pytest.fixture
def app(site: Site) -> Iterator[Flask]:
    # Rate limits counted apart for each test, and the OTP pages' shared count per address raised: posted by every
    # identity in turn, the later pages would otherwise meet the limit before their form-token check.
    app = site.app(limit_otp="1000 per hour")
    yield app
    app.extensions["urja.engine"].dispose()
    app.extensions["urja.celery"].close()


def _form_routes(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set())
        and _spec_path(rule.rule) not in SPEC_PATHS
        and rule.rule not in STATELESS
        and not rule.rule.startswith("/static")
        and not rule.rule.startswith(NOT_FORMS)
    )


def _url(rule: str, site: Site) -> str:
    """The rule with a value of the signed-in world's own for each variable (an id of a thing that exists)."""
    return re.sub(r"<(?:int:)?[^>]+>", "1", rule).replace("{number}", site.complaint)


def _client(app: Flask, site: Site, identity: str) -> FlaskClient:
    client = app.test_client()
    if identity == "consumer":
        portal_sign_in(client, site.world.single)
    elif identity != "anonymous":
        signed_in(client, identity)
    return client


def _refused_otherwise(status: int, location: str) -> bool:
    """Refused for who the browser is (or is not), or told to sign in: nothing was done."""
    to_sign_in = status in (302, 303) and location.split("?")[0].endswith(SIGN_IN_PAGES)
    return status in (403, 404, 405, 429) or to_sign_in


def test_the_table_holds_the_routes_it_is_about(app: Flask) -> None:
    routes = _form_routes(app)
    assert {"/login", "/logout", "/portal/login", "/portal/register", "/portal/logout", "/desk/breakdown"} <= set(
        routes
    )


def test_no_form_route_acts_on_a_post_without_the_form_token(app: Flask, site: Site) -> None:
    refused_by_token: dict[str, list[str]] = {}
    acted: list[str] = []
    restarted: set[str] = set()
    for identity in IDENTITIES:
        client = _client(app, site, identity)
        for rule in _form_routes(app):
            url = _url(rule, site)
            # A real form's fields, but no csrf_token: what another site's page can make a browser post.
            response = client.post(url, data={"account": site.world.single, "password": "x" * 10, "reason": "x"})
            status = response.status_code
            location = response.headers.get("Location", "")
            if status == 400 and "form" in response.get_data(as_text=True).lower():
                refused_by_token.setdefault(rule, []).append(identity)
            elif _refused_otherwise(status, location):
                pass
            elif status == 303 and location and rule.startswith(location.rstrip("/") + "/"):
                restarted.add(rule)  # a later step with no flow of this browser's goes back to the flow's start
            else:
                acted.append(f"{identity} POST {url}: {status} {location}")
    assert acted == [], "\n".join(acted)
    # A later step of a flow (an OTP, a new connection's form after its OTP) is reached only inside its flow; the
    # pages' own tests (test_portal_pages.py, test_request_pages.py) post it without the token from inside one.
    unchecked = [
        rule
        for rule in _form_routes(app)
        if rule not in refused_by_token and rule not in restarted and rule not in TOKEN_ROUTES
    ]
    assert unchecked == [], f"no identity reached the form-token check of {unchecked}"


def test_a_wrong_token_is_refused_like_a_missing_one(app: Flask, site: Site) -> None:
    client = _client(app, site, "consumer")
    response = client.post("/portal/logout", data={"csrf_token": "not-the-token"})
    assert response.status_code == 400
    assert client.get("/portal/", follow_redirects=False).status_code == 200  # still signed in: nothing happened


def test_the_stateless_exceptions_really_store_nothing(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/calculator", data={"category": "LMV-1U", "units": "250", "days": "30", "load": "2"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers or "session=" not in response.headers["Set-Cookie"]
