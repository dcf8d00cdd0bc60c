"""Ground truth of the streams built on the boards/updates/items answers, from the emulator's Store.

Each function returns the records a perfect run emits, shaped like the tap's records (ids as strings), so a
test compares sets of records. They read the emulator's own generators (emulator/extras.py, assets.py),
never the tap's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monday_emulator import assets as emulated_assets
from monday_emulator import extras
from monday_emulator.data import Store
from monday_emulator.resolvers import board_updates

Record = dict[str, Any]


def readable_board_ids(store: Store) -> list[str]:
    """The boards the ``boards`` stream returns with default settings: every active board, subitems boards
    included."""
    ids = store.board_ids(include_subitem_boards=True)
    return [b for b in ids if (store.board(b) or {}).get("state") == "active"]


def active_item_ids(store: Store, *, subitems: bool = False) -> list[str]:
    """Active items of the top-level boards (or of their subitems boards): what a full run emits."""
    found: list[str] = []
    for board_id in store.board_ids():
        target = store.subitem_board_id(board_id) if subitems else board_id
        if target:
            found.extend(store.item_ids(target))
    return found


def board_subscribers(store: Store) -> list[Record]:
    """``board_subscribers`` rows: owners with role ``owner``, the other subscribers ``subscriber``."""
    rows = []
    for board_id in readable_board_ids(store):
        owners = {u["id"] for u in (store.board(board_id) or {}).get("owners", [])}
        for user in extras.board_subscribers(store, board_id):
            role = "owner" if user["id"] in owners else "subscriber"
            rows.append({"board_id": board_id, "user_id": user["id"], "role": role})
    return rows


def board_views(store: Store) -> list[Record]:
    """``board_views`` rows of every readable board."""
    return [
        {**view, "board_id": board_id}
        for board_id in readable_board_ids(store)
        for view in extras.board_views(store, board_id)
    ]


def updates(store: Store) -> list[tuple[str, dict[str, Any]]]:
    """(board id, update) for every generated update of the readable boards."""
    return [
        (board_id, update)
        for board_id in readable_board_ids(store)
        for update in board_updates(store, store.board_obj(board_id))
    ]


def update_replies(store: Store) -> list[Record]:
    """``update_replies`` rows: every reply of every update."""
    return [
        {**reply, "update_id": update["id"], "item_id": update["item_id"], "board_id": board_id}
        for board_id, update in updates(store)
        for reply in extras.update_replies(store, update)
    ]


def item_subscribers(store: Store, item_ids: Iterable[str]) -> list[Record]:
    """``item_subscribers`` rows of the given items."""
    rows = []
    for item_id in item_ids:
        item = store.render_item(item_id)
        assert item is not None, item_id
        rows.extend(
            {"item_id": item_id, "user_id": user["id"], "board_id": item["board"]["id"]}
            for user in extras.item_subscribers(store, item)
        )
    return rows


def _asset_record(store: Store, asset_id: str, *, item_id: str | None, update_id: str | None) -> Record:
    truth = emulated_assets.asset(store, asset_id)
    assert truth is not None, asset_id
    uploader = truth.pop("uploaded_by")
    return {**truth, "uploaded_by_id": uploader["id"], "item_id": item_id, "update_id": update_id}


def item_asset_ids(store: Store, item_ids: Iterable[str]) -> dict[str, str]:
    """Asset id -> item id for the files in the file columns of the given items."""
    found: dict[str, str] = {}
    for item_id in item_ids:
        item = store.render_item(item_id)
        assert item is not None, item_id
        for value in item["column_values"]:
            for file in value.get("files") or [] if value["type"] == "file" else []:
                found[str(file["asset_id"])] = item_id
    return found


def assets(store: Store, item_ids: Iterable[str], *, with_updates: bool = True) -> list[Record]:
    """``assets`` rows: the files of the given items, and of every update when ``with_updates``."""
    rows = [
        _asset_record(store, asset_id, item_id=item_id, update_id=None)
        for asset_id, item_id in item_asset_ids(store, item_ids).items()
    ]
    if with_updates:
        rows.extend(
            _asset_record(store, file_id, item_id=None, update_id=update["id"])
            for _, update in updates(store)
            for file_id, _, _ in emulated_assets.update_files(store, update)
        )
    return rows
