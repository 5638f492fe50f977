"""`urjamitra-agi` started as Asterisk starts it: in Asterisk's own directory and environment (none of our
settings), its stdin and stdout the AGI channel. It finds its settings in the settings file, never creates a
database, and never writes anything but AGI commands to stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from cis.db import make_engine, make_session_factory
from cis.migrate import upgrade
from cis.models import IvrCall
from ivr.agi import COMMAND_VERBS, parse_command
from tests.ivr_support import build_world
from tests.protocol.fake_asterisk import LISTEN, AsteriskCall, agi_env, converse_over_pipes

APOLOGY = ["ANSWER", 'STREAM FILE urjamitra/hi/common/sorry_error ""', "EXEC Queue 1912,,,,300"]


def asterisk_runs_the_script(
    home: Path, script: list[str], *, env: dict[str, str], callerid: str = "919876543210", default_env_file: Path
) -> tuple[AsteriskCall, str, str]:
    """Run urjamitra-agi in `home` with only `env` (what Asterisk passes its AGI scripts); (call, stdout, stderr)."""
    program = (
        "import sys; from urjamitra.cli import agi_main; "
        f"sys.argv = ['urjamitra-agi']; sys.exit(agi_main(default_env_file={str(default_env_file)!r}))"
    )
    asterisk_env = {"PATH": "/usr/bin:/bin", "AST_AGI_DIR": "/var/lib/asterisk/agi-bin", "AST_CONFIG_DIR": "/etc"}
    process = subprocess.Popen(
        [sys.executable, "-c", program],
        cwd=home,
        env={**asterisk_env, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    block = agi_env(request="urjamitra-agi", network=False, uniqueid="1767000000.42", callerid=callerid)
    try:
        call = converse_over_pipes(process.stdout, process.stdin, script, env=block)
    finally:
        rest, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    return call, rest, stderr


def only_agi_commands(call: AsteriskCall, rest: str) -> bool:
    """Everything the script wrote to stdout was an AGI command Asterisk knows."""
    return rest == "" and all(parse_command(c)[0] in COMMAND_VERBS for c in call.commands)


def test_without_settings_it_creates_no_database_apologises_and_says_where_the_settings_go(tmp_path: Path) -> None:
    home = tmp_path / "asterisk"
    home.mkdir()
    call, rest, stderr = asterisk_runs_the_script(home, [], env={}, default_env_file=tmp_path / "etc-urjamitra-env")
    assert call.commands == APOLOGY
    assert only_agi_commands(call, rest)
    assert list(home.iterdir()) == []  # no urjamitra.db in Asterisk's directory
    assert "URJA_DATABASE_URL is not set" in stderr
    assert str(tmp_path / "etc-urjamitra-env") in stderr
    assert "Traceback" not in stderr


def test_a_database_that_is_not_there_is_not_created(tmp_path: Path) -> None:
    settings_file = tmp_path / "env"
    missing = tmp_path / "data" / "urjamitra.db"
    settings_file.write_text(f"# written by the operator\nURJA_DATABASE_URL=sqlite:///{missing}\n")
    call, rest, stderr = asterisk_runs_the_script(
        tmp_path, [], env={"URJA_ENV_FILE": str(settings_file)}, default_env_file=tmp_path / "absent"
    )
    assert call.commands == APOLOGY
    assert only_agi_commands(call, rest)
    assert not missing.exists()
    assert f"the SQLite database {missing} does not exist" in stderr


def test_a_database_without_the_schema_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    make_engine(f"sqlite:///{empty}").dispose()
    empty.touch()
    settings_file = tmp_path / "env"
    settings_file.write_text(f'export URJA_DATABASE_URL="sqlite:///{empty}"\n')
    call, _, stderr = asterisk_runs_the_script(
        tmp_path, [], env={"URJA_ENV_FILE": str(settings_file)}, default_env_file=tmp_path / "absent"
    )
    assert call.commands == APOLOGY
    assert "has no schema: run `urjamitra db upgrade` first" in stderr


def test_with_its_settings_file_it_serves_the_call_and_logs_to_the_file_it_names(tmp_path: Path) -> None:
    database = tmp_path / "data" / "urjamitra.db"
    database.parent.mkdir()
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    with make_session_factory(engine)() as session:
        world = build_world(session)
        session.commit()
    log_file = tmp_path / "agi.log"
    settings_file = tmp_path / "env"
    settings_file.write_text(f"URJA_DATABASE_URL=sqlite:///{database}\nURJA_AGI_LOG={log_file}\nPATH=/nowhere\n")
    home = tmp_path / "asterisk"
    home.mkdir()
    call, rest, stderr = asterisk_runs_the_script(
        home,
        [LISTEN, LISTEN, LISTEN, "1"],
        env={"URJA_ENV_FILE": str(settings_file)},
        callerid=world.single_mobile.lstrip("+"),
        default_env_file=tmp_path / "absent",
    )
    assert call.commands[:2] == ["ANSWER", 'STREAM FILE urjamitra/hi/welcome/greeting "0123456789*#"']
    assert 'STREAM FILE urjamitra/hi/bill/amount_due "0123456789*#"' in call.commands
    assert only_agi_commands(call, rest)
    assert list(home.iterdir()) == []
    assert stderr == ""
    assert "ended" in log_file.read_text()
    with make_session_factory(engine)() as session:
        record = session.scalars(select(IvrCall)).one()
    engine.dispose()
    assert record.outcome == "bill+transfer"  # the bill, then silence three times: the agents
    assert os.environ.get("URJA_DATABASE_URL") is None  # nothing leaked into the test's own environment
