"""Governor: admission arithmetic with an injected clock, plus the blocking and async wrappers."""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time

import pytest

from tap_monday_boards.engine.governor import (
    LEDGER_MARGIN_S,
    WINDOW_S,
    Governor,
    GovernorCore,
    Permit,
    _Ledger,
    get_governor,
    reset_governors,
)
from tap_monday_boards.engine.settings import EngineSettings


def _settings(**kw: object) -> EngineSettings:
    base: dict[str, object] = {"api_token": "t", "api_url": "http://x/v2"}
    base.update(kw)
    return EngineSettings(**base)  # type: ignore[arg-type]


def _cx(query: float, after: float) -> dict[str, float]:
    return {"query": query, "before": after + query, "after": after, "reset_in_x_seconds": 30}


def _permit(result: Permit | float) -> Permit:
    assert isinstance(result, Permit), f"expected admission, got wait {result}"
    return result


def test_in_flight_cap_and_release() -> None:
    core = GovernorCore(_settings(max_concurrency=2))
    core.cost_per_unit["k"] = 1.0
    a = _permit(core.try_acquire("k", 1, 0, 0.0))
    _permit(core.try_acquire("k", 1, 0, 0.0))
    assert core.try_acquire("k", 1, 0, 0.0) == math.inf
    core.settle(a, _cx(1, 1_000_000), 0.1)
    _permit(core.try_acquire("k", 1, 0, 0.2))
    assert core.in_flight == 2


def test_request_rate_window() -> None:
    core = GovernorCore(_settings(requests_per_minute=3))
    core.cost_per_unit["k"] = 1.0
    for t in (0.0, 1.0, 2.0):
        core.release(_permit(core.try_acquire("k", 1, 0, t)), t)
    assert core.try_acquire("k", 1, 0, 3.0) == pytest.approx(57.0)
    assert core.try_acquire("k", 1, 0, 59.9) == pytest.approx(0.1)
    _permit(core.try_acquire("k", 1, 0, 60.0))


def test_unknown_kind_is_probed_alone_then_learned_per_unit() -> None:
    core = GovernorCore(_settings(max_concurrency=10))
    probe = _permit(core.try_acquire("ItemsByIds", 100, 0, 0.0))
    assert probe.probe
    assert probe.expected_cost == 0.0
    assert core.try_acquire("ItemsByIds", 100, 0, 0.0) == math.inf
    _permit(core.try_acquire("Other", 1, 0, 0.0))  # other kinds are not held up
    core.settle(probe, _cx(5_000, 9_000_000), 0.5)
    nxt = _permit(core.try_acquire("ItemsByIds", 40, 0, 0.6))
    assert not nxt.probe
    assert nxt.expected_cost == pytest.approx(2_000)  # 50 per id x 40 ids


def test_a_prior_lets_the_first_batches_of_a_kind_go_together_until_an_answer_prices_them() -> None:
    governor = Governor(_settings(max_concurrency=10))
    governor.expect("ItemsByIds", 200)
    governor.expect("ItemsByIds", 999)  # a prior never replaces what is known
    core = governor.core
    first = _permit(core.try_acquire("ItemsByIds:1", 100, 0, 0.0))  # a board's kind starts from its family
    second = _permit(core.try_acquire("ItemsByIds:1", 100, 0, 0.0))
    assert not first.probe and not second.probe
    assert first.expected_cost == pytest.approx(20_000)
    core.settle(first, _cx(12_000, 9_000_000), 0.5)
    assert core.cost_per_unit["ItemsByIds:1"] == pytest.approx(120), "the first answer sets the real price"
    assert _permit(core.try_acquire("Other", 1, 0, 0.6)).probe, "kinds without a prior are still probed"


def test_harvest_pages_of_an_unknown_kind_are_not_held_behind_a_probe() -> None:
    """Two boards start their chains together: the second first page must not wait for the first's answer."""
    core = GovernorCore(_settings(max_concurrency=10))
    first = _permit(core.try_acquire("HarvestFirstPage", 500, 1, 0.0))
    second = _permit(core.try_acquire("HarvestFirstPage", 500, 1, 0.0))
    assert not first.probe and not second.probe
    core.settle(first, _cx(1_032, 9_000_000), 1.0)
    assert core.cost_per_unit["HarvestFirstPage"] == pytest.approx(1_032 / 500)


