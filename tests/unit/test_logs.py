"""The project's logs never carry a consumer's mobile or account number in full, nor a line an outsider wrote."""

from __future__ import annotations

import importlib
import io
import logging
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from cis.logs import PACKAGES, clean
from ivr.logs import get_logger, mask_numbers


def test_mobiles_and_account_numbers_keep_only_their_last_four_digits() -> None:
    assert mask_numbers("No account 1000007920 is on record.") == "No account ******7920 is on record."
    assert mask_numbers("from +919876543210 and 09876543210") == "from *********3210 and *******3210"
    # Asterisk's uniqueids and amounts are not consumers' numbers.
    assert mask_numbers("call 127.0.0.1/1767000000.1 paid 172750") == "call 127.0.0.1/1767000000.1 paid 172750"


def test_a_failure_logged_with_its_traceback_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    log = get_logger("ivr.test_logs")
    with caplog.at_level(logging.ERROR, logger="ivr.test_logs"):
        try:
            raise LookupError("No account 1000007920 is on record.")
        except LookupError:
            log.exception("call from %s failed", "+919876543210")
    assert "1000007920" not in caplog.text
    assert "9876543210" not in caplog.text
    assert "******7920" in caplog.text


FORGED = "ATUid_1\n2026-12-07 03:00:00,000 1 ivr.ussd INFO payment of Rs 5000 received"


def _written(logger: logging.Logger, message: str, *args: object, exc: BaseException | None = None) -> str:
    """What a handler of `logger` writes for one record, formatted the way the CLI formats its log."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.error(message, *args, exc_info=exc)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return stream.getvalue()


def test_a_line_break_in_a_value_cannot_start_a_log_line_of_its_own() -> None:
    written = _written(get_logger("ivr.ussd"), "USSD session %s: handling failed", FORGED)

    assert written.count("\n") == 1
    assert "ATUid_1\\n2026-12-07 03:00:00,000 1 ivr.ussd INFO payment" in written


def test_a_megabyte_value_is_cut_to_two_hundred_characters_saying_how_long_it_was() -> None:
    written = _written(get_logger("sms.service"), "sms inbound %s could not be answered", "A" * 1_000_000)

    assert "A" * 200 + "...[1000000 chars]" in written
    assert "A" * 201 not in written
    assert len(written) < 400


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a\rb", "a\\rb"),
        ("tab\there", "tab\\there"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("nul\x00", "nul\\x00"),
        ("line\u2028sep", "line\\u2028sep"),
        ("\u202eevil", "\\u202eevil"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
        ("बिल की जानकारी", "बिल की जानकारी"),
    ],
    ids=["cr", "tab", "ansi", "nul", "line-separator", "bidi-override", "lone-surrogate", "hindi"],
)
def test_control_characters_are_shown_escaped_and_hindi_as_it_is(value: str, shown: str) -> None:
    assert clean(value) == shown
    written = _written(get_logger("outage.desk"), "cause %s", value)
    assert written.endswith(f"cause {shown}\n")


def test_formats_keep_working_and_numbers_stay_numbers() -> None:
    written = _written(get_logger("sms.dispatch"), "%d messages in %.1f s to %r", 12, 3.25, "+919876543210\n")

    assert written.endswith("12 messages in 3.2 s to '*********3210\\n'\n")


def test_a_line_break_in_an_exception_message_stays_in_its_line() -> None:
    try:
        raise ValueError(f"no account for session {FORGED}")
    except ValueError as exc:
        written = _written(get_logger("urjamitra.outages"), "sweep failed", exc=exc)

    lines = written.rstrip("\n").split("\n")
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: no account for session " + FORGED.replace("\n", "\\n")
    assert not any(line.startswith("2026-12-07 03:00:00,000 1") for line in lines)


def _project_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            # Alembic's env runs migrations when imported; the worker module builds a Celery app from the environment.
            if not info.name.startswith("cis.migrations") and info.name != "urjamitra.worker":
                names.append(info.name)
    return names


def test_every_logger_of_the_project_writes_values_safely() -> None:
    for name in _project_modules():
        importlib.import_module(name)
    loggers = [
        logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.split(".")[0] in PACKAGES and not name.startswith("ivr.test")
    ]
    assert {lg.name for lg in loggers} >= {
        "ivr.ussd",
        "sms.dispatch",
        "sms.webhooks",
        "outage.desk",
        "urjamitra.outages",
    }

    unsafe = [lg.name for lg in loggers if _written(lg, "value %s", FORGED + "x" * 1000).count("\n") != 1]

    assert unsafe == []


def test_the_clis_logging_set_up_cleans_every_librarys_records(tmp_path: Path) -> None:
    script = (
        "import logging; from urjamitra.cli import _configure_logging; _configure_logging(); "
        f"logging.getLogger('werkzeug').warning('GET %s', {FORGED!r} + '/1000007920')"
    )

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)

    assert done.returncode == 0
    assert done.stderr.count("\n") == 1
    assert "werkzeug WARNING GET ATUid_1\\n2026-12-07" in done.stderr
    assert "/******7920" in done.stderr
