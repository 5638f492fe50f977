"""The FastAGI server: Asterisk's `AGI(agi://host:4573/ivr)` calls, hundreds at once on one event loop.

Each connection is one call. The server reads the agi_ block (with a timeout), then drives
`ivr.agi.call_flow`: AGI commands go over the socket, and the dialog's blocking calls (they hit the
database) run in a bounded thread pool, so a slow query never stalls the other calls. A call's
failure never reaches the server: the flow apologises and offers the agent, and the server logs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

from ivr.agi import (
    MAX_ENV_LINES,
    AgiConfig,
    AgiError,
    AgiHangup,
    AgiNoReply,
    AgiProtocolError,
    AgiReply,
    CallOutcome,
    DialogPort,
    Effect,
    FinishCall,
    ReplyReader,
    ResumeCall,
    StartCall,
    call_flow,
    mask_caller,
    parse_command,
    parse_env,
    parse_request,
)
from ivr.logs import get_logger

log = get_logger(__name__)
T = TypeVar("T")


class FastAgiServer:
    """An asyncio FastAGI server for one dialog; `port=0` binds a free port (read `.port` after `start()`)."""

    def __init__(
        self,
        dialog: DialogPort,
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        sounds_prefix: str = "urjamitra",
        agent_queue: str = "1912",
        transfer_app: str = "Queue",
        transfer_target: str = "{queue}",
        executor_workers: int = 16,
        env_timeout: float = 10.0,
        linger: float = 2.0,
        backlog: int = 1024,
        reuse_port: bool = False,
        reply_margin_s: float = 10.0,
        max_prompt_s: float = 60.0,
        exec_timeout_s: float = 4 * 3600.0,
        prompt_seconds: Mapping[str, float] | None = None,
    ) -> None:
        self.dialog = dialog
        self.host = host
        self._requested_port = port
        # Each command's reply is awaited for its own time plus a margin (AgiConfig.reply_timeout): a connection
        # Asterisk holds open without answering is ended and recorded, not kept for ever.
        self.config = AgiConfig(
            sounds_prefix,
            agent_queue,
            transfer_app,
            transfer_target,
            reply_margin_s=reply_margin_s,
            max_prompt_s=max_prompt_s,
            exec_timeout_s=exec_timeout_s,
            prompt_seconds=dict(prompt_seconds or {}),
        )
        self.executor_workers = executor_workers
        self.env_timeout = env_timeout
        self.linger = linger
        self.backlog = backlog  # an outage alert wave can open hundreds of connections at once
        # Several server processes on one port (SO_REUSEPORT): the kernel spreads calls across them, so
        # the dialog's Python work is not held to one core by one interpreter.
        self.reuse_port = reuse_port
        self.live_calls = 0
        self.calls = 0
        self.failed_calls = 0
        self._server: asyncio.Server | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping: asyncio.Event | None = None

    @property
    def port(self) -> int:
        """The bound port (the configured one until `start()`)."""
        if self._server is None or not self._server.sockets:
            return self._requested_port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def status(self) -> str:
        """One line for a health check."""
        return (
            f"FastAGI on {self.host}:{self.port}: {self.live_calls} live calls, "
            f"{self.calls} calls served, {self.failed_calls} with errors"
        )

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=self.executor_workers, thread_name_prefix="fastagi-dialog")
        self._server = await asyncio.start_server(
            self._handle,
            self.host,
            self._requested_port,
            backlog=self.backlog,
            reuse_port=self.reuse_port or None,
        )
        log.info("FastAGI listening on %s:%d", self.host, self.port)

    async def serve_forever(self) -> None:
        """Serve until `request_stop()` (or `stop()`) is called."""
        if self._stopping is None:
            await self.start()
        assert self._stopping is not None
        await self._stopping.wait()

    def request_stop(self) -> None:
        """Make `serve_forever` return; call from the server's own event loop."""
        if self._stopping is not None:
            self._stopping.set()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting calls, give live calls `grace` seconds, then cut them off (finished as hung up)."""
        self.request_stop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("cut off %d live calls at shutdown", len(pending))
                await asyncio.wait(pending)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def __aenter__(self) -> FastAgiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- one call --------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.live_calls += 1
        began = time.monotonic()
        try:
            try:
                env = await asyncio.wait_for(_read_env(reader), self.env_timeout)
            except _NothingSent:
                # A port check (a health probe, `urjamitra phone` looking for a server): connected, sent nothing,
                # closed. Not a call, and nothing went wrong.
                log.debug("connection from %s closed without a call", _peer(writer))
                return
            except (TimeoutError, AgiError, OSError, ValueError) as exc:
                log.warning("connection from %s dropped before the call began: %r", _peer(writer), exc)
                return
            self.calls += 1
            # Asterisk's uniqueid is unique on one Asterisk box only: the box's address makes it ours.
            peer = writer.get_extra_info("peername")
            box = peer[0] if isinstance(peer, tuple) else "local"
            env["agi_uniqueid"] = f"{box}/{env.get('agi_uniqueid', '')}"
            request = parse_request(env)
            caller = mask_caller(request.caller)
            log.info("call %s from %s to %s (%s)", request.call_ref, caller, request.called, request.route)
            outcome = await self._drive(env, reader, writer, began)
            self._log_end(outcome, time.monotonic() - began)
        except Exception:  # a bug in the server itself must not take the other calls down
            self.failed_calls += 1
            log.exception("call handler failed")
        finally:
            self.live_calls -= 1
            try:
                await _hang_up_line(reader, writer, self.linger)
            finally:
                if task is not None:
                    self._tasks.discard(task)

    async def _drive(
        self, env: dict[str, str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter, began: float
    ) -> CallOutcome:
        flow = call_flow(env, self.config)
        value: Any = None
        error: Exception | None = None
        cancelled = False
        while True:
            try:
                effect = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                if cancelled:
                    raise asyncio.CancelledError from None
                outcome: CallOutcome = stop.value
                return outcome
            value, error = None, None
            try:
                value = await self._perform(effect, reader, writer, began)
            except asyncio.CancelledError:
                if cancelled:
                    raise
                # The server is stopping: end the call as a hang-up so the dialog still records it.
                cancelled = True
                error = AgiHangup("the server is stopping")
            except Exception as exc:
                error = exc

    async def _perform(
        self, effect: Effect, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, began: float
    ) -> Any:
        if isinstance(effect, str):
            return await _command(effect, reader, writer, self.config.reply_timeout(effect))
        if isinstance(effect, StartCall):
            return await self._blocking(partial(self.dialog.start, **effect.kwargs()))
        if isinstance(effect, ResumeCall):
            return await self._blocking(partial(self.dialog.resume, effect.call, effect.digits))
        assert isinstance(effect, FinishCall)
        finish = partial(self.dialog.finish, effect.call, **effect.kwargs())
        return await self._blocking(partial(finish, duration_s=round(time.monotonic() - began)))

    async def _blocking(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _log_end(self, outcome: CallOutcome, seconds: float) -> None:
        ref = outcome.request.call_ref
        if outcome.rejected:
            log.warning("call %s: no dialog for route %r; left to the dialplan", ref, outcome.request.route)
        log.info("call %s ended: %s after %d turns in %.1f s", ref, outcome.how, outcome.turns, seconds)
        if outcome.errors or outcome.missing_sounds:
            self.failed_calls += 1
        for sound in dict.fromkeys(outcome.missing_sounds):
            log.error("call %s: Asterisk could not play the sound file %s (missing or unreadable)", ref, sound)
        for exc in outcome.errors:
            if isinstance(exc, AgiNoReply):
                log.error("call %s ended: %s", ref, str(exc))
            else:
                log.error("call %s failed%s", ref, " (apologised)" if outcome.apologised else "", exc_info=exc)


async def _hang_up_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, linger: float) -> None:
    """Close the connection gracefully: end our side, read what Asterisk still sends (a late `HANGUP`) until it
    closes too, then close. Closing with unread input would reset the connection instead."""
    try:
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(linger):
            while await reader.read(4096):
                pass
    except (OSError, TimeoutError, ValueError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await writer.wait_closed()


class _NothingSent(AgiHangup):
    """The connection closed before sending a single byte."""


async def _read_env(reader: asyncio.StreamReader) -> dict[str, str]:
    lines: list[str] = []
    while True:
        raw = await reader.readline()
        if not raw:
            if not lines:
                raise _NothingSent("the connection closed without sending anything")
            raise AgiHangup("the connection closed before the agi_ block ended")
        line = raw.decode("utf-8", "replace")
        if not line.strip():
            return parse_env(lines)
        lines.append(line)
        if len(lines) > MAX_ENV_LINES:
            raise AgiProtocolError("the agi_ block does not end", line)


async def _command(
    command: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
) -> AgiReply:
    """Send one command and read its reply within `timeout` seconds; a dropped connection is the caller hanging
    up, a reply that never comes raises AgiNoReply."""
    try:
        async with asyncio.timeout(timeout):
            writer.write(command.encode() + b"\n")
            await writer.drain()
            replies = ReplyReader()
            while True:
                raw = await reader.readline()
                if not raw:
                    raise AgiHangup("the connection closed")
                reply = replies.feed(raw.decode("utf-8", "replace"))
                if reply is not None:
                    return reply
    except TimeoutError:
        verb, _ = parse_command(command)
        raise AgiNoReply(f"Asterisk sent no reply to {verb} within {timeout:g} s") from None
    except (OSError, asyncio.IncompleteReadError) as exc:
        raise AgiHangup(f"the connection failed: {exc}") from exc
    except ValueError as exc:  # a line longer than the stream's limit
        raise AgiProtocolError(str(exc)) from exc


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)


# --- running it ----------------------------------------------------------------------------------


def run_fastagi(
    dialog: DialogPort,
    host: str = "127.0.0.1",
    port: int = 4573,
    *,
    on_ready: Callable[[FastAgiServer], None] | None = None,
    **options: Any,
) -> None:
    """Serve until SIGINT or SIGTERM (for `urjamitra fastagi`); `options` go to FastAgiServer."""

    async def main() -> None:
        server = FastAgiServer(dialog, host=host, port=port, **options)
        await server.start()
        loop = asyncio.get_running_loop()
        for signame in ("SIGINT", "SIGTERM"):
            # Not a stub: add_signal_handler raises NotImplementedError where the loop cannot take signals
            # (Windows) and RuntimeError/ValueError off the main thread; Ctrl+C then ends the run as usual.
            with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError, ValueError):
                loop.add_signal_handler(getattr(signal, signame), server.request_stop)
        if on_ready is not None:
            on_ready(server)
        try:
            await server.serve_forever()
        finally:
            await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


class FastAgiThread:
    """A FastAGI server on an event loop of its own in a background thread (for `urjamitra up` and tests)."""

    def __init__(self, server: FastAgiServer) -> None:
        self.server = server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fastagi", daemon=True)

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def status(self) -> str:
        return self.server.status()

    def start(self) -> FastAgiThread:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (live calls get a grace period) and wait for the thread."""
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed in the meantime
                loop.call_soon_threadsafe(self.server.request_stop)
        self._thread.join(timeout)

    def __enter__(self) -> FastAgiThread:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        try:
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            await self.server.stop()
            return
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        try:
            await self.server.serve_forever()
        finally:
            await self.server.stop()


def start_in_thread(dialog: DialogPort, host: str = "127.0.0.1", port: int = 0, **options: Any) -> FastAgiThread:
    """Start a FastAGI server in a background thread; returns once it listens (`.port`, `.stop()`)."""
    return FastAgiThread(FastAgiServer(dialog, host=host, port=port, **options)).start()
