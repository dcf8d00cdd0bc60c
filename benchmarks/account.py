"""Whole-account shapes: what a user's ``meltano run`` with every stream selected must fetch, and its bound.

The items benchmarks time one stream. A real sync selects the whole catalog over many boards: the account
lists (workspaces, users, teams, tags), the boards with their groups and columns, each board's updates and
activity logs, the items and the subitems. This module counts, from the emulator's own deterministic
``Store`` (same seed as the emulator process), the fewest requests such a sync needs when several boards
share one request (monday accepts ``boards(ids: [...])`` with a per-board list under it, 100 boards per
request here) and ``items(ids:)`` batches of 100 that mix boards, and prices them with the emulator's cost
model. From those counts it derives the bound T* of a whole sync:

    T* = max( chain: the longest sequence of dependent round trips,
              budget: total complexity / budget per minute,
              rate: requests / requests per minute,
              concurrency: requests / requests in flight x latency )

The chain is the biggest board's cursor walk plus its last batch, or the subitems' four steps (boards ->
subitems boards -> their first pages -> their batch), whichever is longer. Every answer of the whole-account
profile takes about the same time (no per-object latency), so one latency prices every request.

It also holds the incremental scenario's change script (``BENCH_CHANGES_PER_BOARD`` items renamed per board
through the emulator's admin API) and its ground truth: the changed items plus those inside the look-back
window of each board's bookmark.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monday_emulator.clock import SystemClock
from monday_emulator.cost import cost_model_named
from monday_emulator.data import Store
from monday_emulator.execute import Executor
from monday_emulator.latency import latency_from_spec
from monday_emulator.limits import PLANS
from monday_emulator.resolvers import board_updates

from benchmarks.ceiling import Ceiling
from tap_monday_boards import queries

BOARDS_PER_REQUEST = 100
"""Boards whose per-board lists (updates, activity logs, first harvest page, metadata) share one request."""
PAGE = 500
"""Ids per harvest page (monday's maximum)."""
BATCH = 100
"""Ids per ``items(ids:)`` batch (monday's maximum)."""
UPDATES_PAGE = 100
BENCH_CHANGES_PER_BOARD = 5
CORE_STREAMS = frozenset({
    "workspaces", "users", "teams", "tags", "boards", "groups", "columns", "updates", "board_activity_logs",
    "items", "subitems",
})
"""The core streams of a whole sync: every stream except those asked by ids of other streams' records
(``assets``) and the two added with it (``board_views``, ``board_subscribers``). The costliest of that kind,
``update_replies`` (6,012 points per update under monday's published rule: a list inside each update counts
x1,000), is opt-in (setting ``update_replies``), so "every stream" means every stream discovered with the
default settings."""
LOOKBACK_S = 300.0
"""The tap's default look-back window (``lookback_window_minutes`` 5)."""


@dataclass(frozen=True, slots=True)
class AccountShape:
    """What a whole sync of the account has to read (top-level boards under test and their subitems)."""

    boards: int
    subitem_boards: int
    items: int
    subitems: int
    largest_board_items: int
    small_boards: int
    """boards (top-level and subitems) whose items fit in one harvest page."""
    big_board_pages: int
    """harvest pages of the boards that need more than one."""
    extra_update_pages: int
    """update pages beyond each board's first (boards with more than 100 updates)."""
    updates: int = 0


def account_shape(seed: int, boards: int, items: int) -> AccountShape:
    """Count the account's boards, items and pages from the same ``Store`` the emulator serves."""
    store = Store(seed=seed, boards=boards, items_per_board=items)
    top = store.board_ids()
    subs = [s for b in top if (s := store.subitem_board_id(b))]
    counts = {b: len(store.item_ids(b)) for b in [*top, *subs]}
    updates = [len(board_updates(store, store.board_obj(b))) for b in top]
    return AccountShape(
        boards=len(top),
        subitem_boards=len(subs),
        items=sum(counts[b] for b in top),
        subitems=sum(counts[b] for b in subs),
        largest_board_items=max(counts[b] for b in top),
        small_boards=sum(1 for n in counts.values() if n <= PAGE),
        big_board_pages=sum(math.ceil(n / PAGE) for n in counts.values() if n > PAGE),
        extra_update_pages=sum(max(0, math.ceil(n / UPDATES_PAGE) - 1) for n in updates),
        updates=sum(updates),
    )


def _chunks(n: int, size: int = BOARDS_PER_REQUEST) -> int:
    return math.ceil(n / size) if n else 0


def _costs(seed: int, cost_model: str) -> dict[str, int]:
    """Complexity of each request shape at full size, from the emulator's static estimate."""
    store = Store(seed=seed, boards=2, items_per_board=120)
    executor = Executor(store, SystemClock(), cost_model=cost_model_named(cost_model))
    board = store.board_ids()[0]
    many = [board] * BOARDS_PER_REQUEST  # a list bound is its ids count: the price of a full request
    item_ids = store.item_ids(board)[:BATCH]
    ids_100 = [str(n) for n in range(1, 101)]

    def price(query: str, variables: dict[str, Any], operation: str) -> int:
        return executor.estimate_cost(query, variables, operation)

    listing = {"ids": many, "workspace_ids": None, "limit": BOARDS_PER_REQUEST, "page": 1, "state": "active"}
    return {
        "lists": sum(
            price(query, variables, name)
            for query, variables, name in (
                (queries.WORKSPACES_QUERY, {"limit": 100, "page": 1}, "Workspaces"),
                (queries.USERS_QUERY, {"limit": 500, "page": 1}, "Users"),
                (queries.TEAMS_QUERY, {}, "Teams"),
                (queries.TAGS_QUERY, {}, "Tags"),
            )
        ),
        "boards": price(queries.BOARDS_QUERY, listing, "Boards"),
        "meta": price(queries.BOARDS_META_QUERY, listing, "BoardsMeta"),
        "updates": price(queries.BOARD_UPDATES_QUERY, {"board_ids": many, "limit": 100, "page": 1},
                         "BoardUpdates"),
        "logs": price(queries.BOARD_ACTIVITY_LOGS_QUERY, {"board_ids": many, "limit": 500, "page": 1},
                      "BoardActivityLogs"),
        "first_pages": price(queries.HARVEST_FIRST_PAGE_QUERY,
                             {"board_ids": many, "limit": PAGE, "query_params": None}, "HarvestFirstPage"),
        "page": price(queries.HARVEST_NEXT_PAGE_QUERY, {"cursor": "x", "limit": PAGE}, "HarvestNextPage"),
        "batch": price(queries.ITEMS_BY_IDS_QUERY, {"ids": item_ids, "limit": len(item_ids)}, "ItemsByIds"),
        "views": price(queries.BOARD_VIEWS_QUERY, {"board_ids": many}, "BoardViews"),
        "asset_ids": price(queries.UPDATE_ASSET_IDS_QUERY, {"ids": ids_100, "limit": 100}, "UpdateAssetIds"),
    }


def account_ceiling(
    shape: AccountShape,
    latency: str,
    plan: str,
    *,
    seed: int,
    cost_model: str,
    changed_items: int | None = None,
    every_stream: bool = False,
) -> Ceiling:
    """T* of a whole sync of ``shape``; with ``changed_items`` the incremental run's (only those fetched).

    ``every_stream`` adds the streams outside CORE_STREAMS that cost most: board views (several boards per
    request) and update asset ids (100 update ids per request); the assets themselves are not counted
    (their number is not in the shape), so T* is a little low for every stream.
    """
    limits = PLANS[plan]
    unbounded = 10**12
    latency_s = latency_from_spec(latency).nominal(0)
    costs = _costs(seed, cost_model)
    boards_all = shape.boards + shape.subitem_boards
    incremental = changed_items is not None
    fetched = changed_items if incremental else shape.items + shape.subitems
    # account lists, boards listing, subitems boards' metadata, updates, activity logs
    small = 4 + _chunks(shape.boards) + _chunks(shape.subitem_boards)
    small += _chunks(shape.boards) + shape.extra_update_pages + _chunks(shape.boards)
    # first harvest pages: several small boards per request; an incremental run asks every board's first
    # page (filtered) and also its activity log (the deletes), several boards per request
    probes = 2 * _chunks(boards_all) if incremental else _chunks(shape.small_boards)
    pages = 0 if incremental else shape.big_board_pages
    batches = math.ceil(fetched / BATCH)
    extra_requests = extra_cost = 0
    if every_stream:
        by_ids = math.ceil(shape.updates / 100)
        extra_requests = math.ceil(shape.boards / 50) + by_ids
        views = costs["views"] * shape.boards // BOARDS_PER_REQUEST  # priced for 100 boards
        extra_cost = views + by_ids * costs["asset_ids"]
    requests = small + probes + pages + batches + extra_requests
    cost = extra_cost + (
        costs["lists"]
        + _chunks(shape.boards) * costs["boards"]
        + _chunks(shape.subitem_boards) * costs["meta"]
        + (_chunks(shape.boards) + shape.extra_update_pages) * costs["updates"]
        + _chunks(shape.boards) * costs["logs"]
        + probes * costs["first_pages"]
        + pages * costs["page"]
        + batches * costs["batch"]
    )
    largest_pages = 1 if incremental else math.ceil(shape.largest_board_items / PAGE)
    chain = max(largest_pages + 1, 4) * latency_s
    budget = limits.complexity_per_minute or unbounded
    rate = limits.requests_per_minute or unbounded
    concurrency = limits.concurrency or unbounded
    return Ceiling(
        chain_s=chain,
        budget_s=cost / budget * 60.0,
        rate_s=requests / rate * 60.0,
        concurrency_s=requests / concurrency * latency_s,
        burst_budget_s=max(0, math.ceil(cost / budget) - 1) * 60.0,
        burst_rate_s=max(0, math.ceil(requests / rate) - 1) * 60.0,
        total_cost=cost,
        requests=requests,
    )


# --- the incremental scenario -------------------------------------------------------------------------


def changed_item_ids(
    seed: int, boards: int, items: int, per_board: int = BENCH_CHANGES_PER_BOARD
) -> list[str]:
    """The items the scenario renames: ``per_board`` spread over each top-level board (deterministic)."""
    store = Store(seed=seed, boards=boards, items_per_board=items)
    chosen: list[str] = []
    for board in store.board_ids():
        active = store.item_ids(board)
        step = max(1, len(active) // per_board)
        chosen.extend(active[::step][:per_board])
    return chosen


def apply_changes(base_url: str, token: str, item_ids: Sequence[str]) -> None:
    """Rename each item through the emulator's ``POST /admin/rename_item`` (bumps ``updated_at``, logs)."""
    for item_id in item_ids:
        body = json.dumps({"item_id": item_id, "name": f"Renamed {item_id}"}).encode()
        request = urllib.request.Request(
            f"{base_url}/admin/rename_item",
            data=body,
            headers={"Authorization": token, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 200:  # pragma: no cover - the admin API answers 200 or raises
                raise RuntimeError(f"rename_item {item_id}: HTTP {response.status}")


def wait_for_full_budget(url: str, token: str, budget: int, *, deadline_s: float = 120.0) -> float:
    """Poll ``complexity { before }`` (free) until the account's budget is whole again; seconds waited.

    A user's next incremental run comes hours after the last one; right after the full run the server's
    sliding minute still holds that run's points, which would time the budget wait, not the run.
    """
    started = time.monotonic()
    body = json.dumps({"query": "query BudgetCheck { complexity { before reset_in_x_seconds } }"}).encode()
    headers = {"Authorization": token, "Content-Type": "application/json"}
    while True:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            complexity = (json.loads(response.read()).get("data") or {}).get("complexity") or {}
        waited = time.monotonic() - started
        if int(complexity.get("before") or 0) >= budget or waited > deadline_s:
            return waited
        time.sleep(1.0)  # polling the server's own counter, with a deadline


def lookback_item_ids(seed: int, boards: int, items: int, bookmarks: Mapping[str, str | None]) -> set[str]:
    """Unchanged items an incremental run re-reads: ``updated_at`` within the look-back of the bookmark."""
    store = Store(seed=seed, boards=boards, items_per_board=items)
    found: set[str] = set()
    for board in store.board_ids():
        bookmark = bookmarks.get(board)
        if not bookmark:
            continue
        since = _parse(bookmark) - timedelta(seconds=LOOKBACK_S)
        for item_id in store.item_ids(board):
            item = store.render_item(item_id)
            if item is not None and _parse(str(item["updated_at"])) >= since:
                found.add(item_id)
    return found


def item_bookmarks(state: Mapping[str, Any] | None) -> dict[str, str | None]:
    """Board id -> the items stream's ``replication_key_value`` in a Singer state."""
    partitions = ((state or {}).get("bookmarks", {}).get("items", {}) or {}).get("partitions") or []
    return {
        str(p.get("context", {}).get("board_id")): p.get("replication_key_value")
        for p in partitions
        if isinstance(p, dict)
    }


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
