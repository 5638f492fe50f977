"""The README's first command, `urjamitra up`, and the other CLI commands, run as a user runs them."""

from __future__ import annotations

import http.cookiejar
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

from cis.accounts import find_accounts_by_mobile
from cis.db import UnitOfWork, make_engine, make_session_factory
from cis.migrate import head_revision

URJAMITRA = [sys.executable, "-m", "urjamitra.cli"]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

HEAD = head_revision()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("URJA_")}
    env.update(
        {
            "URJA_DATABASE_URL": f"sqlite:///{tmp_path / 'urjamitra.db'}",
            "URJA_DEMO_CONSUMERS": "300",
            "URJA_FASTAGI_BIND": "127.0.0.1:0",
            **extra,
        }
    )
    return env


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class Browser:
    """A cookie-keeping HTTP client posting forms with their CSRF token, as a browser does."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return str(response.read().decode())

    def post(self, path: str, form_page: str, fields: list[tuple[str, str]]) -> str:
        token = TOKEN.search(self.get(form_page))
        assert token is not None, f"no form token on {form_page}"
        body = urlencode([*fields, ("csrf_token", token.group(1))]).encode()
        with self.opener.open(self.base + path, data=body, timeout=60) as response:
            return str(response.read().decode())


def _stop(process: subprocess.Popen[str], *, sig: int = signal.SIGINT, seconds: float = 30) -> int:
    """Stop a server the test started, as a user would (Ctrl+C); killed if it does not stop in time, so that a
    failing test never leaves it running. Its exit code (negative: the signal that ended it)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()
    return int(process.returncode)


