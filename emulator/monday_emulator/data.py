"""Deterministic account data with O(changes) memory: the emulator's ``Store``.

A board of a million items must be servable without holding a million items, so nothing per item is stored:

* item ids are computable: ``ITEM_ID_BASE + board_index * BOARD_SPAN + position`` (subitems live at
  ``+ SUB_OFFSET + 4 * parent_position + j`` on the board's subitems board);
* every generated attribute comes from a 64-bit hash of (seed, item id); column values are picked from small
  per-column pools of pre-rendered values (``POOL`` variants each): rendering an item is a few dict lookups;
* generated timestamps grow with the position (``updated_at`` stays inside the item's creation slot), so
  untouched items are already in ``__last_updated__`` order and a range filter is a binary search;
* only changes are stored, in ``_changes`` (an overlay keyed by item id) — created items included.

Boards, groups, columns, users etc. are small and materialized (boards.py, entities.py). The change API lives
in changes.py (a mixin) and the listing/cursor logic in listing.py.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

from monday_emulator.assets import item_files
from monday_emulator.boards import (
    BOARD_SPAN,
    GROUPS_PER_BOARD,
    ITEM_ID_BASE,
    NONACTIVE_PERIOD,
    POOL,
    SUB_OFFSET,
    SUBITEM_COUNT_SCAN_MAX,
    Board,
    BoardsMixin,
    mix64,
)
from monday_emulator.changes import ChangesMixin, ItemChange
from monday_emulator.clock import Clock, FakeClock
from monday_emulator.columns import WORDS, ColumnDef, iso, render_value
from monday_emulator.entities import Account, generate_account

__all__ = ["ITEM_KEYS", "Board", "Store", "mix64"]

ITEM_KEYS = frozenset(
    {
        "id",
        "name",
        "state",
        "created_at",
        "updated_at",
        "creator_id",
        "group",
        "board",
        "parent_item",
        "subitems",
        "column_values",
    }
)
"""The keys of a rendered item (``Store.render_item``): the Item fields a plain dict answers."""


class ValueView(Protocol):
    """What a caller keeps of each column value, applied while an item is rendered (``render_item(view=)``):
    the fast path's projection of the value by the request's selection (fastpath.py).

    ``of(value)`` must depend on the value alone. ``boards`` is the view's own cache: per board (by id; a
    view serves one store, whose boards live as long as it), that board's pools as viewed, index for index,
    so a drawn value's view is a list lookup like the value itself.
    """

    boards: dict[int, tuple[Any, ...]]

    def of(self, value: dict[str, Any]) -> Any:
        """The caller's view of one column value."""
        ...


