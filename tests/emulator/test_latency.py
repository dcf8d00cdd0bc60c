"""The latency model: calibration against the documented numbers, seeded jitter, 504 past the ceiling."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from monday_emulator.latency import PRESETS, LatencyModel, latency_from_spec, measure
from monday_emulator.server import Emulator, EmulatorConfig
from monday_emulator.testing import RunningEmulator

from tap_monday_boards import queries
from tests.conftest import HttpAnswer

Gql = Callable[..., HttpAnswer]
Factory = Callable[..., RunningEmulator]
PRODUCTION = PRESETS["production"]
WITH_SUBITEMS = (
    "query Heavy($board: [ID!]!) { boards(ids: $board) { items_page(limit: 500) { items { id name "
    "column_values { id type text value } subitems { id name column_values { id type text value } } } } } }"
)


@pytest.fixture(scope="module")
def big() -> Emulator:
    """An emulator object (no server) with boards of 600 items, to measure real answers."""
    return Emulator(EmulatorConfig(seed=42, boards=1, items_per_board=600))


def extremes(model: LatencyModel, objects: int, lists: int = 0) -> tuple[float, float]:
    nominal = model.nominal(objects, lists)
    return nominal * (1 - model.jitter), nominal * (1 + model.jitter)


def test_production_batch_of_100_full_items_takes_1_5_to_2_5_s(big: Emulator) -> None:
    board = big.store.board_ids()[0]
    ids = big.store.item_ids(board)[:100]
    result = big.executor.execute(queries.ITEMS_BY_IDS_QUERY, {"ids": ids, "limit": 100}, "ItemsByIds")
    assert len(result.data["items"]) == 100
    low, high = extremes(PRODUCTION, *measure(result.data))
    assert low >= 1.5
    assert high <= 2.5


def test_production_500_items_with_subitems_time_out(big: Emulator) -> None:
    board = big.store.board_ids()[0]
    result = big.executor.execute(WITH_SUBITEMS, {"board": [board]}, "Heavy")
    assert not result.errors
    objects, lists = measure(result.data)
    assert lists == 500
    low, _ = extremes(PRODUCTION, objects, lists)
    assert PRODUCTION.times_out(low)


def test_production_cheap_read_near_half_a_second() -> None:
    low, high = extremes(PRODUCTION, 3)
    assert 0.4 <= low <= high <= 0.6


def test_measure_counts_objects_and_subitem_lists() -> None:
    data = {
        "items": [{"id": "1", "subitems": [{"id": "2"}], "group": {"id": "g"}}, {"id": "3", "subitems": []}]
    }
    assert measure(data) == (5, 2)  # root, two items, one subitem, one group; two subitems lists


def test_superlinear_growth() -> None:
    model = LatencyModel(per_object_s=0.001, knee_objects=1_000, exponent=1.0)
    assert model.nominal(1_000) == pytest.approx(1.0)
    assert model.nominal(4_000) == pytest.approx(16.0)  # 4x the objects, 16x the time


def test_jitter_is_seeded() -> None:
    model = LatencyModel(base_s=1.0, jitter=0.5)
    a = [model.delay(10, random.Random(5)) for _ in range(3)]
    rng_b, rng_c = random.Random(5), random.Random(6)
    assert [model.delay(10, rng_b) for _ in range(1)] == a[:1]
    assert model.delay(10, rng_c) != a[0]
    assert all(0.5 <= d <= 1.5 for d in a)


def test_latency_specs() -> None:
    assert latency_from_spec("instant").nominal(10_000) == 0.0
    custom = latency_from_spec("custom:base=0.25,per_object=0.001,ceiling=5,knee=100")
    assert (custom.base_s, custom.per_object_s, custom.ceiling_s, custom.knee_objects) == (
        0.25,
        0.001,
        5.0,
        100,
    )
    with pytest.raises(ValueError, match="unknown latency"):
        latency_from_spec("fast")
    with pytest.raises(ValueError, match="unknown latency parameter"):
        latency_from_spec("custom:speed=1")


def test_http_latency_applied_and_504_past_ceiling(emulator_factory: Factory, gql: Gql) -> None:
    running = emulator_factory(
        latency=LatencyModel(base_s=0.2, per_object_s=0.01, knee_objects=0, ceiling_s=0.5)
    )
    store = running.emulator.store
    ids = store.item_ids(store.board_ids()[0])
    cheap = gql(running, queries.ME_QUERY)
    assert cheap.status == 200
    heavy = gql(running, queries.ITEMS_BY_IDS_QUERY, variables={"ids": ids[:50], "limit": 50})
    assert heavy.status == 504
    assert heavy.raw == b"upstream request timeout"
    log = {r.operation: r for r in running.emulator.request_log}
    assert log["Me"].end - log["Me"].start >= 0.2
    assert log["ItemsByIds"].end - log["ItemsByIds"].start >= 0.5
    assert log["ItemsByIds"].outcome == "timeout"
