"""The emulator's shortcuts answer what the whole rendering answers, also after the store changed.

Harvest pages render items without ``column_values`` (nothing they select reads it), root ``assets(ids:)``
reads an item's file column values only (``Store.item_files``), ``updates(ids:)`` builds only the updates
asked for and ``Board.updates`` only its page. Each is checked here against the ground truth computed the
long way (``Store.render_item`` with every field, every board's whole update list), before and after the
change API touched the items involved: nothing is cached, so a change must show at once.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import msgspec
import pytest
from graphql import parse
from monday_emulator import assets as emulated_assets
from monday_emulator import envelopes, fastpath
from monday_emulator.assets import ASSET_SLOTS
from monday_emulator.boards import POOL
from monday_emulator.clock import FakeClock
from monday_emulator.columns import is_image, iso, render_value
from monday_emulator.data import ITEM_KEYS, Store
from monday_emulator.envelopes import Reply
from monday_emulator.execute import Executor
from monday_emulator.fastpath import compile_plan
from monday_emulator.resolvers import board_updates

from tap_monday_boards.queries import (
    ASSETS_QUERY,
    HARVEST_FIRST_PAGE_QUERY,
    HARVEST_GROUP_FIRST_PAGE_QUERY,
    HARVEST_NEXT_PAGE_QUERY,
    ITEMS_BY_IDS_QUERY,
    items_by_ids_query,
)

COMPLEXITY = {"before": 5, "after": 4, "query": 1, "reset_in_x_seconds": 9}


def _store() -> tuple[Store, FakeClock]:
    clock = FakeClock()
    return Store(seed=11, boards=2, items_per_board=260, clock=clock), clock


def _every_item_id(store: Store) -> list[str]:
    return [i for b in store.board_ids(include_subitem_boards=True) for i in store.item_ids(b, state="all")]


def _file_column(store: Store, board_id: str) -> str:
    return next(c["id"] for c in store.board(board_id)["columns"] if c["type"] == "file")  # type: ignore[index]


def _change_everything(store: Store, clock: FakeClock) -> dict[str, str]:
    """Every kind of change, on items with and without files; returns a few ids by role."""
    board_id = store.board_ids()[0]
    ids = store.item_ids(board_id)
    with_files = next(i for i in ids if _files_of(store.render_item(i)))
    without = next(i for i in ids if not _files_of(store.render_item(i)))
    clock.advance(120)
    store.rename_item(ids[3], "Renamed item")
    store.move_item(ids[4], store.board(board_id)["groups"][-1]["id"])  # type: ignore[index]
    store.archive_item(ids[5])
    store.delete_item(ids[6])
    file_column = _file_column(store, board_id)
    own = str(int(without) * ASSET_SLOTS + 4)  # an id of the owner's own range: assets(ids:) finds it
    store.update_column_value(without, file_column, [(own, "added_1.png", store.account.user_ids[1])])
    store.update_column_value(with_files, file_column, None)  # its files are gone
    clock.advance(3_600)  # a created item's creation time is its own, not a generated one
    created = store.create_item(board_id, "Created", column_values={file_column: None})
    created_asset = str(int(created) * ASSET_SLOTS + 1)
    store.update_column_value(created, file_column, [(created_asset, "c.pdf", store.account.user_ids[2])])
    return {
        "with_files": with_files,
        "without": without,
        "own_asset": own,
        "created": created,
        "created_asset": created_asset,
    }


def _files_of(item: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [f for cv in (item or {}).get("column_values") or [] if cv["type"] == "file" for f in cv["files"]]


def _asset_truth(store: Store, asset_id: str) -> dict[str, Any] | None:
    """Root ``assets(ids:)`` for one id the long way: the owner item rendered whole (or the update)."""
    owner = int(asset_id) // ASSET_SLOTS
    item = store.render_item(owner) if owner >= 10**10 else None
    if item is not None:
        entry = next((f for f in _files_of(item) if str(f["asset_id"]) == asset_id), None)
        if entry is None:
            return None
        return emulated_assets.asset_dict(
            store, asset_id, entry["name"], entry["creator_id"], item["created_at"]
        )
    update = emulated_assets.update_by_id(store, owner)
    files = emulated_assets.update_files(store, update) if update is not None else []
    found = next((f for f in files if f[0] == asset_id), None)
    return (
        None
        if found is None or update is None
        else emulated_assets.asset_dict(store, *found, update["created_at"])
    )


SUBSETS = [
    frozenset({"id", "updated_at"}),  # a harvest page
    frozenset({"created_at"}),
    frozenset({"creator_id", "board"}),
    frozenset({"group", "subitems"}),
    frozenset({"parent_item", "name", "state"}),
    ITEM_KEYS - {"column_values"},
    frozenset({"id", "url", "email"}),  # keys the store does not render: absent, read as null
    frozenset(),
]


@pytest.mark.parametrize("changed", [False, True])
def test_items_rendered_in_part_are_the_whole_item_in_part(changed: bool) -> None:
    store, clock = _store()
    if changed:
        _change_everything(store, clock)
    for item_id in _every_item_id(store):
        whole = store.render_item(item_id)
        assert whole is not None
        assert set(whole) == ITEM_KEYS
        for fields in SUBSETS:
            part = store.render_item(item_id, fields=fields)
            assert part == {k: v for k, v in whole.items() if k in fields}
    assert store.render_item("77777777777", fields=SUBSETS[0]) is None


@pytest.mark.parametrize("changed", [False, True])
def test_item_files_are_the_rendered_file_values(changed: bool) -> None:
    store, clock = _store()
    roles = _change_everything(store, clock) if changed else {}
    for item_id in _every_item_id(store):
        whole = store.render_item(item_id)
        assert whole is not None
        files = [(str(f["asset_id"]), f["name"], f["creator_id"]) for f in _files_of(whole)]
        assert store.item_files(item_id) == (files, whole["created_at"])
    assert store.item_files("77777777777") is None
    if changed:  # the changes really reached the file values
        cleared, added = store.item_files(roles["with_files"]), store.item_files(roles["without"])
        assert cleared is not None and cleared[0] == []
        assert added is not None and [f[0] for f in added[0]] == [roles["own_asset"]]


def test_root_assets_follow_file_column_changes() -> None:
    store, clock = _store()
    board_id = store.board_ids()[0]
    ids = store.item_ids(board_id, state="all")
    before = [str(f["asset_id"]) for i in ids for f in _files_of(store.render_item(i))]
    roles = _change_everything(store, clock)
    after = [str(f["asset_id"]) for i in _every_item_id(store) for f in _files_of(store.render_item(i))]
    update = next(
        u for u in board_updates(store, store.board_obj(board_id)) if emulated_assets.update_files(store, u)
    )
    asked = [*before, *after, emulated_assets.update_files(store, update)[0][0], "4", str(10**11 + 3)]
    assert roles["own_asset"] in after and roles["own_asset"] not in before
    gone = [a for a in before if a not in after]
    assert gone, "clearing a file column removes its assets"
    for asset_id in asked:
        assert emulated_assets.asset(store, asset_id) == _asset_truth(store, asset_id), asset_id
    assert emulated_assets.asset(store, roles["own_asset"]) is not None
    created = emulated_assets.asset(store, roles["created_asset"])
    assert created is not None
    assert created["created_at"] == store.render_item(roles["created"])["created_at"]  # type: ignore[index]
    assert all(emulated_assets.asset(store, a) is None for a in gone)
    # through both executors, in the tap's own document
    fast, slow = Executor(store, clock), Executor(store, clock, fast_path=False)
    lists = {f"ids{n}": asked[n * 100 : (n + 1) * 100] for n in range(5)}
    got = fast.execute(ASSETS_QUERY, lists, None, complexity=COMPLEXITY)
    want = slow.execute(ASSETS_QUERY, lists, None, complexity=COMPLEXITY)
    assert fast.path_counts["fast"] == 1
    assert got.errors == want.errors == []
    assert got.data == want.data
    answered = [a["id"] for n in range(5) for a in got.data[f"a{n}"]]  # type: ignore[index]
    assert roles["own_asset"] in answered and not set(gone) & set(answered)


def _pages(executor: Executor, store: Store, board_id: str) -> list[dict[str, Any]]:
    """Every item of the board's harvest chain (first page through graphql-core, the rest fast)."""
    first = executor.execute(HARVEST_FIRST_PAGE_QUERY, {"board_ids": [board_id], "limit": 50}, None)
    page = first.data["boards"][0]["items_page"]  # type: ignore[index]
    items = list(page["items"])
    while page["cursor"]:
        answer = executor.execute(HARVEST_NEXT_PAGE_QUERY, {"cursor": page["cursor"], "limit": 50}, None)
        assert answer.errors == []
        page = answer.data["next_items_page"]  # type: ignore[index]
        items += page["items"]
    return items


