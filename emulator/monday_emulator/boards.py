"""Boards of the emulated account: id layout, the ``Board`` record, and building boards from the seed.

Boards, their groups and columns are small and fully materialized; per-column pools of pre-rendered values
(``POOL`` variants) are built here once, so the Store can pick an item's values by hash without storing them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monday_emulator.columns import (
    COLORS_GROUPS,
    DROPDOWN_LABELS,
    MAIN_BOARD_TYPES,
    STATUS_LABELS,
    SUBITEM_BOARD_TYPES,
    WORDS,
    ColumnDef,
    iso,
    random_raw,
    render_value,
)

if TYPE_CHECKING:
    from monday_emulator.entities import Account

ITEM_ID_BASE = 10_000_000_000
BOARD_SPAN = 100_000_000
SUB_OFFSET = 50_000_000
POOL = 61
BOARD_ID_BASE = 1_800_000_000
GEN_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z: generated history starts here
HISTORY_S = 365 * 86_400  # and spans one year, ending before the FakeClock default (2026-01-01)
NONACTIVE_PERIOD = 50  # one item in 50 is archived or deleted
SUBITEM_COUNT_SCAN_MAX = 200_000  # above this many parents a subitems board reports an estimated items_count
GROUPS_PER_BOARD = 4
"""Groups of a generated board unless the store is told otherwise; items are spread over them by hash."""
GROUP_TITLES = ("To do", "In progress", "Done", "Backlog")
_MASK = (1 << 64) - 1


def mix64(x: int) -> int:
    """splitmix64 finalizer: a fast, well-spread 64-bit hash of an int."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


