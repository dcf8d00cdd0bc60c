"""Run an emulator for tests, benchmarks and the demo: in a background thread, or as a child process.

:func:`running_emulator` serves from a thread of the test's own process (tests that need the ``Store``, the
ground truth); :class:`EmulatorProcess` runs the installed ``monday-emulator`` CLI as a child (the demo and
the benchmarks, which measure the emulator's CPU apart from the client's); :func:`free_port` is the one
free-port helper of the repository.

The tap under test runs its own event loop (and the SDK's blocking requests) on the test's thread, so the
emulator gets a thread with a private loop and a real loopback socket: the tap speaks real HTTP to it, exactly
as to monday.com. Stopping waits for the server to close every connection and the loop to shut down, so no
"unclosed resource" warning escapes (the suite turns warnings into errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from monday_emulator.server import Emulator, EmulatorConfig

START_TIMEOUT_S = 30.0
LEFTOVER_TIMEOUT_S = 5.0
"""Longest wait for cancelled handlers and aborted connections after aiohttp's own shutdown."""
JOIN_MARGIN_S = 5.0
ACCEPT_DRAIN_TURNS = 2
"""Loop turns between removing the listener and closing it: accepts scheduled earlier run in the first."""


@dataclass(frozen=True, slots=True)
class RunningEmulator:
    """A live emulator: ``url`` (ends in ``/v2``), the accepted ``token``, the :class:`Emulator` itself."""

    url: str
    token: str
    emulator: Emulator
    base_url: str

    @property
    def metrics_url(self) -> str:
        """``GET`` this for the JSON metrics."""
        return f"{self.base_url}/metrics"

    def admin_url(self, action: str) -> str:
        """``POST`` keyword arguments as JSON here to change data (config ``admin=True``)."""
        return f"{self.base_url}/admin/{action}"


class _TrackedProtocol(asyncio.Protocol):
    """Sits between one accepted socket and aiohttp's handler so that stopping can find every connection.

    aiohttp's shutdown only knows the connections in its own list (one that registers while it shuts down is
    cleared with the rest and never closed), and a closed transport frees its socket only on a later loop
    turn, which never comes once ``asyncio.run`` has closed the loop; either leaves an "unclosed"
    ResourceWarning. ``connection_lost`` is the moment the socket is closed (asyncio closes it right after
    this callback), so an empty ``open`` set means every accepted socket is closed.
    """

    def __init__(self, inner: asyncio.Protocol, open_set: set[_TrackedProtocol]) -> None:
        self._inner = inner
        self._open = open_set
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._open.add(self)
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._open.discard(self)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def abort(self) -> None:
        """Drop the connection now (safe in every state: asyncio ignores a second close or abort)."""
        if isinstance(self._transport, asyncio.Transport):
            self._transport.abort()


class _TrackingSite(web.BaseSite):
    """A TCP site like aiohttp's ``TCPSite`` whose connections pass through :class:`_TrackedProtocol`."""

    __slots__ = ("_host", "_listener", "_port", "connections")

    def __init__(self, runner: web.BaseRunner, host: str, port: int) -> None:
        super().__init__(runner)
        self._host, self._port = host, port
        self.connections: set[_TrackedProtocol] = set()
        self._listener: asyncio.Server | None = None

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound port (the one the OS chose when asked for port 0)."""
        assert self._listener is not None
        return int(self._listener.sockets[0].getsockname()[1])

    def stop_accepting(self) -> None:
        """Stop taking new connections but keep the listening socket open for now.

        Python 3.11's ``Server.close()`` makes accept tasks that are already scheduled fail half-way (their
        transport cannot attach to a closed server), leaking the accepted socket and a half-built transport;
        so stopping first removes the listener from the loop and lets those tasks run, then closes.
        """
        if self._listener is not None:
            loop = asyncio.get_running_loop()
            for sock in self._listener.sockets:
                loop.remove_reader(sock.fileno())

    async def start(self) -> None:
        await super().start()
        handler_factory = self._runner.server
        assert handler_factory is not None  # set by runner.setup()
        self._server = self._listener = await asyncio.get_running_loop().create_server(
            lambda: _TrackedProtocol(handler_factory(), self.connections), self._host, self._port)


class _ServerThread(threading.Thread):
    """Owns the loop, the runner and the site; started and stopped by :func:`running_emulator`."""

    def __init__(self, emulator: Emulator, host: str, port: int) -> None:
        super().__init__(name="monday-emulator", daemon=True)
        self.emulator = emulator
        self.host, self.port = host, port
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.served = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to the thread that starts or stops the emulator
            self.error = exc
            self.ready.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        runner = web.AppRunner(self.emulator.make_app(), access_log=None,
                               shutdown_timeout=self.emulator.config.shutdown_timeout_s)
        await runner.setup()
        site = _TrackingSite(runner, self.host, self.port)
        try:
            await site.start()
            self.port = site.port
            self.served = True
            self.ready.set()
            await self._stop_event.wait()
        finally:
            site.stop_accepting()
            for _ in range(ACCEPT_DRAIN_TURNS):  # accept tasks already scheduled build their transports
                await asyncio.sleep(0)
            try:
                # Stops listening, closes idle keep-alive connections, gives requests in progress
                # shutdown_timeout to finish, then cancels them and runs the app's cleanup.
                await runner.cleanup()
            finally:
                await _close_leftovers(site.connections, LEFTOVER_TIMEOUT_S)

    def request_stop(self) -> None:
        """Ask the loop to shut down, without waiting for it (tests use it to time a stop exactly)."""
        if self.loop is not None and self._stop_event is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between: nothing left to stop
                self.loop.call_soon_threadsafe(self._stop_event.set)

    def stop(self) -> None:
        """Ask the loop to shut down and wait for the thread; raises if it did not end or failed."""
        self.request_stop()
        self.join(self.emulator.config.shutdown_timeout_s + LEFTOVER_TIMEOUT_S + JOIN_MARGIN_S)
        if self.is_alive():
            raise RuntimeError("the emulator thread did not stop")
        if self.error is not None and self.served:
            raise RuntimeError("the emulator failed while serving or stopping") from self.error


async def _close_leftovers(connections: set[_TrackedProtocol], timeout_s: float) -> None:
    """Cancel every task still on the loop and abort every connection still open, until none is left.

    What is left after ``runner.cleanup()``: handlers of requests whose client vanished (aiohttp lets them run
    on, e.g. in the latency sleep), accept tasks and connections that arrived during the shutdown, and
    transports that are closed but have not yet released their socket. Each abort releases its socket on the
    next loop iteration, so the loop keeps turning here until the set of open connections is empty.

    Raises:
        RuntimeError: something would not end within ``timeout_s`` (a task that swallows cancellation).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    this = asyncio.current_task()
    quiet_turns = 0
    while quiet_turns < 2:  # two empty turns: nothing scheduled by the last callbacks is left behind
        tasks = [t for t in asyncio.all_tasks() if t is not this]
        for connection in list(connections):
            connection.abort()
        for task in tasks:
            task.cancel()
        quiet_turns = 0 if tasks or connections else quiet_turns + 1
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise RuntimeError(f"emulator shutdown left {len(tasks)} tasks, {len(connections)} connections")
        if tasks:
            await asyncio.wait(tasks, timeout=remaining)
        else:
            await asyncio.sleep(0)


