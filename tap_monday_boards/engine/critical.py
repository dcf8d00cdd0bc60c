"""The harvest's critical path: a short timeout per page from observed latency, and a hedged second request.

Why: each cursor chain is sequential, so one stalled page holds its whole chain, and the chains bound the
sync. With the session's ``request_timeout`` (60 s) one stall cost a full minute: the 2 %-fault benchmark
went from 19.8 s to 80.4 s. Pages are small and alike (ids only), so their latency is predictable:

* each attempt times out after ``TIMEOUT_FACTOR`` x the recent p95 (at least ``TIMEOUT_FLOOR_S``, never
  above ``request_timeout``); a timed-out attempt counts as a sample of its timeout, so a server that got
  slower for everyone raises the timeout instead of failing attempt after attempt;
* when a page's attempt has been on the wire ``HEDGE_FACTOR`` x p95 (at least ``HEDGE_FLOOR_S``) without
  an answer, the same request is sent again; the first answer wins and the other is cancelled. Re-sending
  is safe: a cursor names a position, so the same cursor returns the same page, and a duplicated first page
  only starts a second chain whose cursor is dropped. Until ``MIN_SAMPLES`` answers were seen, the hedge
  waits ``HEDGE_PRIOR_S`` (a cheap read takes about half a second on monday).

Only harvest pages use it: detail batches are many and parallel, and a stalled batch delays nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from dataclasses import replace
from typing import Any

from tap_monday_boards.engine.transport import AttemptOutcome, Request, Transport

logger = logging.getLogger(__name__)

WINDOW = 50
"""Latest page latencies kept."""
MIN_SAMPLES = 3
TIMEOUT_FACTOR = 4.0
TIMEOUT_FLOOR_S = 5.0
HEDGE_FACTOR = 2.0
HEDGE_FLOOR_S = 1.0
HEDGE_PRIOR_S = 10.0
RECHECK_S = 0.25
"""How often a waiting page re-reads the hedge delay while the latency window fills."""


class CriticalPath:
    """Latency window, per-attempt timeout and hedging for one engine run (all its harvest chains)."""

    def __init__(self, request_timeout: float) -> None:
        self.request_timeout = request_timeout
        self._samples: deque[float] = deque(maxlen=WINDOW)
        self.hedges = 0
        """second requests sent for a slow page."""
        self.hedge_wins = 0
        """pages whose hedge answered first."""
        self.timeouts = 0
        """attempts cut off by the short timeout."""

    # --- the numbers -------------------------------------------------------------------------------------
    def p95(self) -> float | None:
        """95th percentile of the recent page latencies (None before ``MIN_SAMPLES`` samples)."""
        if len(self._samples) < MIN_SAMPLES:
            return None
        ordered = sorted(self._samples)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]

    def timeout_s(self) -> float:
        """Seconds one attempt may take."""
        p95 = self.p95()
        if p95 is None:
            return self.request_timeout
        return min(self.request_timeout, max(TIMEOUT_FLOOR_S, TIMEOUT_FACTOR * p95))

    def hedge_after_s(self) -> float:
        """Seconds after sending a page before the same request goes out a second time."""
        p95 = self.p95()
        wait = HEDGE_PRIOR_S if p95 is None else max(HEDGE_FLOOR_S, HEDGE_FACTOR * p95)
        return min(wait, self.timeout_s())

    def observe(self, seconds: float) -> None:
        """One page latency (tests and the transport's observer)."""
        self._samples.append(max(0.0, seconds))

    # --- sending -----------------------------------------------------------------------------------------
    async def send(self, transport: Transport, request: Request) -> dict[str, Any]:
        """``transport.send(request)`` with a short timeout per attempt and one hedge when it is slow."""
        attempts = _Attempts(self)
        primary = asyncio.ensure_future(transport.send(replace(request, observer=attempts)))
        tasks = {primary}
        try:
            if not await self._until_slow(primary, attempts):
                return primary.result()
            self.hedges += 1
            logger.info("%s: no answer after %.1f s, sending it again", request.context, self.hedge_after_s())
            hedge = asyncio.ensure_future(transport.send(replace(request, observer=_Attempts(self))))
            tasks.add(hedge)
            first_error: BaseException | None = None
            pending = set(tasks)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = task.exception()
                    if error is None:
                        if task is hedge:
                            self.hedge_wins += 1
                        return task.result()
                    first_error = first_error or error
            assert first_error is not None
            raise first_error
        finally:
            losers = {task for task in tasks if not task.done()}
            for task in losers:
                task.cancel()  # the slower request: its governor permit is released as it unwinds
            if losers:
                await asyncio.wait(losers)

    async def _until_slow(self, primary: asyncio.Future[Any], attempts: _Attempts) -> bool:
        """False once ``primary`` is done; True once one of its attempts has been in flight for
        ``hedge_after_s``. Time spent waiting for the governor, a backoff or a rate-limit pause does not
        count: a request that is not on the wire is not slow, and its hedge would only wait alongside it."""
        while not primary.done():
            since = attempts.in_flight_since
            if since is None:
                attempts.started.clear()
                await _first_of(primary, attempts.started)
                continue
            remaining = since + self.hedge_after_s() - time.monotonic()
            if remaining <= 0:
                return True
            # Re-checked often: other chains' answers keep refining the p95 (the first pages of a run are
            # sent before any sample exists, under the prior).
            await asyncio.wait({primary}, timeout=min(remaining, RECHECK_S))
        return False


class _Attempts:
    """The transport's observer for one send: feeds the window, knows whether an attempt is on the wire."""

    __slots__ = ("_path", "in_flight_since", "started")

    def __init__(self, path: CriticalPath) -> None:
        self._path = path
        self.in_flight_since: float | None = None
        self.started = asyncio.Event()

    def attempt_timeout_s(self) -> float | None:
        return self._path.timeout_s()

    def attempt_started(self) -> None:
        self.in_flight_since = time.monotonic()
        self.started.set()

    def attempt_ended(self, seconds: float, outcome: AttemptOutcome) -> None:
        self.in_flight_since = None
        if outcome == "answered":
            self._path.observe(seconds)
        elif outcome == "timeout":
            self._path.observe(seconds)  # censored: the page took at least this long
            self._path.timeouts += 1


async def _first_of(task: asyncio.Future[Any], event: asyncio.Event) -> None:
    """Until ``event`` is set or ``task`` finished."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
