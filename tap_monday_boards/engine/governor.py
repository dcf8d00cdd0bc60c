"""One process-wide governor for every request to monday.com: in-flight cap, request rate, complexity budget.

Why one: monday's limits are per account and token, not per request or stream, so the
SDK streams (blocking, on the SDK's thread) and the items engine (async, on its own loop thread) must draw
from the same counters. :func:`get_governor` returns the one instance per (api_url, token).

How it paces:

* every request reserves an *expected* cost before it is sent; the expectation is learned per kind of query
  (cost per unit, e.g. per id of a batch) from the ``complexity { query }`` of earlier answers. A kind never
  seen before is sent alone as a probe, so the first answer teaches its cost before the pool opens up
  (fetch batches only: a harvest page is cheap and bounded by its ``limit``, and making the second board's
  chain wait a page's latency to learn it would put that latency on the critical path);
* a local sliding 60 s ledger of our own costs mirrors monday's sliding window; the account's real limit is
  learned from ``complexity { after }`` (so a 1M trial budget is found even if the setting says 10M), and a
  request waits until enough old cost leaves the window instead of being rejected;
* a rate-limit answer pauses every request of the process for the server's hint plus jitter (never a hot
  loop). An answer without a hint (the gateway's empty-body 429) pauses for ``rate_limit_first_wait_s``
  (2 s), doubling per *consecutive* hint-less answer up to ``rate_limit_max_wait_s`` (60 s, monday's advice)
  and starting over after a successful answer: one stray 429 costs seconds, a throttle that persists still
  backs off to a minute. Answers that arrive while such a pause runs were sent before it, so they do not
  escalate it. This is the one wait policy of both HTTP stacks (SDK streams and engine);
* harvest requests (priority 1) go before fetch batches (priority 0) when both wait: the cursor chain is the
  sequential critical path.

The core (:class:`GovernorCore`) is pure state with an explicit ``now``: table-tested with a fake clock. The
:class:`Governor` adds a lock and the blocking/async waits.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_monday_boards.engine.settings import EngineSettings

WINDOW_S = 60.0
LEDGER_MARGIN_S = 1.0
"""Our charges leave our ledger this long after the server's would: we stamp a charge when the request is
admitted locally, the server when it arrives, so without a margin we send exactly at the server's edge."""
_SAFETY_POLL_S = 0.5
"""Waiters re-check at least this often, so a lost wake-up can delay but never hang a request."""
_EMA_ALPHA = 0.3
PAUSE_LOG_SIZE = 1_024
HARVEST_HEADROOM = 0.02
"""Share of the budget that priority-0 requests (fetch batches) leave free for the harvest (priority 1):
ids-only pages cost ~200 points, so a little headroom keeps the sequential chain moving while batches
saturate the budget; a starved chain would age its cursor."""


@dataclass(slots=True, eq=False)
class _Entry:
    """One request's spend. Compared by identity: ``adjust`` asks whether this very entry is still in the
    window, and an equal ``(at, cost)`` of another request is not it."""

    at: float
    cost: float
    expired: bool = False


class _Ledger:
    """Our own complexity spend over the last 60 s; entries are adjusted when the real cost is known."""

    __slots__ = ("_entries", "total")

    def __init__(self) -> None:
        self._entries: deque[_Entry] = deque()
        self.total = 0.0

    def expire(self, now: float) -> None:
        while self._entries and self._entries[0].at + WINDOW_S + LEDGER_MARGIN_S <= now:
            gone = self._entries.popleft()
            gone.expired = True
            self.total -= gone.cost
        if not self._entries:
            self.total = 0.0

    def add(self, now: float, cost: float) -> _Entry:
        entry = _Entry(now, cost)
        self._entries.append(entry)
        self.total += cost
        return entry

    def adjust(self, entry: _Entry, cost: float) -> None:
        # O(1): a membership test walked the whole minute's entries with a dataclass ``__eq__`` per entry,
        # for every settled request (~5 % of the engine thread's CPU at ~500 requests per minute)
        if not entry.expired:
            self.total += cost - entry.cost
        entry.cost = cost

    def seconds_until_room(self, now: float, needed: float, limit: float) -> float:
        excess = self.total + needed - limit
        if excess <= 0:
            return 0.0
        freed = 0.0
        for entry in self._entries:
            freed += entry.cost
            if freed >= excess:
                return max(0.0, entry.at + WINDOW_S + LEDGER_MARGIN_S - now)
        return math.inf  # only in-flight reservations can free the rest


