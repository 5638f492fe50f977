"""The bill calculator gives one itemised bill whether asked on the command line, as JSON or on the web form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from cis.db import make_engine
from cis.migrate import upgrade
from cis.web.calculator import rupees
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
    assert f'data-component="total">{rupees(round(from_cli["total"] * 100))}' in html


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


def test_the_page_groups_rupees_the_indian_way_and_names_the_rounding(client: FlaskClient) -> None:
    """Issue 12: the page showed '₹1727.00' and '₹-0.25'."""
    page = client.post("/calculator", data={"category": "LMV-1U", "load": "2", "units": "250", "days": "30"})

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-component="total">₹1,727.00<' in html
    assert 'data-component="rounding">−₹0.25<' in html
    assert "Rounded off to the whole rupee" in html
    assert "₹-" not in html
    assert "₹1727" not in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"units": "-5"}, "The units cannot be negative."),
        ({"units": "9" * 5000}, "The units can be at most 100,000,000."),
        ({"units": "2.5"}, "The units must be a whole number."),
        ({"load": "1e999999"}, "The sanctioned load must be a number of kW, e.g. 2 or 1.5."),
        ({"load": "9" * 5000}, "The sanctioned load can be at most 100,000 kW."),
        ({"load": "NaN"}, "The sanctioned load must be a number of kW, e.g. 2 or 1.5."),
        ({"days": "-1"}, "The number of days must be at least 1."),
        ({"days": "9" * 40}, "The number of days can be at most 366."),
        ({"from": "0001-01-01", "to": "0001-02-01"}, "The 'from' date must be between 01 Jan 2000 and 31 Dec 2099."),
        ({"previous_reading": "1", "current_reading": "9" * 30}, "The current reading can be at most 999,999."),
    ],
)
def test_numbers_out_of_range_get_a_message_saying_the_range(
    client: FlaskClient, query: dict[str, str], message: str
) -> None:
    """Issue 12: `units=-5` said 'must be a whole number'; `load=1e999999` or 5,000 digits answered 500."""
    form = {"category": "LMV-1U", "load": "2", "units": "100", "days": "30", **query}
    if "previous_reading" in query:
        del form["units"]

    api = client.get("/api/calc", query_string=form)
    page = client.post("/calculator", data=form)

    assert api.status_code == 400
    assert api.json == {"error": "InvalidInput", "message": message}
    assert page.status_code == 400
    assert f'role="alert">{escape(message)}<' in page.get_data(as_text=True)


def test_the_command_line_refuses_an_absurd_load_with_a_message() -> None:
    done = _cli("--category", "LMV-1U", "--load", "1e999999", "--units", "100", "--days", "30")

    assert done.returncode == 2
    assert "The sanctioned load must be a number of kW" in done.stderr
    assert "Traceback" not in done.stderr
