"""The change API of the emulator's Store: create, update, rename, move, archive, delete items.

Changes are the only per-item state the store keeps (:class:`ItemChange`, keyed by item id). Every change
stamps ``updated_at`` from the injected clock and appends an activity-log entry shaped like monday's
(UUID ``id``, 17-digit ``created_at`` in 100-ns units, JSON-string ``data`` with ``board_id``,
``pulse_id``, ``pulse_name``), so incremental extraction can be tested end to end.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monday_emulator.columns import iso, render_value

if TYPE_CHECKING:
    from monday_emulator.clock import Clock
    from monday_emulator.data import Board


@dataclass(slots=True)
class ItemChange:
    """What changed about one item; ``None`` fields keep the generated value."""

    name: str | None = None
    group_id: str | None = None
    state: str | None = None
    updated_ts: int | None = None
    created_ts: int | None = None
    creator_id: str | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)


class ChangesMixin:
    """Change API; mixed into ``Store`` (which provides the attributes declared below)."""

    if TYPE_CHECKING:
        clock: Clock
        seed: int
        _lock: threading.RLock
        _changes: dict[int, ItemChange]
        _salt: int
        account: Any

        def locate(self, item_id: int) -> tuple[Board, int] | None: ...
        def board_obj(self, board_id: str) -> Board | None: ...
        def item_name(self, item_id: int) -> str: ...
        def count_active(self, board: Board) -> int: ...
        def render_item(self, item_id: int | str) -> dict[str, Any] | None: ...
        def render_context(self) -> dict[str, Any]: ...

    def create_item(
        self,
        board_id: str,
        name: str,
        *,
        group_id: str | None = None,
        column_values: Mapping[str, Any] | None = None,
        creator_id: str | None = None,
    ) -> str:
        """Add an item at the end of a (top-level) board; returns its id. Raw column values by column id."""
        with self._lock:
            board = self.board_obj(board_id)
            if board is None or board.is_sub:
                raise KeyError(f"unknown or subitems board {board_id}")
            item_id = board.item_base + board.positions
            now = int(self.clock.now())
            group = group_id or board.groups[0]["id"]
            self._check_group(board, group)
            change = ItemChange(
                name=name,
                group_id=group,
                state="active",
                updated_ts=now,
                created_ts=now,
                creator_id=creator_id or self.account.user_ids[0],
            )
            self._changes[item_id] = change
            board.created_ids.append(item_id)
            board.touched.add(item_id - board.item_base)
            for column_id, raw in (column_values or {}).items():
                change.values[column_id] = self._render(board, column_id, raw, now)
            board.info["items_count"] = self.count_active(board)
            self._log(board, item_id, "create_pulse", now, {"group_id": group})
            return str(item_id)

    def update_column_value(self, item_id: int | str, column_id: str, raw: Any) -> None:
        """Set one column's raw value (``None`` clears it), e.g. a status label or a number."""
        with self._lock:
            board, change, now = self._touch(int(item_id))
            rendered = self._render(board, column_id, raw, now)
            change.values[column_id] = rendered
            self._log(
                board,
                int(item_id),
                "update_column_value",
                now,
                {"column_id": column_id, "column_type": rendered["type"], "value": rendered["value"]},
            )

    def rename_item(self, item_id: int | str, name: str) -> None:
        """Change the item's name."""
        with self._lock:
            board, change, now = self._touch(int(item_id))
            previous = self.item_name(int(item_id))
            change.name = name
            self._log(board, int(item_id), "update_name", now, {"previous_value": previous, "value": name})

    def move_item(self, item_id: int | str, group_id: str) -> None:
        """Move the item to another group of its board."""
        with self._lock:
            board, change, now = self._touch(int(item_id))
            self._check_group(board, group_id)
            change.group_id = group_id
            self._log(board, int(item_id), "move_pulse_into_group", now, {"dest_group_id": group_id})

    def archive_item(self, item_id: int | str) -> None:
        """Archive the item (it leaves ``items_page``; ``items(ids:)`` still returns it)."""
        self._set_state(int(item_id), "archived", "archive_pulse")

    def delete_item(self, item_id: int | str) -> None:
        """Delete the item (it leaves ``items_page``; ``items(ids:)`` returns it with state deleted)."""
        self._set_state(int(item_id), "deleted", "delete_pulse")

    def activity_logs(self, board_id: str) -> list[dict[str, Any]]:
        """The board's activity log, newest first (as ``Board.activity_logs`` returns it)."""
        board = self.board_obj(board_id)
        return [] if board is None else list(reversed(board.activity))

    # ----- helpers --------------------------------------------------------------------------------------

    def _set_state(self, item_id: int, state: str, event: str) -> None:
        with self._lock:
            board, change, now = self._touch(item_id)
            change.state = state
            board.info["items_count"] = self.count_active(board)
            self._log(board, item_id, event, now, {})

    def _touch(self, item_id: int) -> tuple[Board, ItemChange, int]:
        found = self.locate(item_id)
        if found is None:
            raise KeyError(f"unknown item {item_id}")
        board, pos = found
        change = self._changes.setdefault(item_id, ItemChange())
        now = int(self.clock.now())
        change.updated_ts = now
        board.touched.add(pos)
        return board, change, now

    def _render(self, board: Board, column_id: str, raw: Any, now: int) -> dict[str, Any]:
        column = next((c for c in board.columns if c.id == column_id), None)
        if column is None:
            raise KeyError(f"unknown column {column_id} on board {board.id}")
        return render_value(column, raw, iso(now).replace("Z", ".000Z"), self.render_context())

    @staticmethod
    def _check_group(board: Board, group_id: str) -> None:
        if all(g["id"] != group_id for g in board.groups):
            raise KeyError(f"unknown group {group_id} on board {board.id}")

    def _log(self, board: Board, item_id: int, event: str, now: int, extra: dict[str, Any]) -> None:
        data = {
            "board_id": int(board.id),
            "pulse_id": item_id,
            "pulse_name": self.item_name(item_id),
            **extra,
        }
        serial = len(board.activity)
        entry_id = uuid.UUID(int=(self._salt ^ (int(board.id) << 20) ^ serial) << 64 | item_id, version=4)
        board.info["updated_at"] = iso(max(now, 0))
        board.activity.append(
            {
                "id": str(entry_id),
                "event": event,
                "entity": "pulse",
                "data": json.dumps(data, separators=(",", ":")),
                "user_id": self.account.user_ids[0],
                "account_id": self.account.account_id,
                "created_at": str(int(now * 10_000_000) + serial % 10_000_000),
            }
        )
