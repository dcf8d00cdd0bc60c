"""Fault injection: each kind over real HTTP, reproducible by seed, never touching the store."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable

import aiohttp
import pytest
from monday_emulator.faults import FaultConfig, FaultInjector, FaultKind, ScriptedFault
from monday_emulator.testing import RunningEmulator

from tap_monday_boards import queries
from tests.conftest import HttpAnswer, post_graphql

Gql = Callable[..., HttpAnswer]
Factory = Callable[..., RunningEmulator]


def only(kind: FaultKind, **kwargs: float) -> FaultConfig:
    return FaultConfig({kind: 1.0}, **kwargs)


def items_vars(running: RunningEmulator, n: int = 3) -> dict:
    store = running.emulator.store
    ids = store.item_ids(store.board_ids()[0])[:n]
    return {"ids": ids, "limit": len(ids)}


def test_decisions_reproducible_and_independent_of_order() -> None:
    config = FaultConfig.mixed(0.5)
    a, b = FaultInjector(config, seed=3), FaultInjector(config, seed=3)
    forward = [a.decide(n) for n in range(200)]
    backward = [b.decide(n) for n in reversed(range(200))][::-1]
    assert forward == backward
    assert forward != [FaultInjector(config, seed=4).decide(n) for n in range(200)]


def test_mixed_rate_splits_over_every_kind() -> None:
    injector = FaultInjector(FaultConfig.mixed(0.22), seed=1)
    counts = Counter(injector.decide(n) for n in range(20_000))
    faulted = 20_000 - counts[None]
    assert 0.20 * 20_000 < faulted < 0.24 * 20_000
    assert set(counts) - {None} == set(FaultKind)
    for kind in FaultKind:
        assert 0.01 * 20_000 < counts[kind] < 0.03 * 20_000


def test_scripted_fault_hits_the_nth_request_of_one_operation_only() -> None:
    planned = (ScriptedFault("HarvestNextPage", 2, FaultKind.SLOW_RESPONSE),)
    injector = FaultInjector(FaultConfig(scripted=planned), seed=0)
    calls = ["HarvestNextPage", "ItemsByIds", "ItemsByIds", "HarvestNextPage", "HarvestNextPage", None]
    assert [injector.decide(n, op) for n, op in enumerate(calls)] == [
        None,
        None,
        None,
        FaultKind.SLOW_RESPONSE,
        None,
        None,
    ]


def test_operation_filter_and_invalid_rates() -> None:
    injector = FaultInjector(FaultConfig({FaultKind.HTTP_500: 1.0}, operations=frozenset({"A"})), seed=0)
    assert injector.decide(0, "A") is FaultKind.HTTP_500
    assert injector.decide(1, "B") is None
    with pytest.raises(ValueError, match="more than 1"):
        FaultInjector(FaultConfig({FaultKind.HTTP_500: 0.7, FaultKind.HTTP_502: 0.7}), seed=0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultConfig.mixed(1.5)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (FaultKind.HTTP_500, 500),
        (FaultKind.HTTP_502, 502),
        (FaultKind.HTTP_503, 503),
        (FaultKind.HTTP_504, 504),
    ],
)
def test_gateway_5xx(emulator_factory: Factory, gql: Gql, kind: FaultKind, status: int) -> None:
    running = emulator_factory(faults=only(kind))
    answer = gql(running, queries.ITEMS_BY_IDS_QUERY, variables=items_vars(running))
    assert answer.status == status
    with pytest.raises(json.JSONDecodeError):
        _ = answer.json
    snapshot = running.emulator.metrics.snapshot()
    assert snapshot["faults_by_kind"] == {kind.value: 1}
    assert snapshot["complexity_spent"] == 0  # not executed, not charged


def test_empty_429(emulator_factory: Factory, gql: Gql) -> None:
    running = emulator_factory(faults=only(FaultKind.EMPTY_429))
    answer = gql(running, queries.ITEMS_BY_IDS_QUERY, variables=items_vars(running))
    assert (answer.status, answer.raw) == (429, b"")


def test_internal_error_200(emulator_factory: Factory, gql: Gql) -> None:
    running = emulator_factory(faults=only(FaultKind.INTERNAL_ERROR_200))
    answer = gql(running, queries.ITEMS_BY_IDS_QUERY, variables=items_vars(running), version="2025-07")
    assert answer.status == 200
    assert answer.json["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "data" not in answer.json


def test_field_limit_exceeded(emulator_factory: Factory, gql: Gql) -> None:
    running = emulator_factory(faults=only(FaultKind.FIELD_LIMIT_EXCEEDED))
    answer = gql(running, queries.ITEMS_BY_IDS_QUERY, variables=items_vars(running))
    assert answer.status == 429
    assert answer.json["error_code"] == "FIELD_LIMIT_EXCEEDED"
    assert answer.json["error_data"]["retry_in_seconds"] == 15


def test_partial_data_leaves_store_intact(emulator_factory: Factory, gql: Gql) -> None:
    faults = FaultConfig({FaultKind.PARTIAL_TOO_MANY_REQUESTS: 1.0}, operations=frozenset({"ItemsByIds"}))
    running = emulator_factory(faults=faults)
    variables = items_vars(running)
    spoiled = gql(running, queries.ITEMS_BY_IDS_QUERY, variables=variables)
    assert spoiled.status == 200
    body = spoiled.json
    error = body["errors"][0]
    assert error["extensions"]["code"] == "tooManyRequests"
    root, index, field = error["path"]
    assert body["data"][root][index][field] is None
    # The same query under another operation name gets no fault and the true value.
    clean = gql(running, queries.ITEMS_BY_IDS_QUERY.replace("ItemsByIds", "Clean", 1), variables=variables)
    assert "errors" not in clean.json
    truth = running.emulator.store.render_item(body["data"][root][index]["id"])
    clean_value = clean.json["data"][root][index][field]
    assert clean_value is not None
    assert clean_value.items() <= truth[field].items()  # the query selects a subset of the ground truth


def test_truncated_json(emulator_factory: Factory, gql: Gql) -> None:
    running = emulator_factory(faults=only(FaultKind.TRUNCATED_JSON))
    answer = gql(running, queries.ITEMS_BY_IDS_QUERY, variables=items_vars(running))
    assert answer.status == 200
    assert answer.raw.startswith(b'{"data":')
    with pytest.raises(json.JSONDecodeError):
        _ = answer.json


def test_connection_reset_mid_body(emulator_factory: Factory, gql: Gql) -> None:
    running = emulator_factory(faults=only(FaultKind.CONNECTION_RESET))
    with pytest.raises(aiohttp.ClientPayloadError):
        gql(running, queries.ITEMS_BY_IDS_QUERY, variables=items_vars(running))
    assert running.emulator.metrics.snapshot()["faults_by_kind"] == {"connection_reset": 1}


def test_slow_response_exceeds_client_timeout(emulator_factory: Factory) -> None:
    running = emulator_factory(faults=only(FaultKind.SLOW_RESPONSE, slow_delay_s=2.0))

    async def go() -> None:
        timeout = aiohttp.ClientTimeout(total=0.2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await post_graphql(session, running.url, queries.ME_QUERY, token=running.token)

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(go())


def _statuses(running: RunningEmulator, gql: Gql, n: int) -> list[tuple[int, str | None]]:
    out = []
    for _ in range(n):
        try:
            out.append((gql(running, queries.ME_QUERY).status, None))
        except aiohttp.ClientPayloadError:
            out.append((0, "reset"))
    return out


def test_same_seed_same_faults_over_http(emulator_factory: Factory, gql: Gql) -> None:
    kinds = frozenset(FaultKind) - {FaultKind.SLOW_RESPONSE}
    config = FaultConfig.mixed(0.6, kinds=kinds)
    first = emulator_factory(seed=11, faults=config)
    second = emulator_factory(seed=11, faults=config)
    other = emulator_factory(seed=12, faults=config)
    a, b, c = (_statuses(r, gql, 25) for r in (first, second, other))
    assert a == b
    assert a != c
    faults_a = [r.fault for r in sorted(first.emulator.request_log, key=lambda r: r.seq)]
    faults_b = [r.fault for r in sorted(second.emulator.request_log, key=lambda r: r.seq)]
    assert faults_a == faults_b
    assert len({f for f in faults_a if f}) >= 4
