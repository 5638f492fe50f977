"""Every route of the app's URL map that the OpenAPI description does not cover (the web pages, the staff's JSON)
gets generated query strings and forms, anonymously and signed in with each staff role, on PostgreSQL and
SQLite: never a 5xx.

Driven by the code: the routes come from Flask's URL map and the field names from the forms the app's own pages
render (learned by a first walk of every page with each identity), so a route or a field added later is fuzzed
without a change here. Values mix the pages' own (ids, options), the world's ids and hostile text: NUL, control
characters, 30-digit and 5,000-digit numbers, `1e999999`, year 1 and 9999, very long strings.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from cis.db import make_engine
from cis.models.staff import ROLES
from tests.conftest import own_postgres_database
from tests.edge_support import World, build_world, close_app, form_token, make_app, sign_in

SPEC_PATHS = set(json.loads((resources.files("urjamitra") / "openapi.json").read_text())["paths"])
IDENTITIES = ("anonymous", *ROLES)
FUZZ_ADDRESS = "198.51.100.23"  # the fuzzer's own address: its failed sign-ins lock nobody else out
EXAMPLES = int(os.environ.get("URJA_FUZZ_EXAMPLES") or 3)
HOSTILE = (
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "9" * 30,
    "9" * 5000,
    "1e999999",
    "NaN",
    "0001-01-01",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2026-13-45T25:61",
    "a\x00b",
    "\x07\x1b[31m",
    "x" * 10_000,
    "١٢٣",
    "<script>alert(1)</script>",
    "'; DROP TABLE account; --",
    "//evil.example/",
)


def _openapi(rule: str) -> str:
    parts = rule.split("<")
    out = parts[0]
    for part in parts[1:]:
        name, rest = part.split(">", 1)
        out += "{" + name.split(":")[-1] + "}" + rest
    return out


def _walked_rules() -> list[tuple[str, str]]:
    """(rule, method) of every route the OpenAPI description leaves out, from the app's URL map."""
    app = make_app("sqlite:///:memory:")
    try:
        found = {
            (rule.rule, method)
            for rule in app.url_map.iter_rules()
            if _openapi(rule.rule) not in SPEC_PATHS
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
        }
    finally:
        close_app(app)
    return sorted(found)


RULES = _walked_rules()


class _Forms(HTMLParser):
    """The forms of a page: (action, method) -> {field name: values seen (options, hidden and default values)}."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._current: dict[str, set[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            key = (urlsplit(a.get("action") or "").path, (a.get("method") or "get").upper())
            self._current = self.forms.setdefault(key, {})
        elif self._current is not None and tag in ("input", "textarea", "select", "button") and a.get("name"):
            values = self._current.setdefault(a["name"], set())
            if a.get("value"):
                values.add(a["value"])
            self._select = a["name"] if tag == "select" else None
        elif self._current is not None and tag == "option" and self._select and a.get("value"):
            self._current[self._select].add(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


@pytest.fixture(scope="module")
def pg_walked(postgres_url: str) -> Iterator[Engine]:
    with own_postgres_database(postgres_url, "routes") as engine:
        yield engine


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def site(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, World, dict[str, str | None], dict[str, Any], dict[str, str]]]:
    """(app, world, session cookie per identity, the forms each identity's pages show, each one's form token),
    per database."""
    if request.param == "postgres":
        engine: Engine = request.getfixturevalue("pg_walked")
        world = build_world(engine)
        url = engine.url.render_as_string(hide_password=False)
    else:
        path = tmp_path_factory.mktemp("routes") / "routes.db"
        path.write_bytes(sqlite_template.read_bytes())
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        world = build_world(engine)
        engine.dispose()
    app = make_app(url)
    cookies: dict[str, str | None] = {}
    forms: dict[str, dict[tuple[str, str], dict[str, set[str]]]] = {}
    seen: dict[tuple[Any, ...], str] = {}
    tokens: dict[str, str] = {}
    for identity in IDENTITIES:
        client = app.test_client()
        token = sign_in(client, world.staff[identity]) if identity != "anonymous" else form_token(client)
        cookie = client.get_cookie("session")
        parser = _Forms()
        statuses = []
        for rule, method in RULES:
            if method == "GET":
                page = client.get(_example_path(rule, world))
                statuses.append(page.status_code)
                if page.mimetype == "text/html":
                    parser.feed(page.get_data(as_text=True))
        forms[identity] = parser.forms
        # Roles the app treats alike (every page answers them the same, with the same forms) are fuzzed once.
        access = (*statuses, *sorted((k, *sorted(v)) for k, v in parser.forms.items()))
        if access not in seen:
            seen[access] = identity
            cookies[identity] = cookie.value if cookie is not None else None
            tokens[identity] = token
    yield app, world, cookies, forms, tokens
    close_app(app)


def _example_path(rule: str, world: World) -> str:
    """The rule with the world's ids in it (the event, the roster), so its page shows its forms."""
    ids = {"event_id": world.event_id, "roster_id": world.roster_id}
    return re.sub(r"<(?:int:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), rule)


def _fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: quote(values[m.group(1)], safe=""), rule)


