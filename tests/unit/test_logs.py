"""The IVR's logs never carry a consumer's mobile or account number in full."""

from __future__ import annotations

import logging

import pytest

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
