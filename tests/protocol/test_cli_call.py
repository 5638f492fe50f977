"""`urjamitra call`: one outbound alert call through the configured dialer, as the outage desk will place them."""

from __future__ import annotations

import pytest

from ivr.outbound import decode_params
from tests.protocol.fake_ami import FakeAmi
from urjamitra.cli import main
from urjamitra.settings import Settings


def test_an_alert_call_is_originated_over_ami_into_the_ivr(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeAmi() as ami:
        settings = Settings(ami_url=ami.url, ami_trunk="carrier", ivr_number="+911800180000")
        assert (
            main(["call", "--to", "09876543210", "--say", "outage.breakdown", "outage.restore_unknown"], settings) == 0
        )
        originate = ami.wait_for_originates(1)[0]
    assert originate["Channel"] == "PJSIP/919876543210@carrier"
    assert originate["Context"] == "urjamitra-out"
    variables = dict(v.split("=", 1) for v in originate["Variable"])
    assert variables["URJA_FLOW"] == "alert"
    assert decode_params(variables["URJA_PARAMS"]) == {
        "items": [{"say": "outage.breakdown"}, {"say": "outage.restore_unknown"}],
        "to": "+919876543210",
    }
    assert "queued" in capsys.readouterr().out


def test_without_asterisk_or_twilio_the_console_dialer_prints_what_the_call_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["call", "--to", "9876543210"], Settings()) == 0
    printed = capsys.readouterr().out
    assert "+91*******210" in printed  # the number masked
    assert "फीडर पर खराबी के कारण बिजली आपूर्ति बाधित है" in printed
    assert "completed" in printed


def test_an_unknown_prompt_is_refused_before_dialing(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeAmi() as ami:
        assert main(["call", "--to", "9876543210", "--say", "no.such.prompt"], Settings(ami_url=ami.url)) == 2
        assert ami.originates() == []
    assert "no.such.prompt" in capsys.readouterr().err
