"""Files of the emulated account: the file-column values of items, files attached to updates, and the
asset metadata root ``assets(ids:)`` returns for them.

Why derived rather than stored: like item values (data.py), a file is a function of the seed and of its
owner's id, so the Store stays O(changes) and a test gets the ground truth of any asset without a request.

Id layout (opaque to a client, chosen so that an id alone finds its owner): a file in an item's file column
is asset ``item_id * 10 + slot``; a file attached to an update is asset ``update_id * 10 + slot`` (slot
< 10). Item ids start at 10^10 and update ids stay below 10^9, so the two ranges never meet and
``assets(ids:)`` resolves any id without an index. Every item has its own files (0-2), never shared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monday_emulator.boards import ITEM_ID_BASE
from monday_emulator.columns import WORDS, asset_url, is_image

if TYPE_CHECKING:
    from monday_emulator.data import Board, Store

ASSET_SLOTS = 10
UPDATE_ID_BASE = 300_000_000
"""Generated update ids are ``UPDATE_ID_BASE + board index * 1,000,000 + k`` (resolvers.board_updates)."""

_EXTENSIONS = ("pdf", "png", "xlsx", "docx")


def users_by_id(store: Store) -> dict[str, dict[str, Any]]:
    """User id -> the user's GraphQL dict."""
    return {u["id"]: u for u in store.account.users}


def pick_users(store: Store, h: int, count: int, shift: int) -> list[str]:
    """``count`` active user ids chosen by the bits of ``h`` (may repeat: callers de-duplicate)."""
    users = store.account.active_user_ids
    return [users[(h >> (shift + 6 * j)) % len(users)] for j in range(count)]


def item_files(
    store: Store, board: Board, position: int, h: int | None = None
) -> list[tuple[str, str, str]] | None:
    """Raw value of a generated item's file column: 0-2 files ``(asset_id, name, uploader_id)``, own to it
    (``h``: the item's hash, when the caller has it)."""
    item_id = board.item_base + position
    if h is None:
        h = store.hash_of(item_id)
    count = (0, 1, 1, 2)[(h >> 44) % 4]
    return [_file(store, item_id, slot, h) for slot in range(count)] or None


def update_files(store: Store, update: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Files attached to a generated update: about one update in four has one."""
    update_id = int(update["id"])
    h = store.hash_of(update_id)
    return [_file(store, update_id, 0, h)] if (h >> 40) % 4 == 0 else []


def _file(store: Store, owner_id: int, slot: int, h: int) -> tuple[str, str, str]:
    word = WORDS[(h >> (8 * slot)) % len(WORDS)]
    extension = _EXTENSIONS[(h >> (3 + 8 * slot)) % len(_EXTENSIONS)]
    users = store.account.active_user_ids
    uploader = users[(h >> (30 + slot)) % len(users)]  # pick_users(store, h, 1, 30 + slot)[0]
    return str(owner_id * ASSET_SLOTS + slot), f"{word}_{slot + 1}.{extension}", uploader


def asset(store: Store, asset_id: str | int) -> dict[str, Any] | None:
    """The asset as root ``assets(ids:)`` returns it with every field, or None when no item/update has it."""
    number = int(asset_id) if str(asset_id).isdigit() else -1
    owner = number // ASSET_SLOTS
    if owner >= ITEM_ID_BASE:  # the item's file column values as render_item has them, nothing else
        files, created_at = store.item_files(owner) or ([], None)
    else:
        update = update_by_id(store, owner)
        files = update_files(store, update) if update is not None else []
        created_at = (update or {}).get("created_at")
    wanted = str(number)
    found = next((f for f in files if f[0] == wanted), None)
    return None if found is None else asset_dict(store, found[0], found[1], found[2], str(created_at))


def asset_dict(
    store: Store, asset_id: str, name: str, uploader: str | None, created_at: str
) -> dict[str, Any]:
    """One ``Asset`` with every field (``uploaded_by`` is the uploader's user dict)."""
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    users = store.account.users_by_id
    return {
        "id": asset_id,
        "name": name,
        "file_extension": f".{extension}" if extension else "",
        "file_size": 1_024 + store.hash_of(int(asset_id)) % 5_000_000,
        "url": asset_url(asset_id, name),
        "public_url": f"https://files-monday-com.s3.amazonaws.com/{store.account.account_id}/resources/"
        f"{asset_id}/{name}?X-Amz-Expires=3600",
        "url_thumbnail": f"https://files.example.monday.com/resources/{asset_id}/thumb_small-{name}"
        if is_image(name)
        else None,
        "created_at": created_at,
        "uploaded_by": users.get(uploader or "") or store.account.users[0],
    }


def board_updates(store: Store, board: Board | None) -> list[dict[str, Any]]:
    """The generated updates of a board (``resolvers.board_updates``)."""
    # imported late: resolvers.py imports data.py, which imports this module
    from monday_emulator.resolvers import board_updates as generate  # noqa: PLC0415

    return generate(store, board)


def update_by_id(store: Store, update_id: int) -> dict[str, Any] | None:
    """The generated update with this id, or None (O(1): the id names its board and position)."""
    from monday_emulator.resolvers import board_update  # noqa: PLC0415 - see board_updates

    index, k = divmod(update_id - UPDATE_ID_BASE, 1_000_000)
    boards = store.board_ids()
    board = store.board_obj(boards[index]) if 0 <= index < len(boards) else None
    return None if board is None or update_id < UPDATE_ID_BASE else board_update(store, board, k)