def test_harvest_pages_carry_the_current_updated_at() -> None:
    store, clock = _store()
    executor = Executor(store, clock)
    board_id = store.board_ids()[0]
    roles = _change_everything(store, clock)
    items = _pages(executor, store, board_id)
    assert executor.path_counts["fast"] > 0
    assert [i["id"] for i in items] == store.item_ids(board_id)  # active items, creation order
    assert roles["created"] in [i["id"] for i in items]
    for item in items:
        whole = store.render_item(item["id"])
        assert whole is not None
        assert item == {"id": whole["id"], "updated_at": whole["updated_at"]}
    group = store.board(board_id)["groups"][-1]["id"]  # type: ignore[index]
    variables = {"board_ids": [board_id], "group_ids": [group], "limit": 500}
    answer = executor.execute(HARVEST_GROUP_FIRST_PAGE_QUERY, variables, None)
    grouped = answer.data["boards"][0]["groups"][0]["items_page"]["items"]  # type: ignore[index]
    assert grouped
    for item in grouped:
        whole = store.render_item(item["id"])
        assert whole is not None and whole["group"]["id"] == group
        assert item == {"id": whole["id"], "updated_at": whole["updated_at"]}


def test_items_page_selecting_column_values_still_renders_them() -> None:
    """A page that reads column values (or is unsure: a fragment) gets them, through either path."""
    store, clock = _store()
    board_id = store.board_ids()[0]
    query = (
        "query Q($b: [ID!]!) { boards(ids: $b) { items_page(limit: 5) { cursor "
        "items { id ... on Item { column_values { id text } } } } } }"
    )
    answer = Executor(store, clock).execute(query, {"b": [board_id]}, None)
    assert answer.errors == []
    items = answer.data["boards"][0]["items_page"]["items"]  # type: ignore[index]
    for item in items:
        whole = store.render_item(item["id"])
        assert whole is not None
        assert item["column_values"] == [{"id": v["id"], "text": v["text"]} for v in whole["column_values"]]
    following = (
        "query N($c: String!) { next_items_page(cursor: $c, limit: 5) { items { id column_values { id } } } }"
    )
    executor = Executor(store, clock)
    answer = executor.execute(query, {"b": [board_id]}, None)
    cursor = answer.data["boards"][0]["items_page"]["cursor"]  # type: ignore[index]
    page = executor.execute(following, {"c": cursor}, None)
    assert executor.path_counts["fast"] == 1
    assert page.data["next_items_page"]["items"]  # type: ignore[index]
    for item in page.data["next_items_page"]["items"]:  # type: ignore[index]
        whole = store.render_item(item["id"])
        assert whole is not None
        assert item["column_values"] == [{"id": v["id"]} for v in whole["column_values"]]


