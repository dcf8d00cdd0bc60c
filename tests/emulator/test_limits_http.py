"""Each limit through real HTTP, on a fake clock, in the shapes of 2024-07, 2025-04 and 2025-07+."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.latency import LatencyModel
from monday_emulator.testing import RunningEmulator

from tests.conftest import HttpAnswer, post_graphql

Gql = Callable[..., HttpAnswer]
Factory = Callable[..., RunningEmulator]
ME = "query Me { complexity { before after query reset_in_x_seconds } me { id } }"


def me_cost(running: RunningEmulator) -> int:
    """The executor's estimate for ME (the cost model is E1's; the limits only have to charge it)."""
    cost = running.emulator.executor.estimate_cost(ME, None, "Me")
    assert cost > 0
    return cost


def open_limits(**overrides: int | None) -> dict[str, int | None]:
    """No limits except the ones under test."""
    base: dict[str, int | None] = {
        "complexity_per_query": None,
        "complexity_per_minute": None,
        "requests_per_minute": None,
        "concurrency": None,
        "daily_calls": None,
        "ip_requests_per_10s": None,
    }
    return {**base, **overrides}


def test_complexity_field_reports_real_budget_and_resets(emulator_factory: Factory, gql: Gql) -> None:
    clock = FakeClock()
    probe = emulator_factory()
    c = me_cost(probe)
    running = emulator_factory(clock=clock, limit_overrides=open_limits(complexity_per_minute=2 * c + 1))
    first = gql(running, ME).json["data"]["complexity"]
    assert first == {"before": 2 * c + 1, "after": c + 1, "query": c, "reset_in_x_seconds": 60}
    clock.advance(15)
    second = gql(running, ME).json["data"]["complexity"]
    assert second == {"before": c + 1, "after": 1, "query": c, "reset_in_x_seconds": 45}
    clock.advance(5)
    rejected = gql(running, ME, version="2025-07")
    assert rejected.status == 429
    assert rejected.headers["Retry-After"] == "40"
    assert rejected.json["errors"][0]["extensions"] == {
        "code": "COMPLEXITY_BUDGET_EXHAUSTED",
        "retry_in_seconds": 40,
    }
    clock.advance(40)
    assert gql(running, ME).json["data"]["complexity"]["before"] == c + 1  # first charge left the window


@pytest.mark.parametrize("version", ["2024-07", "2025-04", "2025-07", "2026-10"])
def test_budget_exhausted_shape_per_version(emulator_factory: Factory, gql: Gql, version: str) -> None:
    c = me_cost(emulator_factory())
    limit = c + c // 2
    running = emulator_factory(clock=FakeClock(), limit_overrides=open_limits(complexity_per_minute=limit))
    assert gql(running, ME, version=version).status == 200
    answer = gql(running, ME, version=version)
    body = answer.json
    if version == "2024-07":
        assert answer.status == 429
        assert body["error_code"] == "ComplexityException"
        assert body["error_message"] == (
            f"Complexity budget exhausted, query cost {c} budget remaining {limit - c} out of {limit} "
            "reset in 60 seconds"
        )
        assert body["errors"] == [body["error_message"]]
        assert "account_id" in body
    elif version == "2025-04":
        assert answer.status == 200
        ext = body["errors"][0]["extensions"]
        assert ext == {
            "code": "COMPLEXITY_BUDGET_EXHAUSTED",
            "complexity": c,
            "complexity_budget_left": limit - c,
            "complexity_budget_limit": limit,
            "retry_in_seconds": 60,
            "status_code": 429,
        }
    else:
        assert answer.status == 429
        assert body["errors"][0]["extensions"] == {
            "code": "COMPLEXITY_BUDGET_EXHAUSTED",
            "retry_in_seconds": 60,
        }
        assert body["extensions"]["request_id"] == answer.headers["X-Request-Id"]
    assert running.emulator.metrics.snapshot()["rejections_by_code"] == {"COMPLEXITY_BUDGET_EXHAUSTED": 1}


def test_per_query_cap(emulator_factory: Factory, gql: Gql) -> None:
    c = me_cost(emulator_factory())
    running = emulator_factory(limit_overrides=open_limits(complexity_per_query=c - 1))
    answer = gql(running, ME)
    assert answer.status == 200
    error = answer.json["errors"][0]
    assert error["extensions"]["code"] == "ComplexityException"
    assert "data" not in answer.json


NESTED_GROUPS = (
    "query Groups { complexity { query } boards(limit: 10) { items_page(limit: 500) "
    "{ items { id subitems { id } } } } }"
)


def test_the_active_cost_model_prices_answers_and_the_cap(emulator_factory: Factory, gql: Gql) -> None:
    """Through HTTP: the same document is refused under ``documented`` (over 5,000,000) and served, with the
    heuristic's price in ``complexity.query``, under ``heuristic``."""
    documented = emulator_factory()
    assert documented.emulator.config.cost_model == "documented"
    refused = gql(documented, NESTED_GROUPS, version="2026-10")
    cost = documented.emulator.executor.estimate_cost(NESTED_GROUPS, None, "Groups")
    assert cost > 5_000_000
    assert refused.json["errors"][0]["message"] == (
        f"Query has complexity of {cost}, which exceeds max complexity of 5000000"
    )
    heuristic = emulator_factory(cost_model="heuristic")
    served = gql(heuristic, NESTED_GROUPS, version="2026-10")
    priced = heuristic.emulator.executor.estimate_cost(NESTED_GROUPS, None, "Groups")
    assert served.status == 200 and served.json["data"]["complexity"]["query"] == priced < cost
    me = gql(documented, ME).json["data"]["complexity"]["query"]
    assert me == me_cost(documented)


