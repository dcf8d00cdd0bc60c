"""Store: determinism, realistic values, O(changes) memory on a 1M-item board, and the change API."""

from __future__ import annotations

import json
import re
import tracemalloc
import uuid

import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.data import Store
from monday_emulator.execute import Executor

from tap_monday_boards.queries import HARVEST_FIRST_PAGE_QUERY, HARVEST_NEXT_PAGE_QUERY

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _snapshot(store: Store) -> list[object]:
    out: list[object] = [store.board(b) for b in store.board_ids(include_subitem_boards=True)]
    for board_id in store.board_ids():
        out += [store.render_item(i) for i in store.item_ids(board_id, state="all")[:40]]
    out.append(store.account.users)
    return out


def test_same_seed_same_data_different_seed_different_data() -> None:
    first = json.dumps(_snapshot(Store(seed=7, boards=2, items_per_board=60)), sort_keys=True)
    again = json.dumps(_snapshot(Store(seed=7, boards=2, items_per_board=60)), sort_keys=True)
    other = json.dumps(_snapshot(Store(seed=8, boards=2, items_per_board=60)), sort_keys=True)
    assert first == again
    assert first != other


@pytest.fixture(scope="module")
def store() -> Store:
    return Store(seed=3, boards=2, items_per_board=[400, 30])


def test_ids_are_numeric_strings_and_board_shapes(store: Store) -> None:
    board_id = store.board_ids()[0]
    board = store.board(board_id)
    assert board is not None and board["type"] == "board"
    assert re.fullmatch(r"\d{10}", board_id)
    item_ids = store.item_ids(board_id, state="all")
    assert len(item_ids) == 400
    assert all(re.fullmatch(r"\d{10,11}", i) for i in item_ids)
    column_types = [c["type"] for c in board["columns"]]
    assert len(column_types) >= 20
    for needed in (
        "text",
        "long_text",
        "numbers",
        "status",
        "date",
        "timeline",
        "people",
        "dropdown",
        "checkbox",
        "email",
        "phone",
        "link",
        "location",
        "tags",
        "rating",
        "file",
        "mirror",
        "board_relation",
        "formula",
        "dependency",
        "subtasks",
    ):
        assert needed in column_types
    assert len(board["groups"]) >= 2
    assert board["items_count"] == len(store.item_ids(board_id))


def test_subitems_live_on_a_subitems_board(store: Store) -> None:
    board_id = store.board_ids()[0]
    sub_id = store.subitem_board_id(board_id)
    assert sub_id is not None
    sub = store.board(sub_id)
    assert sub is not None and sub["type"] == "sub_items_board"
    subtasks = next(c for c in store.board(board_id)["columns"] if c["type"] == "subtasks")  # type: ignore[index]
    assert json.loads(subtasks["settings_str"])["boardIds"] == [int(sub_id)]
    parents = [store.render_item(i) for i in store.item_ids(board_id, state="all")]
    with_subitems = [p for p in parents if p and p["subitems"]]
    assert 0.05 <= len(with_subitems) / len(parents) <= 0.17
    parent = with_subitems[0]
    for ref in parent["subitems"]:
        child = store.render_item(ref["id"])
        assert child is not None
        assert child["board"]["id"] == sub_id
        assert child["parent_item"] == {"id": parent["id"]}
    value = next(v for v in parent["column_values"] if v["type"] == "subtasks")
    assert value["subitems_ids"] == [r["id"] for r in parent["subitems"]]
    assert value["value"] is None
    assert set(store.item_ids(sub_id)) == {r["id"] for p in with_subitems for r in p["subitems"]}


def test_some_items_are_archived_or_deleted(store: Store) -> None:
    board_id = store.board_ids()[0]
    archived = store.item_ids(board_id, state="archived")
    deleted = store.item_ids(board_id, state="deleted")
    assert archived and deleted
    assert (len(archived) + len(deleted)) / 400 < 0.05
    assert store.render_item(archived[0])["state"] == "archived"  # type: ignore[index]


def test_column_value_rules(store: Store) -> None:
    board_id = store.board_ids()[0]
    items = [store.render_item(i) for i in store.item_ids(board_id)[:200]]
    seen: dict[str, list[dict]] = {}
    for item in items:
        assert item is not None
        assert ISO.match(item["created_at"]) and ISO.match(item["updated_at"])
        assert item["created_at"] <= item["updated_at"]
        for value in item["column_values"]:
            seen.setdefault(value["type"], []).append(value)
            if value["value"] is not None:
                json.loads(value["value"])  # a JSON-encoded string
    for kind in ("mirror", "board_relation", "dependency"):
        assert all(v["text"] is None for v in seen[kind]), kind
    for kind in ("board_relation", "dependency", "subtasks"):
        assert all(v["value"] is None for v in seen[kind]), kind
    assert all(v["display_value"] for v in seen["mirror"] if v["display_value"])
    assert any(v["linked_item_ids"] for v in seen["board_relation"])
    empty_texts = [v for v in seen["text"] if v["value"] is None]
    assert empty_texts and all(v["text"] == "" for v in empty_texts)
    statuses = [v for v in seen["status"] if v["label"]]
    assert all(v["text"] == v["label"] and json.loads(v["value"])["index"] == v["index"] for v in statuses)
    assert {v["__typename"] for v in seen["status"]} == {"StatusValue"}