def _all_updates(store: Store) -> list[dict[str, Any]]:
    rows = [u for b in store.board_ids() for u in board_updates(store, store.board_obj(b))]
    return sorted(rows, key=lambda u: (u["created_at"], u["id"]), reverse=True)


@pytest.mark.parametrize("fast_path", [True, False])
def test_updates_by_ids_are_the_filtered_whole_list(fast_path: bool) -> None:
    store, clock = _store()
    executor = Executor(store, clock, fast_path=fast_path)
    every = _all_updates(store)
    assert len(every) > 60
    picked = [u["id"] for u in every[::7]]
    item = every[3]["item_id"]
    store.rename_item(item, "Renamed for its update")  # an update's text names its item
    every = _all_updates(store)
    odd = ["0" + picked[0], picked[1] + " ", "300000000", "399000000", "301999999", "-1", "x", "३००"]
    ids = [*picked, picked[0], every[3]["id"], *odd]
    query = (
        "query U($ids: [ID!], $l: Int, $p: Int) "
        "{ updates(ids: $ids, limit: $l, page: $p) { id body item_id created_at } }"
    )
    for limit, page in ((100, 1), (5, 2), (None, None)):
        answer = executor.execute(query, {"ids": ids, "l": limit, "p": page}, None)
        assert answer.errors == []
        wanted = [u for u in every if u["id"] in set(ids)]
        size = min(limit or 25, 100)
        start = ((page or 1) - 1) * size
        keys = ("id", "body", "item_id", "created_at")
        expected = [{k: u[k] for k in keys} for u in wanted[start : start + size]]
        assert expected and answer.data["updates"] == expected  # type: ignore[index]
    answer = executor.execute(query, {"ids": [every[3]["id"]], "l": 10}, None)
    assert "Renamed for its update" in answer.data["updates"][0]["body"]  # type: ignore[index]


