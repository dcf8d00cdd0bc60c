"""The projection fast path answers exactly what graphql-core answers, and steps aside when it cannot."""

from __future__ import annotations

from typing import Any

import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.data import Store
from monday_emulator.execute import Executor

from tap_monday_boards.queries import (
    ASSETS_QUERY,
    HARVEST_FIRST_PAGE_QUERY,
    HARVEST_NEXT_PAGE_QUERY,
    ITEMS_BY_IDS_QUERY,
    items_by_ids_query,
)

SHAPES = {
    "tap_all_columns": ITEMS_BY_IDS_QUERY,
    "tap_selected_columns": items_by_ids_query(["status", "numbers", "people"], with_column_ids=True),
    "aliases_typename_types": (
        "query A($ids: [ID!]!) { complexity { query } v: version { value } "
        "items(ids: $ids, limit: 100, newest_first: true) { __typename key: id "
        "column_values(types: [status, people, file]) { __typename type column { id title } "
        "... on StatusValue { label } ... on PeopleValue { persons_and_teams { id kind } } "
        "... on FileValue { files { __typename ... on FileAssetValue { asset_id name } } } } "
        "subitems { id } board { id name items_count } } }"
    ),
    "exclude_nonactive_paging": (
        "query P($ids: [ID!], $p: Int) "
        "{ items(ids: $ids, limit: 7, page: $p, exclude_nonactive: true) { id state } }"
    ),
}
FALLBACK = {
    "needs_resolver": "query F($ids: [ID!]) { items(ids: $ids, limit: 50) { id subitems { name } } }",
    "parent_name": "query F($ids: [ID!]) { items(ids: $ids) { parent_item { name } } }",
    "other_root": "query F($ids: [ID!]) { items(ids: $ids, limit: 50) { id } boards(limit: 1) { id } }",
    "directive": "query F($ids: [ID!], $s: Boolean!) { items(ids: $ids) { id name @skip(if: $s) } }",
}


@pytest.fixture(scope="module")
def pair() -> tuple[Store, Executor, Executor]:
    clock = FakeClock()
    store = Store(seed=9, boards=1, items_per_board=300, clock=clock)
    return store, Executor(store, clock), Executor(store, clock, fast_path=False)


def _variables(store: Store) -> dict[str, Any]:
    board_id = store.board_ids()[0]
    ids = [*store.item_ids(board_id, state="all")[:95], "77777777777"]
    ids += store.item_ids(board_id, state="deleted")[:2] + store.item_ids(board_id, state="archived")[:2]
    columns = [c["id"] for c in store.board(board_id)["columns"][2:6]]  # type: ignore[index]
    return {"ids": ids, "limit": 100, "column_ids": columns, "p": 2, "s": False}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_fast_path_equals_graphql_core(pair: tuple[Store, Executor, Executor], shape: str) -> None:
    store, fast, slow = pair
    query = SHAPES[shape]
    variables = _variables(store)
    before = dict(fast.path_counts)
    got = fast.execute(
        query, variables, None, complexity={"before": 5, "after": 4, "query": 1, "reset_in_x_seconds": 9}
    )
    want = slow.execute(
        query, variables, None, complexity={"before": 5, "after": 4, "query": 1, "reset_in_x_seconds": 9}
    )
    assert fast.path_counts["fast"] == before["fast"] + 1  # the fast path really ran
    assert got.errors == want.errors == []
    assert got.data == want.data
    assert got.data and got.data["items"]
    assert got.cost == want.cost