def test_cost_learning_is_fast_up_slow_down() -> None:
    core = GovernorCore(_settings())
    core.cost_per_unit["k"] = 10.0
    p = _permit(core.try_acquire("k", 1, 0, 0.0))
    core.settle(p, _cx(30, 9_000_000), 0.1)
    assert core.cost_per_unit["k"] == 30.0
    p = _permit(core.try_acquire("k", 1, 0, 0.2))
    core.settle(p, _cx(10, 9_000_000), 0.3)
    assert core.cost_per_unit["k"] == pytest.approx(30 + 0.3 * (10 - 30))


def test_budget_waits_until_old_cost_leaves_the_window() -> None:
    core = GovernorCore(_settings(complexity_budget_per_minute=1_000, max_concurrency=10))
    core.cost_per_unit["k"] = 10.0
    a = _permit(core.try_acquire("k", 50, 0, 0.0))  # expects 500
    core.settle(a, None, 1.0)  # no complexity: charged the expectation
    b = _permit(core.try_acquire("k", 40, 0, 5.0))  # 400 reserved -> 900
    wait = core.try_acquire("k", 20, 0, 6.0)  # 200 more would be 1,100 > 1,000
    assert wait == pytest.approx(54.0 + LEDGER_MARGIN_S)  # the 500 spent at t=0 leaves at t=60 (+margin)
    assert core.budget_waits == 1
    core.settle(b, _cx(400, 0), 7.0)
    assert core.try_acquire("k", 20, 0, 59.0) == pytest.approx(1.0 + LEDGER_MARGIN_S)
    _permit(core.try_acquire("k", 20, 0, 60.0 + LEDGER_MARGIN_S))


def test_budget_in_flight_only_waits_for_a_release() -> None:
    core = GovernorCore(_settings(complexity_budget_per_minute=1_000, max_concurrency=10))
    core.cost_per_unit["k"] = 10.0
    _permit(core.try_acquire("k", 90, 0, 0.0))  # 900 reserved, nothing spent yet
    assert core.try_acquire("k", 20, 0, 0.0) == math.inf


def test_oversized_request_is_admitted_when_idle() -> None:
    core = GovernorCore(_settings(complexity_budget_per_minute=100))
    core.cost_per_unit["k"] = 1_000.0
    _permit(core.try_acquire("k", 1, 0, 0.0))  # never deadlock on a query bigger than the budget


def test_account_budget_is_learned_from_after() -> None:
    core = GovernorCore(_settings(complexity_budget_per_minute=10_000_000, max_concurrency=10))
    core.cost_per_unit["k"] = 1.0
    p = _permit(core.try_acquire("k", 1, 0, 0.0))
    core.settle(p, {"query": 1_000, "before": 1_000_000, "after": 999_000}, 0.5)  # a 1M trial account
    assert core.budget_limit == pytest.approx(1_000_000)
    core.cost_per_unit["k"] = 1_000.0
    for _ in range(9):
        core.release(_permit(core.try_acquire("k", 100, 0, 1.0)), 1.0)  # 9 x 100,000 charged
    assert core.try_acquire("k", 100, 0, 1.0) == pytest.approx(60.0 + LEDGER_MARGIN_S)  # 2% headroom
    assert core.try_acquire("k", 100, 1, 1.0) == pytest.approx(59.0 + LEDGER_MARGIN_S)  # harvest: t=0 probe
    assert core.stats(120.0).budget_limit == pytest.approx(1_000_000)  # kept while waiting: no burst
    p = _permit(core.try_acquire("k", 1, 0, 130.0))
    core.settle(p, {"query": 1_000, "before": 2_000_000, "after": 1_999_000}, 130.0)
    assert core.budget_limit == pytest.approx(2_000_000)  # a newer window replaces an old observation


def test_unlimited_server_report_is_ignored() -> None:
    core = GovernorCore(_settings(complexity_budget_per_minute=5_000_000))
    p = _permit(core.try_acquire("k", 1, 0, 0.0))
    core.settle(p, {"query": 700, "before": 0, "after": 0, "reset_in_x_seconds": 0}, 0.1)
    assert core.budget_limit == 5_000_000
    assert core.cost_per_unit["k"] == 700