def test_board_updates_pages_are_slices_of_the_whole_list() -> None:
    store, clock = _store()
    executor = Executor(store, clock)
    board_id = store.board_ids()[1]
    store.rename_item(store.item_ids(board_id)[10], "Renamed")
    whole = board_updates(store, store.board_obj(board_id))
    assert len(whole) > 40
    query = (
        "query B($b: [ID!], $l: Int, $p: Int) "
        "{ boards(ids: $b) { updates(limit: $l, page: $p) { id body } } }"
    )
    for limit, page in (
        (7, 1),
        (7, 2),
        (7, 8),
        (25, None),
        (None, 3),
        (100, 1),
        (0, 1),
        (-1, 1),
        (10, 0),
        (10, 99),
    ):
        answer = executor.execute(query, {"b": [board_id], "l": limit, "p": page}, None)
        assert answer.errors == []
        size = min(limit or 25, 100)
        if size < 1:
            expected = whole
        else:
            start = (max(page or 1, 1) - 1) * size
            expected = whole[start : start + size]
        assert answer.data["boards"][0]["updates"] == [{"id": u["id"], "body": u["body"]} for u in expected]  # type: ignore[index]


def _column_values_the_long_way(store: Store, item_id: str) -> list[dict[str, Any]]:
    """Every column value rendered from its raw value, as ``Store.render_item`` did before values without
    links or files were shared (``Board.unlinked``)."""
    found = store.locate(int(item_id))
    assert found is not None
    board, pos = found
    h, change, ctx = store.hash_of(int(item_id)), store.change_of(int(item_id)), store.render_context()
    fresh = pos >= board.generated and not board.is_sub
    out = []
    for n, column in enumerate(board.columns):
        if change is not None and column.id in change.values:
            out.append(change.values[column.id])
        elif fresh:
            out.append(board.empties[column.id])
        elif column.type == "subtasks":
            base = board.sub_board.item_base + 4 * pos  # type: ignore[union-attr]
            ids = [str(base + j) for j in range(store.subitem_count(board, pos))]
            out.append(render_value(column, ids, iso(board.created_ts), ctx))
        elif column.type == "file":
            at = iso(store.generated_times(board, pos)[0])
            out.append(render_value(column, emulated_assets.item_files(store, board, pos), at, ctx))
        elif column.type == "dependency":
            ids = [str(board.item_base + pos - 1)] if pos and h % 4 == 0 else []
            out.append(render_value(column, ids, iso(board.created_ts), ctx))
        else:
            out.append(board.pools[column.id][((h * (2 * n + 1)) >> 29) % POOL])
    return out


@pytest.mark.parametrize("changed", [False, True])
def test_column_values_equal_the_long_way(changed: bool) -> None:
    store, clock = _store()
    if changed:
        _change_everything(store, clock)
    kinds: set[str] = set()
    for item_id in _every_item_id(store):
        whole = store.render_item(item_id)
        assert whole is not None
        assert whole["column_values"] == _column_values_the_long_way(store, item_id)
        kinds |= {v["type"] for v in whole["column_values"]}
    assert {"subtasks", "file", "dependency"} <= kinds


def test_shared_value_projections_follow_changes_and_column_choices() -> None:
    """Projections of the store's shared values are kept across requests (fastpath.py): answers must still
    equal graphql-core's when the column choice changes between requests and after values change."""
    store, clock = _store()
    fast, slow = Executor(store, clock), Executor(store, clock, fast_path=False)
    board_id = store.board_ids()[0]
    ids = store.item_ids(board_id, state="all")[:100]
    columns = [c["id"] for c in store.board(board_id)["columns"]]  # type: ignore[index]
    query = items_by_ids_query(["status", "numbers", "people", "file"], with_column_ids=True)
    status = next(c["id"] for c in store.board(board_id)["columns"] if c["type"] == "status")  # type: ignore[index]
    rounds = [columns[:4], columns[2:], columns, columns[:4]]
    for n, chosen in enumerate(rounds):
        if n == 2:
            store.update_column_value(ids[0], status, "Done")
            store.update_column_value(ids[1], status, None)
        variables = {"ids": ids, "limit": 100, "column_ids": chosen}
        for document in (query, ITEMS_BY_IDS_QUERY):
            got = fast.execute(document, variables, None, complexity=COMPLEXITY)
            want = slow.execute(document, variables, None, complexity=COMPLEXITY)
            assert got.errors == want.errors == []
            assert got.data == want.data
    assert fast.path_counts["fast"] == 2 * len(rounds)
    first = got.data["items"][0]  # type: ignore[index]
    assert next(v for v in first["column_values"] if v["id"] == status)["text"] == "Done"
    assert any(plan is not None and plan.shared for plan in fast._plans.values())