def _read_until(process: subprocess.Popen[str], marker: str, seconds: float) -> str:
    """What the process printed up to the line starting with `marker`, waiting at most `seconds`."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    printed: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        printed.append(line)
        if line.startswith(marker):
            break
    return "".join(printed)


def test_up_seeds_an_empty_database_serves_the_home_page_and_prints_where_to_look(tmp_path: Path) -> None:
    env = _env(tmp_path, URJA_WEB_BIND="127.0.0.1:0")  # port 0: up binds a free port and prints it
    errors = (tmp_path / "stderr.log").open("w")
    process = subprocess.Popen(
        [*URJAMITRA, "up"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
    )
    try:
        output = _read_until(process, "Press Ctrl+C", seconds=120)
        shown = f"stdout:\n{output}\nstderr:\n{(tmp_path / 'stderr.log').read_text()}"
        home_url = re.search(r"home page\s+http://127\.0\.0\.1:(\d+)/", output)
        assert home_url is not None, shown
        port = int(home_url.group(1))
        assert port > 0
        assert output.rstrip().endswith("Press Ctrl+C to stop."), shown
        status, home = _get(f"http://127.0.0.1:{port}/")
        assert status == 200, shown
        assert 'href="/outages"' in home  # the public landing page
        assert "Parts of the system" not in home
        assert re.search(r"system page\s+http://127\.0\.0\.1:\d+/admin/system", output), shown
        admin = Browser(f"http://127.0.0.1:{port}")
        system = admin.post("/login", "/login", [("username", "admin"), ("password", "demo1912")])
        assert "Parts of the system" in system  # the admin lands on the system page
        assert "Hindi IVR" in system
        assert "300</strong> accounts" in system
        status, health = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200, health
        assert json.loads(health)["schema"] == HEAD
        account_url = re.search(r"an account\s+(\S+)", output)
        assert account_url is not None, shown
        status, body = _get(account_url.group(1))
        assert status == 200, body
        assert "amount_due_paise" in json.loads(body)
        demo = re.search(r"demo accounts\s+(\d{10}) \(mobile (\+91\d{10})\)", output)
        assert demo is not None, shown
        account_no, mobile = demo.groups()
        engine = make_engine(env["URJA_DATABASE_URL"])
        found = find_accounts_by_mobile(UnitOfWork(make_session_factory(engine)), mobile)
        engine.dispose()
        assert account_no in [a.account_no for a in found]
        assert re.search(r"prompts \(espeak\) in \S+: \d+ built", output), shown  # the audio was rendered
        assert (tmp_path / "var" / "prompts" / "hi" / "menu" / "main.wav").exists()
        fastagi = re.search(r"IVR \(FastAGI\)\s+agi://127\.0\.0\.1:(\d+)/ivr", output)
        assert fastagi is not None, shown
        # The desk phone calls the IVR that `up` serves: a bill inquiry, then a complaint, in Hindi.
        phone = subprocess.run(
            [*URJAMITRA, "phone", "--caller", mobile],
            cwd=tmp_path,
            env={**env, "URJA_FASTAGI_BIND": f"127.0.0.1:{fastagi.group(1)}"},
            input="\n1\n8\n3\n1\nq\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert phone.returncode == 0, phone.stderr
        assert "no FastAGI server" not in phone.stderr
        assert "बिल की जानकारी के लिए 1" in phone.stdout
        assert "इस बिल में आपकी खपत" in phone.stdout
        assert "आपकी शिकायत दर्ज कर ली गई है। आपकी शिकायत संख्या है" in phone.stdout
        # The complaint's acknowledgement SMS: `up` drains the outbox through the console provider by itself.
        assert "/sms/console" in output, shown
        deadline = time.monotonic() + 30
        while True:
            body = admin.get(f"/sms/console.json?to={quote(mobile)}")
            sent = [m for m in json.loads(body)["messages"] if m["template"] == "complaint.ack"]
            if sent or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert sent, body
        assert sent[0]["text"].startswith("Dear consumer, complaint ")
        page = admin.get("/sms/console")
        assert "complaint.ack" in page
        status, _ = _get(f"http://127.0.0.1:{port}/sms/console")  # urllib follows the redirect to the login form
        assert status == 200
        assert _get(f"http://127.0.0.1:{port}/sms/console.json")[1].count("complaint.ack") == 0
        # USSD can be tried at once: up prints a demo secret in a curl line that works as printed.
        curl = re.search(r"try USSD\s+(curl .*)$", output, re.M)
        assert curl is not None, shown
        screen = subprocess.run(["bash", "-c", curl.group(1)], capture_output=True, text=True, timeout=30)
        assert screen.returncode == 0, screen.stderr
        assert screen.stdout.startswith("CON "), screen.stdout
        assert "1 " in screen.stdout  # the main menu's first choice
    finally:
        code = _stop(process)
        errors.close()
    assert code == 0, (tmp_path / "stderr.log").read_text()


def test_up_started_in_the_background_stops_on_ctrl_c(tmp_path: Path) -> None:
    """`urjamitra up &` in a script: the shell starts it with SIGINT ignored; Ctrl+C (SIGINT) must still stop it."""
    env = _env(tmp_path, URJA_WEB_BIND="127.0.0.1:0", URJA_DEMO_CONSUMERS="100")
    process = subprocess.Popen(
        [*URJAMITRA, "up"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # what a shell does to a background job
    )
    try:
        output = _read_until(process, "Press Ctrl+C", seconds=180)
        port = re.search(r"home page\s+http://127\.0\.0\.1:(\d+)/", output)
        assert port is not None, output
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    finally:
        _stop(process, sig=signal.SIGKILL, seconds=10)
    assert code == 0
    _assert_nobody_listens(int(port.group(1)))


def test_up_on_a_seeded_database_does_not_seed_again(tmp_path: Path) -> None:
    env = _env(tmp_path)
    first = subprocess.run(
        [*URJAMITRA, "up", "--no-serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    second = subprocess.run(
        [*URJAMITRA, "up", "--no-serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stderr
    assert "seeding a demo" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "seeding a demo" not in second.stdout


def test_seed_refuses_a_seeded_database_unless_reset(tmp_path: Path) -> None:
    env = _env(tmp_path)
    args = [*URJAMITRA, "seed", "--consumers", "200", "--as-of", "2026-11-22"]
    assert subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, timeout=300).returncode == 0
    again = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2
    assert "reset it first" in again.stderr
    reset = subprocess.run([*args, "--reset"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert reset.returncode == 0, reset.stderr
    assert "seeded 200 consumers" in reset.stdout


def test_db_upgrade_reports_the_schema_and_a_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [*URJAMITRA, "db", "upgrade"], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"schema empty -> {HEAD}" in done.stdout
    bad = subprocess.run(
        [*URJAMITRA, "db", "upgrade"],
        cwd=tmp_path,
        env=_env(tmp_path, URJA_WEB_BIND="localhost"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2
    assert "URJA_WEB_BIND must look like HOST:PORT" in bad.stderr


def test_up_on_a_busy_port_says_so_plainly(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*URJAMITRA, "up"],
            cwd=tmp_path,
            env=_env(tmp_path, URJA_WEB_BIND=f"127.0.0.1:{port}"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_fastagi_in_two_processes_serves_calls_and_stops_whole_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path, URJA_FASTAGI_BIND=f"127.0.0.1:{port}")
    up = [*URJAMITRA, "up", "--no-serve"]
    subprocess.run(up, cwd=tmp_path, env=env, capture_output=True, timeout=300, check=True)
    server = subprocess.Popen(
        [*URJAMITRA, "fastagi", "--processes", "2"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        for _ in range(4):
            phone = subprocess.run(
                [*URJAMITRA, "phone", "--caller", "+919999988888"],
                cwd=tmp_path,
                env=env,
                input="\nq\n",
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert "दस अंकों की खाता संख्या" in phone.stdout, phone.stdout + phone.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            printed = server.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            printed = ""
            _stop(server, sig=signal.SIGKILL)  # a test that fails must not leave its servers behind
    assert printed.count("FastAGI serving the IVR") == 2, printed
    _assert_nobody_listens(port)  # no worker is left holding the port


def _assert_nobody_listens(port: int) -> None:
    """Binding fails only while a socket listens on the port: SO_REUSEADDR lets the bind past the connections
    the server closed first, which linger in TIME_WAIT on Linux (a plain bind failed on them 1 run in 3)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def _sounds_dir(tmp_path: Path, *, leave_out: set[str], ext: str = "sln") -> Path:
    """Asterisk's sounds directory holding every catalog prompt under urjamitra/<lang>/ but `leave_out`."""
    from ivr.agi import AgiConfig
    from prompts.catalog import catalog

    sounds = tmp_path / "asterisk-sounds"
    config = AgiConfig(sounds_prefix="urjamitra")
    for key in catalog():
        for lang in ("hi", "en"):
            sound = config.sound(lang, key)  # type: ignore[arg-type]
            if sound not in leave_out:
                path = sounds / f"{sound}.{ext}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"\0" * 3200)  # 0.2 s of 8 kHz signed linear
    return sounds


