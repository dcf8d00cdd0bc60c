"""Schema evolution of a board stream across discoveries: added, retyped and renamed columns.

The emulator's change API edits items, not columns, so :func:`set_column` edits the Store's board
definition directly (under the store lock, with a pool of generated values like the Store builds), which
is exactly what monday.com shows after a user adds, retypes or renames a column.
"""

from __future__ import annotations

import random
from typing import Any

import jsonschema
from monday_emulator.boards import POOL
from monday_emulator.columns import ColumnDef, iso, random_raw, render_value
from monday_emulator.data import Store
from monday_emulator.testing import RunningEmulator

from tap_monday_boards.board_streams import BoardItemsStream
from tests.support.insync import InProcessTap, sync
from tests.support.pg_types import postgres_type


def set_column(
    store: Store, board_id: str, column: ColumnDef, *, seed: int, keep_values: bool = False
) -> None:
    """Add ``column`` to the board, or replace the column with its id (a retype or a rename)."""
    with store.lock:
        board = store.board_obj(board_id)
        assert board is not None
        if not keep_values:
            rng = random.Random(seed)
            at, ctx = iso(board.created_ts), store.render_context()
            tags = list(store.account.tag_names)
            board.empties[column.id] = render_value(column, None, at, ctx)
            board.pools[column.id] = [
                render_value(column, random_raw(column.type, rng, store.account.user_ids, tags), at, ctx)
                for _ in range(POOL)
            ]
        index = next((i for i, c in enumerate(board.columns) if c.id == column.id), None)
        if index is None:
            board.columns.append(column)
        else:
            board.columns[index] = column
        board.info["columns"] = [c.as_dict() for c in board.columns]


def _column(store: Store, board_id: str, column_type: str) -> ColumnDef:
    board = store.board_obj(board_id)
    assert board is not None
    return next(c for c in board.columns if c.type == column_type)


def _properties(catalog: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (entry,) = catalog["streams"]
    return entry["schema"]["properties"]


def _tap(em: RunningEmulator, board_id: str, catalog: dict[str, Any] | None = None) -> InProcessTap:
    """The tap with only the stream of ``board_id``, discovering it anew (from ``catalog``, when given)."""
    config = {"api_token": em.token, "api_url": em.url, "board_streams": True, "board_ids": [board_id]}
    return InProcessTap(config=config, catalog=catalog, streams=BoardItemsStream)


def test_added_retyped_and_renamed_columns_across_two_discoveries(emulator_factory: Any) -> None:
    em = emulator_factory(boards=1, items_per_board=80, subitems=False)
    store = em.emulator.store
    board_id = store.board_ids()[0]
    first = _tap(em, board_id).catalog_dict
    before = _properties(first)
    assert {"numbers", "status", "rating"} <= set(before)

    numbers, status = _column(store, board_id, "numbers"), _column(store, board_id, "status")
    set_column(store, board_id, ColumnDef(numbers.id, "Deal amount", "numbers", {}), seed=1, keep_values=True)
    set_column(store, board_id, ColumnDef(status.id, status.title, "numbers", {}), seed=2)  # retyped
    set_column(store, board_id, ColumnDef("date_mkadded1", "Signed on", "date", {}), seed=3)  # added

    second = _tap(em, board_id, first).catalog_dict
    after = _properties(second)
    assert set(before) < set(after), "no property may disappear"
    changed = {n: (postgres_type(before[n]), postgres_type(after[n])) for n in before}
    assert {n: t for n, t in changed.items() if t[0] != t[1]} == {}, "no property may change its type"
    assert set(after) - set(before) == {"status_numbers", "signed_on"}
    assert postgres_type(after["status_numbers"]) == "numeric"
    assert postgres_type(after["signed_on"]) == "date"
    assert after["numbers"]["title"] == "Deal amount"  # renamed column, same property
    assert "Retired" in after["status"]["description"]

    third = _tap(em, board_id, second).catalog_dict
    assert _properties(third) == after, "a discovery given its own catalog changes nothing"

    fresh = _properties(_tap(em, board_id).catalog_dict)
    assert "status_numbers" in fresh, "without a catalog the id minted for 'status' still marks the retype"
    assert "deal_amount" in fresh and "numbers" not in fresh  # without memory a rename renames

    messages = sync(_tap(em, board_id, second))
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len(records) == len(store.item_ids(board_id))
    for record in records:
        truth = store.render_item(record["id"])
        assert truth is not None
        rendered = {v["id"]: v for v in truth["column_values"]}
        assert record["status"] is None
        assert record["status_numbers"] == rendered[status.id]["number"]
        assert record["signed_on"] == rendered["date_mkadded1"]["date"]
        assert record["numbers"] == rendered[numbers.id]["number"]
    assert any(r["status_numbers"] is not None for r in records)
    assert any(r["signed_on"] is not None for r in records)


def test_an_old_catalog_still_loads_after_the_board_changed(emulator_factory: Any) -> None:
    """Syncing with the catalog from before the change: nothing new is sent, nothing has a wrong type."""
    em = emulator_factory(boards=1, items_per_board=60, subitems=False)
    store = em.emulator.store
    board_id = store.board_ids()[0]
    old = _tap(em, board_id).catalog_dict
    status = _column(store, board_id, "status")
    set_column(store, board_id, ColumnDef(status.id, status.title, "numbers", {}), seed=4)
    set_column(store, board_id, ColumnDef("text_mkadded2", "Late note", "text", {}), seed=5)

    messages = sync(_tap(em, board_id, old))
    schema = next(m for m in messages if m["type"] == "SCHEMA")["schema"]
    assert schema["properties"] == _properties(old)
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert records
    validator = jsonschema.Draft7Validator(schema)
    for record in records:
        assert not list(validator.iter_errors(record))
        assert record["status"] is None  # a number now: never written into the text column
        assert "late_note" not in record and "text_mkadded2" not in record["column_values"]
    fetches = [r for r in em.emulator.request_log if r.operation == "ItemsByIds"]
    assert fetches
    for request in fetches:  # neither the new column nor the retyped one is requested
        assert not {"text_mkadded2", status.id} & set(request.variables["column_ids"])
