"""Per-board typed streams: one stream per configured board, one typed property per column.

Why: the ``items`` stream keeps every board in one table with ``column_values`` as ``jsonb``, which is
general but makes every SQL query unpack JSON. A board stream is a staging table shaped like the board:
``numbers`` -> ``numeric``, ``date`` -> ``date``, people -> ``text[]`` of ids... Its records are the same
engine records (``records.item_record``) reshaped by one pure function, ``board_layout.board_record``; the
layout (names, types, retired properties) is board_layout.py's, this module only reads boards and items.

Selection: only columns with a selected property are requested (``column_values(ids: [...])``) and only
the typed fragments of their types are sent; ``column_values`` (jsonb) holds those columns' entries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from singer_sdk import Tap
from typing_extensions import override

from tap_monday_boards import queries
from tap_monday_boards.board_layout import BoardColumn, BoardLayout, ColumnLayout, board_record, build_layout
from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.engine.boards import SUBITEMS_BOARD_TYPE, BoardMeta
from tap_monday_boards.engine.governor import get_governor
from tap_monday_boards.engine.pipeline import ItemsPipeline
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.items_stream import _EngineStream
from tap_monday_boards.naming import stream_name
from tap_monday_boards.records import item_record


@dataclass(frozen=True, slots=True)
class BoardInfo:
    """A board as discovery of board streams reads it."""

    board_id: str
    name: str
    board_type: str | None
    columns: tuple[BoardColumn, ...]


async def _fetch_boards(transport: Transport, board_ids: Sequence[str]) -> list[BoardInfo]:
    found: list[BoardInfo] = []
    page = 1
    while True:
        variables = {"ids": list(board_ids), "limit": 100, "page": page}
        request = Request("BoardColumns", queries.BOARD_COLUMNS_QUERY, variables, kind="BoardColumns")
        boards = [b for b in (await transport.send(request)).get("boards") or [] if isinstance(b, dict)]
        for board in boards:
            if board.get("state") == "deleted":
                continue
            columns = tuple(
                BoardColumn(str(c["id"]), str(c.get("title") or ""), str(c.get("type") or ""))
                for c in board.get("columns") or []
                if isinstance(c, dict) and c.get("id") is not None
            )
            found.append(
                BoardInfo(str(board["id"]), str(board.get("name") or ""), board.get("type"), columns)
            )
        if len(boards) < 100:
            return found
        page += 1


def fetch_board_columns(settings: EngineSettings, board_ids: Sequence[str]) -> list[BoardInfo]:
    """The configured boards with their columns, in the configured order (blocking; main thread)."""

    async def run() -> list[BoardInfo]:
        async with Transport(settings, get_governor(settings)) as transport:
            return await _fetch_boards(transport, board_ids)

    by_id = {b.board_id: b for b in asyncio.run(run())}
    return [by_id[str(b)] for b in board_ids if str(b) in by_id]


class BoardItemsStream(_EngineStream):
    """One board's items as a typed table (``board_<name>_<id>``); records from the items engine."""

    def __init__(self, tap: Tap, layout: BoardLayout) -> None:
        self.layout = layout
        self._board_schema = layout.schema()
        super().__init__(tap=tap, schema=self._board_schema, name=layout.stream_name)

    @property  # the engine base class pins ``schema`` to ITEM_SCHEMA as a class attribute
    def schema(self) -> dict[str, Any]:  # type: ignore[override]
        """The board's typed schema (``BoardLayout.schema``)."""
        return self._board_schema

    def extracted_columns(self) -> list[ColumnLayout]:
        """Columns with at least one selected property that the (input) catalog's schema knows.

        A column that appeared after the catalog was made is not extracted: the target only knows the
        catalog's schema; the next discovery adds it.
        """
        known = self.effective_schema.get("properties") or {}
        mask = self.mask
        return [
            c
            for c in self.layout.columns
            if any(name in known and mask[("properties", name)] for name, _ in c.properties)
        ]

    @override
    def column_ids_for(self, board_id: str) -> list[str] | None:
        """Column ids for ``column_values(ids: ...)``; None when every column is extracted (no filter).

        The engine hook ``_EngineStream.column_ids_for`` passes this to ``ItemsPipeline(column_ids=...)``.
        """
        extracted = self.extracted_columns()
        if len(extracted) == len(self.layout.columns):
            return None
        return [c.column_id for c in extracted]

    @override
    def selected_boards(self) -> list[BoardMeta]:
        types = frozenset(c.column_type for c in self.extracted_columns())
        return [BoardMeta(self.layout.board_id, self.layout.board_name, "board", "active", None, types, ())]

    def _records(
        self, pipeline: ItemsPipeline, board_id: str, stats: ColumnValueStats
    ) -> Iterator[dict[str, Any]]:
        columns = self.extracted_columns()
        for raw in pipeline.records(board_id):
            yield board_record(item_record(raw, stats), self.layout, columns)


def discover_board_streams(tap: Tap) -> list[BoardItemsStream]:
    """One stream per board in ``board_ids`` (subitems boards excluded); names remembered from the catalog.

    Raises:
        ValueError: a configured board does not exist or cannot be read (unless ``skip_unreadable_boards``).
    """
    board_ids = [str(b) for b in tap.config.get("board_ids") or []]
    if not board_ids:
        tap.logger.warning("board_streams is on but board_ids is empty: no board streams")
        return []
    boards = fetch_board_columns(EngineSettings.from_config(tap.config), board_ids)
    missing = sorted(set(board_ids) - {b.board_id for b in boards})
    if missing and not tap.config.get("skip_unreadable_boards"):
        raise ValueError(f"board_streams: board(s) {', '.join(missing)} do not exist or cannot be read")
    for board_id in missing:
        tap.logger.warning("board_streams: board %s does not exist or cannot be read: skipped", board_id)
    streams = []
    for board in boards:
        if board.board_type == SUBITEMS_BOARD_TYPE:
            continue
        name = stream_name(board.name, board.board_id)
        entry = tap.input_catalog.get_stream(name) if tap.input_catalog is not None else None
        previous = entry.schema.to_dict() if entry is not None else None
        by_id = tap.config.get("board_stream_names") == "column_id"
        layout = build_layout(board.board_id, board.name, board.columns, previous, by_id=by_id)
        streams.append(BoardItemsStream(tap, layout))
    return streams