@dataclass(frozen=True, slots=True)
class Permit:
    """One admitted request; hand it back to ``settle`` (or ``release``) exactly once."""

    kind: str
    units: int
    expected_cost: float
    priority: int
    admitted_at: float
    entry: _Entry = field(repr=False, compare=False)
    probe: bool


@dataclass(frozen=True, slots=True)
class GovernorStats:
    """A snapshot for progress lines and tests."""

    in_flight: int
    reserved_cost: float
    used_last_minute: float
    budget_limit: float
    requests_last_minute: int
    paused_for_s: float
    rate_limit_pauses: int
    budget_waits: int
    cost_per_unit: dict[str, float]
    hintless_pauses: int = 0
    """Pauses for rate-limit answers without a hint (each one a step of the escalating wait)."""
    longest_pause_s: float = 0.0
    """The longest pause asked for so far (hint or escalating wait, before jitter)."""


class GovernorCore:
    """Pure admission state. Not thread-safe; every method takes ``now`` (monotonic seconds)."""

    def __init__(self, settings: EngineSettings, rng: random.Random | None = None) -> None:
        self.max_in_flight = settings.max_concurrency
        self.requests_per_minute = settings.requests_per_minute
        self.configured_budget = float(settings.complexity_budget_per_minute)
        self.learned_budget: float | None = None
        self._learned_budget_at = -math.inf
        self.rng = rng or random.Random(0)
        self.ledger = _Ledger()
        self.starts: deque[float] = deque()
        self.in_flight = 0
        self.reserved = 0.0  # expected cost of requests not yet settled
        self.paused_until = -math.inf
        self.cost_per_unit: dict[str, float] = {}
        self.probing: set[str] = set()
        self.waiting: dict[int, int] = {}
        self.rate_limit_pauses = 0
        self.budget_waits = 0
        self.first_hintless_wait_s = settings.rate_limit_first_wait_s
        self.max_hintless_wait_s = settings.rate_limit_max_wait_s
        self.hintless_streak = 0
        """Hint-less rate-limit pauses since the last successful answer."""
        self.hintless_until = -math.inf
        self.hintless_pauses = 0
        self.pause_log: deque[float] = deque(maxlen=PAUSE_LOG_SIZE)
        """The waits asked for (hint or escalating wait, before jitter), newest last."""

    @property
    def budget_limit(self) -> float:
        if self.learned_budget is None:
            return self.configured_budget
        return min(self.configured_budget, self.learned_budget)

    def _expire(self, now: float) -> None:
        self.ledger.expire(now)
        while self.starts and self.starts[0] + WINDOW_S <= now:
            self.starts.popleft()

    def try_acquire(self, kind: str, units: int, priority: int, now: float) -> Permit | float:
        """Admit now (a :class:`Permit`) or return how long to wait (``math.inf``: until a release)."""
        self._expire(now)
        per_unit = self.cost_per_unit.get(kind)
        if per_unit is None and ":" in kind:
            # A kind like ``ItemsByIds:<board>`` starts from the costliest board of its family: no probe.
            per_unit = self.cost_per_unit.get(kind.split(":", 1)[0])
        probe = per_unit is None and priority <= 0
        expected = 0.0 if per_unit is None else per_unit * max(1, units)
        wait = self._wait_for(kind, priority, probe, expected, now)
        if wait > 0:
            return wait
        if probe:
            self.probing.add(kind)
        self.in_flight += 1
        self.reserved += expected
        self.starts.append(now)
        entry = self.ledger.add(now, 0.0)  # the reservation moves into the ledger when settled
        return Permit(kind, units, expected, priority, now, entry, probe)

    def _wait_for(self, kind: str, priority: int, probe: bool, expected: float, now: float) -> float:
        """Seconds until this request may go (0: now; ``math.inf``: until some request finishes)."""
        if now < self.paused_until:
            return self.paused_until - now
        if (
            any(n > 0 for p, n in self.waiting.items() if p > priority)  # a higher priority goes first
            or self.in_flight >= self.max_in_flight
            or (probe and kind in self.probing)  # the probe of this kind is out: wait to learn its cost
        ):
            return math.inf
        if len(self.starts) >= self.requests_per_minute:
            return max(1e-3, self.starts[0] + WINDOW_S - now)
        limit = self.budget_limit
        if priority <= 0:
            limit -= limit * HARVEST_HEADROOM  # the cursor chain must never starve behind batches
        if self.ledger.total + self.reserved + expected > limit and (self.in_flight or self.ledger.total):
            wait = self.ledger.seconds_until_room(now, self.reserved + expected, limit)
            if wait > 0:
                self.budget_waits += 1
                return wait
        return 0.0

    def _finish(self, permit: Permit) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.reserved = max(0.0, self.reserved - permit.expected_cost)
        if permit.probe:
            self.probing.discard(permit.kind)

    def settle(
        self, permit: Permit, complexity: Mapping[str, Any] | None, now: float, *, ok: bool = True
    ) -> None:
        """Record the real cost (``complexity { before after query }``) and free the slot.

        ``ok``: the answer was usable (classified OK); it ends a run of hint-less rate-limit answers.
        """
        self._finish(permit)
        self._expire(now)
        if ok:
            self.hintless_streak = 0
        if not complexity:
            self.ledger.adjust(permit.entry, permit.expected_cost)
            return
        cost = _number(complexity.get("query"))
        if cost is not None:
            self.ledger.adjust(permit.entry, cost)
            per_unit = cost / max(1, permit.units)
            old = self.cost_per_unit.get(permit.kind)
            # Fast up, slow down: an underestimate risks a budget error, an overestimate only a short wait.
            self.cost_per_unit[permit.kind] = (
                per_unit if old is None or per_unit > old else old + _EMA_ALPHA * (per_unit - old)
            )
            if ":" in permit.kind:
                family = permit.kind.split(":", 1)[0]
                self.cost_per_unit[family] = max(per_unit, self.cost_per_unit.get(family, 0.0))
        after, before = _number(complexity.get("after")), _number(complexity.get("before"))
        if after is not None and before is not None and cost is not None and before >= cost > 0:
            # A lower bound of the account's limit: the server also counts requests we have not settled
            # yet and other clients. (before < cost means the server reports no budget: ignore it.)
            observed = after + self.ledger.total
            # Lower bounds: the best of the last window; an older one is replaced (others may use budget
            # now). Kept while no answer arrives: forgetting it during a budget wait would cause a burst.
            if self.learned_budget is None or now - self._learned_budget_at > WINDOW_S:
                self.learned_budget = observed
            else:
                self.learned_budget = max(self.learned_budget, observed)
            self._learned_budget_at = now

    def release(self, permit: Permit, now: float) -> None:
        """Free the slot of a request that got no usable answer; charge its expected cost to be safe."""
        self._finish(permit)
        self.ledger.adjust(permit.entry, permit.expected_cost)
        self._expire(now)

    def pause(self, wait_s: float | None, now: float) -> float:
        """A rate-limit answer: nobody sends for ``wait_s`` plus jitter. Returns the pause end.

        ``wait_s`` None (the answer had no hint): the escalating wait, unless a hint-less pause is still
        running (this answer's request was sent before it began: the same throttle, no new step).
        """
        if wait_s is None:
            if now < self.hintless_until:
                return self.paused_until
            wait_s = min(
                self.max_hintless_wait_s, self.first_hintless_wait_s * 2.0 ** min(self.hintless_streak, 30)
            )
            self.hintless_streak += 1
            self.hintless_pauses += 1
            self.hintless_until = now + wait_s
        self.pause_log.append(wait_s)
        jitter = self.rng.uniform(0.0, min(1.0, 0.1 * wait_s) + 0.05)
        until = now + max(0.0, wait_s) + jitter
        if until > self.paused_until:
            self.paused_until = until
            self.rate_limit_pauses += 1
        return self.paused_until

    def stats(self, now: float) -> GovernorStats:
        self._expire(now)
        return GovernorStats(
            in_flight=self.in_flight,
            reserved_cost=self.reserved,
            used_last_minute=self.ledger.total,
            budget_limit=self.budget_limit,
            requests_last_minute=len(self.starts),
            paused_for_s=max(0.0, self.paused_until - now),
            rate_limit_pauses=self.rate_limit_pauses,
            budget_waits=self.budget_waits,
            cost_per_unit=dict(self.cost_per_unit),
            hintless_pauses=self.hintless_pauses,
            longest_pause_s=max(self.pause_log, default=0.0),
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class Governor:
    """Thread-safe wrapper: ``acquire`` (async, engine loop) and ``acquire_blocking`` (SDK thread)."""

    def __init__(
        self,
        settings: EngineSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        poll_s: float = _SAFETY_POLL_S,
    ) -> None:
        self.core = GovernorCore(settings, rng)
        self.clock = clock
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()

    def expect(self, kind: str, per_unit: float) -> None:
        """A prior cost per unit for ``kind`` until an answer teaches the real one (none is replaced).

        Why: a kind never seen is sent alone as a probe, one round trip in which nothing else of its kind
        may go. Where monday's published rule prices a document in advance, a generous prior lets the first
        wave go at once; the first answer then sets the real figure (``settle``)."""
        with self._lock:
            self.core.cost_per_unit.setdefault(kind, float(per_unit))
            self._notify()

    def set_limits(
        self, *, max_concurrency: int | None = None, requests_per_minute: int | None = None
    ) -> None:
        """New in-flight and rate limits (the account's plan, learned during the run: engine/plan_limits.py);
        waiters re-check at once, so a raised limit lets them go."""
        with self._lock:
            if max_concurrency is not None:
                self.core.max_in_flight = max_concurrency
            if requests_per_minute is not None:
                self.core.requests_per_minute = requests_per_minute
            self._notify()

    def _notify(self) -> None:
        """Wake every waiter (called with the lock held); each re-checks admission."""
        self._cond.notify_all()
        for loop, future in list(self._async_waiters):
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # that loop is closed: its waiter is gone
                self._async_waiters.discard((loop, future))

    async def acquire(self, kind: str, units: int = 1, *, priority: int = 0) -> Permit:
        """Wait (without blocking the loop) until the request may be sent."""
        loop = asyncio.get_running_loop()
        registered = False
        try:
            while True:
                future: asyncio.Future[None] = loop.create_future()
                with self._lock:
                    result = self.core.try_acquire(kind, units, priority, self.clock())
                    if isinstance(result, Permit):
                        return result
                    if not registered:
                        self.core.waiting[priority] = self.core.waiting.get(priority, 0) + 1
                        registered = True
                    waiter = (loop, future)
                    self._async_waiters.add(waiter)
                try:
                    await asyncio.wait({future}, timeout=min(result, self.poll_s))
                finally:
                    with self._lock:
                        self._async_waiters.discard(waiter)
        finally:
            if registered:
                with self._lock:
                    self.core.waiting[priority] -= 1
                    self._notify()

    def acquire_blocking(
        self, kind: str, units: int = 1, *, priority: int = 0, timeout: float | None = None
    ) -> Permit:
        """Block the calling thread until the request may be sent (for the SDK's requests path).

        Raises:
            TimeoutError: when ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else self.clock() + timeout
        with self._cond:
            registered = False
            try:
                while True:
                    now = self.clock()
                    result = self.core.try_acquire(kind, units, priority, now)
                    if isinstance(result, Permit):
                        return result
                    if deadline is not None and now >= deadline:
                        raise TimeoutError(f"governor: no slot for {kind} within {timeout} s")
                    if not registered:
                        self.core.waiting[priority] = self.core.waiting.get(priority, 0) + 1
                        registered = True
                    wait = min(result, self.poll_s)
                    if deadline is not None:
                        wait = min(wait, max(0.0, deadline - now))
                    self._cond.wait(wait)
            finally:
                if registered:
                    self.core.waiting[priority] -= 1
                    self._notify()

    def settle(self, permit: Permit, complexity: Mapping[str, Any] | None, *, ok: bool = True) -> None:
        """Report the answer's ``complexity`` object (or None) and free the slot.

        ``ok=False`` for an answer that was not usable (rate limit, partial data): it does not count as the
        success that resets the escalating wait for hint-less rate limits.
        """
        with self._lock:
            self.core.settle(permit, complexity, self.clock(), ok=ok)
            self._notify()

    def release(self, permit: Permit) -> None:
        """Free the slot of a request without a usable answer (timeout, connection error, 5xx)."""
        with self._lock:
            self.core.release(permit, self.clock())
            self._notify()

    def on_rate_limited(self, wait_s: float | None) -> float:
        """Pause the whole process for ``wait_s`` plus jitter; returns the seconds until the pause ends.

        ``wait_s`` None: the answer had no hint; the escalating wait applies (:meth:`GovernorCore.pause`).
        """
        with self._lock:
            now = self.clock()
            until = self.core.pause(wait_s, now)
            self._notify()
            return until - now

    def stats(self) -> GovernorStats:
        with self._lock:
            return self.core.stats(self.clock())


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_GOVERNORS: dict[tuple[str, str], Governor] = {}
_GOVERNORS_LOCK = threading.Lock()


def get_governor(settings: EngineSettings) -> Governor:
    """The process-wide governor for (api_url, token); the first caller's settings define its limits."""
    with _GOVERNORS_LOCK:
        governor = _GOVERNORS.get(settings.governor_key)
        if governor is None:
            governor = Governor(settings)
            _GOVERNORS[settings.governor_key] = governor
        return governor


def reset_governors() -> None:
    """Forget every governor (tests that start a fresh emulator with other limits call this)."""
    with _GOVERNORS_LOCK:
        _GOVERNORS.clear()
