"""Executor over the small entities: boards paging/filters, users, updates, activity logs, subitems boards."""

from __future__ import annotations

import json
from typing import Any

import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.data import Store
from monday_emulator.execute import Executor

from tap_monday_boards.queries import (
    BOARD_ACTIVITY_LOGS_QUERY,
    BOARD_UPDATES_QUERY,
    HARVEST_FIRST_PAGE_QUERY,
    HARVEST_NEXT_PAGE_QUERY,
    USERS_QUERY,
)


@pytest.fixture
def env() -> tuple[Store, Executor, FakeClock]:
    clock = FakeClock()
    store = Store(seed=33, boards=4, items_per_board=[200, 20, 20, 20], clock=clock)
    return store, Executor(store, clock), clock


def _ok(executor: Executor, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = executor.execute(query, variables, None)
    assert result.errors == [], result.errors
    assert result.data is not None
    return result.data


def test_boards_paging_and_workspace_filter(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    query = (
        "query B($l: Int, $p: Int, $w: [ID]) "
        "{ boards(limit: $l, page: $p, workspace_ids: $w) { id workspace_id } }"
    )
    everything = [b["id"] for b in _ok(executor, query, {"l": 100, "p": 1})["boards"]]
    assert everything == store.board_ids(include_subitem_boards=True)
    pages = [b["id"] for p in (1, 2, 3) for b in _ok(executor, query, {"l": 3, "p": p})["boards"]]
    assert pages == everything
    workspace = store.board(store.board_ids()[1])["workspace_id"]  # type: ignore[index]
    filtered = _ok(executor, query, {"l": 100, "p": 1, "w": [workspace]})["boards"]
    assert filtered and all(b["workspace_id"] == workspace for b in filtered)
    assert len(filtered) < len(everything)


def test_users_hide_deleted_unless_non_active(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    listed = _ok(executor, USERS_QUERY, {"limit": 1000, "page": 1})["users"]
    assert len(listed) == len(store.account.users) and any(u["is_deleted"] for u in listed)
    active_only = _ok(executor, "query { users(limit: 1000) { id is_deleted } }")["users"]
    assert active_only and not any(u["is_deleted"] for u in active_only)
    teams = {t for u in listed for t in (x["id"] for x in u["teams"])}
    assert teams <= {t["id"] for t in store.account.teams} and teams


def test_board_updates_newest_first_and_paged(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    board_id = store.board_ids()[0]
    first = _ok(executor, BOARD_UPDATES_QUERY, {"board_ids": [board_id], "limit": 25, "page": 1})
    second = _ok(executor, BOARD_UPDATES_QUERY, {"board_ids": [board_id], "limit": 25, "page": 2})
    rows = first["boards"][0]["updates"] + second["boards"][0]["updates"]
    assert len(rows) == 40  # one update per five items of a 200-item board
    assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows), reverse=True)
    item_ids = set(store.item_ids(board_id, state="all"))
    assert all(r["item_id"] in item_ids and r["text_body"] in r["body"] for r in rows)


def test_activity_logs_filters_and_order(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, clock = env
    board_id = store.board_ids()[0]
    items = store.item_ids(board_id)
    for n, item in enumerate(items[:6]):
        clock.advance(60)
        store.rename_item(item, f"name {n}")
    variables = {"board_ids": [board_id], "limit": 4, "page": 1}
    page = _ok(executor, BOARD_ACTIVITY_LOGS_QUERY, variables)["boards"][0]["activity_logs"]
    assert [json.loads(r["data"])["pulse_id"] for r in page] == [int(i) for i in reversed(items[2:6])]
    assert all(r["entity"] == "pulse" and r["event"] == "update_name" for r in page)
    window = {**variables, "limit": 25, "from": "2026-01-01T00:02:00Z", "to": "2026-01-01T00:04:00Z"}
    windowed = _ok(executor, BOARD_ACTIVITY_LOGS_QUERY, window)["boards"][0]["activity_logs"]
    assert [json.loads(r["data"])["pulse_name"] for r in windowed] == ["name 3", "name 2", "name 1"]


def test_subitems_board_is_harvestable(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    sub_id = store.subitem_board_id(store.board_ids()[0])
    assert sub_id is not None
    page = _ok(executor, HARVEST_FIRST_PAGE_QUERY, {"board_ids": [sub_id], "limit": 7})["boards"][0][
        "items_page"
    ]
    seen = [i["id"] for i in page["items"]]
    while page["cursor"]:
        page = _ok(executor, HARVEST_NEXT_PAGE_QUERY, {"cursor": page["cursor"], "limit": 7})[
            "next_items_page"
        ]
        seen += [i["id"] for i in page["items"]]
    assert seen == store.item_ids(sub_id) and seen
    parents = _ok(
        executor,
        "query I($ids: [ID!]) { items(ids: $ids, limit: 100) { parent_item { id name } } }",
        {"ids": seen[:100]},
    )["items"]
    assert all(p["parent_item"]["name"] for p in parents)


def test_unknown_cursor_is_a_cursor_error(env: tuple[Store, Executor, FakeClock]) -> None:
    _, executor, _ = env
    result = executor.execute(HARVEST_NEXT_PAGE_QUERY, {"cursor": "bm90LWEtY3Vyc29y", "limit": 10}, None)
    assert result.data is None
    assert result.errors[0]["extensions"]["code"] == "CursorException"
    assert not result.errors[0]["message"].startswith("CursorExpiredError")
