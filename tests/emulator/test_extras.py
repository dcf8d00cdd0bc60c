"""Files, assets, views, subscribers and replies of the emulated account: deterministic, served as monday.

The ground-truth functions (emulator/assets.py, emulator/extras.py) and what GraphQL returns over HTTP must
agree, the data must follow the seed, and each file must have one owner (an asset id in two items would make
``assets.item_id`` ambiguous).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monday_emulator import assets as emulated_assets
from monday_emulator import extras
from monday_emulator.data import Store
from monday_emulator.resolvers import board_updates
from monday_emulator.testing import RunningEmulator

from tests.conftest import HttpAnswer

Gql = Callable[..., HttpAnswer]


def _data(answer: HttpAnswer) -> dict[str, Any]:
    body = answer.json
    assert answer.status == 200 and "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def _file_values(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for cv in item["column_values"] if cv["type"] == "file" for f in cv["files"]]


def test_item_files_are_seeded_and_each_has_one_owner() -> None:
    first, again, other = (Store(seed=seed, boards=2, items_per_board=150) for seed in (5, 5, 6))
    owners: dict[str, str] = {}
    counts = []
    for board_id in first.board_ids():
        for item_id in first.item_ids(board_id, state="all"):
            files = _file_values(first.render_item(item_id) or {})
            assert files == _file_values(again.render_item(item_id) or {})
            counts.append(len(files))
            for f in files:
                assert f["asset_id"] not in owners, "an asset in two items"
                owners[f["asset_id"]] = item_id
                assert emulated_assets.asset(first, f["asset_id"])["name"] == f["name"]  # type: ignore[index]
    assert set(counts) == {0, 1, 2}
    assert 0.15 < counts.count(0) / len(counts) < 0.35
    mine = {i: _file_values(first.render_item(i) or {}) for i in owners.values()}
    differs = [i for i, files in mine.items() if _file_values(other.render_item(i) or {}) != files]
    assert differs, "another seed must give other files"


def test_root_assets_resolve_item_and_update_files_and_skip_unknown_ids(
    emulator: RunningEmulator, gql: Gql
) -> None:
    store = emulator.emulator.store
    board = store.board_obj(store.board_ids()[0])
    assert board is not None
    item = next(i for i in (store.render_item(x) for x in store.item_ids(board.id)) if i and _file_values(i))
    update = next(u for u in board_updates(store, board) if emulated_assets.update_files(store, u))
    item_asset = _file_values(item)[0]["asset_id"]
    update_asset = emulated_assets.update_files(store, update)[0][0]
    query = (
        "query ($ids: [ID!]!) { assets(ids: $ids) { id name file_extension file_size url public_url "
        "url_thumbnail created_at uploaded_by { id } } }"
    )
    ids = [item_asset, update_asset, "4", str(int(item_asset) + 9)]
    got = _data(gql(emulator, query, variables={"ids": ids}))["assets"]
    assert [a["id"] for a in got] == [item_asset, update_asset], "unknown ids are absent, order kept"
    for answered in got:
        truth = emulated_assets.asset(store, answered["id"])
        assert truth is not None
        assert answered == {**truth, "uploaded_by": {"id": truth["uploaded_by"]["id"]}}
    assert got[0]["created_at"] == item["created_at"] and got[1]["created_at"] == update["created_at"]
    file_text = next(cv["text"] for cv in item["column_values"] if cv["type"] == "file")
    assert got[0]["url"] in file_text, "a file column's text lists the asset urls"


def test_views_subscribers_replies_match_the_ground_truth(emulator: RunningEmulator, gql: Gql) -> None:
    store = emulator.emulator.store
    board_id = store.board_ids()[1]
    query = (
        "query ($b: [ID!]!) { boards(ids: $b) { id owners { id } subscribers { id } "
        "views { id name type settings_str view_specific_data_str source_view_id access_level } "
        "updates(limit: 100) { id replies { id body text_body creator_id created_at updated_at } "
        "assets { id } } } }"
    )
    (board,) = _data(gql(emulator, query, variables={"b": [board_id]}))["boards"]
    assert board["views"] == extras.board_views(store, board_id) and board["views"]
    subscribers = [u["id"] for u in extras.board_subscribers(store, board_id)]
    assert [u["id"] for u in board["subscribers"]] == subscribers
    assert subscribers[: len(board["owners"])] == [u["id"] for u in board["owners"]], "owners subscribe first"
    generated = {u["id"]: u for u in board_updates(store, store.board_obj(board_id))}
    assert len(board["updates"]) == len(generated)
    with_replies = 0
    for update in board["updates"]:
        assert update["replies"] == extras.update_replies(store, generated[update["id"]])
        files = emulated_assets.update_files(store, generated[update["id"]])
        assert [a["id"] for a in update["assets"]] == [f[0] for f in files]
        with_replies += bool(update["replies"])
    assert 0 < with_replies < len(board["updates"])
    sub_board = store.subitem_board_id(board_id)
    views_only = "query ($b: [ID!]!) { boards(ids: $b) { views { id } } }"
    (sub,) = _data(gql(emulator, views_only, variables={"b": [sub_board]}))["boards"]
    assert sub["views"] == []


def test_item_subscribers_and_item_assets(emulator: RunningEmulator, gql: Gql) -> None:
    store = emulator.emulator.store
    ids = store.item_ids(store.board_ids()[0])[:30]
    query = (
        "query ($ids: [ID!]!) { items(ids: $ids, limit: 30) { id creator_id subscribers { id } "
        "assets(assets_source: columns) { id } } }"
    )
    items = _data(gql(emulator, query, variables={"ids": ids}))["items"]
    assert len(items) == 30
    sizes = set()
    for answered in items:
        item = store.render_item(answered["id"])
        assert item is not None
        want = [u["id"] for u in extras.item_subscribers(store, item)]
        assert [u["id"] for u in answered["subscribers"]] == want
        assert want[0] == answered["creator_id"]
        sizes.add(len(want))
        assert [a["id"] for a in answered["assets"]] == [f["asset_id"] for f in _file_values(item)]
    assert len(sizes) > 1
