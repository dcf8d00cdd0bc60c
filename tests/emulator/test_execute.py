"""Executor: every tap document executes; items_page/next_items_page and items(ids:) semantics."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.data import Store
from monday_emulator.execute import Executor

from tap_monday_boards import queries
from tap_monday_boards.queries import (
    ALL_QUERIES,
    HARVEST_FIRST_PAGE_QUERY,
    HARVEST_GROUP_FIRST_PAGE_QUERY,
    HARVEST_NEXT_PAGE_QUERY,
    ITEMS_BY_IDS_QUERY,
)

FIRST = HARVEST_FIRST_PAGE_QUERY
NEXT = HARVEST_NEXT_PAGE_QUERY
PAGE_DEFAULT = "query P($b: [ID!]!) { boards(ids: $b) { items_page { cursor items { id } } } }"
ITEMS_DEFAULT = "query I($ids: [ID!]) { items(ids: $ids) { id state } }"
ITEMS_OPTS = (
    "query I($ids: [ID!], $limit: Int, $page: Int, $x: Boolean, $n: Boolean) "
    "{ items(ids: $ids, limit: $limit, page: $page, exclude_nonactive: $x, newest_first: $n) { id state } }"
)


@pytest.fixture
def env() -> tuple[Store, Executor, FakeClock]:
    clock = FakeClock()
    store = Store(seed=21, boards=2, items_per_board=[620, 40], clock=clock)
    return store, Executor(store, clock, cursor_ttl_s=3600), clock


def _run(executor: Executor, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    result = executor.execute(query, variables, None)
    assert result.errors == [], result.errors
    assert result.data is not None
    return result.data


def _harvest(
    executor: Executor, board_id: str, limit: int, params: dict | None = None
) -> list[dict[str, Any]]:
    data = _run(executor, FIRST, {"board_ids": [board_id], "limit": limit, "query_params": params})
    page = data["boards"][0]["items_page"]
    items = list(page["items"])
    while page["cursor"]:
        page = _run(executor, NEXT, {"cursor": page["cursor"], "limit": limit})["next_items_page"]
        items += page["items"]
    return items


def _variables(store: Store, name: str) -> dict[str, Any]:
    board_id = store.board_ids()[0]
    board = store.board(board_id)
    assert board is not None
    ids = store.item_ids(board_id)[:100]
    common = {"limit": 10, "page": 1, "board_ids": [board_id]}
    per_query = {
        "ItemsByIds": {"ids": ids, "limit": 100},
        "ItemsByIdsSelectedColumns": {"ids": ids[:5], "limit": 5, "column_ids": [board["columns"][3]["id"]]},
        "HarvestFirstPage": {"board_ids": [board_id], "limit": 50, "query_params": None},
        "HarvestGroupFirstPage": {
            "board_ids": [board_id],
            "group_ids": [board["groups"][0]["id"]],
            "limit": 50,
            "query_params": None,
        },
        "Boards": {"limit": 10, "page": 1, "ids": None, "workspace_ids": None, "state": "all"},
        "UpdateReplies": {"ids": ["300000000", "300000001"], "limit": 2},
        "UpdateAssetIds": {"ids": ["300000000", "300000001"], "limit": 2},
        "Assets": {f"ids{n}": [str(int(i) * 10) for i in ids[n * 4 : n * 4 + 4]] for n in range(5)},
        "ItemSubscribers": {"ids": ids[:10], "limit": 10},
    }
    lists = {
        "BoardUpdatesBatch": (queries.BOARD_UPDATES_LIST, {"limit": 10}, {"page": 1}),
        "BoardActivityLogsBatch": (
            queries.BOARD_ACTIVITY_LOGS_LIST, {"limit": 10}, {"page": 1, "from": None}
        ),
        "HarvestFirstPages": (queries.HARVEST_FIRST_PAGES_LIST, {"limit": 50}, {"query_params": None}),
        "BoardViewsBatch": (queries.BOARD_VIEWS_LIST, {}, {}),
    }
    if name in lists:  # documents priced at BOARDS_PER_REQUEST boards: every alias gets the same board
        kind, shared, args = lists[name]
        return kind.variables(shared, [(board_id, args)] * queries.BOARDS_PER_REQUEST)
    return per_query.get(name, common)


@pytest.mark.parametrize("name", sorted(ALL_QUERIES))
def test_every_tap_query_executes(env: tuple[Store, Executor, FakeClock], name: str) -> None:
    store, executor, _ = env
    query = ALL_QUERIES[name]
    if name == "HarvestNextPage":
        first = _run(executor, FIRST, _variables(store, "HarvestFirstPage"))
        variables = {"cursor": first["boards"][0]["items_page"]["cursor"], "limit": 50}
    else:
        variables = _variables(store, name)
    result = executor.execute(query, variables, None)
    assert result.errors == []
    assert result.data is not None
    assert result.data["complexity"]["query"] == result.cost > 0
    assert result.cost == executor.estimate_cost(query, variables, None)
    roots = [k for k in result.data if k != "complexity"]
    assert roots and all(result.data[k] is not None for k in roots)


def test_items_by_ids_matches_render_item(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    ids = store.item_ids(store.board_ids()[0], state="all")[:100]
    items = _run(executor, ITEMS_BY_IDS_QUERY, {"ids": ids, "limit": 100})["items"]
    assert sorted(i["id"] for i in items) == sorted(ids)
    for item in items:
        truth = store.render_item(item["id"])
        assert truth is not None
        assert {k: item[k] for k in ("name", "state", "created_at", "updated_at", "creator_id")} == {
            k: truth[k] for k in ("name", "state", "created_at", "updated_at", "creator_id")
        }
        assert item["group"] == {"id": truth["group"]["id"], "title": truth["group"]["title"]}
        assert [(v["id"], v["text"], v["value"]) for v in item["column_values"]] == [
            (v["id"], v["text"], v["value"]) for v in truth["column_values"]
        ]
        status = next(v for v in item["column_values"] if v["type"] == "status")
        truth_status = next(v for v in truth["column_values"] if v["type"] == "status")
        assert status["label"] == truth_status["label"] and status["index"] == truth_status["index"]


def test_parse_and_validation_errors_are_graphql_shaped(env: tuple[Store, Executor, FakeClock]) -> None:
    _, executor, _ = env
    broken = executor.execute("query { boards { id ", None, None)
    assert broken.data is None and broken.cost == 0
    assert broken.errors[0]["message"].startswith("Syntax Error") and broken.errors[0]["locations"]
    unknown = executor.execute("query { boards { nope } }", None, None)
    assert unknown.data is None and unknown.cost == 0
    assert "nope" in unknown.errors[0]["message"] and unknown.errors[0]["locations"][0]["line"] == 1


def test_items_page_defaults_to_25_and_max_is_500(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    board_id = store.board_ids()[0]
    page = _run(executor, PAGE_DEFAULT, {"b": [board_id]})["boards"][0]["items_page"]
    assert len(page["items"]) == 25 and page["cursor"]
    assert (
        len(
            _run(executor, FIRST, {"board_ids": [board_id], "limit": 500})["boards"][0]["items_page"]["items"]
        )
        == 500
    )
    over = executor.execute(FIRST, {"board_ids": [board_id], "limit": 501}, None)
    assert over.data is None
    assert over.errors[0]["extensions"]["code"] == "InvalidArgumentException"


def test_harvest_returns_every_active_item_once_and_ends_with_null_cursor(
    env: tuple[Store, Executor, FakeClock],
) -> None:
    store, executor, _ = env
    board_id = store.board_ids()[0]
    items = _harvest(executor, board_id, 100)
    ids = [i["id"] for i in items]
    assert ids == store.item_ids(board_id)  # creation order, active only
    assert len(ids) < 620  # archived and deleted ones are left out
    tiny = store.board_ids()[1]
    exact = _harvest(executor, tiny, len(store.item_ids(tiny)))
    assert len(exact) == len(store.item_ids(tiny))


def test_cursor_shape_and_cursor_with_query_params_rejected(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    board_id = store.board_ids()[0]
    cursor = _run(executor, FIRST, {"board_ids": [board_id], "limit": 10})["boards"][0]["items_page"][
        "cursor"
    ]
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert decoded.startswith(f"1,{board_id},")
    both = (
        "query B($b: [ID!]!, $c: String, $q: ItemsQuery) "
        "{ boards(ids: $b) { items_page(cursor: $c, query_params: $q) { cursor items { id } } } }"
    )
    result = executor.execute(
        both, {"b": [board_id], "c": cursor, "q": {"order_by": [{"column_id": "__creation_log__"}]}}, None
    )
    assert result.data is None
    assert result.errors[0]["extensions"]["code"] == "InvalidArgumentException"


def test_cursor_expires_from_the_first_page_not_sliding(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, clock = env
    board_id = store.board_ids()[0]
    page = _run(executor, FIRST, {"board_ids": [board_id], "limit": 50})["boards"][0]["items_page"]
    clock.advance(3500)
    page = _run(executor, NEXT, {"cursor": page["cursor"], "limit": 50})["next_items_page"]
    retry_cursor = page["cursor"]
    clock.advance(101)  # 3601 s after the chain's first page, 101 s after the last one
    expired = executor.execute(NEXT, {"cursor": retry_cursor, "limit": 50}, None)
    assert expired.data is None
    assert expired.errors[0]["extensions"]["code"] == "CursorException"
    assert expired.errors[0]["message"].startswith("CursorExpiredError:")
    fresh = _run(executor, FIRST, {"board_ids": [board_id], "limit": 50})["boards"][0]["items_page"]
    assert _run(executor, NEXT, {"cursor": fresh["cursor"], "limit": 50})["next_items_page"]["items"]


def test_retried_cursor_returns_the_same_page(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    cursor = _run(executor, FIRST, {"board_ids": [store.board_ids()[0]], "limit": 30})["boards"][0][
        "items_page"
    ]["cursor"]
    once = _run(executor, NEXT, {"cursor": cursor, "limit": 30})
    twice = _run(executor, NEXT, {"cursor": cursor, "limit": 30})
    assert once == twice


def _rule(op: str, *stamps: str) -> dict[str, Any]:
    value: list[str] = []
    for stamp in stamps:
        value += ["EXACT", stamp]
    return {
        "column_id": "__last_updated__",
        "compare_value": value,
        "operator": op,
        "compare_attribute": "UPDATED_AT",
    }


def test_last_updated_rules_and_order(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    board_id = store.board_ids()[0]
    everything = [store.render_item(i) for i in store.item_ids(board_id)]
    stamps = sorted(i["updated_at"] for i in everything if i)  # type: ignore[index]
    low, high = stamps[100], stamps[300]
    cases = {
        "greater_than": lambda u: u > low,
        "greater_than_or_equals": lambda u: u >= low,
        "lower_than": lambda u: u < low,
        "lower_than_or_equal": lambda u: u <= low,
    }
    for op, keep in cases.items():
        got = _harvest(executor, board_id, 70, {"rules": [_rule(op, low)]})
        assert [i["id"] for i in got] == [i["id"] for i in everything if keep(i["updated_at"])], op  # type: ignore[index]
    between = _harvest(executor, board_id, 70, {"rules": [_rule("between", low, high)]})
    assert {i["id"] for i in between} == {i["id"] for i in everything if low <= i["updated_at"] <= high}  # type: ignore[index]
    ranged = {
        "rules": [_rule("greater_than_or_equals", low), _rule("lower_than_or_equal", high)],
        "order_by": [{"column_id": "__last_updated__", "direction": "desc"}],
    }
    desc = _harvest(executor, board_id, 45, ranged)
    assert [i["updated_at"] for i in desc] == sorted((i["updated_at"] for i in between), reverse=True)


def test_changes_show_up_in_filters_and_move_to_the_end_of_last_updated_order(
    env: tuple[Store, Executor, FakeClock],
) -> None:
    store, executor, clock = env
    board_id = store.board_ids()[0]
    ids = store.item_ids(board_id)
    clock.advance(10)
    store.rename_item(ids[5], "Edited")
    clock.advance(10)
    store.archive_item(ids[6])
    since = {
        "rules": [_rule("greater_than_or_equals", "2026-01-01T00:00:00Z")],
        "order_by": [{"column_id": "__last_updated__"}],
    }
    assert [i["id"] for i in _harvest(executor, board_id, 50, since)] == [ids[5]]
    ordered = _harvest(
        executor, board_id, 100, {"order_by": [{"column_id": "__last_updated__", "direction": "asc"}]}
    )
    assert ordered[-1]["id"] == ids[5]
    assert ids[6] not in {i["id"] for i in ordered}
    creation_desc = _harvest(
        executor, board_id, 100, {"order_by": [{"column_id": "__creation_log__", "direction": "desc"}]}
    )
    assert [i["id"] for i in creation_desc] == list(reversed([i for i in ids if i != ids[6]]))


def test_item_edited_mid_chain_is_served_again_under_last_updated(
    env: tuple[Store, Executor, FakeClock],
) -> None:
    store, executor, clock = env
    board_id = store.board_ids()[0]
    params = {"order_by": [{"column_id": "__last_updated__"}]}
    page = _run(executor, FIRST, {"board_ids": [board_id], "limit": 100, "query_params": params})["boards"][
        0
    ]["items_page"]
    seen = [i["id"] for i in page["items"]]
    clock.advance(30)
    store.update_column_value(seen[0], store.board(board_id)["columns"][0]["id"], "changed")  # type: ignore[index]
    while page["cursor"]:
        page = _run(executor, NEXT, {"cursor": page["cursor"], "limit": 100})["next_items_page"]
        seen += [i["id"] for i in page["items"]]
    assert seen.count(seen[0]) == 2 and seen[-1] == seen[0]
    assert len(set(seen)) == len(store.item_ids(board_id))


def test_group_filter(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    board_id = store.board_ids()[0]
    group = store.board(board_id)["groups"][1]["id"]  # type: ignore[index]
    got = _harvest(executor, board_id, 100, {"rules": [{"column_id": "group", "compare_value": [group]}]})
    expected = [i for i in store.item_ids(board_id) if store.render_item(i)["group"]["id"] == group]  # type: ignore[index]
    assert [i["id"] for i in got] == expected and 0 < len(expected) < len(store.item_ids(board_id))


def _harvest_group(
    executor: Executor, board_id: str, group_id: str, limit: int, params: dict | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every item of one group's chain, and the cursors it walked."""
    variables = {"board_ids": [board_id], "group_ids": [group_id], "limit": limit, "query_params": params}
    groups = _run(executor, HARVEST_GROUP_FIRST_PAGE_QUERY, variables)["boards"][0]["groups"]
    assert [g["id"] for g in groups] == [group_id]
    page = groups[0]["items_page"]
    items, cursors = list(page["items"]), []
    while page["cursor"]:
        cursors.append(page["cursor"])
        page = _run(executor, NEXT, {"cursor": page["cursor"], "limit": limit})["next_items_page"]
        items += page["items"]
    return items, cursors