def test_group_chains_list_their_group_after_moves() -> None:
    """A group's chain skips other groups' untouched items by their hash (listing.py): every group's whole
    chain, in small pages, is still exactly its active items, moved and created ones included."""
    store, clock = _store()
    executor = Executor(store, clock)
    board_id = store.board_ids()[0]
    roles = _change_everything(store, clock)
    groups = [g["id"] for g in store.board(board_id)["groups"]]  # type: ignore[index]
    store.move_item(store.item_ids(board_id)[1], groups[0])
    store.move_item(store.item_ids(board_id)[2], groups[1])
    seen: list[str] = []
    for group in groups:
        variables = {"board_ids": [board_id], "group_ids": [group], "limit": 40}
        answer = executor.execute(HARVEST_GROUP_FIRST_PAGE_QUERY, variables, None)
        page = answer.data["boards"][0]["groups"][0]["items_page"]  # type: ignore[index]
        ids = [i["id"] for i in page["items"]]
        while page["cursor"]:
            variables = {"cursor": page["cursor"], "limit": 40}
            following = executor.execute(HARVEST_NEXT_PAGE_QUERY, variables, None)
            page = following.data["next_items_page"]  # type: ignore[index]
            ids += [i["id"] for i in page["items"]]
        active = store.item_ids(board_id)
        expected = [i for i in active if (store.render_item(i) or {})["group"]["id"] == group]
        assert len(expected) > 40
        assert ids == expected
        seen += ids
    assert sorted(seen) == sorted(store.item_ids(board_id))
    assert roles["created"] in seen


# ----- second round: the same answers for less CPU (docs/benchmarks.md, "The emulator's CPU") -------------


def test_iso_is_strftime_for_every_second() -> None:
    """``iso`` writes the time of day itself and caches only the date: strftime's text for any int."""
    rng = random.Random(5)
    samples = [rng.randrange(-(10**11), 10**11) for _ in range(20_000)]
    samples += range(-200_000, 200_000, 997)
    samples += [0, -1, 86_399, 86_400, 951_782_400, 1_735_689_599]
    for ts in samples:
        assert iso(ts) == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)), ts
    assert iso(1_735_689_599.9) == "2024-12-31T23:59:59Z"  # a float is cut to its second, as before


@pytest.mark.parametrize(
    "names",
    [
        ["report.pdf"],
        ["plan_1.png", "notes_2.docx"],
        ['quo"te.jpg', "back\\slash.PNG", "é.gif", "tab\t.pdf", "del\x7f.txt", "\u2028.xlsx", ""],
    ],
)
def test_file_value_json_is_json_dumps(names: list[str]) -> None:
    """A file value's ``value`` is written out, not json.dumps'd: the same text for any file name."""
    store, _ = _store()
    board = store.board_obj(store.board_ids()[0])
    assert board is not None
    column = next(c for c in board.columns if c.type == "file")
    files = [(str(10**11 + n), name, store.account.user_ids[0]) for n, name in enumerate(names)]
    rendered = render_value(column, files, iso(0), store.render_context())
    expected = json.dumps(
        {
            "files": [
                {"name": n, "assetId": int(a), "isImage": str(is_image(n)).lower(), "fileType": "ASSET"}
                for a, n, _ in files
            ]
        },
        separators=(",", ":"),
    )
    assert rendered["value"] == expected
    assert [f["is_image"] for f in rendered["files"]] == [is_image(n) for n in names]


