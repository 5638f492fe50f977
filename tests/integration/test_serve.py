"""`urjamitra serve`, the production web server (gunicorn), run as an operator runs it: a process on a port."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from cis.db import make_engine
from cis.migrate import upgrade
from cis.seed import seed

URJAMITRA = [sys.executable, "-m", "urjamitra.cli"]


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with a small seeded discom, copied for each test."""
    path = tmp_path_factory.mktemp("serve") / "seeded.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed(engine, 200, seed=5)
    engine.dispose()
    return path


@pytest.fixture
def database(seeded_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "urjamitra.db"
    shutil.copy(seeded_template, path)
    return path


def _env(database: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("URJA_")}
    env.update({"URJA_DATABASE_URL": f"sqlite:///{database}", "URJA_WEB_BIND": "127.0.0.1:0", **extra})
    return env


class Server:
    """`urjamitra serve` in a process of its own; what it prints on stdout (the access log) is collected."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.errors = cwd / "serve.err"
        with self.errors.open("w") as err:
            self.process = subprocess.Popen(
                [*URJAMITRA, "serve"], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err, text=True
            )
        self.lines: list[str] = []
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()
        ready = self.wait_for(lambda line: line.startswith("serving on "), 60)
        self.url = ready.split()[2].rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, wanted: Callable[[str], bool], seconds: float = 20) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if wanted(line):
                    return line
            if self.process.poll() is not None and not any(wanted(line) for line in self.lines):
                break
            time.sleep(0.05)
        raise AssertionError(
            f"not printed in {seconds} s; stdout: {self.lines[-20:]}\nstderr: {self.errors.read_text()[-3000:]}"
        )

    def workers(self) -> set[int]:
        """The worker processes of the master, from /proc."""
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.add(int(entry.name))
        return found

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._collector.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return int(self.process.returncode)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def _start(env: dict[str, str]) -> Server:
        server = Server(env, tmp_path)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _post_json(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _an_account(database: Path) -> str:
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        number = conn.execute(text("SELECT account_no FROM account ORDER BY id LIMIT 1")).scalar_one()
    engine.dispose()
    return str(number)


def test_serve_answers_the_public_pages_and_its_access_log_masks_consumers_numbers(
    database: Path, start: Callable[..., Server], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in _env(database, HOME=str(home)).items() if k != "XDG_RUNTIME_DIR"}
    server = start(env)
    account = _an_account(database)
    for path in ("/", "/calculator", "/outages", "/complaints/status", "/reliability"):
        status, page = _get(server.url + path)
        assert status == 200, (path, page[:300])
        assert "</html>" in page
    status, body = _get(f"{server.url}/api/accounts/{account}")
    assert status == 200
    assert json.loads(body)["account"]["account_no"] == account
    _get(f"{server.url}/sms/console?to=%2B919876543210", headers={"Referer": f"{server.url}/x/{account}"})

    line = server.wait_for(lambda line: '"GET /api/accounts/' in line)
    assert f"/api/accounts/******{account[-4:]} HTTP/1.1" in line
    assert " 200 " in line
    console = server.wait_for(lambda line: '"GET /sms/console?' in line)
    assert "%2B********3210" in console
    assert f"/x/******{account[-4:]}" in console  # the referer
    printed = "\n".join(server.lines)
    assert account not in printed
    assert "919876543210" not in printed
    assert server.stop() == 0
    # gunicorn 25+ would open a control socket in ~/.gunicorn, shared by every gunicorn of the user: none here.
    assert not (home / ".gunicorn").exists()
    assert "Control socket" not in server.errors.read_text()


def test_serve_refuses_a_database_whose_schema_is_not_at_head(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    done = subprocess.run(
        [*URJAMITRA, "serve"], cwd=tmp_path, env=_env(empty), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "has no schema: run `urjamitra db upgrade` first" in done.stderr

    old = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{old}")
    upgrade(engine, "0004")
    engine.dispose()
    done = subprocess.run(
        [*URJAMITRA, "serve"], cwd=tmp_path, env=_env(old), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "is at schema 0004, this code needs" in done.stderr
    assert "run `urjamitra db upgrade` first" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_on_a_port_in_use_says_so_plainly(database: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*URJAMITRA, "serve"],
            cwd=tmp_path,
            env=_env(database, URJA_WEB_BIND=f"127.0.0.1:{port}"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_term_lets_a_request_in_flight_finish_then_stops(database: Path, start: Callable[..., Server]) -> None:
    server = start(_env(database))
    body = json.dumps(
        {"category": "dangerous_line", "mobile": "98111 22233", "text": "Sparking wire on the pole by the temple"}
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as client:
        client.sendall(
            b"POST /api/complaints HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(1.0)  # the request is with a worker, which waits for the rest of its body
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.process.poll() is None, "the server did not wait for the request in flight"
        client.sendall(body[10:])
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201"), answer[:300]
    assert json.loads(payload)["number"]
    assert server.process.wait(timeout=40) == 0
    assert "Shutting down: Master" in server.errors.read_text()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()


def test_hup_reads_the_settings_file_again_and_replaces_the_workers_gracefully(
    database: Path, start: Callable[..., Server], tmp_path: Path
) -> None:
    settings_file = tmp_path / "env"
    settings_file.write_text("URJA_MAX_BODY_BYTES=1048576\n")
    server = start(_env(database, URJA_ENV_FILE=str(settings_file)))
    big = json.dumps({"category": "dangerous_line", "text": "x" * 3000}).encode()
    status, _ = _post_json(f"{server.url}/api/complaints", big)
    assert status == 400  # read, and refused for what it says (the text is too long)
    old_workers = server.workers()
    assert len(old_workers) == 2

    settings_file.write_text("URJA_MAX_BODY_BYTES=2048\n")
    server.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = server.workers()
        if len(now) == 2 and not now & old_workers:
            break
        time.sleep(0.2)
    assert len(server.workers()) == 2
    assert not server.workers() & old_workers

    status, answer = _post_json(f"{server.url}/api/complaints", big)
    assert status == 413
    assert "2 KB" in answer
    assert _get(server.url + "/")[0] == 200
    assert server.process.poll() is None

    settings_file.write_text("URJA_MAX_BODY_BYTES=not a number\n")  # a broken file keeps the running settings
    server.process.send_signal(signal.SIGHUP)
    time.sleep(3)
    assert server.process.poll() is None
    assert _post_json(f"{server.url}/api/complaints", big)[0] == 413
    assert "settings not reloaded" in server.errors.read_text()
    assert server.stop() == 0
