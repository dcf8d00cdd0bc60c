"""``GET /metrics``, the in-memory request log and the JSONL log: contents, and no token anywhere."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import aiohttp
import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.latency import LatencyModel
from monday_emulator.metrics import RequestRecord, max_overlap
from monday_emulator.testing import RunningEmulator

from tap_monday_boards import queries
from tests.conftest import HttpAnswer, post_graphql

Gql = Callable[..., HttpAnswer]
Factory = Callable[..., RunningEmulator]
SECRET = "s3cret-token-value"


def record(start: float, end: float) -> RequestRecord:
    return RequestRecord(0, start, end, 0.0, "Op", "q", None, "2026-10", 200, None, 0, None, 0)


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        pytest.param([], 0, id="none"),
        pytest.param([(0, 1), (1, 2)], 1, id="touching-do-not-overlap"),
        pytest.param([(0, 3), (1, 2), (1.5, 4)], 3, id="nested"),
        pytest.param([(0, 1), (2, 3), (2.5, 3.5)], 2, id="two-groups"),
    ],
)
def test_max_overlap(spans: list[tuple[float, float]], expected: int) -> None:
    assert max_overlap([record(a, b) for a, b in spans]) == expected


def test_metrics_endpoint_and_request_log(emulator_factory: Factory, gql: Gql, tmp_path: Path) -> None:
    log_file = tmp_path / "requests.jsonl"
    running = emulator_factory(
        token=SECRET,
        clock=FakeClock(),
        log_requests=str(log_file),
        limit_overrides={"requests_per_minute": 2},
    )
    store = running.emulator.store
    ids = store.item_ids(store.board_ids()[0])[:5]
    ok = gql(running, queries.ITEMS_BY_IDS_QUERY, variables={"ids": ids, "limit": 5})
    assert ok.status == 200
    gql(running, queries.ME_QUERY)
    gql(running, queries.ME_QUERY, token="wrong")
    gql(running, "query Broken { nope }")
    limited = gql(running, queries.ME_QUERY)
    assert limited.status == 429

    async def fetch_metrics() -> dict:
        async with aiohttp.ClientSession() as session, session.get(running.metrics_url) as response:
            return await response.json()

    metrics = asyncio.run(fetch_metrics())
    cost = ok.json["data"]["complexity"]["query"]
    me_cost = running.emulator.executor.estimate_cost(queries.ME_QUERY, None, "Me")
    assert metrics["requests_total"] == 5
    assert metrics["requests_by_operation"] == {"ItemsByIds": 1, "Me": 3, "Broken": 1}
    assert metrics["complexity_spent"] == cost + me_cost
    assert metrics["rejections_by_code"] == {"NOT_AUTHENTICATED": 1, "MINUTE_RATE_LIMIT_EXCEEDED": 1}
    assert metrics["errors_by_code"] == {"GRAPHQL_VALIDATION_FAILED": 1}
    assert metrics["responses_by_status"] == {"200": 3, "401": 1, "429": 1}
    assert metrics["max_concurrency"] == 1
    assert metrics["bytes_served"] == sum(len(a.raw) for a in (ok, limited)) + sum(
        r.bytes for r in running.emulator.request_log if r.operation in {"Me", "Broken"} and r.status != 429
    )

    log = running.emulator.request_log
    first = next(r for r in log if r.operation == "ItemsByIds")
    assert first.variables == {"ids": ids, "limit": 5}
    assert (first.status, first.code, first.cost, first.outcome) == (200, None, cost, "ok")
    assert first.query == queries.ITEMS_BY_IDS_QUERY
    assert first.end >= first.start
    assert [r.seq for r in log] == [0, 1, 2, 3, 4]

    raw_lines = log_file.read_text().splitlines()
    by_seq = {r.seq: r for r in log}
    # each line is the record exactly as json.dumps(asdict(record)) writes it
    expected = [asdict(by_seq[json.loads(line)["seq"]]) for line in raw_lines]
    assert raw_lines == [json.dumps(line, separators=(",", ":")) for line in expected]
    lines = [json.loads(line) for line in raw_lines]
    assert [line["operation"] for line in lines] == ["ItemsByIds", "Me", "Me", "Broken", "Me"]
    assert lines[-1]["code"] == "MINUTE_RATE_LIMIT_EXCEEDED"
    assert SECRET not in log_file.read_text()
    assert SECRET not in json.dumps(metrics)
    assert all(SECRET not in repr(r) for r in log)


def test_concurrency_and_phase_order_visible_in_log(emulator_factory: Factory) -> None:
    running = emulator_factory(latency=LatencyModel(base_s=0.3))

    async def go() -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(
                *(post_graphql(session, running.url, queries.ME_QUERY, token=running.token) for _ in range(3))
            )
            await post_graphql(session, running.url, queries.TAGS_QUERY, token=running.token)

    asyncio.run(go())
    metrics = running.emulator.metrics
    assert metrics.max_concurrency() == 3
    assert metrics.max_concurrency("Me") == 3
    assert metrics.max_concurrency("Tags") == 1
    log = running.emulator.request_log
    last_me_end = max(r.end for r in log if r.operation == "Me")
    tags = next(r for r in log if r.operation == "Tags")
    assert tags.start >= last_me_end
    assert all(r.end - r.start >= 0.3 for r in log)