def test_group_items_page_lists_exactly_its_group_and_continues_by_cursor(
    env: tuple[Store, Executor, FakeClock],
) -> None:
    store, executor, _ = env
    board_id = store.board_ids()[0]
    groups = [g["id"] for g in store.board(board_id)["groups"]]  # type: ignore[index]
    order = {"order_by": [{"column_id": "__last_updated__", "direction": "asc"}]}
    union: list[str] = []
    for group_id in groups:
        items, cursors = _harvest_group(executor, board_id, group_id, 40, order)
        ids = [i["id"] for i in items]
        assert ids and all(store.render_item(i)["group"]["id"] == group_id for i in ids)  # type: ignore[index]
        assert [i["updated_at"] for i in items] == sorted(i["updated_at"] for i in items)
        assert cursors and all(_decoded(c).split("|")[0].endswith(f",{group_id}") for c in cursors)
        union += ids
    assert sorted(union) == sorted(store.item_ids(board_id))  # every active item in exactly one group


def _decoded(cursor: str) -> str:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


def test_group_items_page_combines_with_rules_and_follows_moves(
    env: tuple[Store, Executor, FakeClock],
) -> None:
    store, executor, clock = env
    board_id = store.board_ids()[0]
    first, second = (g["id"] for g in store.board(board_id)["groups"][:2])  # type: ignore[index]
    mover = next(i for i in store.item_ids(board_id) if store.render_item(i)["group"]["id"] == first)  # type: ignore[index]
    clock.advance(60)
    store.move_item(mover, second)
    since = {
        "rules": [_rule("greater_than_or_equals", "2026-01-01T00:00:30Z")],
        "order_by": [{"column_id": "__last_updated__"}],
    }
    assert [i["id"] for i in _harvest_group(executor, board_id, second, 25, since)[0]] == [mover]
    assert _harvest_group(executor, board_id, first, 25, since)[0] == []
    in_second = [
        i["id"] for i in _harvest_group(executor, board_id, second, 100, {"order_by": since["order_by"]})[0]
    ]
    assert in_second[-1] == mover and mover not in [
        i["id"] for i in _harvest_group(executor, board_id, first, 100)[0]
    ]
    # the same rule on the board's own items_page (``column_id: "group"``) lists the same items
    by_rule = _harvest(
        executor,
        board_id,
        100,
        {"rules": [{"column_id": "group", "compare_value": [second], "operator": "any_of"}], **since},
    )
    assert [i["id"] for i in by_rule] == [mover]
    bad = executor.execute(
        HARVEST_GROUP_FIRST_PAGE_QUERY.replace(
            "query_params: $query_params", 'query_params: $query_params, cursor: "x"'
        ),
        {"board_ids": [board_id], "group_ids": [first], "limit": 5, "query_params": since},
        None,
    )
    assert bad.data is None and bad.errors[0]["extensions"]["code"] == "InvalidArgumentException"


