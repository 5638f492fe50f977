"""`urjamitra sms --from MOBILE TEXT`: an inbound SMS simulated from the terminal, answered as the webhooks will."""

from __future__ import annotations

from pathlib import Path

import pytest

from cis.db import make_engine, make_session_factory
from cis.migrate import upgrade
from tests.ivr_support import build_world
from urjamitra.cli import main
from urjamitra.settings import Settings


def test_bill_and_garbage_from_the_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as s:
        world = build_world(s)
        s.commit()
    engine.dispose()
    settings = Settings(database_url=url)

    assert main(["sms", "--from", world.single_mobile, "bill"], settings) == 0
    out = capsys.readouterr()
    assert f"A/c {world.single}" in out.out
    assert "Rs " in out.out
    assert "(reply.bill, 1 SMS segment)" in out.err

    assert main(["sms", "--from", world.single_mobile, "'; DROP TABLE account;--"], settings) == 0
    assert "(reply.help, 1 SMS segment)" in capsys.readouterr().err
