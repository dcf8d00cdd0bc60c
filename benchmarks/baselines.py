"""Strategies (a) naive sequential and (b) strict two-phase, as small aiohttp clients.

(a) is what loaders usually do: one ``items_page`` chain with every item field and every column value,
``limit`` 100, one request at a time. (b) harvests every id first (ids-only pages of 500), then fetches
full items with ``items(ids:)`` in batches of 100, many in flight; it never overlaps the two phases.
Both use the tap's documents from ``queries.py`` where one exists; the naive full-page document is built
here from the same field lists, because the tap itself never sends it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.client import BenchClient
from tap_monday_boards import queries

NAIVE_PAGE_SIZE = 100
HARVEST_PAGE_SIZE = 500
BATCH_SIZE = 100

_ITEM_FIELDS = f"{queries.ITEM_SCALAR_FIELDS} column_values {{ {queries.column_values_selection()} }}"

NAIVE_FIRST_PAGE_QUERY = (
    "query NaiveFirstPage($board_ids: [ID!]!, $limit: Int!) { "
    f"{queries.COMPLEXITY_FIELDS} "
    f"boards(ids: $board_ids) {{ id items_page(limit: $limit) {{ cursor items {{ {_ITEM_FIELDS} }} }} }} }}"
)
NAIVE_NEXT_PAGE_QUERY = (
    "query NaiveNextPage($cursor: String!, $limit: Int!) { "
    f"{queries.COMPLEXITY_FIELDS} "
    f"next_items_page(cursor: $cursor, limit: $limit) {{ cursor items {{ {_ITEM_FIELDS} }} }} }}"
)


@dataclass(slots=True)
class StrategyResult:
    """Items seen per board and what the client counted; the harness adds timings and server metrics."""

    item_ids: dict[str, list[str]] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)


async def run_naive(
    url: str, token: str, board_ids: Sequence[str], *, page_size: int = NAIVE_PAGE_SIZE
) -> StrategyResult:
    """(a) One full-field cursor chain per board, strictly sequential."""
    result = StrategyResult()
    async with BenchClient(url, token, max_connections=1) as client:
        for board_id in board_ids:
            result.item_ids[board_id] = await _naive_chain(client, board_id, page_size)
        result.client = client.stats.as_dict()
    return result


async def _naive_chain(client: BenchClient, board_id: str, page_size: int) -> list[str]:
    """One board's items, full fields, one page after the other."""
    ids: list[str] = []
    data = await client.post(
        "NaiveFirstPage", NAIVE_FIRST_PAGE_QUERY, {"board_ids": [board_id], "limit": page_size}
    )
    page = data["boards"][0]["items_page"]
    ids.extend(item["id"] for item in page["items"])
    while page["cursor"]:
        data = await client.post(
            "NaiveNextPage", NAIVE_NEXT_PAGE_QUERY, {"cursor": page["cursor"], "limit": page_size}
        )
        page = data["next_items_page"]
        ids.extend(item["id"] for item in page["items"])
    return ids


Rows = Callable[[dict[str, Any]], list[dict[str, Any]]]


async def _naive_pages(
    client: BenchClient, operation: str, query: str, variables: dict[str, Any], limit: int, rows_of: Rows
) -> list[dict[str, Any]]:
    """Every page of a ``limit``/``page`` list, one request at a time, until a short page."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        found = rows_of(await client.post(operation, query, {**variables, "limit": limit, "page": page}))
        rows.extend(found)
        if len(found) < limit:
            return rows
        page += 1


def _root(field: str) -> Rows:
    return lambda data: list(data.get(field) or [])


def _per_board(field: str) -> Rows:
    return lambda data: list(((data.get("boards") or [{}])[0] or {}).get(field) or [])


async def run_naive_all(
    url: str, token: str, board_ids: Sequence[str], *, page_size: int = NAIVE_PAGE_SIZE
) -> StrategyResult:
    """(a) for a whole account: every stream the way loaders usually read it, one request at a time.

    The account lists, the boards page by page (groups and columns in the same answer), then per board its
    updates, its activity log and its items (full fields, ``items_page`` chain), then each subitems board's
    items the same way. The tap's own documents where it has one.
    """
    result = StrategyResult()
    async with BenchClient(url, token, max_connections=1) as client:
        started = time.perf_counter()
        await _naive_pages(client, "Workspaces", queries.WORKSPACES_QUERY, {}, 100, _root("workspaces"))
        await _naive_pages(client, "Users", queries.USERS_QUERY, {}, 500, _root("users"))
        await client.post("Teams", queries.TEAMS_QUERY, {})
        await client.post("Tags", queries.TAGS_QUERY, {})
        boards: list[dict[str, Any]] = []
        for start in range(0, len(board_ids), 100):  # monday prices a list by its ids: 100 at a time
            listing = {"ids": list(board_ids[start : start + 100]), "workspace_ids": None, "state": "active"}
            query = queries.BOARDS_QUERY
            boards += await _naive_pages(client, "Boards", query, listing, 100, _root("boards"))
        result.phase_seconds["account"] = time.perf_counter() - started
        subitem_boards: list[str] = []
        for board in boards:
            board_id = str(board["id"])
            per_board = {"board_ids": [board_id]}
            await _naive_pages(
                client, "BoardUpdates", queries.BOARD_UPDATES_QUERY, per_board, 100, _per_board("updates")
            )
            await _naive_pages(
                client,
                "BoardActivityLogs",
                queries.BOARD_ACTIVITY_LOGS_QUERY,
                per_board,
                500,
                _per_board("activity_logs"),
            )
            result.item_ids[board_id] = await _naive_chain(client, board_id, page_size)
            subitem_boards.extend(_subitem_board_ids(board))
        for board_id in subitem_boards:
            await _naive_chain(client, board_id, page_size)
        result.client = client.stats.as_dict()
    return result


def _subitem_board_ids(board: dict[str, Any]) -> list[str]:
    """The subitems board named by a board's ``subtasks`` column settings."""
    found: list[str] = []
    for column in board.get("columns") or []:
        if column.get("type") == "subtasks":
            settings = json.loads(column.get("settings_str") or "{}")
            found.extend(str(b) for b in settings.get("boardIds") or [])
    return found


