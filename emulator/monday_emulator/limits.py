"""monday.com's account limits, per token, on an injected clock.

A tap that is fast on a friendly server and dies on the real one is useless, so every limit monday enforces is
modelled: the per-query complexity cap, the sliding 60 s complexity budget, requests per minute, concurrent
requests, daily calls (rejected calls count 0.1) and requests per IP per 10 s. Time only comes from the
:class:`~monday_emulator.clock.Clock`, so a test moves a ``FakeClock`` instead of waiting.

The server calls it from its event-loop thread; tests read :meth:`Limits.usage` from theirs, so one lock
guards the counters.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from monday_emulator.clock import Clock
from monday_emulator.envelopes import (
    COMPLEXITY_BUDGET_EXHAUSTED,
    COMPLEXITY_EXCEPTION,
    DAILY_LIMIT_EXCEEDED,
    IP_RATE_LIMIT_EXCEEDED,
    MAX_CONCURRENCY_EXCEEDED,
    MINUTE_RATE_LIMIT_EXCEEDED,
)

WINDOW_S = 60.0
IP_WINDOW_S = 10.0
REJECTED_CALL_WEIGHT = 0.1
"""A call rejected by any rate limit counts 0.1 against the daily quota
(https://developer.monday.com/api-reference/docs/rate-limits)."""


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """The numbers of one plan. ``None`` disables a limit (useful for benchmarks)."""

    complexity_per_query: int | None = 5_000_000
    complexity_per_minute: int | None = 10_000_000
    requests_per_minute: int | None = 5_000
    concurrency: int | None = 250
    daily_calls: int | None = 25_000
    ip_requests_per_10s: int | None = 5_000
    tier: str = "enterprise"
    """what ``account { plan { tier } }`` answers on this plan."""
    trial: bool = False
    """``account { is_during_trial }``."""
    concurrency_retry_s: int = 15
    """``retry_in_seconds`` of a concurrency rejection (15 in the gateway answers of mondaycom/mcp's
    error tests)."""

    def with_overrides(self, **overrides: Any) -> PlanLimits:
        """A copy with some numbers changed (``None`` values in ``overrides`` disable that limit)."""
        return replace(self, **overrides)


PLANS: dict[str, PlanLimits] = {
    "enterprise": PlanLimits(),
    "pro": PlanLimits(requests_per_minute=2_500, concurrency=100, daily_calls=10_000, tier="pro"),
    "standard": PlanLimits(requests_per_minute=1_000, concurrency=40, daily_calls=1_000, tier="standard"),
    # monday's free trial is a trial of the Pro plan, with the smallest limits (1M budget, 40 in flight)
    "trial": PlanLimits(complexity_per_minute=1_000_000, requests_per_minute=1_000, concurrency=40,
                        daily_calls=200, tier="pro", trial=True),
    "unlimited": PlanLimits(None, None, None, None, None, None),
}
"""monday's rate-limits tables (https://developer.monday.com/api-reference/docs/rate-limits): personal-token
budget 10M/min (1M trial); rate 5,000/2,500/1,000; concurrency 250/100/40; daily 25,000/10,000/1,000
(monday's support article "API Rate Limits": trial 200). ``unlimited`` is for throughput benchmarks."""


@dataclass(frozen=True, slots=True)
class ComplexitySnapshot:
    """What the ``complexity`` field reports for one admitted query."""

    before: int
    after: int
    query: int
    reset_in_x_seconds: int

    def as_dict(self) -> dict[str, int]:
        """The field's value as GraphQL returns it."""
        return {"before": self.before, "after": self.after, "query": self.query,
                "reset_in_x_seconds": self.reset_in_x_seconds}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request was refused; the server turns it into the version's envelope."""

    code: str
    retry_in_seconds: int
    cost: int = 0
    budget_left: int = 0
    budget_limit: int = 0


@dataclass(frozen=True, slots=True)
class Admission:
    """An admitted request. Call :meth:`Limits.release` with it when the response is done."""

    token: str
    complexity: ComplexitySnapshot


class _Window:
    """Weighted events inside a sliding window: ``total`` over the last ``span`` seconds."""

    __slots__ = ("_events", "span", "total")

    def __init__(self, span: float) -> None:
        self.span = span
        self._events: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def expire(self, now: float) -> None:
        while self._events and self._events[0][0] + self.span <= now:
            self.total -= self._events.popleft()[1]
        if not self._events:
            self.total = 0.0  # no float drift once empty

    def add(self, now: float, weight: float = 1.0) -> None:
        self._events.append((now, weight))
        self.total += weight

    def seconds_until_room(self, now: float, room_needed: float, limit: float) -> float:
        """Seconds until ``total + room_needed <= limit`` as old events leave the window."""
        excess = self.total + room_needed - limit
        if excess <= 0:
            return 0.0
        freed = 0.0
        for t, w in self._events:
            freed += w
            if freed >= excess:
                return max(0.0, t + self.span - now)
        return self.span

    def reset_in(self, now: float) -> float:
        """Seconds until the oldest event leaves the window (0 when empty)."""
        return max(0.0, self._events[0][0] + self.span - now) if self._events else 0.0


@dataclass(slots=True)
class _TokenState:
    budget: _Window
    requests: _Window
    in_flight: int = 0
    daily_day: int = -1
    daily_used: float = 0.0


class Limits:
    """Admission control for every request, keyed by token (and by client IP for the IP limit)."""

    def __init__(self, plan: PlanLimits, clock: Clock) -> None:
        self.plan = plan
        self.clock = clock
        self._tokens: dict[str, _TokenState] = {}
        self._ips: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def _state(self, token: str) -> _TokenState:
        state = self._tokens.get(token)
        if state is None:
            state = _TokenState(_Window(WINDOW_S), _Window(WINDOW_S))
            self._tokens[token] = state
        return state

    def _daily(self, state: _TokenState, now: float) -> None:
        day = int(now // 86_400)
        if day != state.daily_day:
            state.daily_day, state.daily_used = day, 0.0

    def admit(self, token: str, ip: str, cost: int) -> Admission | Rejection:
        """Check every limit in the order a gateway would, then charge ``cost`` to the budget.

        Order: IP, daily, minute rate, concurrency (cheap gateway counters), then the per-query cap and the
        budget (need the query's cost). A rejected call still counts: 0.1 daily call, one request against the
        IP window. Admitted calls take a concurrency slot until :meth:`release`.
        """
        with self._lock:
            return self._admit(token, ip, cost)

    def _admit(self, token: str, ip: str, cost: int) -> Admission | Rejection:
        plan, now = self.plan, self.clock.now()
        state = self._state(token)
        self._daily(state, now)
        state.budget.expire(now)
        state.requests.expire(now)
        ip_window = self._ips.setdefault(ip, _Window(IP_WINDOW_S))
        ip_window.expire(now)
        ip_window.add(now)
        rejection = self._check(state, ip_window, cost, now)
        if rejection is not None:
            state.daily_used += REJECTED_CALL_WEIGHT
            return rejection
        state.daily_used += 1.0
        state.requests.add(now)
        state.in_flight += 1
        limit = plan.complexity_per_minute
        used = state.budget.total
        before = int(limit - used) if limit is not None else 0
        state.budget.add(now, cost)
        after = before - cost if limit is not None else 0
        snapshot = ComplexitySnapshot(before, after, cost, math.ceil(state.budget.reset_in(now)))
        return Admission(token, snapshot)

    def _check(  # noqa: PLR0911 - one return per limit, in the gateway's order
        self, state: _TokenState, ip_window: _Window, cost: int, now: float
    ) -> Rejection | None:
        plan = self.plan
        if plan.ip_requests_per_10s is not None and ip_window.total > plan.ip_requests_per_10s:
            wait = ip_window.seconds_until_room(now, 0, plan.ip_requests_per_10s)
            return Rejection(IP_RATE_LIMIT_EXCEEDED, max(1, math.ceil(wait)))
        if plan.daily_calls is not None and state.daily_used + 1.0 > plan.daily_calls:
            midnight = (int(now // 86_400) + 1) * 86_400
            return Rejection(DAILY_LIMIT_EXCEEDED, max(1, math.ceil(midnight - now)))
        if plan.requests_per_minute is not None and state.requests.total + 1 > plan.requests_per_minute:
            wait = state.requests.seconds_until_room(now, 1, plan.requests_per_minute)
            return Rejection(MINUTE_RATE_LIMIT_EXCEEDED, max(1, math.ceil(wait)))
        if plan.concurrency is not None and state.in_flight + 1 > plan.concurrency:
            return Rejection(MAX_CONCURRENCY_EXCEEDED, plan.concurrency_retry_s)
        if plan.complexity_per_query is not None and cost > plan.complexity_per_query:
            return Rejection(COMPLEXITY_EXCEPTION, 0, cost=cost, budget_limit=plan.complexity_per_query)
        limit = plan.complexity_per_minute
        if limit is not None and state.budget.total + cost > limit:
            wait = state.budget.seconds_until_room(now, cost, limit)
            return Rejection(COMPLEXITY_BUDGET_EXHAUSTED, max(1, math.ceil(wait)), cost=cost,
                             budget_left=max(0, int(limit - state.budget.total)), budget_limit=limit)
        return None

    def release(self, admission: Admission) -> None:
        """Free the concurrency slot taken by :meth:`admit`."""
        with self._lock:
            state = self._tokens[admission.token]
            state.in_flight = max(0, state.in_flight - 1)

    def usage(self, token: str) -> dict[str, float]:
        """Current counters of ``token`` (for metrics and tests)."""
        with self._lock:
            now = self.clock.now()
            state = self._state(token)
            self._daily(state, now)
            state.budget.expire(now)
            state.requests.expire(now)
            return {"complexity_used": state.budget.total,
                    "requests_last_minute": state.requests.total,
                    "in_flight": state.in_flight, "daily_used": round(state.daily_used, 1)}