@dataclass(slots=True)
class Board:
    """One board: its GraphQL dict plus what item generation needs."""

    index: int
    id: str
    info: dict[str, Any]
    columns: list[ColumnDef]
    groups: list[dict[str, Any]]
    generated: int  # items generated (positions 0..generated-1)
    created_ts: int
    spacing: int  # seconds between consecutive generated items
    sub_board: Board | None = None
    parent_board: Board | None = None
    pools: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    empties: dict[str, dict[str, Any]] = field(default_factory=dict)
    unlinked: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per subtasks/dependency/file column: the value of a generated item with no links or files (most
    items), rendered once (data.py); those renderers read neither the time nor the names then."""
    draws: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    """Per column: its pool (or None) and its draw multiplier, made at the first rendering (data.py)."""
    file_columns: int = field(default=0, repr=False, compare=False)
    """How many of ``columns`` are of type file (set with ``draws``)."""
    created_ids: list[int] = field(default_factory=list)  # items added through the change API
    touched: set[int] = field(default_factory=set)  # positions with an entry in the change overlay
    activity: list[dict[str, Any]] = field(default_factory=list)  # newest last

    @property
    def is_sub(self) -> bool:
        """True for a ``sub_items_board``."""
        return self.parent_board is not None

    @property
    def item_base(self) -> int:
        """Item id of position 0 on this board."""
        base = ITEM_ID_BASE + (self.parent_board or self).index * BOARD_SPAN
        return base + SUB_OFFSET if self.is_sub else base

    @property
    def positions(self) -> int:
        """Exclusive upper bound of positions (generated + created)."""
        if self.is_sub:
            return 4 * self.parent_board.generated if self.parent_board else 0
        return self.generated + len(self.created_ids)


class BoardsMixin:
    """Board construction for ``Store`` (which provides the attributes declared below)."""

    if TYPE_CHECKING:
        _salt: int
        _main: list[Board]
        account: Account

        def render_context(self) -> dict[str, Any]: ...
        def count_active(self, board: Board) -> int: ...

    def _make_board(
        self,
        rng: random.Random,
        index: int,
        count: int,
        *,
        subitems: bool,
        groups_count: int = GROUPS_PER_BOARD,
    ) -> Board:
        board_id = str(BOARD_ID_BASE + index * 1_000 + rng.randrange(100))
        created_ts = GEN_EPOCH + index * 3_600
        spacing = max(4, min(3_600, HISTORY_S // max(count, 1)))
        groups = self._make_groups(index, groups_count)
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} tracker"
        workspace = self.account.workspaces[index % len(self.account.workspaces)]
        owners = rng.sample(self.account.user_ids, k=2)
        board = Board(index, board_id, {}, [], groups, count, created_ts, spacing)
        columns = [self._column(t, board_id, n) for n, t in enumerate(MAIN_BOARD_TYPES)]
        if subitems:
            sub = Board(
                index,
                str(int(board_id) + 500),
                {},
                [],
                [dict(groups[0], id="topics", title="Subitems")],
                0,
                created_ts,
                spacing,
                parent_board=board,
            )
            sub.columns = [self._column(t, sub.id, n) for n, t in enumerate(SUBITEM_BOARD_TYPES)]
            board.sub_board = sub
            sub.info = self._board_info(
                sub, f"Subitems of {name}", workspace["id"], owners, "sub_items_board"
            )
            settings = {"boardIds": [int(sub.id)], "allowMultipleItems": True}
            columns = [
                ColumnDef(c.id, c.title, c.type, settings) if c.type == "subtasks" else c for c in columns
            ]
        board.columns = [c for c in columns if subitems or c.type != "subtasks"]
        board.info = self._board_info(board, name, workspace["id"], owners, "board")
        return board

    def _make_groups(self, index: int, count: int) -> list[dict[str, Any]]:
        """The board's groups: the first four keep the titles and ids they always had for a seed."""
        groups: list[dict[str, Any]] = []
        taken: set[str] = set()
        for g in range(count):
            base = f"group_mk{mix64(self._salt + index * 16 + g) % 36**5:05x}"[:14]
            group_id, n = base, 0
            while group_id in taken:  # ids are unique per board (a hash collision gets a suffix)
                n += 1
                group_id = f"{base}_{n}"
            taken.add(group_id)
            groups.append(
                {
                    "id": group_id,
                    "title": GROUP_TITLES[g] if g < len(GROUP_TITLES) else f"Group {g + 1}",
                    "color": COLORS_GROUPS[g % len(COLORS_GROUPS)],
                    "position": f"{(g + 1) * 65536:.1f}",
                    "archived": False,
                    "deleted": False,
                }
            )
        return groups

    def _column(self, column_type: str, board_id: str, n: int) -> ColumnDef:
        suffix = f"{mix64(self._salt ^ (int(board_id) * 64 + n)) % 36**6:06x}"[:6]
        settings: dict[str, Any] = {}
        if column_type == "status":
            settings = {"labels": {str(i): label for i, label in enumerate(STATUS_LABELS)}}
        elif column_type == "dropdown":
            settings = {"labels": [{"id": i, "name": n} for i, n in enumerate(DROPDOWN_LABELS, start=1)]}
        elif column_type == "board_relation":
            settings = {"boardIds": []}  # the linked board is known once every board exists (_fill_pools)
        return ColumnDef(
            f"{column_type}_mk{suffix}", column_type.replace("_", " ").title(), column_type, settings
        )

    def _board_info(
        self, board: Board, name: str, workspace_id: str, owners: list[str], kind: str
    ) -> dict[str, Any]:
        users = {u["id"]: u for u in self.account.users}
        return {
            "id": board.id,
            "name": name,
            "description": None if board.is_sub else f"Tracks {name.lower()}",
            "state": "active",
            "board_kind": "public",
            "type": kind,
            "workspace_id": workspace_id,
            "board_folder_id": None,
            "permissions": "everyone",
            "url": f"https://example.monday.com/boards/{board.id}",
            "created_at": iso(board.created_ts),
            "updated_at": iso(board.created_ts + HISTORY_S),
            "items_count": 0,
            "owners": [users[o] for o in owners],
            "tags": [] if board.is_sub else self.account.tags[board.index % 3 : board.index % 3 + 2],
            "groups": board.groups,
            "columns": [c.as_dict() for c in board.columns],
        }

    def _fill_pools(self, rng: random.Random, board: Board) -> None:
        at = iso(board.created_ts)
        ctx = self.render_context()
        other = self._main[(board.index + 1) % len(self._main)]  # board_relation links to the next board
        board.columns = [
            ColumnDef(c.id, c.title, c.type, {"boardIds": [int(other.id)]})
            if c.type == "board_relation"
            else c
            for c in board.columns
        ]
        board.info["columns"] = [c.as_dict() for c in board.columns]
        for column in board.columns:
            board.empties[column.id] = render_value(column, None, at, ctx)
            if column.type in ("subtasks", "dependency", "file"):
                nothing: list[str] | None = None if column.type == "file" else []  # as data.py's raw values
                board.unlinked[column.id] = render_value(column, nothing, at, ctx)
            if column.type in ("subtasks", "dependency"):
                continue  # item-specific, rendered per item
            pool = []
            for _ in range(POOL):
                if column.type == "board_relation":
                    picks = sorted(
                        {rng.randrange(min(other.generated, 50) or 1) for _ in range(rng.randrange(3))}
                    )
                    raw = [str(other.item_base + p) for p in picks]
                else:
                    raw = random_raw(column.type, rng, self.account.user_ids, list(self.account.tag_names))
                pool.append(render_value(column, raw, at, ctx))
            board.pools[column.id] = pool
        board.info["items_count"] = self.count_active(board)
