"""The bill calculator gives one itemised bill whether asked on the command line, as JSON or on the web form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cis.db import make_engine
from cis.migrate import upgrade
from urjamitra.settings import Settings
from urjamitra.web import create_app

URJAMITRA = [sys.executable, "-m", "urjamitra.cli"]


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(Settings(database_url=url, secret_key="test"))
    return app.test_client()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("URJA_")}
    return subprocess.run([*URJAMITRA, "calc", *args], env=env, capture_output=True, text=True, timeout=120)


CASES = [
    ("LMV-1U", "2", ["--units", "250", "--days", "30"], {"units": "250", "days": "30"}),
    (
        "LMV-1R",
        "1",
        ["--readings", "4870", "5012", "--days", "31"],
        {"previous_reading": "4870", "current_reading": "5012", "days": "31"},
    ),
    (
        "LMV-2",
        "4",
        ["--units", "640", "--from", "2026-09-12", "--to", "2026-10-13"],
        {"units": "640", "from": "2026-09-12", "to": "2026-10-13"},
    ),
    ("LMV-5", "7.46", ["--units", "900", "--days", "30"], {"units": "900", "days": "30"}),
    ("LMV-1L", "1", ["--units", "0", "--days", "30"], {"units": "0", "days": "30"}),
]


@pytest.mark.parametrize(("category", "load", "cli_args", "form"), CASES)
def test_command_line_json_endpoint_and_web_form_agree(
    client: FlaskClient, category: str, load: str, cli_args: list[str], form: dict[str, str]
) -> None:
    done = _cli("--category", category, "--load", load, *cli_args, "--json")
    assert done.returncode == 0, done.stderr
    from_cli = json.loads(done.stdout)
    assert {"energy", "fixed", "duty", "total"} <= set(from_cli)
    assert from_cli["total"] == pytest.approx(sum(v for k, v in from_cli.items() if k != "total"))
    api = client.get("/api/calc", query_string={"category": category, "load": load, **form})
    assert api.status_code == 200, api.json
    assert api.json["rupees"] == from_cli
    page = client.post("/calculator", data={"category": category, "load": load, **form})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-component="total">₹{from_cli["total"]:.2f}' in html


def test_the_list_names_every_category() -> None:
    done = _cli("--list")
    assert done.returncode == 0
    codes = [line.split()[0] for line in done.stdout.splitlines()]
    assert {"LMV-1L", "LMV-1R", "LMV-1U", "LMV-2", "LMV-5", "HV-2"} <= set(codes)


@pytest.mark.parametrize(
    ("args", "form", "message"),
    [
        (
            ["--category", "LMV-1U", "--load", "2", "--readings", "5000", "4000", "--days", "30"],
            {"category": "LMV-1U", "load": "2", "previous_reading": "5000", "current_reading": "4000", "days": "30"},
            "reading",
        ),
        (
            ["--category", "LMV-9", "--load", "2", "--units", "100", "--days", "30"],
            {"category": "LMV-9", "load": "2", "units": "100", "days": "30"},
            "not a tariff category",
        ),
        (
            ["--category", "LMV-1U", "--load", "-2", "--units", "100", "--days", "30"],
            {"category": "LMV-1U", "load": "-2", "units": "100", "days": "30"},
            "more than 0 kW",
        ),
        (
            ["--category", "LMV-1U", "--load", "2", "--units", "100", "--from", "2026-10-13", "--to", "2026-09-12"],
            {"category": "LMV-1U", "load": "2", "units": "100", "from": "2026-10-13", "to": "2026-09-12"},
            "must come after",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_everywhere(
    client: FlaskClient, args: list[str], form: dict[str, str], message: str
) -> None:
    done = _cli(*args)
    assert done.returncode == 2
    assert message in done.stderr.lower() or message in done.stderr
    assert "Traceback" not in done.stderr
    api = client.get("/api/calc", query_string=form)
    assert api.status_code == 400
    assert message in api.json["message"].lower() or message in api.json["message"]
    page = client.post("/calculator", data=form)
    assert page.status_code == 400
    assert 'role="alert"' in page.get_data(as_text=True)


def test_the_form_takes_the_dates_when_given_even_with_the_default_days(client: FlaskClient) -> None:
    form = {"category": "LMV-1U", "load": "2", "units": "250", "days": "30", "from": "2026-09-12", "to": "2026-10-13"}
    page = client.post("/calculator", data=form)
    assert page.status_code == 200
    assert "over 31 days" in page.get_data(as_text=True)