def test_fastagi_says_at_start_which_prompts_asterisk_would_not_find(tmp_path: Path) -> None:
    missing = {"urjamitra/hi/menu/main", "urjamitra/en/common/goodbye"}
    env = _env(tmp_path, URJA_ASTERISK_SOUNDS_DIR=str(_sounds_dir(tmp_path, leave_out=missing)))
    server = subprocess.Popen(
        [*URJAMITRA, "fastagi"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        output = _read_until(server, "FastAGI serving the IVR", seconds=60)
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert "FastAGI serving the IVR" in output  # it warns, and serves: a partial set still serves most callers
    warning = next(line for line in stderr.splitlines() if "FastAGI WARNING" in line)
    assert "2 of" in warning
    assert all(sound in warning for sound in missing)
    assert "urjamitra prompts build" in stderr


def test_fastagi_with_require_sounds_refuses_to_start_without_them(tmp_path: Path) -> None:
    env = _env(tmp_path, URJA_ASTERISK_SOUNDS_DIR=str(tmp_path / "nothing-here"))
    done = subprocess.run(
        [*URJAMITRA, "fastagi", "--require-sounds"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "no prompt sounds at all" in done.stderr
    assert "Traceback" not in done.stderr


def test_fastagi_is_quiet_when_every_prompt_is_there(tmp_path: Path) -> None:
    env = _env(tmp_path, URJA_ASTERISK_SOUNDS_DIR=str(_sounds_dir(tmp_path, leave_out=set(), ext="wav")))
    server = subprocess.Popen(
        [*URJAMITRA, "fastagi"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _read_until(server, "FastAGI serving the IVR", seconds=60)
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert "WARNING" not in stderr
    assert "prompt sounds found under" in stderr