def test_items_by_ids_caps_defaults_and_states(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    board_id = store.board_ids()[0]
    all_ids = store.item_ids(board_id, state="all")
    assert len(_run(executor, ITEMS_DEFAULT, {"ids": all_ids[:60]})["items"]) == 25  # forgot limit: 25
    too_many = executor.execute(ITEMS_OPTS, {"ids": all_ids[:101], "limit": 100}, None)
    assert too_many.data is None and too_many.errors[0]["extensions"]["code"] == "InvalidArgumentException"
    nonactive = store.item_ids(board_id, state="archived")[:2] + store.item_ids(board_id, state="deleted")[:2]
    mixed = nonactive + store.item_ids(board_id)[:3] + ["99999999999"]
    got = _run(executor, ITEMS_OPTS, {"ids": mixed, "limit": 100})["items"]
    assert {i["id"] for i in got} == set(mixed) - {"99999999999"}  # unknown ids are simply absent
    assert {i["state"] for i in got} == {"active", "archived", "deleted"}
    only_active = _run(executor, ITEMS_OPTS, {"ids": mixed, "limit": 100, "x": True})["items"]
    assert {i["id"] for i in only_active} == set(store.item_ids(board_id)[:3])
    paged = _run(executor, ITEMS_OPTS, {"ids": all_ids[:30], "limit": 20, "page": 2})["items"]
    assert len(paged) == 10
    newest = _run(executor, ITEMS_OPTS, {"ids": all_ids[:5], "limit": 5, "n": True})["items"]
    assert [i["id"] for i in newest] == sorted(all_ids[:5], key=int, reverse=True)


def test_boards_unknown_id_and_state_filter(env: tuple[Store, Executor, FakeClock]) -> None:
    store, executor, _ = env
    query = "query B($ids: [ID!], $state: State) { boards(ids: $ids, state: $state) { id type } }"
    assert _run(executor, query, {"ids": ["123"]})["boards"] == []
    listed = _run(executor, query, {})["boards"]
    assert {b["id"] for b in listed} == set(store.board_ids(include_subitem_boards=True))
    assert {b["type"] for b in listed} == {"board", "sub_items_board"}
