"""The benchmark harness: ceiling arithmetic, id checks, and one end-to-end smoke run on a tiny board.

The smoke run is the CI guard for ``make bench``: real emulator processes, the real tap process, the
baseline clients over loopback HTTP, the writer benchmark and the report files, on ``instant`` latency.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.ceiling import CeilingInputs, ceiling, efficiency
from benchmarks.harness import STRATEGIES
from benchmarks.report import write_results
from benchmarks.suite import build_plan, run_plan
from benchmarks.tap_runner import EVERY_STREAM, select_only
from benchmarks.truth import check_ids, expected_item_ids, longest_chain


def _inputs(**overrides: float) -> CeilingInputs:
    values = {
        "items": 10_000, "page_size": 500, "batch_size": 100, "page_latency_s": 0.8,
        "batch_latency_s": 2.0, "harvest_cost_per_page": 1_000, "fetch_cost_per_batch": 80_000,
        "budget_per_minute": 10_000_000, "requests_per_minute": 5_000, "concurrency": 250,
    }
    values.update(overrides)
    return CeilingInputs(**values)  # type: ignore[arg-type]


def test_ceiling_terms_follow_the_documented_formula() -> None:
    inputs = _inputs()
    bound = ceiling(inputs)
    pages, batches = math.ceil(10_000 / 500), math.ceil(10_000 / 100)
    cost = pages * 1_000 + batches * 80_000
    assert bound.chain_s == pytest.approx(pages * 0.8 + 2.0)
    assert bound.budget_s == pytest.approx(cost / 10_000_000 * 60)
    assert bound.rate_s == pytest.approx((pages + batches) / 5_000 * 60)
    assert bound.concurrency_s == pytest.approx(batches / 250 * 2.0)
    assert bound.t_star_s == max(bound.chain_s, bound.budget_s, bound.rate_s, bound.concurrency_s)
    assert bound.binding == "budget"  # 8.02M points: 48 s > 18 s of chain
    # Under one minute's budget a fresh window spends it all at once: the strict bound is the chain.
    assert bound.burst_budget_s == 0
    assert bound.strict_s == pytest.approx(bound.chain_s)


def test_boards_walk_their_chains_side_by_side() -> None:
    """Two boards of 5,000: the chain term is one board's 10 pages, cost and requests count all 20."""
    one, two = ceiling(_inputs()), ceiling(_inputs(boards=2))
    assert two.chain_s == pytest.approx(10 * 0.8 + 2.0) and one.chain_s == pytest.approx(20 * 0.8 + 2.0)
    assert two.requests == one.requests and two.total_cost == one.total_cost


def test_a_partitioned_harvest_walks_its_longest_group_then_the_catch_up() -> None:
    """10,000 items, biggest group 1,100: the chain term is 3 pages of that group + 1 catch-up page."""
    single, split = ceiling(_inputs()), ceiling(_inputs(chain_items=1_100, catch_up_pages=1))
    assert split.chain_s == pytest.approx((3 + 1) * 0.8 + 2.0)
    assert single.chain_s == pytest.approx(20 * 0.8 + 2.0)
    assert split.requests == single.requests + 1  # ~ the same pages, plus the catch-up


def test_longest_chain_follows_the_engine_partitioning_rule() -> None:
    big = longest_chain(7, 1, 3_000, 6)
    assert big[1] == 1 and 2_940 / 6 <= big[0] < 2_940 / 3  # the biggest of six groups, then a catch-up
    assert longest_chain(7, 1, 3_000, 1) == (2_940, 0)  # one group: one chain
    assert longest_chain(7, 1, 900, 6) == (882, 0)  # two pages: not worth splitting


def test_every_stream_selects_the_whole_catalog() -> None:
    catalog = {"streams": [{"tap_stream_id": "items"}, {"tap_stream_id": "users", "metadata": []}]}
    chosen = select_only(catalog, {EVERY_STREAM})
    assert [e["metadata"][0]["metadata"]["selected"] for e in chosen["streams"]] == [True, True]
    only_items = select_only(catalog, {"items"})
    assert [e["metadata"][0]["metadata"]["selected"] for e in only_items["streams"]] == [True, False]


@pytest.mark.parametrize(
    ("overrides", "binding"),
    [
        pytest.param({"fetch_cost_per_batch": 100}, "chain", id="cheap-items-chain-binds"),
        pytest.param({"concurrency": 1, "fetch_cost_per_batch": 100}, "concurrency", id="one-in-flight"),
        pytest.param({"requests_per_minute": 10, "fetch_cost_per_batch": 100}, "rate", id="rate-binds"),
    ],
)
def test_ceiling_names_the_binding_term(overrides: dict[str, float], binding: str) -> None:
    assert ceiling(_inputs(**overrides)).binding == binding


def test_burst_bound_counts_whole_extra_minutes() -> None:
    bound = ceiling(_inputs(items=100_000))  # 80.2M points at 10M/min: 8 more windows after the first
    assert bound.burst_budget_s == 8 * 60
    assert bound.strict_s <= bound.t_star_s