def test_assets_fast_path_equals_graphql_core(pair: tuple[Store, Executor, Executor]) -> None:
    """The tap's ``Assets`` document (5 aliased ``assets(ids:)`` lists): item files, update files, repeated
    and unknown ids, as graphql-core answers; over the id cap, graphql-core's own errors."""
    store, fast, slow = pair
    board_id = store.board_ids()[0]
    files = [
        str(f["asset_id"])
        for item_id in store.item_ids(board_id)[:60]
        for cv in (store.render_item(item_id) or {}).get("column_values") or []
        if cv["type"] == "file"
        for f in cv.get("files") or []
    ]
    assert len(files) > 20
    lists = [files[:10], files[10:20] + files[10:13], ["1", "99999999999990"], files[20:], []]
    variables = {f"ids{n}": ids for n, ids in enumerate(lists)}
    before = dict(fast.path_counts)
    got = fast.execute(ASSETS_QUERY, variables, "Assets")
    want = slow.execute(ASSETS_QUERY, variables, "Assets")
    assert fast.path_counts["fast"] == before["fast"] + 1
    assert got.errors == want.errors == []
    assert got.data == want.data and got.data is not None
    assert [a["id"] for a in got.data["a1"]] == lists[1][:10] and got.data["a2"] == []
    too_many = {**variables, "ids3": [str(n) for n in range(1_001)], "ids4": [str(n) for n in range(1_002)]}
    got = fast.execute(ASSETS_QUERY, too_many, "Assets")
    want = slow.execute(ASSETS_QUERY, too_many, "Assets")
    assert got.errors == want.errors and len(got.errors) == 2
    assert got.data == want.data


@pytest.mark.parametrize("shape", sorted(FALLBACK))
def test_unsupported_shapes_fall_back(pair: tuple[Store, Executor, Executor], shape: str) -> None:
    store, fast, slow = pair
    variables = _variables(store)
    before = dict(fast.path_counts)
    got = fast.execute(FALLBACK[shape], variables, None)
    assert fast.path_counts["graphql"] == before["graphql"] + 1
    assert got.data == slow.execute(FALLBACK[shape], variables, None).data
    assert got.data is not None


@pytest.mark.parametrize(
    "variables",
    [
        {"ids": [str(i) for i in range(101)], "limit": 100},  # over the id cap: application error
        {"ids": ["1"], "limit": "ten"},  # wrong variable type: graphql-core's coercion message
        {"ids": ["1"]},  # missing required variable
    ],
)
def test_errors_match_graphql_core(pair: tuple[Store, Executor, Executor], variables: dict[str, Any]) -> None:
    _, fast, slow = pair
    got = fast.execute(ITEMS_BY_IDS_QUERY, variables, None)
    want = slow.execute(ITEMS_BY_IDS_QUERY, variables, None)
    assert got.data is None and want.data is None
    assert got.errors == want.errors and got.errors


def test_next_items_page_fast_path_equals_graphql_core() -> None:
    """Same executor (one cursor registry), path toggled: a retried cursor must give the same page."""
    clock = FakeClock()
    store = Store(seed=4, boards=1, items_per_board=900, clock=clock)
    executor = Executor(store, clock)
    first = executor.execute(HARVEST_FIRST_PAGE_QUERY, {"board_ids": store.board_ids(), "limit": 200}, None)
    cursor = first.data["boards"][0]["items_page"]["cursor"]  # type: ignore[index]
    pages = []
    for fast in (True, False):
        executor.fast_path = fast
        before = dict(executor.path_counts)
        pages.append(executor.execute(HARVEST_NEXT_PAGE_QUERY, {"cursor": cursor, "limit": 200}, None))
        assert (
            executor.path_counts["fast" if fast else "graphql"] == before["fast" if fast else "graphql"] + 1
        )
    assert pages[0].errors == pages[1].errors == []
    assert pages[0].data == pages[1].data
    assert len(pages[0].data["next_items_page"]["items"]) == 200  # type: ignore[index]
    clock.advance(3601)
    expired = []
    for fast in (True, False):
        executor.fast_path = fast
        expired.append(executor.execute(HARVEST_NEXT_PAGE_QUERY, {"cursor": cursor, "limit": 200}, None))
    assert expired[0].data is None and expired[1].data is None
    assert expired[0].errors == expired[1].errors
    assert expired[0].errors[0]["extensions"]["code"] == "CursorException"
