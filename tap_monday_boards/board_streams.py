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

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from singer_sdk import Tap
from typing_extensions import override

from tap_monday_boards import queries
from tap_monday_boards.board_layout import BoardLayout, ColumnLayout, board_record, build_layout
from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.engine.boards import BoardListing, BoardMeta, fetch_catalog
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.items_stream import _EngineStream
from tap_monday_boards.naming import stream_name
from tap_monday_boards.records import item_record

if TYPE_CHECKING:  # annotations only: discovery never loads the pipeline (items_stream.py)
    from tap_monday_boards.engine.pipeline import ItemsPipeline
    from tap_monday_boards.prepared import Preparer


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

    @override
    def batch_preparer(self) -> Preparer | None:
        """None: this stream reshapes each record from its column entries (``board_layout.board_record``),
        so the engine thread leaves them as the answer decoded them (prepared.py would encode them only to
        have them decoded back here)."""
        return None

    def _record_lists(
        self, pipeline: ItemsPipeline, board_id: str, stats: ColumnValueStats
    ) -> Iterator[Iterator[dict[str, Any]]]:
        columns = self.extracted_columns()
        layout = self.layout
        for raw_items in pipeline.batches(board_id, on_wait=self.flush_output):
            yield (board_record(item_record(raw, stats), layout, columns) for raw in raw_items)


def discover_board_streams(tap: Tap) -> list[BoardItemsStream]:
    """One stream per board in ``board_ids`` (subitems boards excluded); names remembered from the catalog.

    The boards come from the board catalog's layout variant (engine/boards.py: ``BoardColumns``, archived
    boards included), one listing for every board stream.

    Raises:
        MondayAPIError: a configured board does not exist or cannot be read (the catalog's missing-board
            rule), unless ``skip_unreadable_boards`` (then one warning, and the board is left out).
    """
    board_ids = tuple(str(b) for b in tap.config.get("board_ids") or [])
    if not board_ids:
        tap.logger.warning("board_streams is on but board_ids is empty: no board streams")
        return []
    listing = BoardListing(
        operation="BoardColumns", query=queries.BOARD_COLUMNS_QUERY, board_ids=board_ids, state="all"
    )
    catalog = fetch_catalog(
        EngineSettings.from_config(tap.config),
        listing,
        skip_unreadable=bool(tap.config.get("skip_unreadable_boards")),
    )
    streams = []
    for board in catalog.listed("board_streams"):
        if board.is_subitems_board:
            continue
        name = stream_name(board.name, board.board_id)
        entry = tap.input_catalog.get_stream(name) if tap.input_catalog is not None else None
        previous = entry.schema.to_dict() if entry is not None else None
        by_id = tap.config.get("board_stream_names") == "column_id"
        layout = build_layout(board.board_id, board.name, board.columns, previous, by_id=by_id)
        streams.append(BoardItemsStream(tap, layout))
    return streams