def test_rate_limit_pause_applies_to_everyone_with_bounded_seeded_jitter() -> None:
    waits = []
    for _ in range(2):
        core = GovernorCore(_settings(), rng=random.Random(7))
        core.cost_per_unit["k"] = 1.0
        until = core.pause(10.0, 100.0)
        assert 110.0 <= until <= 111.05
        waits.append(core.try_acquire("k", 1, 1, 100.0))
        assert core.try_acquire("other", 1, 0, 105.0) == pytest.approx(until - 105.0)
        _permit(core.try_acquire("k", 1, 0, until))
    assert waits[0] == waits[1]  # seeded jitter is reproducible
    core.pause(1.0, until)  # a shorter pause never shortens a longer one
    assert core.rate_limit_pauses == 2


def test_hintless_rate_limits_back_off_from_seconds_doubling_to_a_minute() -> None:
    core = GovernorCore(_settings(), rng=random.Random(3))
    now, waits = 0.0, []
    for _ in range(7):  # consecutive hint-less answers, each arriving after the previous pause ended
        until = core.pause(None, now)
        waits.append(core.pause_log[-1])
        assert until - now <= waits[-1] + 1.05  # the wait plus bounded jitter
        now = until
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert (core.hintless_pauses, core.stats(now).longest_pause_s) == (7, 60.0)


def test_a_success_resets_the_hintless_wait_and_a_hint_is_waited_exactly() -> None:
    core = GovernorCore(_settings(), rng=random.Random(3))
    core.cost_per_unit["k"] = 1.0
    now = core.pause(None, 0.0)
    now = core.pause(None, now)
    assert list(core.pause_log) == [2.0, 4.0]
    core.settle(_permit(core.try_acquire("k", 1, 0, now)), _cx(10, 9_000_000), now, ok=False)
    now = core.pause(None, now)  # a rate-limited (not ok) answer in between: still consecutive
    core.settle(_permit(core.try_acquire("k", 1, 0, now)), _cx(10, 9_000_000), now)  # a usable answer
    now = core.pause(None, now)
    assert list(core.pause_log) == [2.0, 4.0, 8.0, 2.0]
    until = core.pause(37.0, now)  # a hint is the wait, whatever the streak
    assert core.pause_log[-1] == 37.0
    assert 37.0 <= until - now <= 38.05


def test_hintless_answers_during_a_running_pause_do_not_escalate_it() -> None:
    core = GovernorCore(_settings(max_concurrency=24))
    until = core.pause(None, 10.0)  # the first of several requests that were in flight together
    for offset in (0.1, 0.5, 1.0):
        assert core.pause(None, 10.0 + offset) == until
    assert list(core.pause_log) == [2.0]
    assert core.hintless_streak == 1


def test_hintless_wait_bounds_come_from_the_settings() -> None:
    core = GovernorCore(_settings(rate_limit_first_wait_s=0.5, rate_limit_max_wait_s=3.0))
    now = 0.0
    for _ in range(4):
        now = core.pause(None, now)
    assert list(core.pause_log) == [0.5, 1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="rate_limit_first_wait_s"):
        _settings(rate_limit_first_wait_s=5.0, rate_limit_max_wait_s=3.0)


def test_higher_priority_waiter_goes_first() -> None:
    core = GovernorCore(_settings(max_concurrency=5))
    core.cost_per_unit["k"] = 1.0
    core.waiting[1] = 1
    assert core.try_acquire("k", 1, 0, 0.0) == math.inf
    _permit(core.try_acquire("k", 1, 1, 0.0))


def test_blocking_acquire_waits_for_release_from_another_thread() -> None:
    gov = Governor(_settings(max_concurrency=1))
    gov.core.cost_per_unit["k"] = 1.0
    first = gov.acquire_blocking("k")
    got: list[Permit] = []
    worker = threading.Thread(target=lambda: got.append(gov.acquire_blocking("k", timeout=10)))
    worker.start()
    deadline = time.monotonic() + 5
    while gov.stats().in_flight == 1 and not gov.core.waiting.get(0):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert not got
    gov.release(first)
    worker.join(timeout=5)
    assert len(got) == 1
    with pytest.raises(TimeoutError):
        gov.acquire_blocking("k", timeout=0.05)


def test_async_acquire_is_woken_by_a_blocking_release() -> None:
    gov = Governor(_settings(max_concurrency=1))
    gov.core.cost_per_unit["k"] = 1.0
    held = gov.acquire_blocking("k")

    async def main() -> float:
        task = asyncio.create_task(gov.acquire("k"))
        await asyncio.sleep(0.05)
        assert not task.done()
        start = time.monotonic()
        threading.Thread(target=gov.settle, args=(held, _cx(1, 100))).start()
        permit = await asyncio.wait_for(task, 5)
        gov.release(permit)
        return time.monotonic() - start

    elapsed = asyncio.run(main())
    assert elapsed < 0.4  # woken by the notification, not by the 0.5 s safety poll
    assert gov.stats().in_flight == 0


