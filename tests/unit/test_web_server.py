"""`urjamitra serve`'s settings and access-log values, without starting a server (tests/integration/test_serve.py
starts one)."""

from __future__ import annotations

import pytest

from urjamitra.gunicorn_app import ACCESS_LOG_FORMAT, MaskedAtoms
from urjamitra.settings import Settings, SettingsError


def test_the_web_server_has_defaults_for_two_cores_and_reads_its_variables() -> None:
    defaults = Settings.from_env({})
    tuned = Settings.from_env(
        {
            "URJA_WEB_WORKERS": "4",
            "URJA_WEB_THREADS": "16",
            "URJA_WEB_ACCESS_LOG": "/var/log/urjamitra/access.log",
            "URJA_WEB_GRACEFUL_TIMEOUT": "60",
        }
    )

    assert (defaults.web_workers, defaults.web_threads, defaults.web_access_log) == (2, 4, "-")
    assert defaults.web_graceful_timeout == 30
    assert (tuned.web_workers, tuned.web_threads, tuned.web_graceful_timeout) == (4, 16, 60)
    assert tuned.web_access_log == "/var/log/urjamitra/access.log"
    assert Settings.from_env({"URJA_WEB_ACCESS_LOG": "off"}).web_access_log == "off"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("URJA_WEB_WORKERS", "0"),
        ("URJA_WEB_WORKERS", "two"),
        ("URJA_WEB_THREADS", "1000"),
        ("URJA_WEB_GRACEFUL_TIMEOUT", "-5"),
        ("URJA_WEB_ACCESS_LOG", "access\n.log"),
    ],
)
def test_web_server_settings_that_cannot_work_are_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_the_access_log_masks_numbers_and_escapes_control_characters_in_what_the_client_sent() -> None:
    atoms = MaskedAtoms(
        {
            "h": "10.0.0.7",
            "t": "[07/Dec/2026:10:00:00 +0530]",
            "r": "GET /api/accounts/1000007920?mobile=%2B919876543210 HTTP/1.1",
            "s": "200",
            "b": "512",
            "M": 12,
            "f": "https://urja.example.in/portal/bills/1000007920",
            "a": "curl/8\r\nX-Forged: 1",
        }
    )

    line = ACCESS_LOG_FORMAT % atoms

    assert "/api/accounts/******7920?mobile=%2B********3210 HTTP/1.1" in line
    assert "/portal/bills/******7920" in line
    assert "curl/8\\r\\nX-Forged: 1" in line
    assert "\n" not in line
    assert " 12ms " in line
    assert atoms["{x-unknown}i"] == "-"
