"""Board views, board and item subscribers, update replies, and the resolvers that serve them with assets.

Why derived rather than stored: like item values (data.py), each of these is a function of the seed and of
one id, so the Store stays O(changes) and a test gets the ground truth of any object without a request. The
functions below are that ground truth; ``EXTRA_RESOLVERS`` (merged into ``resolvers.RESOLVERS``) serves the
same dicts through GraphQL with the official field names and types (schema.graphql). Files and assets live
in assets.py, because item rendering (data.py) needs them.

Ids: a reply is ``REPLY_ID_BASE + update_id * 4 + n``; a board view ``VIEW_ID_BASE + board index * 10 + n``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monday_emulator.assets import (
    asset,
    asset_dict,
    board_updates,
    pick_users,
    update_files,
    users_by_id,
)
from monday_emulator.columns import WORDS, iso
from monday_emulator.listing import QueryError

if TYPE_CHECKING:
    from monday_emulator.data import Store

REPLY_ID_BASE = 7_000_000_000
VIEW_ID_BASE = 90_000_000
MAX_ASSETS_IDS = 1_000
"""Most ids one root ``assets`` request accepts here (monday publishes no number; the tap sends 100)."""

_VIEW_KINDS = (
    ("Kanban", "KanbanBoardView"),
    ("Calendar", "CalendarBoardView"),
    ("Chart", "ChartBoardView"),
    ("Form", "FormBoardView"),
)


def update_replies(store: Store, update: dict[str, Any]) -> list[dict[str, Any]]:
    """Replies of a generated update, oldest first: about 3 updates in 8 have none, the others 1-3."""
    update_id = int(update["id"])
    h = store.hash_of(update_id * 3 + 1)
    created = int(datetime.fromisoformat(update["created_at"].replace("Z", "+00:00")).timestamp())
    replies = []
    for n in range((0, 0, 1, 2, 3, 1, 0, 2)[h % 8]):
        (author,) = pick_users(store, h, 1, 12 + n)
        at = created + (n + 1) * 3_600
        text = f"Reply {n + 1}: {WORDS[(h >> (20 + 4 * n)) % len(WORDS)]} looks fine"
        replies.append(
            {
                "id": str(REPLY_ID_BASE + update_id * 4 + n),
                "body": f"<p>{text}</p>",
                "text_body": text,
                "creator_id": author,
                "created_at": iso(at),
                "updated_at": iso(at + (600 if (h >> (40 + n)) % 2 else 0)),
            }
        )
    return replies


def update_assets(store: Store, update: dict[str, Any]) -> list[dict[str, Any]]:
    """``Update.assets``: the files attached to a generated update, as full ``Asset`` dicts."""
    created = update["created_at"]
    return [asset_dict(store, i, name, who, created) for i, name, who in update_files(store, update)]


def board_views(store: Store, board_id: str) -> list[dict[str, Any]]:
    """Views of a board (``Board.views``): 1-4 on top-level boards, none on subitems boards."""
    board = store.board_obj(board_id)
    if board is None or board.is_sub:
        return []
    h = store.hash_of(int(board.id))
    views = []
    for n in range(1 + h % len(_VIEW_KINDS)):
        name, kind = _VIEW_KINDS[(n + (h >> 8)) % len(_VIEW_KINDS)]
        view_id = str(VIEW_ID_BASE + board.index * 10 + n)
        views.append(
            {
                "id": view_id,
                "name": f"{name} {n + 1}",
                "type": kind,
                "settings_str": json.dumps({"group_by": board.groups[n % len(board.groups)]["id"]}),
                "view_specific_data_str": (
                    json.dumps({"form_token": f"tok{view_id}"}) if kind == "FormBoardView" else "{}"
                ),
                "source_view_id": str(VIEW_ID_BASE + board.index * 10) if n == 2 else None,
                "access_level": "view" if (h >> (16 + n)) % 3 == 0 else "edit",
            }
        )
    return views


def board_subscribers(store: Store, board_id: str) -> list[dict[str, Any]]:
    """Users subscribed to a board (``Board.subscribers``): its owners first, then 1-4 others."""
    info = store.board(board_id)
    if info is None:
        return []
    h = store.hash_of(int(board_id) * 7 + 3)
    ids = [u["id"] for u in info["owners"]] + pick_users(store, h, 1 + h % 4, 4)
    users = users_by_id(store)
    return [users[i] for i in dict.fromkeys(ids)]


def item_subscribers(store: Store, item: dict[str, Any]) -> list[dict[str, Any]]:
    """Users subscribed to an item (``Item.subscribers``): its creator, then 0-2 others."""
    h = store.hash_of(int(item["id"]) * 5 + 2)
    ids = [str(item["creator_id"]), *pick_users(store, h, h % 3, 2)]
    users = users_by_id(store)
    return [users[i] for i in dict.fromkeys(ids) if i in users]


# ----- resolvers ------------------------------------------------------------------------------------------


def _store(info: Any) -> Store:
    store: Store = info.context.store
    return store


def assets_by_ids(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    """Root ``assets(ids:)``: in the order asked, each id once, unknown ids absent (the resolver, and the
    projection fast path of fastpath.py)."""
    if len(ids) > MAX_ASSETS_IDS:
        message = f"assets accepts at most {MAX_ASSETS_IDS} ids, got {len(ids)}"
        raise QueryError(message, "InvalidArgumentException")
    found = (asset(store, i) for i in dict.fromkeys(str(i) for i in ids))
    return [a for a in found if a is not None]


def q_assets(_: Any, info: Any, ids: list[str]) -> list[dict[str, Any]]:
    """Root ``assets(ids:)`` through graphql-core."""
    return assets_by_ids(_store(info), ids)


def b_views(board: dict[str, Any], info: Any, **args: Any) -> list[dict[str, Any]]:
    """``Board.views(ids:, type:)``."""
    ids, kind = args.get("ids"), args.get("type")
    wanted = None if ids is None else {str(i) for i in ids}
    return [
        v
        for v in board_views(_store(info), board["id"])
        if (wanted is None or v["id"] in wanted) and (kind is None or v["type"] == kind)
    ]


def i_assets(item: dict[str, Any], info: Any, **args: Any) -> list[dict[str, Any]]:
    """``Item.assets``: files of the item's file columns (``columns``), of its updates (``gallery``: since
    2026-04 monday includes update files in ``all``), or both (``all``, the default)."""
    store = _store(info)
    assets_source, column_ids = args.get("assets_source"), args.get("column_ids")
    found: list[dict[str, Any]] = []
    if assets_source in (None, "all", "columns"):
        wanted = None if column_ids is None else {str(c) for c in column_ids}
        for value in item["column_values"]:
            if value["type"] == "file" and (wanted is None or value["id"] in wanted):
                found.extend(a for f in value.get("files") or [] if (a := asset(store, f["asset_id"])))
    if assets_source in (None, "all", "gallery"):
        board = store.board_obj(item["board"]["id"])
        updates = [u for u in board_updates(store, board) if u["item_id"] == item["id"]]
        found.extend(a for u in updates for a in update_assets(store, u))
    return found


EXTRA_RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("Query", "assets"): q_assets,
    ("Board", "views"): b_views,
    ("Board", "subscribers"): lambda board, info: board_subscribers(_store(info), board["id"]),
    ("Item", "subscribers"): lambda item, info: item_subscribers(_store(info), item),
    ("Item", "assets"): i_assets,
    ("Update", "replies"): lambda update, info: update_replies(_store(info), update),
    ("Update", "assets"): lambda update, info: update_assets(_store(info), update),
}
"""Merged into ``resolvers.RESOLVERS``."""
