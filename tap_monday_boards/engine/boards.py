"""Which boards the items engine extracts, and what it needs about each (column types, subitems board).

Why a separate, cheap query: the engine needs only ids, board type, state and column types (selection-aware
detail queries cost less), plus the subtasks column's ``settings_str`` ``{"boardIds": [...]}`` that names
the subitems board of a parent board, ``items_count`` and the group ids (whether and how to partition the
harvest). It goes through the same transport and governor as everything else.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_monday_boards import queries
from tap_monday_boards.column_values import dropdown_labels
from tap_monday_boards.engine.governor import Governor, get_governor
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.errors import Decision, DecisionKind, MondayFatalAPIError

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
SUBITEMS_BOARD_TYPE = "sub_items_board"


@dataclass(frozen=True, slots=True)
class BoardMeta:
    """One board as the engine sees it."""

    board_id: str
    name: str
    board_type: str | None
    state: str | None
    items_count: int | None
    column_types: frozenset[str]
    subitem_board_ids: tuple[str, ...]
    dropdown_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Dropdown column id -> option id -> label (from ``settings_str``): typed values name options with it."""
    group_ids: tuple[str, ...] = ()
    """The board's (visible) groups: the partitioned harvest walks one cursor chain per group."""

    @property
    def is_subitems_board(self) -> bool:
        return self.board_type == SUBITEMS_BOARD_TYPE


def _subitem_boards(columns: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    found: list[str] = []
    for column in columns:
        if column.get("type") != "subtasks":
            continue
        try:
            settings = json.loads(column.get("settings_str") or "{}")
        except ValueError:
            continue
        ids = settings.get("boardIds") if isinstance(settings, dict) else None
        found.extend(str(i) for i in ids or [] if str(i) not in found)
    return tuple(found)


def board_meta(raw: dict[str, Any]) -> BoardMeta:
    """A ``BoardMeta`` from a ``boards`` answer row (``BoardsMeta`` or the boards stream's fuller query)."""
    columns = [c for c in raw.get("columns") or [] if isinstance(c, dict)]
    return BoardMeta(
        board_id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        board_type=raw.get("type"),
        state=raw.get("state"),
        items_count=raw.get("items_count"),
        column_types=frozenset(str(c.get("type")) for c in columns if c.get("type")),
        subitem_board_ids=_subitem_boards(columns),
        dropdown_labels={
            str(c["id"]): dropdown_labels(c.get("settings_str"))
            for c in columns
            if c.get("type") == "dropdown" and c.get("id") is not None
        },
        group_ids=tuple(
            str(g["id"]) for g in raw.get("groups") or [] if isinstance(g, dict) and g.get("id") is not None
        ),
    )


async def fetch_boards(
    transport: Transport,
    *,
    board_ids: Sequence[str] | None,
    workspace_ids: Sequence[str] | None,
    include_archived: bool,
    priority: int = 0,
) -> list[BoardMeta]:
    """Every readable, non-deleted board among ``board_ids`` (or all, filtered by workspaces), in order."""
    found: list[BoardMeta] = []
    wanted = {str(b) for b in board_ids or ()}
    seen: set[str] = set()
    page = 1
    while True:
        variables: dict[str, Any] = {
            "ids": list(board_ids) if board_ids else None,
            "workspace_ids": list(workspace_ids) if workspace_ids else None,
            "limit": PAGE_SIZE,
            "page": page,
            "state": "all" if include_archived else "active",
        }
        request = Request(
            "BoardsMeta",
            queries.BOARDS_META_QUERY,
            variables,
            kind="BoardsMeta",
            priority=priority,
            context="BoardsMeta",
        )
        data = await transport.send(request)
        boards = [b for b in data.get("boards") or [] if isinstance(b, dict)]
        found.extend(board_meta(b) for b in boards if b.get("state") != "deleted")
        seen.update(str(b.get("id")) for b in boards)
        # A short page is the last; so is a page that completed the configured ids (no empty page after).
        if len(boards) < PAGE_SIZE or (wanted and wanted <= seen):
            break
        page += 1
    if board_ids:  # keep the configured order
        order = {str(b): i for i, b in enumerate(board_ids)}
        found.sort(key=lambda m: order.get(m.board_id, len(order)))
    return found


def discover_boards(
    settings: EngineSettings,
    *,
    board_ids: Sequence[str] | None,
    workspace_ids: Sequence[str] | None = None,
    include_archived: bool = False,
    skip_unreadable: bool = False,
    governor: Governor | None = None,
) -> list[BoardMeta]:
    """Blocking wrapper for the main thread (runs a short private loop).

    Raises:
        MondayFatalAPIError: a configured board is missing or unreadable and ``skip_unreadable`` is false.
    """

    async def run() -> list[BoardMeta]:
        async with Transport(settings, governor or get_governor(settings)) as transport:
            return await fetch_boards(
                transport, board_ids=board_ids, workspace_ids=workspace_ids, include_archived=include_archived
            )

    boards = asyncio.run(run())
    if board_ids:
        missing = [str(b) for b in board_ids if str(b) not in {m.board_id for m in boards}]
        for board_id in missing:
            if not skip_unreadable:
                message = f"board {board_id} does not exist or the token cannot read it"
                raise MondayFatalAPIError(
                    Decision(DecisionKind.FATAL, None, "InvalidBoardIdException", None, message, 200),
                    f"BoardsMeta board {board_id}",
                )
            logger.warning("board %s does not exist or the token cannot read it: skipped", board_id)
    return boards