class Store(ChangesMixin, BoardsMixin):
    """Deterministic account data for the emulator (see module docstring).

    ``items_per_board`` is one count for every board or a list (one per board), e.g. ``[1_000_000, 50]``.
    ``groups_per_board`` groups per top-level board (default 4); items are spread over them by hash.
    """

    def __init__(
        self,
        seed: int = 0,
        boards: int = 3,
        items_per_board: int | list[int] = 100,
        *,
        clock: Clock | None = None,
        subitems: bool = True,
        groups_per_board: int = GROUPS_PER_BOARD,
    ) -> None:
        self.seed = seed
        self.clock: Clock = clock or FakeClock()
        self._salt = mix64(seed * 0x2545F4914F6CDD1D + 1)
        self._lock = threading.RLock()
        self.lock = self._lock  # held by the executor while a request reads the store
        self._changes: dict[int, ItemChange] = {}
        rng = random.Random(seed)
        self.account: Account = generate_account(rng)
        self._context: dict[str, Any] = {
            "users": self.account.user_names,
            "tags": self.account.tag_names,
            "items": _ItemNames(self),
        }
        if groups_per_board < 1:
            raise ValueError("groups_per_board must be at least 1")
        counts = items_per_board if isinstance(items_per_board, list) else [items_per_board] * boards
        self._boards: dict[str, Board] = {}
        self._main: list[Board] = []
        for index, count in enumerate(counts):
            board = self._make_board(rng, index, count, subitems=subitems, groups_count=groups_per_board)
            self._main.append(board)
            self._boards[board.id] = board
            if board.sub_board is not None:
                self._boards[board.sub_board.id] = board.sub_board
        for board in self._boards.values():
            self._fill_pools(rng, board)
        self.shared_values: frozenset[int] = frozenset(
            id(value)
            for board in self._boards.values()
            for value in (
                *board.empties.values(),
                *board.unlinked.values(),
                *(v for pool in board.pools.values() for v in pool),
            )
        )
        """Ids of the pre-rendered column values items share (each board's pools and empty values): made
        once here, held by their boards for the store's life and never changed (a change stores a new dict
        in the item's overlay), so an answer built from one of them can be reused (fastpath.py)."""

    # ----- boards ---------------------------------------------------------------------------------------

    def board_ids(self, *, include_subitem_boards: bool = False) -> list[str]:
        """Ids of the top-level boards (and their subitems boards when asked), in creation order."""
        if include_subitem_boards:
            return list(self._boards)
        return [b.id for b in self._main]

    def board(self, board_id: str) -> dict[str, Any] | None:
        """The board's GraphQL dict (with ``items_count`` kept current), or None when unknown."""
        found = self._boards.get(str(board_id))
        return None if found is None else found.info

    def board_obj(self, board_id: str) -> Board | None:
        """Internal board record (listing and resolvers use it)."""
        return self._boards.get(str(board_id))

    def subitem_board_id(self, board_id: str) -> str | None:
        """Id of the ``sub_items_board`` that holds the subitems of ``board_id``."""
        found = self._boards.get(str(board_id))
        return found.sub_board.id if found and found.sub_board else None

    def render_context(self) -> dict[str, Any]:
        """Lookups renderers use to build ``text``: user names, tag names, item names (computed lazily)."""
        return self._context

    # ----- item identity --------------------------------------------------------------------------------

    def _located(self, item_id: int) -> tuple[Board, int, int, ItemChange | None] | None:
        """(board, position, hash, change overlay or None) of an existing item id, or None: what every
        renderer of one item starts from."""
        found = self.locate(item_id)
        if found is None:
            return None
        return found[0], found[1], self.hash_of(item_id), self._changes.get(item_id)

    def locate(self, item_id: int) -> tuple[Board, int] | None:
        """(board, position) of an existing item id, or None."""
        offset = item_id - ITEM_ID_BASE
        if offset < 0:
            return None
        index, rest = divmod(offset, BOARD_SPAN)
        if index >= len(self._main):
            return None
        board = self._main[index]
        if rest < SUB_OFFSET:
            return (board, rest) if rest < board.positions else None
        sub, pos = board.sub_board, rest - SUB_OFFSET
        if sub is None or pos >= sub.positions or pos % 4 >= self.subitem_count(board, pos // 4):
            return None
        return sub, pos

    def hash_of(self, item_id: int) -> int:
        """The 64-bit hash every generated attribute of the item derives from."""
        return mix64(self._salt ^ item_id)

    def subitem_count(self, board: Board, position: int) -> int:
        """Generated subitems of a main-board item (about 10% of items have 1-3)."""
        return _subitem_count(board, position, self.hash_of(board.item_base + position))

    def generated_state(self, board: Board, position: int) -> str:
        """State of a generated item: every NONACTIVE_PERIOD-th item archived or deleted (seed-shifted).

        Generated subitems are all active.
        """
        if board.is_sub:
            return "active"
        k = position + self._salt % NONACTIVE_PERIOD
        if k % NONACTIVE_PERIOD:
            return "active"
        return "archived" if (k // NONACTIVE_PERIOD) % 2 == 0 else "deleted"

    def generated_times(self, board: Board, position: int) -> tuple[int, int]:
        """(created, updated) epoch seconds; both strictly increase with the position on the board."""
        return self.times_from_hash(board, position, self.hash_of(board.item_base + position))

    @staticmethod
    def times_from_hash(board: Board, position: int, h: int) -> tuple[int, int]:
        """:meth:`generated_times` given the item's hash ``h`` (the renderers already hold it)."""
        if board.is_sub:
            parent = board.parent_board
            assert parent is not None
            created = parent.created_ts + (position // 4) * parent.spacing + position % 4
            return created, created
        created = board.created_ts + position * board.spacing
        return created, created + h % board.spacing

    def item_name(self, item_id: int) -> str:
        """Current name of an item (changed name when renamed)."""
        change = self._changes.get(item_id)
        if change is not None and change.name is not None:
            return change.name
        found = self.locate(item_id)
        if found is None:
            return f"Item {item_id}"
        return _generated_name(found[0], found[1], self.hash_of(item_id))

    def count_active(self, board: Board) -> int:
        """Active items on the board (O(changes) for main boards: the generated pattern is arithmetic)."""
        if board.is_sub:
            parent = board.parent_board
            assert parent is not None
            if parent.generated > SUBITEM_COUNT_SCAN_MAX:  # an exact count would scan every parent
                return parent.generated // 5
            return sum(
                1
                for pos in self.iter_positions(board, 0, board.positions)
                if self.state_of(board, pos) == "active"
            )
        shift = self._salt % NONACTIVE_PERIOD
        nonactive = (board.generated - 1 + shift) // NONACTIVE_PERIOD - (shift - 1) // NONACTIVE_PERIOD
        count = board.generated - nonactive + len(board.created_ids)
        for item_id, change in self._changes.items():
            found = self.locate(item_id)
            if found is None or found[0] is not board or change.state is None:
                continue
            was = "active" if found[1] >= board.generated else self.generated_state(board, found[1])
            count += (change.state == "active") - (was == "active")
        return count

    def iter_positions(self, board: Board, start: int, stop: int, step: int = 1) -> Any:
        """Existing positions from ``start`` toward ``stop`` (exclusive); skips absent subitem slots."""
        parent = board.parent_board
        if parent is None:
            yield from range(start, stop, step)
            return
        # A subitems board's slots come four per parent item: its subitem count is computed once per parent,
        # not once per slot (a quarter of the hashing of a subitems board's harvest).
        last, count = -1, 0
        for pos in range(start, stop, step):
            owner = pos // 4
            if owner != last:
                last, count = owner, self.subitem_count(parent, owner)
            if pos % 4 < count:
                yield pos

    def item_ids(self, board_id: str, state: str = "active") -> list[str]:
        """Ids of the board's items in creation order with that state (``all`` for every state).

        O(items) time: meant for tests and small boards, not the serving path.
        """
        board = self._boards[str(board_id)]
        return [
            str(board.item_base + pos)
            for pos in self.iter_positions(board, 0, board.positions)
            if state == "all" or self.state_of(board, pos) == state
        ]

    def change_of(self, item_id: int) -> ItemChange | None:
        """The overlay entry of an item (None when it was never changed)."""
        return self._changes.get(item_id)

    def state_of(self, board: Board, position: int) -> str:
        """Current state of the item at ``position``."""
        change = self._changes.get(board.item_base + position)
        if change is not None and change.state is not None:
            return change.state
        return self.generated_state(board, position)

    # ----- rendering ------------------------------------------------------------------------------------

    def render_item(
        self, item_id: int | str, *, fields: AbstractSet[str] = ITEM_KEYS, view: ValueView | None = None
    ) -> dict[str, Any] | None:
        """The item exactly as ``items(ids:)`` returns it with every field selected (None when unknown).

        ``fields``: only these keys (of :data:`ITEM_KEYS`), for a selection that reads no others: a harvest
        page reads ``id`` and ``updated_at``, not the 20-odd column values that are nine tenths of the work
        (fastpath.py, resolvers.py). Each key's value is the same whichever others are asked: one function
        renders them all. ``view``: ``column_values`` holds ``view.of(value)`` of each value instead.
        """
        item_id = int(item_id)
        found = self._located(item_id)
        if found is None:
            return None
        board, pos, h, change = found
        item: dict[str, Any] = {}
        if "id" in fields:
            item["id"] = str(item_id)
        if "name" in fields:
            named = change.name if change is not None else None
            item["name"] = _generated_name(board, pos, h) if named is None else named
        if "state" in fields:
            state = change.state if change is not None else None
            item["state"] = self.generated_state(board, pos) if state is None else state
        if "created_at" in fields or "updated_at" in fields:
            created, updated = self.times_from_hash(board, pos, h)
            if change is not None:
                created = change.created_ts or created
                updated = change.updated_ts or updated
            if "created_at" in fields:
                item["created_at"] = iso(created)
            if "updated_at" in fields:
                item["updated_at"] = iso(updated)
        if "creator_id" in fields or "group" in fields:
            item.update(self._origin(board, h, change, fields))
        if "board" in fields:
            item["board"] = board.info
        if "parent_item" in fields or "subitems" in fields:
            item.update(self._family(board, pos, h, fields))
        if "column_values" in fields:
            item["column_values"] = self._column_values(board, pos, h, change, view)
        return item

    def _origin(
        self, board: Board, h: int, change: ItemChange | None, fields: AbstractSet[str]
    ) -> dict[str, Any]:
        """``creator_id`` and ``group`` of an item (those in ``fields``): drawn from its hash, or changed."""
        out: dict[str, Any] = {}
        if "creator_id" in fields:
            users = self.account.users
            creator = users[(h >> 24) % len(users)]["id"]
            out["creator_id"] = (change.creator_id if change is not None else None) or creator
        if "group" in fields:
            group = board.groups[(h >> 16) % len(board.groups)]
            if change is not None:
                group = next((g for g in board.groups if g["id"] == change.group_id), group)
            out["group"] = group
        return out

    def _family(self, board: Board, pos: int, h: int, fields: AbstractSet[str]) -> dict[str, Any]:
        """``parent_item`` and ``subitems`` of an item (those in ``fields``), as id-only dicts."""
        out: dict[str, Any] = {}
        if "parent_item" in fields:
            parent = board.parent_board.item_base + pos // 4 if board.is_sub else None  # type: ignore[union-attr]
            out["parent_item"] = None if parent is None else {"id": str(parent)}
        if "subitems" in fields:
            subitems: list[dict[str, Any]] = []
            if not board.is_sub and board.sub_board is not None:
                base = board.sub_board.item_base + 4 * pos
                subitems = [{"id": str(base + j)} for j in range(_subitem_count(board, pos, h))]
            out["subitems"] = subitems
        return out

    def item_files(self, item_id: int | str) -> tuple[list[tuple[str, str, str]], str] | None:
        """``(files, created_at)`` of an item: ``(asset_id, name, creator_id)`` of each entry of its file-type
        column values and its ``created_at``, exactly as :meth:`render_item` has them (None when the item
        is unknown).

        Root ``assets(ids:)`` needs only these to find an item's asset (assets.py); rendering the whole item
        for each asset was most of that request's cost. A generated file value is read from its raw files
        (the renderer copies those three fields unchanged), any other value (changed, or of a created item)
        from the rendered value the item has.
        """
        item_id = int(item_id)
        found = self._located(item_id)
        if found is None:
            return None
        board, pos, h, change = found
        created = self.times_from_hash(board, pos, h)[0]
        if change is not None:
            created = change.created_ts or created
        fresh = pos >= board.generated and not board.is_sub
        files: list[tuple[str, str, str]] = []
        if change is None and not fresh:  # most items: only the file columns' generated files
            _draws(board)
            for _ in range(board.file_columns):
                files += item_files(self, board, pos, h) or []
            return files, iso(created)
        for n, column in enumerate(board.columns):
            if (change is not None and column.id in change.values) or fresh:
                value = self._column_value(board, pos, h, change, fresh=fresh, n=n, column=column)
                if value["type"] == "file":
                    entries = value.get("files") or []
                    files += [(str(f["asset_id"]), f["name"], f["creator_id"]) for f in entries]
            elif column.type == "file":
                files += item_files(self, board, pos, h) or []
        return files, iso(created)

    def updated_ts(self, board: Board, position: int) -> int:
        """Current ``updated_at`` (epoch seconds) of the item at ``position``."""
        change = self._changes.get(board.item_base + position)
        if change is not None and change.updated_ts:
            return change.updated_ts
        return self.generated_times(board, position)[1]

    def _column_values(
        self, board: Board, pos: int, h: int, change: ItemChange | None, view: ValueView | None = None
    ) -> list[dict[str, Any]]:
        fresh = pos >= board.generated and not board.is_sub
        if change is None and not fresh and view is not None:
            viewed = view.boards.get(id(board))
            if viewed is None:
                viewed = view.boards[id(board)] = tuple(
                    (None if pool is None else [view.of(v) for v in pool], odd, column)
                    for pool, odd, column in _draws(board)
                )
            of = view.of
            return [
                of(self._per_item_value(board, pos, h, column))
                if pool is None
                else pool[((h * odd) >> 29) % POOL]
                for pool, odd, column in viewed
            ]
        if change is None and not fresh:  # most items: _column_value's last two rules, without its call
            return [
                self._per_item_value(board, pos, h, column)
                if pool is None
                else pool[((h * odd) >> 29) % POOL]
                for pool, odd, column in _draws(board)
            ]
        values = [
            self._column_value(board, pos, h, change, fresh=fresh, n=n, column=column)
            for n, column in enumerate(board.columns)
        ]
        return values if view is None else [view.of(v) for v in values]

    def _column_value(
        self,
        board: Board,
        pos: int,
        h: int,
        change: ItemChange | None,
        *,
        fresh: bool,
        n: int,
        column: ColumnDef,
    ) -> dict[str, Any]:
        """The ``n``-th column value of the item at ``pos`` (``h`` its hash, ``fresh``: created, not
        generated): the one rule both :meth:`render_item` and :meth:`item_files` read."""
        if change is not None and column.id in change.values:
            return change.values[column.id]
        if fresh:
            return board.empties[column.id]
        if column.type in _PER_ITEM:
            return self._per_item_value(board, pos, h, column)
        value: dict[str, Any] = board.pools[column.id][((h * (2 * n + 1)) >> 29) % POOL]
        return value

    def _per_item_value(self, board: Board, pos: int, h: int, column: ColumnDef) -> dict[str, Any]:
        """A generated subtasks, file or dependency value: links to the item's own subitems, its own files
        (assets.py: an asset has one owner; the column's pool is still built in boards.py so the seeded
        draws of later columns do not move), or the previous item. Without any, every item's value is the
        same: ``board.unlinked``'s, rendered once (boards.py)."""
        raw: list[Any] | None
        if column.type == "subtasks":
            base = board.sub_board.item_base + 4 * pos  # type: ignore[union-attr]
            raw = [str(base + j) for j in range(_subitem_count(board, pos, h))]
        elif column.type == "file":
            raw = item_files(self, board, pos, h)
        else:
            raw = [str(board.item_base + pos - 1)] if pos and h % 4 == 0 else []
        if not raw:
            return board.unlinked[column.id]
        at = iso(self.times_from_hash(board, pos, h)[0] if column.type == "file" else board.created_ts)
        return render_value(column, raw, at, self.render_context())


_PER_ITEM = frozenset({"subtasks", "file", "dependency"})
"""Column types whose generated value is the item's own (Store._per_item_value), not drawn from a pool."""

_TITLED = tuple(word.title() for word in WORDS)


def _generated_name(board: Board, pos: int, h: int) -> str:
    """The generated name of the item at ``pos`` (``h`` its hash): what :meth:`Store.item_name` answers for an
    item never renamed."""
    if board.is_sub:
        return f"Subitem {pos // 4 + 1}.{pos % 4 + 1}"
    return f"{_TITLED[(h >> 32) % len(WORDS)]} task {pos + 1}"


def _subitem_count(board: Board, position: int, h: int) -> int:
    """:meth:`Store.subitem_count` given the item's hash ``h``."""
    if board.sub_board is None or position >= board.generated:
        return 0
    return 1 + h % 3 if (h >> 8) % 10 == 0 else 0


def _draws(board: Board) -> tuple[tuple[list[dict[str, Any]] | None, int, ColumnDef], ...]:
    """Per column of ``board``, in order: its pool (None for a per-item type) and the odd multiplier that
    draws an item's value from it (``Store._column_value``'s rule), built at the first rendering and kept
    (``Board.draws``): a board's columns and pools never change once the store is built (boards.py)."""
    if not board.draws:
        board.draws = tuple(
            (None if column.type in _PER_ITEM else board.pools[column.id], 2 * n + 1, column)
            for n, column in enumerate(board.columns)
        )
        board.file_columns = sum(column.type == "file" for column in board.columns)
    return board.draws


class _ItemNames:
    """Mapping-like view item id (string) -> current name, so renderers never hold all names."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, item_id: str, default: str | None = None) -> str | None:
        """Name of the item, ``default`` when the id is not numeric."""
        try:
            return self._store.item_name(int(item_id))
        except ValueError:
            return default
