"""Run an emulator in a background thread for tests and benchmarks.

The tap under test runs its own event loop (and the SDK's blocking requests) on the test's thread, so the
emulator gets a thread with a private loop and a real loopback socket: the tap speaks real HTTP to it, exactly
as to monday.com. Stopping waits for the server to close every connection and the loop to shut down, so no
"unclosed resource" warning escapes (the suite turns warnings into errors).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from tap_monday_boards.emulator.server import Emulator, EmulatorConfig

START_TIMEOUT_S = 30.0


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


class _ServerThread(threading.Thread):
    """Owns the loop, the runner and the site; started and stopped by :func:`running_emulator`."""

    def __init__(self, emulator: Emulator, host: str, port: int) -> None:
        super().__init__(name="monday-emulator", daemon=True)
        self.emulator = emulator
        self.host, self.port = host, port
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to the starting thread
            self.error = exc
            self.ready.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        runner = web.AppRunner(self.emulator.make_app(), access_log=None,
                               shutdown_timeout=self.emulator.config.shutdown_timeout_s)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            server = site._server  # the only way to read the port bound for port 0
            assert isinstance(server, asyncio.base_events.Server)
            self.port = server.sockets[0].getsockname()[1]
            self.ready.set()
            await self._stop_event.wait()
        finally:
            await runner.cleanup()

    def stop(self) -> None:
        if self.loop is not None and self._stop_event is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop_event.set)
        self.join()


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