@contextmanager
def running_emulator(
    config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningEmulator]:
    """Start an emulator on ``host:port`` (0 = any free port) and stop it cleanly on exit."""
    emulator = Emulator(config)
    thread = _ServerThread(emulator, host, port)
    thread.start()
    if not thread.ready.wait(START_TIMEOUT_S) or thread.error is not None:
        thread.stop()
        raise RuntimeError("emulator failed to start") from thread.error
    base = f"http://{host}:{thread.port}"
    try:
        yield RunningEmulator(f"{base}/v2", emulator.config.token, emulator, base)
    finally:
        thread.stop()


# ----- the emulator as a child process ---------------------------------------------------------------------

_URL_LINE = re.compile(r"MONDAY_EMULATOR_URL=(https?://[\w.\-]+:\d+/v2)")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS says is free now (another process may take it: callers retry on bind errors)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def emulator_executable() -> str:
    """``monday-emulator`` from the running interpreter's venv, else from PATH."""
    candidate = Path(sys.executable).parent / "monday-emulator"
    return str(candidate) if candidate.exists() else "monday-emulator"


class EmulatorStartError(RuntimeError):
    """The emulator exited or printed no URL in time; the message carries its output (token masked)."""


class EmulatorProcess:
    """``monday-emulator --port 0 --token <token> <args>`` as a child process; a context manager.

    The one way tests, benchmarks and the demo run the installed CLI: readiness is the machine-readable
    first line (``MONDAY_EMULATOR_URL=...``), polled with a deadline; ``--port 0`` lets the emulator bind a
    free port itself (no race between choosing a port and binding it). The child gets its own session, so
    stopping it (SIGTERM, then SIGKILL after 10 s) ends everything it started.
    """

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        token: str = "demo-token",  # noqa: S107 - the emulator's public demo token, not a secret
        log_path: Path,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.args = list(args)
        self.token = token
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None

    @property
    def base(self) -> str:
        """``http://host:port`` of the running emulator."""
        assert self.url is not None, "the emulator is not started"
        return self.url.removesuffix("/v2")

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> str:
        """Start and wait until the emulator prints the URL it serves; returns it."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
                [emulator_executable(), "--port", "0", "--token", self.token, *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            found = _URL_LINE.search(self.log_path.read_text(errors="replace"))
            if found:
                self.url = found.group(1)
                return self.url
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)  # polling interval with a deadline, not a wait for an event
        output = self.log_path.read_text(errors="replace").replace(self.token, "***")
        self.stop()
        raise EmulatorStartError(f"monday-emulator did not report its URL:\n{output[-3000:]}")

    def metrics(self) -> dict[str, Any]:
        """The emulator's ``GET /metrics`` JSON."""
        with urllib.request.urlopen(f"{self.base}/metrics", timeout=10) as response:  # noqa: S310 - loopback
            return dict(json.loads(response.read()))

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL after 10 s; always reaps it. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                continue
        proc.wait(timeout=10)
