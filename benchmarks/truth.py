"""Ground truth and ceiling inputs, derived in-process from the emulator's own deterministic parts.

The emulator process and this module build the same ``Store`` from the same seed, so the ids a run must
return are known without asking the server (which would spend its budget). The ceiling's latencies and
costs come from the emulator's latency preset and cost model applied to real answers of a small store of
the same seed: batch and page shapes do not depend on board size, so the numbers hold for any size.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from monday_emulator.clock import SystemClock
from monday_emulator.cost import cost_model_named
from monday_emulator.data import Store
from monday_emulator.execute import Executor
from monday_emulator.latency import latency_from_spec, measure
from monday_emulator.limits import PLANS

from benchmarks.ceiling import CeilingInputs
from tap_monday_boards import queries
from tap_monday_boards.engine.harvest import PARTITION_MIN_PAGES

SAMPLE_ITEMS = 600
"""Items of the small store used to price a full harvest page (500) and a full batch (100)."""


def top_level_boards(store: Store) -> list[str]:
    """The item boards under test (subitems boards are not listed by ``board_ids()``)."""
    return [str(b) for b in store.board_ids()]


def expected_item_ids(seed: int, boards: int, items: int) -> dict[str, list[str]]:
    """Active item ids per top-level board, as the emulator process will serve them."""
    store = Store(seed=seed, boards=boards, items_per_board=items)
    return {board: [str(i) for i in store.item_ids(board)] for board in top_level_boards(store)}


@dataclass(frozen=True, slots=True)
class PriceList:
    """Latency (nominal, seconds) and complexity of one harvest page and one fetch batch."""

    page_latency_s: float
    batch_latency_s: float
    harvest_cost_first: int
    harvest_cost_next: int
    batch_cost: int


def price_list(
    seed: int, latency: str, page_size: int = 500, batch_size: int = 100, *, cost_model: str = "documented"
) -> PriceList:
    """Run one harvest page and one full batch in-process and price them with the emulator's models."""
    store = Store(seed=seed, boards=1, items_per_board=SAMPLE_ITEMS)
    executor = Executor(store, SystemClock(), cost_model=cost_model_named(cost_model))
    model = latency_from_spec(latency)
    board = top_level_boards(store)[0]
    first_vars = {"board_ids": [board], "limit": page_size, "query_params": None}
    first = executor.execute(queries.HARVEST_FIRST_PAGE_QUERY, first_vars, "HarvestFirstPage")
    assert first.data is not None, first.errors
    page = first.data["boards"][0]["items_page"]
    ids = [item["id"] for item in page["items"]][:batch_size]
    next_vars = {"cursor": page["cursor"] or "", "limit": page_size}
    batch_vars = {"ids": ids, "limit": len(ids)}
    batch = executor.execute(queries.ITEMS_BY_IDS_QUERY, batch_vars, "ItemsByIds")
    assert batch.data is not None, batch.errors
    return PriceList(
        page_latency_s=model.nominal(*measure(first.data)),
        batch_latency_s=model.nominal(*measure(batch.data)),
        harvest_cost_first=executor.estimate_cost(
            queries.HARVEST_FIRST_PAGE_QUERY, first_vars, "HarvestFirstPage"
        ),
        harvest_cost_next=executor.estimate_cost(
            queries.HARVEST_NEXT_PAGE_QUERY, next_vars, "HarvestNextPage"
        ),
        batch_cost=executor.estimate_cost(queries.ITEMS_BY_IDS_QUERY, batch_vars, "ItemsByIds"),
    )


def longest_chain(seed: int, boards: int, items: int, groups: int, page_size: int = 500) -> tuple[int, int]:
    """(items of the longest cursor chain, pages after it) when the tap partitions the harvest as its engine
    decides (harvest.py: >= 2 groups and >= ``PARTITION_MIN_PAGES`` pages): the biggest group of a board,
    then one catch-up page. Without partitioning: the biggest board, nothing after it."""
    store = Store(seed=seed, boards=boards, items_per_board=items, groups_per_board=groups)
    longest, after = 0, 0
    for board in top_level_boards(store):
        ids = store.item_ids(board)
        if groups >= 2 and math.ceil(len(ids) / page_size) >= PARTITION_MIN_PAGES:
            sizes = Counter(str(store.render_item(i)["group"]["id"]) for i in ids)  # type: ignore[index]
            longest, after = max(longest, *sizes.values()), 1
        else:
            longest = max(longest, len(ids))
    return longest, after


def ceiling_inputs(
    prices: PriceList,
    plan: str,
    items: int,
    concurrency: int | None = None,
    *,
    boards: int = 1,
    chain: tuple[int, int] | None = None,
) -> CeilingInputs:
    """T* inputs for ``items`` over ``boards`` (one chain each) under ``plan``; ``concurrency`` defaults to
    the plan's cap; ``chain`` = :func:`longest_chain` for a partitioned harvest.

    A disabled limit (``None`` in the plan) counts as unbounded.
    """
    limits = PLANS[plan]
    pages = max(1, -(-items // max(1, boards) // 500))
    harvest_per_page = (prices.harvest_cost_first + (pages - 1) * prices.harvest_cost_next) / pages
    unbounded = 10**12
    return CeilingInputs(
        items=items,
        page_size=500,
        batch_size=100,
        page_latency_s=prices.page_latency_s,
        batch_latency_s=prices.batch_latency_s,
        harvest_cost_per_page=round(harvest_per_page),
        fetch_cost_per_batch=prices.batch_cost,
        budget_per_minute=limits.complexity_per_minute or unbounded,
        requests_per_minute=limits.requests_per_minute or unbounded,
        concurrency=concurrency or limits.concurrency or unbounded,
        boards=boards,
        chain_items=None if chain is None else chain[0],
        catch_up_pages=0 if chain is None else chain[1],
    )


def check_ids(expected: dict[str, list[str]], seen: Sequence[str]) -> dict[str, int]:
    """Missing, duplicated and unexpected ids of a run, against the ground truth (all boards pooled)."""
    truth = {i for ids in expected.values() for i in ids}
    seen_set = set(seen)
    return {
        "expected": len(truth),
        "seen": len(seen),
        "missing": len(truth - seen_set),
        "duplicates": len(seen) - len(seen_set),
        "unexpected": len(seen_set - truth),
    }
