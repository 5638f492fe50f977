"""`urjamitra calls`: the MIS figures of a day's IVR calls, from the call records the dialog keeps."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cis.db import make_engine, make_session_factory
from cis.migrate import upgrade
from ivr.dialog import Dialog
from ivr.services import CisBackend
from tests.ivr_support import build_world
from urjamitra.cli import main
from urjamitra.settings import Settings


def test_a_days_calls_by_outcome(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions() as s:
        world = build_world(s)
        s.commit()
    at = dt.datetime(2026, 11, 21, 5, 30, tzinfo=dt.UTC)  # 11:00 in India
    dialog = Dialog(CisBackend(sessions, now=lambda: at))
    served, _ = dialog.start(channel="asterisk", call_ref="a1", caller=world.single_mobile)
    for keys in ("", "1"):
        dialog.resume(served, keys)
    dialog.finish(served, hung_up=True)
    gone, _ = dialog.start(channel="asterisk", call_ref="a2", caller="unknown")
    dialog.finish(gone, hung_up=True)
    engine.dispose()

    assert main(["calls", "--day", "2026-11-21"], Settings(database_url=url)) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["calls"] == 2
    assert figures["by_outcome"] == {"bill": 1, "abandoned": 1}
    assert figures["identified_by_caller_id"] == 1


def test_the_mis_counts_every_service_a_call_used_and_system_faults_apart_from_abandoned_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions() as s:
        world = build_world(s)
        s.commit()
    at = dt.datetime(2026, 11, 21, 5, 30, tzinfo=dt.UTC)
    dialog = Dialog(CisBackend(sessions, now=lambda: at))
    # Bill, back to the menu, a meter complaint, back, then the agent.
    busy, _ = dialog.start(channel="asterisk", call_ref="b1", caller=world.single_mobile)
    for keys in ("", "1", "8", "3", "3", "8", "0"):
        turn = dialog.resume(busy, keys)
    assert turn.final
    dialog.finish(busy, hung_up=False)
    # Asterisk could not play the main menu: the transport apologised and transferred the caller.
    spoilt, _ = dialog.start(channel="asterisk", call_ref="b2", caller=world.single_mobile)
    dialog.finish(spoilt, hung_up=False, fault="missing prompt: urjamitra/hi/menu/main", transferred=True)
    # Asterisk stopped answering before anything was done.
    silent, _ = dialog.start(channel="asterisk", call_ref="b3", caller="unknown")
    dialog.finish(silent, hung_up=False, fault="AgiNoReply: Asterisk sent no reply to STREAM FILE within 70 s")
    gone, _ = dialog.start(channel="asterisk", call_ref="b4", caller="unknown")
    dialog.finish(gone, hung_up=True)
    engine.dispose()

    assert main(["calls", "--day", "2026-11-21"], Settings(database_url=url)) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["by_outcome"] == {
        "bill+complaint+transfer": 1,
        "transfer": 1,
        "system_fault": 1,
        "abandoned": 1,
    }
    assert figures["by_service"] == {"bill": 1, "complaint": 1, "transfer": 2}
    assert figures["system_faults"] == 2
    assert figures["faults_by_kind"] == {"missing prompt": 1, "AgiNoReply": 1}


def test_the_beat_task_closes_calls_whose_end_never_came(tmp_path: Path) -> None:
    from cis.calls import load_call, open_call
    from cis.db import UnitOfWork
    from urjamitra.tasks import celery_for

    url = f"sqlite:///{tmp_path / 'urjamitra.db'}"
    engine = make_engine(url)
    upgrade(engine)
    uow = UnitOfWork(make_session_factory(engine))
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    open_call(uow, channel="ussd", call_ref="ATUid_lost", caller="+919876543210", now=long_ago)
    open_call(uow, channel="ussd", call_ref="ATUid_live", caller="+919876543210")
    app = celery_for(Settings(database_url=url))  # no Redis: the task runs in-process
    assert app.tasks["ivr.close_stale_calls"].delay().get(timeout=10) == 1
    assert app.conf.beat_schedule["close-stale-calls"]["task"] == "ivr.close_stale_calls"
    lost, live = load_call(uow, "ussd", "ATUid_lost"), load_call(uow, "ussd", "ATUid_live")
    engine.dispose()
    assert lost is not None
    assert lost.ended
    assert live is not None
    assert not live.ended
