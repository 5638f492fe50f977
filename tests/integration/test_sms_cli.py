"""`urjamitra sms --from MOBILE TEXT`: an inbound SMS simulated from the terminal, answered as the webhooks will."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cis.db import make_engine, make_session_factory
from cis.migrate import upgrade
from cis.phones import mask_mobile
from tests.ivr_support import build_world
from urjamitra.cli import main
from urjamitra.settings import Settings


@pytest.fixture
def world_settings(tmp_path: Path) -> tuple[Settings, str, str]:
    url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as s:
        world = build_world(s)
        s.commit()
    engine.dispose()
    return Settings(database_url=url, public_url="https://urjamitra.example.in"), world.single_mobile, world.single


def test_bill_and_garbage_from_the_terminal(
    world_settings: tuple[Settings, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mobile, account = world_settings
    assert main(["sms", "--from", mobile, "bill"], settings) == 0
    out = capsys.readouterr()
    assert f"A/c {account}" in out.out
    assert "Rs " in out.out
    assert "(reply.bill, 1 SMS segment)" in out.err

    assert main(["sms", "--from", mobile, "'; DROP TABLE account;--"], settings) == 0
    assert "(reply.help, 1 SMS segment)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("BILL", "reply.bill"),
        ("PAY", "payment.link"),
        ("COMP NOSUPPLY", "complaint.ack"),
        ("STATUS 99999999", "reply.unknown_complaint"),
        ("OUTAGE", "reply.no_outage"),
        ("REG 7100000001", "reply.registered"),
        ("CALC LMV-1U 2 250", "reply.calc"),
        ("READ 12150", "reply.reading"),
        ("STOP", "reply.opted_out"),
        ("START", "reply.opted_in"),
        ("HELP", "reply.help"),
    ],
)
def test_every_command_from_the_terminal(
    world_settings: tuple[Settings, str, str], capsys: pytest.CaptureFixture[str], text: str, template: str
) -> None:
    settings, mobile, _ = world_settings
    assert main(["sms", "--from", mobile, text], settings) == 0
    assert f"({template}, 1 SMS segment)" in capsys.readouterr().err


def test_outbox_drain_sends_what_the_commands_queued_through_the_console_provider(
    world_settings: tuple[Settings, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, mobile, account = world_settings
    main(["sms", "--from", mobile, "COMP VOLTAGE lights flicker"], settings)
    capsys.readouterr()
    assert main(["outbox", "status"], settings) == 0
    assert "complaint.ack" in capsys.readouterr().out
    assert main(["outbox", "drain"], settings) == 0
    out = capsys.readouterr().out
    assert f"[sms URJAMT -> {mask_mobile(mobile)}] Dear consumer, complaint " in out  # a log: the number masked
    assert f"for A/c {account} is registered" in out
    assert "delivered 1" in out
    main(["outbox", "status"], settings)
    assert "delivered" in capsys.readouterr().out


@pytest.mark.parametrize("portal", [None, "https://wss.kesco.in/pay"])
def test_the_pay_sms_links_to_the_portal_url_or_else_the_public_landing_page(
    world_settings: tuple[Settings, str, str], capsys: pytest.CaptureFixture[str], portal: str | None
) -> None:
    import dataclasses

    settings, mobile, account = world_settings
    settings = dataclasses.replace(settings, portal_url=portal)
    main(["sms", "--from", mobile, "PAY"], settings)
    capsys.readouterr()
    assert main(["outbox", "drain"], settings) == 0
    out = capsys.readouterr().out
    link = portal or "https://urjamitra.example.in"  # the public URL: its / is the consumers' landing page
    assert f"[sms URJAMT -> +91*******{mobile[-3:]}] A/c {account}: pay Rs " in out  # the log masks the mobile
    assert re.search(rf" at {re.escape(link)}/p/[a-z2-9]{{10}} by UPI, card or net banking, till ", out)
    assert "delivered 1" in out