def test_million_item_board_is_served_without_holding_it() -> None:
    tracemalloc.start()
    try:
        clock = FakeClock()
        big = Store(seed=11, boards=1, items_per_board=1_000_000, clock=clock)
        executor = Executor(big, clock)
        board_id = big.board_ids()[0]
        first = executor.execute(HARVEST_FIRST_PAGE_QUERY, {"board_ids": [board_id], "limit": 500}, None)
        page = first.data["boards"][0]["items_page"]  # type: ignore[index]
        harvested = [i["id"] for i in page["items"]]
        for _ in range(3):
            nxt = executor.execute(HARVEST_NEXT_PAGE_QUERY, {"cursor": page["cursor"], "limit": 500}, None)
            page = nxt.data["next_items_page"]  # type: ignore[index]
            harvested += [i["id"] for i in page["items"]]
        rendered = [big.render_item(i) for i in harvested[-100:]]
        late = big.render_item(int(harvested[0]) + 999_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(set(harvested)) == 2000
    assert all(r is not None for r in rendered) and late is not None
    assert big.board(board_id)["items_count"] > 970_000  # type: ignore[index]
    # One rendered item is several KB; a million of them would be gigabytes.
    assert peak < 40 * 1024 * 1024


def _changed_store() -> tuple[Store, FakeClock]:
    clock = FakeClock(1_780_000_000)
    return Store(seed=5, boards=1, items_per_board=50, clock=clock), clock


def test_each_change_bumps_updated_at_and_logs() -> None:
    store, clock = _changed_store()
    board_id = store.board_ids()[0]
    board = store.board(board_id)
    assert board is not None
    item = store.item_ids(board_id)[3]
    status = next(c for c in board["columns"] if c["type"] == "status")
    done_group = board["groups"][2]["id"]
    steps = [
        ("update_column_value", lambda: store.update_column_value(item, status["id"], "Done")),
        ("update_name", lambda: store.rename_item(item, "Renamed")),
        ("move_pulse_into_group", lambda: store.move_item(item, done_group)),
        ("archive_pulse", lambda: store.archive_item(item)),
        ("delete_pulse", lambda: store.delete_item(item)),
    ]
    previous = store.render_item(item)["updated_at"]  # type: ignore[index]
    for event, change in steps:
        clock.advance(61)
        change()
        now = store.render_item(item)
        assert now is not None
        assert now["updated_at"] > previous
        previous = now["updated_at"]
        log = store.activity_logs(board_id)[0]
        assert log["event"] == event
        uuid.UUID(log["id"])
        assert re.fullmatch(r"\d{17}", log["created_at"])
        assert int(log["created_at"]) // 10_000_000 == int(clock.now())
        data = json.loads(log["data"])
        assert data["board_id"] == int(board_id) and data["pulse_id"] == int(item)
        assert "pulse_name" in data
    final = store.render_item(item)
    assert final is not None
    assert final["name"] == "Renamed" and final["group"]["id"] == done_group and final["state"] == "deleted"
    assert next(v for v in final["column_values"] if v["id"] == status["id"])["label"] == "Done"
    events = [e["event"] for e in store.activity_logs(board_id)]
    assert events == [e for e, _ in reversed(steps)]  # newest first
    assert item not in store.item_ids(board_id)


def test_create_item_appends_and_counts() -> None:
    store, clock = _changed_store()
    board_id = store.board_ids()[0]
    before = store.board(board_id)["items_count"]  # type: ignore[index]
    text = next(c for c in store.board(board_id)["columns"] if c["type"] == "text")  # type: ignore[index]
    clock.advance(5)
    new_id = store.create_item(board_id, "Fresh item", column_values={text["id"]: "hello"})
    item = store.render_item(new_id)
    assert item is not None and item["name"] == "Fresh item" and item["state"] == "active"
    assert item["created_at"] == item["updated_at"]
    value = next(v for v in item["column_values"] if v["id"] == text["id"])
    assert value["text"] == "hello" and json.loads(value["value"]) == "hello"
    assert store.item_ids(board_id)[-1] == new_id
    assert store.board(board_id)["items_count"] == before + 1  # type: ignore[index]
    assert store.activity_logs(board_id)[0]["event"] == "create_pulse"
    with pytest.raises(KeyError):
        store.move_item(new_id, "no_such_group")


def test_board_relation_links_items_of_the_board_its_settings_name(store: Store) -> None:
    board_id = store.board_ids()[0]
    column = next(c for c in store.board(board_id)["columns"] if c["type"] == "board_relation")  # type: ignore[index]
    (linked_board,) = json.loads(column["settings_str"])["boardIds"]
    assert str(linked_board) in store.board_ids()
    linked = {
        i
        for item_id in store.item_ids(board_id)[:100]
        for v in store.render_item(item_id)["column_values"]  # type: ignore[index]
        if v["id"] == column["id"]
        for i in v["linked_item_ids"]
    }
    assert linked and linked <= set(store.item_ids(str(linked_board), state="all"))


def test_groups_per_board_spreads_items_and_keeps_the_first_four_groups() -> None:
    default = Store(seed=5, boards=2, items_per_board=300)
    wide = Store(seed=5, boards=2, items_per_board=300, groups_per_board=10)
    for board_id in wide.board_ids():
        groups = [g["id"] for g in wide.board(board_id)["groups"]]  # type: ignore[index]
        assert len(groups) == len(set(groups)) == 10
        assert groups[:4] == [g["id"] for g in default.board(board_id)["groups"]]  # type: ignore[index]
        used = {wide.render_item(i)["group"]["id"] for i in wide.item_ids(board_id)}  # type: ignore[index]
        assert used == set(groups)
    assert [wide.item_ids(b) for b in wide.board_ids()] == [default.item_ids(b) for b in default.board_ids()]
    with pytest.raises(ValueError, match="groups_per_board"):
        Store(groups_per_board=0)
