"""EngineRuntime: one loop thread for a sync; jobs from any thread; close cancels and joins."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from tap_monday_boards.engine.governor import Governor
from tap_monday_boards.engine.runtime import THREAD_NAME, EngineRuntime, RuntimeClosedError
from tap_monday_boards.engine.settings import EngineSettings

SETTINGS = EngineSettings(api_token="runtime-test-token", api_url="http://127.0.0.1:9/v2")


def _runtime() -> EngineRuntime:
    return EngineRuntime(SETTINGS, Governor(SETTINGS))


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def _waiter() -> tuple[threading.Event, threading.Event, Callable[[], Coroutine[Any, Any, None]]]:
    """A coroutine that waits forever: ``started`` is set once it runs, ``cleaned`` by its ``finally``
    (what cancelling must let run before the job counts as done)."""
    started, cleaned = threading.Event(), threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    return started, cleaned, forever


def test_jobs_run_on_the_loop_thread_and_return_or_raise() -> None:
    async def where() -> str:
        return threading.current_thread().name

    async def fails() -> None:
        raise ValueError("board 42: broken")

    with _runtime() as runtime:
        assert runtime.submit(where()).result(5) == THREAD_NAME
        job = runtime.submit(fails())
        with pytest.raises(ValueError, match="board 42"):
            job.result(5)
        assert runtime.transport is runtime.transport  # one session for every job
    assert not _threads()


def test_cancel_runs_the_coroutines_cleanup_before_result_returns() -> None:
    started, cleaned, forever = _waiter()
    with _runtime() as runtime:
        job = runtime.submit(forever())
        assert started.wait(5)
        job.cancel()
        with pytest.raises(concurrent.futures.CancelledError):
            job.result(5)
        assert cleaned.is_set()


def test_close_cancels_running_jobs_joins_the_thread_and_refuses_new_work() -> None:
    started, cleaned, forever = _waiter()
    runtime = _runtime()
    runtime.start()
    job = runtime.submit(forever())
    assert started.wait(5)
    runtime.close()
    assert cleaned.is_set() and job.done()
    assert not runtime.running and not _threads()

    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeClosedError):
        runtime.submit(nothing())
    runtime.close()  # idempotent


def test_jobs_can_be_submitted_from_the_loop_itself() -> None:
    async def inner() -> int:
        return 7

    with _runtime() as runtime:

        async def outer() -> int:
            return await runtime.submit(inner())

        assert runtime.submit(outer()).result(5) == 7