@pytest.mark.parametrize("changed", [False, True])
def test_item_fields_equal_their_own_functions(changed: bool) -> None:
    """``render_item`` computes an item's hash once; each field still equals the function that owns it."""
    store, clock = _store()
    if changed:
        _change_everything(store, clock)
    for item_id in _every_item_id(store):
        item = store.render_item(item_id)
        found = store.locate(int(item_id))
        assert item is not None and found is not None
        board, pos = found
        change = store.change_of(int(item_id))
        created, updated = store.generated_times(board, pos)
        if change is not None:
            created, updated = change.created_ts or created, change.updated_ts or updated
        assert item["name"] == store.item_name(int(item_id))
        assert item["state"] == store.state_of(board, pos)
        assert (item["created_at"], item["updated_at"]) == (iso(created), iso(updated))
        count = store.subitem_count(board, pos)
        assert len(item["subitems"]) == count


def test_subitem_board_positions_are_the_existing_slots() -> None:
    """A subitems board's positions, hashed once per parent: exactly the slots below the parent's count, in
    both directions and from any start."""
    store, _ = _store()
    for board_id in store.board_ids():
        parent = store.board_obj(board_id)
        assert parent is not None and parent.sub_board is not None
        sub = parent.sub_board
        every = [p for p in range(sub.positions) if p % 4 < store.subitem_count(parent, p // 4)]
        assert list(store.iter_positions(sub, 0, sub.positions)) == every
        assert list(store.iter_positions(sub, sub.positions - 1, -1, -1)) == every[::-1]
        assert list(store.iter_positions(sub, 37, 301)) == [p for p in every if 37 <= p < 301]
        assert list(store.iter_positions(sub, 301, 37, -1)) == [p for p in every if 37 < p <= 301][::-1]


def _documents() -> list[tuple[str, dict[str, Any]]]:
    """Documents the fast path answers, with the tap's variables: fused (``ITEMS_BY_IDS_QUERY``: column
    values projected while rendered), filtered, aliased twice, and assets."""
    two = (
        "query Two($ids: [ID!]!) { a: items(ids: $ids, limit: 100) { id column_values { id text } }"
        " b: items(ids: $ids, limit: 100) { name column_values(types: [status, file]) { type value } } }"
    )
    typed = (
        "query Typed($ids: [ID!]!) { items(ids: $ids, limit: 100) { __typename id column_values"
        " { __typename id ... on StatusValue { label index } ... on FileValue { files { ... on FileAssetValue"
        " { asset_id name } } } } } }"
    )
    return [
        (ITEMS_BY_IDS_QUERY, {"limit": 100}),
        (items_by_ids_query(["status", "numbers", "file"], with_column_ids=True), {"limit": 100}),
        (two, {}),
        (typed, {}),
    ]


@pytest.mark.parametrize("changed", [False, True])
def test_fast_answers_equal_graphql_core_across_changes(changed: bool) -> None:
    """Every item through each document, fast path against graphql-core, twice per executor (the plans'
    projections and pool views are kept across requests), then again after the change API touched items
    already answered: the kept projections are of values nothing changes, so a change shows at once."""
    store, clock = _store()
    fast, slow = Executor(store, clock), Executor(store, clock, fast_path=False)
    ids = _every_item_id(store)
    board = store.board(store.board_ids()[0])
    assert board is not None
    columns = [c["id"] for c in board["columns"]]
    for round_ in range(3):
        if round_ == 2 and changed:
            _change_everything(store, clock)
            ids = _every_item_id(store)
        for document, shared in _documents():
            for start in range(0, len(ids), 100):
                variables = {**shared, "ids": ids[start : start + 100], "column_ids": columns[::2]}
                if "$column_ids" not in document:
                    del variables["column_ids"]
                got = fast.execute(document, variables, None, complexity=COMPLEXITY)
                want = slow.execute(document, variables, None, complexity=COMPLEXITY)
                assert got.errors == want.errors == []
                assert got.data == want.data
                assert json.dumps(got.data) == json.dumps(want.data)  # same keys in the same order
                # only encoded (server.py): shared values as msgspec.Raw, the same bytes
                raw = fast.execute(document, variables, None, complexity=COMPLEXITY, encoded=True)
                assert Reply(200, {"data": raw.data}).encode() == Reply(200, {"data": want.data}).encode()
    assert slow.path_counts["fast"] == 0 and fast.path_counts["graphql"] == 0
    plan = fast._plans[(ITEMS_BY_IDS_QUERY, None)]  # the fused plan is the one under test
    assert plan is not None and plan.fused and {encoded for _, encoded in plan.views} == {False, True}


def test_an_encoded_answer_encodes_the_same_the_long_way() -> None:
    """``Reply.encode`` falls back to json.dumps for a type msgspec does not know; msgspec.Raw pieces of an
    encoded answer are then written as the JSON they hold."""
    store, clock = _store()
    fast = Executor(store, clock)
    variables = {"ids": _every_item_id(store)[:100], "limit": 100}
    answer = fast.execute(ITEMS_BY_IDS_QUERY, variables, None, complexity=COMPLEXITY, encoded=True)
    values = answer.data["items"][0]["column_values"]  # type: ignore[index]
    assert any(isinstance(v, msgspec.Raw) for v in values)

    class Unknown:  # makes msgspec give up on the whole body
        pass

    body = {"data": answer.data, "extra": Unknown()}
    with pytest.raises(TypeError, match="Unknown"):
        Reply(200, body).encode()
    plain = fast.execute(ITEMS_BY_IDS_QUERY, variables, None, complexity=COMPLEXITY)
    expected = json.dumps({"data": plain.data}, separators=(",", ":"), ensure_ascii=False).encode()
    assert Reply(200, {"data": answer.data}).encode() == expected
    assert json.loads(json.dumps(answer.data, default=envelopes._raw_json)) == plain.data


def test_compiled_projections_equal_the_field_walk() -> None:
    """Each selection's compiled builder against ``_project_by_ops``, the field-by-field walk it unrolls,
    on whole items (every column value type, changed ones included) and on assets."""
    store, clock = _store()
    roles = _change_everything(store, clock)
    schema = Executor(store, clock).schema
    items = [store.render_item(i) for i in _every_item_id(store)]
    assets = [emulated_assets.asset(store, roles[role]) for role in ("own_asset", "created_asset")]
    for document, _ in [*_documents(), (ASSETS_QUERY, {})]:
        plan = compile_plan(schema, parse(document), None)
        assert plan is not None
        for key, name, node, selection in plan.roots:
            if selection is None:
                continue
            filters = {
                id(e): (None, frozenset({"status", "file"}) if e.filter_node.arguments else None)  # type: ignore[union-attr]
                for e in plan.filtered
            }
            source = assets if name == "assets" else items
            compiled = fastpath._project(source, selection, fastpath._Run(filters, frozenset(), {}))
            walked = fastpath._project_by_ops(source, selection, fastpath._Run(filters, frozenset(), {}))
            assert compiled == walked, (document, key, node)
            assert json.dumps(compiled) == json.dumps(walked)


def test_cost_estimates_are_kept_per_variable_shape() -> None:
    """``estimate_cost`` keeps an estimate per document and variable shape (list lengths, scalars by type
    and value): each kept answer equals a fresh walk, for lists of the same length and other contents, and
    for limits that are equal dict keys but not equal limits (1, 1.0, True)."""
    store, clock = _store()
    executor = Executor(store, clock)
    document = parse(ITEMS_BY_IDS_QUERY)
    cases: list[dict[str, Any]] = [
        {"ids": ["1"] * n, "limit": limit}
        for n in (1, 2, 50, 100)
        for limit in (1, 1.0, True, 0, 25, None, "7")
    ]
    cases += [{"ids": "123", "limit": 5}, {"ids": 123, "limit": 5}, {"ids": None}, {}]
    cases += [{"ids": [str(n) for n in range(50)], "limit": 50}, {"ids": [{"x": 1}] * 50, "limit": 50}]
    for variables in cases * 2:
        fresh = executor.cost_model.estimate(executor.schema, document, None, variables)
        assert executor.estimate_cost(ITEMS_BY_IDS_QUERY, variables, None) == fresh, variables
    # a page's limit bounds its items: 1 and 1.0 are one dict key, and two different prices
    one, float_one = ({"cursor": "c", "limit": v} for v in (1, 1.0))
    assert executor.estimate_cost(HARVEST_NEXT_PAGE_QUERY, one, None) != executor.estimate_cost(
        HARVEST_NEXT_PAGE_QUERY, float_one, None
    )
    nested = {"ids": ["1"], "limit": 1, "extra": {"a": [1]}}  # an input object: never kept
    assert executor.estimate_cost(ITEMS_BY_IDS_QUERY, nested, None) == executor.cost_model.estimate(
        executor.schema, document, None, nested
    )