async def _harvest(client: BenchClient, board_id: str) -> list[str]:
    """Phase 1 of (b): the ids-only cursor chain, with the tap's own harvest documents."""
    data = await client.post(
        "HarvestFirstPage",
        queries.HARVEST_FIRST_PAGE_QUERY,
        {"board_ids": [board_id], "limit": HARVEST_PAGE_SIZE, "query_params": None},
    )
    page = data["boards"][0]["items_page"]
    ids = [item["id"] for item in page["items"]]
    while page["cursor"]:
        data = await client.post(
            "HarvestNextPage",
            queries.HARVEST_NEXT_PAGE_QUERY,
            {"cursor": page["cursor"], "limit": HARVEST_PAGE_SIZE},
        )
        page = data["next_items_page"]
        ids.extend(item["id"] for item in page["items"])
    return ids


async def run_harvest(url: str, token: str, board_ids: Sequence[str]) -> StrategyResult:
    """The bare id harvest: one cursor chain per board, all boards at once, no detail fetch.

    What a run cannot beat while each board is one chain: the reference the tap's wall time is compared
    with ("within 1.5x the bare single-chain harvest of the same boards, measured in the same run").
    """
    result = StrategyResult()
    async with BenchClient(url, token, max_connections=max(1, len(board_ids)), max_retries=30) as client:
        started = time.perf_counter()
        chains = [_harvest(client, board_id) for board_id in board_ids]
        harvested = await asyncio.gather(*chains)
        result.phase_seconds["harvest"] = time.perf_counter() - started
        result.item_ids = dict(zip(board_ids, harvested, strict=True))
        result.client = client.stats.as_dict()
    return result


async def run_two_phase(
    url: str, token: str, board_ids: Sequence[str], *, concurrency: int, batch_size: int = BATCH_SIZE
) -> StrategyResult:
    """(b) Harvest every board's ids, then fetch all batches with ``concurrency`` requests in flight."""
    result = StrategyResult()
    # Many retries: with every batch sent at once, a budget-bound board waits out several budget windows.
    async with BenchClient(url, token, max_connections=concurrency, max_retries=30) as client:
        started = time.perf_counter()
        harvested = {board_id: await _harvest(client, board_id) for board_id in board_ids}
        result.phase_seconds["harvest"] = time.perf_counter() - started

        semaphore = asyncio.Semaphore(concurrency)
        fetched: dict[str, list[str]] = {board_id: [] for board_id in board_ids}

        async def fetch(board_id: str, batch: list[str]) -> None:
            async with semaphore:
                data = await client.post(
                    "ItemsByIds", queries.ITEMS_BY_IDS_QUERY, {"ids": batch, "limit": len(batch)}
                )
            fetched[board_id].extend(item["id"] for item in data["items"] if item)

        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for board_id, ids in harvested.items():
                for start in range(0, len(ids), batch_size):
                    group.create_task(fetch(board_id, ids[start : start + batch_size]))
        result.phase_seconds["fetch"] = time.perf_counter() - started
        result.item_ids = fetched
        result.client = client.stats.as_dict()
    return result
