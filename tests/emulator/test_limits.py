"""The limits engine on a fake clock: budget window, rate, concurrency, daily, IP, per-query cap."""

from __future__ import annotations

import pytest
from monday_emulator import envelopes as env
from monday_emulator.clock import FakeClock
from monday_emulator.limits import PLANS, Admission, Limits, PlanLimits, Rejection
from monday_emulator.server import Emulator, EmulatorConfig

from tap_monday_boards.queries import ACCOUNT_PLAN_QUERY

OPEN = PlanLimits(None, None, None, None, None, None)


def make(clock: FakeClock, **overrides: int | None) -> Limits:
    return Limits(OPEN.with_overrides(**overrides), clock)


def admit_ok(limits: Limits, cost: int = 0, token: str = "t", ip: str = "1.1.1.1") -> Admission:
    result = limits.admit(token, ip, cost)
    assert isinstance(result, Admission), result
    return result


def test_plan_presets_match_rl26() -> None:
    assert PLANS["enterprise"].requests_per_minute == 5_000
    assert PLANS["pro"].concurrency == 100
    assert PLANS["standard"].concurrency == 40
    assert PLANS["trial"].complexity_per_minute == 1_000_000
    assert PLANS["enterprise"].complexity_per_minute == 10_000_000
    assert PLANS["enterprise"].complexity_per_query == 5_000_000


def test_complexity_snapshot_and_sliding_reset() -> None:
    clock = FakeClock()
    limits = make(clock, complexity_per_minute=1_000)
    first = admit_ok(limits, 600)
    assert first.complexity.as_dict() == {
        "before": 1_000,
        "after": 400,
        "query": 600,
        "reset_in_x_seconds": 60,
    }
    limits.release(first)
    clock.advance(20)
    rejected = limits.admit("t", "ip", 600)
    assert isinstance(rejected, Rejection)
    assert rejected.code == env.COMPLEXITY_BUDGET_EXHAUSTED
    assert rejected.retry_in_seconds == 40  # the first charge leaves the window at t=60
    assert (rejected.budget_left, rejected.budget_limit, rejected.cost) == (400, 1_000, 600)
    clock.advance(40)
    again = admit_ok(limits, 600)
    assert again.complexity.before == 1_000


def test_budget_is_per_token() -> None:
    limits = make(FakeClock(), complexity_per_minute=100)
    admit_ok(limits, 100, token="a")
    assert isinstance(limits.admit("a", "ip", 1), Rejection)
    admit_ok(limits, 100, token="b")


def test_per_query_cap() -> None:
    limits = make(FakeClock(), complexity_per_query=5_000_000)
    rejected = limits.admit("t", "ip", 5_000_001)
    assert isinstance(rejected, Rejection)
    assert rejected.code == env.COMPLEXITY_EXCEPTION
    admit_ok(limits, 5_000_000)


def test_minute_rate_sliding() -> None:
    clock = FakeClock()
    limits = make(clock, requests_per_minute=3)
    for _ in range(3):
        limits.release(admit_ok(limits))
        clock.advance(10)
    rejected = limits.admit("t", "ip", 0)
    assert isinstance(rejected, Rejection)
    assert rejected.code == env.MINUTE_RATE_LIMIT_EXCEEDED
    assert rejected.retry_in_seconds == 30  # first request (t=0) leaves at t=60, now t=30
    clock.advance(30)
    admit_ok(limits)


def test_concurrency_counts_in_flight_until_release() -> None:
    limits = make(FakeClock(), concurrency=2)
    a, _b = admit_ok(limits), admit_ok(limits)
    rejected = limits.admit("t", "ip", 0)
    assert isinstance(rejected, Rejection)
    assert rejected.code == env.MAX_CONCURRENCY_EXCEEDED
    assert rejected.retry_in_seconds == 15
    limits.release(a)
    admit_ok(limits)


def test_daily_limit_rejected_calls_count_a_tenth() -> None:
    clock = FakeClock(start=86_400 * 20_000 + 3_600)  # 01:00 UTC
    limits = make(clock, daily_calls=3)
    for _ in range(3):
        limits.release(admit_ok(limits))
    rejected = limits.admit("t", "ip", 0)
    assert isinstance(rejected, Rejection)
    assert rejected.code == env.DAILY_LIMIT_EXCEEDED
    assert rejected.retry_in_seconds == 23 * 3_600  # until 00:00 UTC
    assert limits.usage("t")["daily_used"] == 3.1
    clock.advance(23 * 3_600)
    admit_ok(limits)
    assert limits.usage("t")["daily_used"] == 1.0


def test_ip_limit_spans_tokens_and_10s_window() -> None:
    clock = FakeClock()
    limits = make(clock, ip_requests_per_10s=2)
    limits.release(admit_ok(limits, token="a", ip="9.9.9.9"))
    limits.release(admit_ok(limits, token="b", ip="9.9.9.9"))
    rejected = limits.admit("c", "9.9.9.9", 0)
    assert isinstance(rejected, Rejection)
    assert rejected.code == env.IP_RATE_LIMIT_EXCEEDED
    admit_ok(limits, token="c", ip="8.8.8.8")
    clock.advance(10)
    admit_ok(limits, token="c", ip="9.9.9.9")


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_every_plan_admits_a_cheap_query(plan: str) -> None:
    limits = Limits(PLANS[plan], FakeClock())
    admission = limits.admit("t", "ip", 10)
    assert isinstance(admission, Admission)
    assert admission.complexity.query == 10


@pytest.mark.parametrize(
    ("plan", "tier", "trial"),
    [("enterprise", "enterprise", False), ("pro", "pro", False), ("standard", "standard", False),
     ("trial", "pro", True), ("unlimited", "enterprise", False)],
)  # fmt: skip
def test_the_account_answers_its_plan_at_the_published_price(plan: str, tier: str, trial: bool) -> None:
    """``account { tier is_during_trial plan { tier } }`` says the emulator's plan; it costs what monday's
    published rule gives: the account object 10 + two scalars + the plan object 10 + one scalar = 23 (root
    ``complexity`` is free)."""
    emulator = Emulator(EmulatorConfig(plan=plan, boards=1, items_per_board=1))
    result = emulator.executor.execute(ACCOUNT_PLAN_QUERY, None, "AccountTier")
    assert not result.errors
    assert result.data is not None
    account = result.data["account"]
    assert account == {"tier": tier, "is_during_trial": trial, "plan": {"tier": tier}}
    assert result.cost == emulator.executor.estimate_cost(ACCOUNT_PLAN_QUERY, None, "AccountTier") == 23