def test_cancelled_async_waiter_unregisters() -> None:
    gov = Governor(_settings(max_concurrency=1))
    gov.core.cost_per_unit["k"] = 1.0
    held = gov.acquire_blocking("k")

    async def main() -> None:
        task = asyncio.create_task(gov.acquire("k", priority=1))
        await asyncio.sleep(0.02)
        assert gov.core.waiting[1] == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert gov.core.waiting[1] == 0
    gov.release(held)


def test_get_governor_is_per_url_and_token() -> None:
    reset_governors()
    a = get_governor(_settings())
    assert get_governor(_settings(max_concurrency=3)) is a
    assert get_governor(_settings(api_token="other")) is not a
    assert get_governor(_settings(api_url="http://y/v2")) is not a
    reset_governors()
    assert get_governor(_settings()) is not a


def test_settings_validation_names_the_setting() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        _settings(batch_size=101)
    with pytest.raises(ValueError, match="api_token"):
        EngineSettings(api_token="")
    s = EngineSettings.from_config({"api_token": "sekret-9", "lookback_window_minutes": 2, "unknown": 1})
    assert s.lookback_window_s == 120.0
    assert "sekret-9" not in repr(s)


def test_batches_leave_budget_headroom_for_the_harvest() -> None:
    core = GovernorCore(_settings(complexity_budget_per_minute=1_000, max_concurrency=10))
    core.cost_per_unit["batch"] = 10.0
    core.cost_per_unit["page"] = 5.0
    core.release(_permit(core.try_acquire("batch", 98, 0, 0.0)), 0.0)  # 980 spent
    assert core.try_acquire("batch", 1, 0, 1.0) == pytest.approx(59.0 + LEDGER_MARGIN_S)  # 990 > headroom
    _permit(core.try_acquire("page", 1, 1, 1.0))  # the harvest still goes: 985 <= 1,000


def test_a_new_board_starts_from_its_family_cost_without_a_probe() -> None:
    core = GovernorCore(_settings(max_concurrency=10))
    first = _permit(core.try_acquire("ItemsByIds:1", 100, 0, 0.0))
    assert first.probe
    core.settle(first, _cx(7_000, 9_000_000), 0.1)
    other = _permit(core.try_acquire("ItemsByIds:2", 50, 0, 0.2))
    assert not other.probe
    assert other.expected_cost == pytest.approx(3_500)
    _permit(core.try_acquire("ItemsByIds:2", 50, 0, 0.2))  # not held back as a probe
    core.settle(other, _cx(1_000, 9_000_000), 0.3)
    assert core.cost_per_unit["ItemsByIds:2"] == pytest.approx(20)
    assert core.cost_per_unit["ItemsByIds"] == pytest.approx(70)  # the family keeps the costliest


def test_settings_accept_the_sdks_decimal_numbers() -> None:
    from decimal import Decimal  # noqa: PLC0415

    s = EngineSettings.from_config(
        {"api_token": "t", "rate_limit_first_wait_s": Decimal("1.5"), "max_concurrency": Decimal("12")}
    )
    assert s.rate_limit_first_wait_s == 1.5 and isinstance(s.rate_limit_first_wait_s, float)
    assert s.max_concurrency == 12 and isinstance(s.max_concurrency, int)
    with pytest.raises(ValueError, match="whole number"):
        EngineSettings.from_config({"api_token": "t", "batch_size": Decimal("2.5")})



def test_ledger_adjusts_only_entries_still_in_the_window() -> None:
    """Adjusting an entry changes the total only while that very entry is in the window; two requests with
    the same time and cost are two entries."""
    ledger = _Ledger()
    first, twin = ledger.add(0.0, 10.0), ledger.add(0.0, 10.0)
    later = ledger.add(30.0, 5.0)
    ledger.adjust(twin, 40.0)
    assert ledger.total == 55.0 and first.cost == 10.0
    ledger.expire(WINDOW_S + LEDGER_MARGIN_S + 1.0)  # the two at 0 s leave the window
    assert ledger.total == 5.0
    ledger.adjust(first, 1000.0)  # settled after it left: no effect on the total
    assert ledger.total == 5.0
    ledger.adjust(later, 7.0)
    assert ledger.total == 7.0
