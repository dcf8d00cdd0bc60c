"""EngineRuntime: the one event loop thread and HTTP session that every request of a sync goes through.

Why one: the SDK writes records on the main thread and is not thread-safe, so network work runs elsewhere
and hands records over (queues, futures). With one loop for the whole sync, the small streams, the per-board
child lists, the items and the subitems all fetch at the same time, share one connection pool and one
:class:`~tap_monday_boards.engine.transport.Transport` (so every retry is classified and governed the same
way), and start as soon as the sync starts instead of when the SDK reaches each stream.

Work is submitted as coroutines (:meth:`EngineRuntime.submit`) from any thread, the loop thread included;
each returns a :class:`Job` that the main thread can wait on or cancel. :meth:`EngineRuntime.close` cancels
every job still running, closes the session and joins the thread (normal end, ``--test``, record caps,
SIGTERM, errors).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Generic, TypeVar

from tap_monday_boards.engine.governor import Governor, get_governor
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Transport

logger = logging.getLogger(__name__)

T = TypeVar("T")

THREAD_NAME = "monday-engine"
SWITCH_INTERVAL_S = 0.001
"""How long a thread may hold the GIL before another may take it (CPython's default is 5 ms)."""
_START_TIMEOUT_S = 30.0
_JOIN_TIMEOUT_S = 30.0


class RuntimeClosedError(RuntimeError):
    """Work was submitted to a runtime that is closed (or never started)."""


class Job(Generic[T]):
    """A coroutine running on the runtime's loop, seen from any thread.

    ``result()`` waits for it to finish (the coroutine's ``finally`` blocks included) and returns its value
    or raises its exception; ``cancel()`` asks the loop to cancel it.
    """

    def __init__(self, runtime: EngineRuntime) -> None:
        self._runtime = runtime
        self._future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._task: asyncio.Task[T] | None = None

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> T:
        """The coroutine's value; raises its exception, or ``CancelledError`` if it was cancelled."""
        return self._future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(timeout)

    def add_done_callback(self, callback: Callable[[concurrent.futures.Future[T]], None]) -> None:
        """``callback(future)`` once finished, on the thread that finishes it (usually the loop's)."""
        self._future.add_done_callback(callback)

    def __await__(self) -> Generator[Any, None, T]:
        """``await job`` from a coroutine on the same loop."""
        return asyncio.wrap_future(self._future).__await__()

    def cancel(self) -> None:
        """Ask the loop to cancel the coroutine (returns at once; ``result()`` waits for the end)."""
        self._runtime.call_soon(self._cancel_in_loop)

    def _cancel_in_loop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _start(self, coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop) -> asyncio.Task[T]:
        self._task = loop.create_task(coro)
        self._task.add_done_callback(self._finish)
        return self._task

    def _finish(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():
            self._future.cancel()
            self._future.set_running_or_notify_cancel()
        elif (error := task.exception()) is not None:
            self._future.set_exception(error)
        else:
            self._future.set_result(task.result())


class EngineRuntime:
    """``runtime.start(); job = runtime.submit(coro()); ...; runtime.close()`` (also a context manager)."""

    def __init__(self, settings: EngineSettings, governor: Governor | None = None) -> None:
        self.settings = settings
        self.governor = governor or get_governor(settings)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: Transport | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.error: BaseException | None = None

    def __enter__(self) -> EngineRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- any thread ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop thread and open the session; idempotent."""
        if self._thread is not None:
            return
        if self._closed:
            raise RuntimeClosedError("the engine runtime is closed")
        # The main thread writes records (CPU-bound); the loop turns each answer into the next request of a
        # cursor chain, the sync's critical path. With the default 5 ms switch interval each of the loop's
        # steps waits for the writer's slice; 1 ms keeps the chain's turnaround short for a little overhead.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S) or self._loop is None:
            raise RuntimeError("engine runtime did not start") from self.error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._closed

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeClosedError("the engine runtime is not started")
        return self._loop

    @property
    def transport(self) -> Transport:
        """The shared transport; use it from coroutines running on this runtime only."""
        if self._transport is None:
            raise RuntimeClosedError("the engine runtime is not started")
        return self._transport

    def submit(self, coro: Coroutine[Any, Any, T]) -> Job[T]:
        """Run ``coro`` on the loop (from any thread); the returned job can be waited on or cancelled."""
        job: Job[T] = Job(self)
        if not self.running:
            coro.close()
            raise RuntimeClosedError("the engine runtime is not running")

        def create() -> None:
            if self._stop is not None and self._stop.is_set():  # closing: never start new work
                coro.close()
                job._future.cancel()
                job._future.set_running_or_notify_cancel()
                return
            task = job._start(coro, self.loop)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self.loop.call_soon_threadsafe(create)
        return job

    def call_soon(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback(*args)`` on the loop thread; does nothing once the loop is gone."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(callback, *args)

    def close(self) -> None:
        """Cancel every job, close the session, stop and join the thread. Idempotent."""
        self._closed = True
        thread = self._thread
        if thread is None:
            return
        if self._stop is not None:
            self.call_soon(self._stop.set)
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            logger.warning("engine thread did not stop within %.0f s", _JOIN_TIMEOUT_S)

    # --- loop thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # recorded for start(); the loop never raises into the thread
            self.error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with Transport(self.settings, self.governor) as transport:
            self._transport = transport
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await self._cancel_all()

    async def _cancel_all(self) -> None:
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
