"""`urjamitra serve`: the web app under gunicorn (gthread workers), the production web server.

The master process reads no request: it binds the port, starts URJA_WEB_WORKERS worker processes of
URJA_WEB_THREADS threads each, and replaces any that die. Each worker builds the Flask app itself (no preload),
so a worker started later runs the code and settings of that moment. Signals, as gunicorn defines them:
- TERM: graceful stop. The workers stop accepting, finish the requests in flight (at most
  URJA_WEB_GRACEFUL_TIMEOUT seconds), then exit; so does the master.
- HUP: graceful reload. The settings are read again (the environment the master started with, and the file
  URJA_ENV_FILE names: edit that file, then HUP), new workers start, the old ones finish their requests.
- INT (Ctrl+C) and QUIT: fast stop.
The access log (URJA_WEB_ACCESS_LOG) shows every request with consumers' mobiles and account numbers masked
as everywhere else (cis.logs), and gunicorn's own log is written through the same filter.

Without Redis there are no Celery workers: one web worker at a time (whichever holds a lock file) drains the
outbox as `urjamitra up` does (urjamitra.pump), so SMS still go out on the embedded defaults.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger, SafeAtoms

from cis.logs import clean, configure_logging, get_logger
from urjamitra.settings import Settings, SettingsError

# Apache's common log format, plus the time taken and where the client came from and what it is.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
WORKER_LOG_FORMAT = "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
PUMP_RETRY_S = 2.0


class MaskedAtoms(SafeAtoms):  # type: ignore[misc]
    """The access log's values, each written as cis.logs writes an outside value: numbers masked, control
    characters escaped, long values cut. Only the atoms the format names are cleaned (on lookup)."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return clean(value) if isinstance(value, str) else value


class AccessLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with masked access-log values and its own messages through cis.logs' filter."""

    atoms_wrapper_class = MaskedAtoms

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        get_logger("gunicorn.error")  # puts the filter on it (once)


def listening_urls(listeners: list[Any]) -> list[str]:
    """The addresses listened on, with the port the system chose when URJA_WEB_BIND asks for port 0."""
    urls = []
    for listener in listeners:
        name = listener.sock.getsockname()
        if isinstance(name, tuple):
            host, port = name[0], name[1]
            urls.append(f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}")
        else:
            urls.append(f"unix:{name}")
    return urls


class _PumpWhenLocked:
    """In a worker: wait for the lock file, then run the outbox pump until the worker exits. The lock goes with
    the process, so when the worker that pumps dies (or is replaced on HUP) another one takes over."""

    def __init__(self, settings: Settings, lock_path: str) -> None:
        self._settings = settings
        self._lock_path = lock_path
        self._stop = threading.Event()
        self._pump: Any = None
        self._thread = threading.Thread(target=self._run, name="outbox-pump-lock", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from urjamitra.pump import OutboxPump

        # Kept open for the process's life: closing it would release the lock.
        self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        while not self._stop.is_set():
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._stop.wait(PUMP_RETRY_S)
                continue
            except OSError:  # the lock file went (the master is ending): nothing to pump for
                return
            get_logger(__name__).info("this worker drains the outbox (no Redis)")
            self._pump = OutboxPump(self._settings)
            return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        if self._pump is not None:
            self._pump.stop()


class WebServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running `urjamitra.web.create_app(settings)`, configured from Settings only."""

    def __init__(
        self,
        settings: Settings,
        *,
        reread: Callable[[], Settings] | None = None,
        on_ready: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.settings = settings
        self._reread = reread
        self._on_ready = on_ready
        self._configured = False
        self._rundir = tempfile.mkdtemp(prefix="urja-serve-")
        self._pump: _PumpWhenLocked | None = None
        super().__init__(usage="urjamitra serve", prog="urjamitra serve")

    # --- configuration (the master: at start and on every HUP) ---------------------------------------------

    def load_config(self) -> None:
        if self._configured and self._reread is not None:
            try:
                self.settings = self._reread()
            except SettingsError as exc:  # a broken settings file must not take the running site down
                logging.getLogger("gunicorn.error").error("settings not reloaded, the old ones stay: %s", exc)
        self._configured = True
        settings = self.settings
        options: dict[str, Any] = {
            "bind": [settings.web_bind],
            "worker_class": "gthread",
            "workers": settings.web_workers,
            "threads": settings.web_threads,
            "graceful_timeout": settings.web_graceful_timeout,
            "accesslog": None if settings.web_access_log == "off" else settings.web_access_log,
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": "-",
            "logger_class": AccessLogger,
            "proc_name": "urjamitra-web",
            # X-Forwarded-* are believed by the app's ProxyFix alone, for URJA_TRUSTED_PROXIES hops: gunicorn
            # believing them too (from 127.0.0.1 by default) would let a local client choose its scheme.
            "forwarded_allow_ips": "",
            # gunicorn 25+ opens a control socket in ~/.gunicorn by default, shared by every gunicorn of the
            # user: none here (RECIPES §11); signals do what it would.
            "control_socket_disable": True,
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
            "on_exit": self._on_exit,
        }
        for name, value in options.items():
            if name in self.cfg.settings:  # control_socket_disable is unknown before gunicorn 25.1
                self.cfg.set(name, value)

    def load(self) -> Any:
        """The WSGI app, built in each worker (gunicorn calls this after the fork)."""
        from urjamitra.web import create_app

        return create_app(self.settings)

    # --- hooks ----------------------------------------------------------------------------------------------

    def _post_worker_init(self, worker: Any) -> None:
        # The app just built (modules, tables, statements, catalogs: some 200,000 objects) lives as long as the
        # worker. Frozen, the collector no longer walks it at each full collection, which held every thread of
        # the worker for ~100 ms (135 ms with the first pages' templates; 0 ms frozen).
        gc.freeze()
        configure_logging(fmt=WORKER_LOG_FORMAT)
        self._announce(worker)
        if not self.settings.redis_url:
            self._pump = _PumpWhenLocked(self.settings, os.path.join(self._rundir, "outbox-pump.lock"))

    def _announce(self, worker: Any) -> None:
        """The first worker to have its app tells `on_ready` (once, not again on HUP): only then does the site
        answer; before, connections wait in the listen queue."""
        if self._on_ready is None:
            return
        try:
            os.close(os.open(os.path.join(self._rundir, "ready"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return
        self._on_ready(listening_urls(worker.sockets))

    def _worker_exit(self, _server: Any, _worker: Any) -> None:
        if self._pump is not None:
            self._pump.stop()

    def _on_exit(self, _server: Any) -> None:
        shutil.rmtree(self._rundir, ignore_errors=True)


def serve(
    settings: Settings,
    *,
    reread: Callable[[], Settings] | None = None,
    on_ready: Callable[[list[str]], None] | None = None,
) -> int:
    """Run the web server until it is stopped (TERM, INT, QUIT); the exit status gunicorn ends with."""
    try:
        WebServer(settings, reread=reread, on_ready=on_ready).run()
    except SystemExit as exc:  # gunicorn's master ends by sys.exit(status)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
    return 0