def _arguments(rule: str) -> list[tuple[str, str]]:
    return [(m.group(2), m.group(1) or "string") for m in re.finditer(r"<(?:(\w+):)?(\w+)>", rule)]


def _client(app: Flask, cookie: str | None) -> FlaskClient:
    client = app.test_client()
    if cookie is not None:
        client.set_cookie("session", cookie)  # a fresh copy of the signed-in session: a /logout ends only this one
    return client


def _fields(forms: dict[tuple[str, str], dict[str, set[str]]], app: Flask, path: str, method: str) -> dict[str, set]:
    """The fields of the forms this identity's pages send to `path` with `method` (matched through the URL map)."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method=method)
    except Exception:
        return {}
    found: dict[str, set[str]] = {}
    for (action, form_method), fields in forms.items():
        if form_method != method or not action:
            continue
        try:
            if adapter.match(action, method=method)[0] != endpoint:
                continue
        except Exception:
            continue
        for name, seen in fields.items():
            found.setdefault(name, set()).update(seen)
    return found


def _value(seen: set[str], world: World) -> st.SearchStrategy[str]:
    known = sorted(seen | {str(world.event_id), str(world.roster_id), *(str(f) for f in world.feeder_ids)})
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.from_regex(r"\A20[0-9]{2}-[01][0-9]-[0-3][0-9](T[0-2][0-9]:[0-5][0-9])?\Z"),
    )


@pytest.mark.parametrize(("rule", "method"), RULES, ids=[f"{m} {r}" for r, m in RULES])
def test_no_route_answers_a_server_error_whatever_it_is_sent(
    site: tuple[Flask, World, dict[str, str | None], dict[str, Any], dict[str, str]], rule: str, method: str
) -> None:
    """Anonymously and as each role the app tells apart (roles it answers alike are tried as one of them)."""
    app, world, cookies, forms, tokens = site
    for identity in cookies:
        _fuzz(app, world, cookies, forms, tokens, rule, method, identity)


def _fuzz(
    app: Flask,
    world: World,
    cookies: dict[str, str | None],
    forms: dict[str, Any],
    tokens: dict[str, str],
    rule: str,
    method: str,
    identity: str,
) -> None:
    path_args = _arguments(rule)
    ids = [world.event_id, world.roster_id, world.division_id, *world.feeder_ids]

    def path_value(kind: str) -> st.SearchStrategy[str]:
        if kind == "int":
            return st.one_of(
                st.sampled_from([str(i) for i in ids]),
                st.sampled_from(["0", str(2**63 - 1), str(2**63), "9" * 30]),
                st.integers(0, 2**63 - 1).map(str),
            )
        return st.one_of(st.sampled_from(HOSTILE[:12]), st.text(min_size=1, max_size=20))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize="URJA_FUZZ_EXAMPLES" not in os.environ,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def probe(data: st.DataObject) -> None:
        path = _fill(rule, {name: data.draw(path_value(kind), label=name) for name, kind in path_args})
        fields = _fields(forms[identity], app, path if path.startswith("/") else "/", method)
        names = [*sorted(fields), "next", "to", "before", "month", "division", "x"]
        chosen = data.draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True), label="fields")
        values = {name: data.draw(_value(fields.get(name, set()), world), label=name) for name in chosen}
        client = _client(app, cookies[identity])
        if method != "GET" and data.draw(st.booleans(), label="with the form token"):
            values["csrf_token"] = tokens[identity]
        env = {"REMOTE_ADDR": FUZZ_ADDRESS}
        if method == "GET":
            response = client.get(path, query_string=values, environ_base=env)
        else:
            response = client.open(path, method=method, data=values, environ_base=env)
        assert response.status_code < 500, f"{method} {path} {values!r} as {identity}: {response.status_code}"

    probe()


def test_the_walk_reaches_the_desks_forms_when_signed_in(site: tuple[Flask, World, Any, Any, Any]) -> None:
    """The fuzzer learns real field names (a desk's pages show the breakdown form and the event's actions) and
    tries every identity the app tells apart: anonymous, the desk, the admin, and the other roles as one."""
    _, world, cookies, forms, _ = site
    assert {"anonymous", "outage_desk", "admin"} <= set(cookies)
    desk = forms["outage_desk"]
    actions = {action for action, _ in desk}

    assert {"cause", "feeder", "since", "csrf_token"} <= set(desk[("/desk/breakdown", "POST")])
    assert f"/desk/events/{world.event_id}/restore" in actions
    assert not any(action.startswith("/desk/") for action, _ in forms["anonymous"])
    assert ("/desk/division", "POST") in forms["admin"]