def test_efficiency_is_ceiling_over_wall() -> None:
    assert efficiency(30.0, 60.0) == 0.5
    assert efficiency(30.0, 0.0) == 0.0


def test_check_ids_counts_missing_duplicates_and_strangers() -> None:
    expected = {"1": ["a", "b", "c"], "2": ["d"]}
    result = check_ids(expected, ["a", "a", "b", "x", "d"])
    assert result == {"expected": 4, "seen": 5, "missing": 1, "duplicates": 1, "unexpected": 1}


def test_ground_truth_is_deterministic_and_active_only() -> None:
    first = expected_item_ids(7, 1, 200)
    assert first == expected_item_ids(7, 1, 200)
    (ids,) = first.values()
    assert 0 < len(ids) < 200, "one item in 50 is archived or deleted, so fewer than 200 are active"
    assert len(set(ids)) == len(ids)


def test_smoke_run_end_to_end(tmp_path: Path) -> None:
    """The whole harness on a tiny board: every strategy returns every item exactly once."""
    plan = build_plan("smoke", smoke_items=250)
    messages: list[str] = []
    results = run_plan(plan, tmp_path / "work", e2e=False, progress=messages.append)
    results.update({"mode": "smoke", "command": "pytest", "environment": _fake_environment()})
    paths = write_results(results, tmp_path / "out", "smoke")

    runs = results["runs"]
    assert sorted(r["strategy"] for r in runs) == sorted(STRATEGIES)
    for run in runs:
        assert run["error"] is None, run["error"]
        assert run["ids"]["missing"] == 0 and run["ids"]["duplicates"] == 0, run["ids"]
        assert run["ids"]["expected"] == run["ids"]["seen"] > 0
        assert run["wall_s"] > 0 and run["items_per_s"] > 0
        assert run["server"]["requests_total"] >= 1
        assert run["server"]["complexity_spent"] > 0
        assert run["ceiling"]["binding"] in {"chain", "budget", "rate", "concurrency"}
        assert run["efficiency"] is None, "instant has no latency and no limits: T* is ~0, no ratio"
        assert run["emulator_cpu_s"] > 0
    taps = [r for r in runs if r["strategy"].startswith("tap")]
    assert all(r["tap_cpu_s"] > 0 and r["tap_peak_rss_mb"] > 10 for r in taps)
    two_phase = next(r for r in runs if r["strategy"] == "two_phase")
    assert two_phase["timeline"]["overlap_s"] <= 0, "strict two-phase: no batch before the harvest ended"
    naive = next(r for r in runs if r["strategy"] == "naive")
    assert set(naive["server"]["requests_by_kind"]) <= {"NaiveFirstPage", "NaiveNextPage"}

    writer = {w["variant"]: w for w in results["writer"]}
    assert {"sdk-defaults", "tap-chosen"} <= set(writer)
    assert writer["sdk-defaults"]["writer"] == "SimpleSingerWriter"
    assert writer["sdk-defaults"]["conformance"] == "RECURSIVE"
    assert all(w["records"] == 300 and w["records_per_cpu_s"] > 0 for w in writer.values())

    saved = json.loads(paths["json"].read_text())
    assert saved["runs"][0]["label"] == runs[0]["label"]
    text = paths["md"].read_text()
    assert "| profile | cost model | items | strategy |" in text and "(a) naive sequential" in text
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(m.startswith("done") for m in messages)


def _fake_environment() -> dict[str, object]:
    return {
        "timestamp": "t", "git_commit": "c", "platform": "p", "cpu_count": 2, "memory_gb": 1.0,
        "python": "3", "versions": {"singer-sdk": "x"},
    }


def test_whole_account_bound_counts_shared_requests_and_the_longest_chain() -> None:
    """100 boards of 100 items: about a hundred requests when boards share them (not one per board and
    stream); two boards of 5,000: the chain is one board's ten pages and its last batch."""
    from benchmarks.account import account_ceiling, account_shape  # noqa: PLC0415 - builds stores

    latency = "custom:base=0.6,per_object=0,jitter=0.2"
    many = account_ceiling(account_shape(7, 100, 100), latency, "enterprise", seed=7, cost_model="documented")
    assert 100 <= many.requests <= 140 and many.chain_s == pytest.approx(4 * 0.6)
    big = account_ceiling(account_shape(7, 2, 5_000), latency, "enterprise", seed=7, cost_model="documented")
    assert big.chain_s == pytest.approx((10 + 1) * 0.6)
    every = account_ceiling(
        account_shape(7, 100, 100), latency, "enterprise", seed=7, cost_model="documented", every_stream=True
    )
    shape = account_shape(7, 100, 100)
    # + board views (50 boards a request) and the asset ids of updates (100 updates a request); replies
    # (6,012 points per update) are opt-in, so every default stream fits one minute's budget
    assert every.requests == many.requests + 2 + math.ceil(shape.updates / 100)
    assert many.total_cost < every.total_cost < 10_000_000 and every.strict_s < 60