@pytest.mark.parametrize(
    ("version", "status", "code_path"),
    [
        ("2024-07", 429, ("error_code",)),
        ("2025-04", 429, ("errors", 0, "extensions", "code")),
        ("2025-07", 429, ("errors", 0, "extensions", "code")),
    ],
)
def test_minute_rate_limit(
    emulator_factory: Factory, gql: Gql, version: str, status: int, code_path: tuple
) -> None:
    clock = FakeClock()
    running = emulator_factory(clock=clock, limit_overrides=open_limits(requests_per_minute=2))
    assert gql(running, ME, version=version).status == 200
    clock.advance(10)
    assert gql(running, ME, version=version).status == 200
    answer = gql(running, ME, version=version)
    assert answer.status == status
    node = answer.json
    for key in code_path:
        node = node[key]
    assert node == "MINUTE_RATE_LIMIT_EXCEEDED"
    assert answer.headers["Retry-After"] == "50"
    clock.advance(50)
    assert gql(running, ME, version=version).status == 200


def test_daily_limit_and_tenth_accounting(emulator_factory: Factory, gql: Gql) -> None:
    clock = FakeClock(start=86_400 * 20_000 + 23 * 3_600)  # 23:00 UTC
    running = emulator_factory(clock=clock, limit_overrides=open_limits(daily_calls=2))
    assert gql(running, ME).status == 200
    assert gql(running, ME).status == 200
    answer = gql(running, ME)
    assert answer.status == 429
    assert answer.json["errors"][0]["extensions"] == {
        "code": "DAILY_LIMIT_EXCEEDED",
        "retry_in_seconds": 3_600,
    }
    assert running.emulator.limits.usage(running.token)["daily_used"] == 2.1
    clock.advance(3_600)
    assert gql(running, ME).status == 200


def test_ip_limit_covers_every_token(emulator_factory: Factory, gql: Gql) -> None:
    clock = FakeClock()
    running = emulator_factory(
        clock=clock, extra_tokens=("second-token",), limit_overrides=open_limits(ip_requests_per_10s=2)
    )
    assert gql(running, ME).status == 200
    assert gql(running, ME, token="second-token").status == 200
    answer = gql(running, ME, token="second-token")
    assert answer.status == 429
    assert answer.json["errors"][0]["extensions"]["code"] == "IP_RATE_LIMIT_EXCEEDED"
    clock.advance(10)
    assert gql(running, ME, token="second-token").status == 200


def test_limits_are_per_token(emulator_factory: Factory, gql: Gql) -> None:
    running = emulator_factory(
        clock=FakeClock(), extra_tokens=("second-token",), limit_overrides=open_limits(requests_per_minute=1)
    )
    assert gql(running, ME).status == 200
    assert gql(running, ME).status == 429
    assert gql(running, ME, token="second-token").status == 200


def test_concurrency_limit(emulator_factory: Factory) -> None:
    running = emulator_factory(latency=LatencyModel(base_s=0.5), limit_overrides=open_limits(concurrency=1))

    async def go() -> list[HttpAnswer]:
        async with aiohttp.ClientSession() as session:
            first = asyncio.create_task(post_graphql(session, running.url, ME, token=running.token))
            # The first request holds the only slot for 0.5 s; wait until the server has admitted it.
            deadline = asyncio.get_running_loop().time() + 5
            while running.emulator.limits.usage(running.token)["in_flight"] < 1:
                assert asyncio.get_running_loop().time() < deadline, "first request never admitted"
                await asyncio.sleep(0.005)
            second = await post_graphql(session, running.url, ME, token=running.token)
            return [await first, second]

    first, second = asyncio.run(go())
    assert first.status == 200
    assert second.status == 429
    assert second.json["errors"][0]["extensions"] == {
        "code": "MAX_CONCURRENCY_EXCEEDED",
        "retry_in_seconds": 15,
    }
    assert second.headers["Retry-After"] == "15"
    assert running.emulator.limits.usage(running.token)["in_flight"] == 0
