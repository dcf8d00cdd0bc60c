"""``items`` and ``subitems``: SDK streams whose records come from the two-phase items engine.

Why partitions: each board is one partition (``{"board_id": ...}``) so each gets its own bookmark, while the
engine is started once, lazily on the first partition, for ALL boards: the main thread drains board A while
the engine keeps harvesting (and, within each board's buffer, fetching) the others. The pipeline is torn down
after the last partition, or as soon as a generator is closed early (``--test``, record caps, SIGTERM,
errors), in ``finally``.

Incremental: the bookmark per board is the largest ``updated_at`` (``is_sorted = False``: the parallel fetch
emits out of order, so the SDK keeps progress markers and only advances the bookmark at the end of a board).
The harvest then asks only for items updated since bookmark minus the look-back window (or ``start_date`` on
the first sync).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import Stream
from typing_extensions import override

from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.engine.boards import BoardMeta, discover_boards
from tap_monday_boards.engine.pipeline import ItemsPipeline
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.records import WideRecordStreamMixin, item_record
from tap_monday_boards.schemas import ITEM_SCHEMA


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class _EngineStream(WideRecordStreamMixin, Stream):
    """Shared logic: board partitions, lazy pipeline, bookmarks -> harvest filters.

    ``WideRecordStreamMixin`` (records.py) comes first: root-only conformance and a caching selection mask,
    so emitting wide item records stays cheap on the main thread.
    """

    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updated_at"
    is_sorted = False
    schema = ITEM_SCHEMA

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pipeline: ItemsPipeline | None = None
        self.column_value_stats = ColumnValueStats()

    @cached_property
    def engine_settings(self) -> EngineSettings:
        return EngineSettings.from_config(self.config)

    def _discover(self, board_ids: list[str] | None) -> list[BoardMeta]:
        return discover_boards(
            self.engine_settings,
            board_ids=board_ids,
            workspace_ids=list(self.config.get("workspace_ids") or []) or None,
            include_archived=bool(self.config.get("include_archived")),
            skip_unreadable=bool(self.config.get("skip_unreadable_boards")),
        )

    def selected_boards(self) -> list[BoardMeta]:
        """The boards this stream extracts (subclasses choose)."""
        raise NotImplementedError

    @cached_property
    def _boards(self) -> list[BoardMeta]:
        return self.selected_boards()

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        return [{"board_id": meta.board_id} for meta in self._boards]

    def column_ids_for(self, board_id: str) -> list[str] | None:
        """Hook: the column ids to fetch for ``board_id`` (``column_values(ids:)``); None = every column."""
        return None

    def _since(self, context: Mapping[str, Any]) -> str | None:
        """Bookmark minus the look-back window, else ``start_date``, else None (everything)."""
        if self.replication_method != "INCREMENTAL":
            return None
        bookmark = _parse(self.get_context_state(context).get("replication_key_value"))
        if bookmark is not None:
            return _iso(bookmark - timedelta(seconds=self.engine_settings.lookback_window_s))
        start = _parse(self.config.get("start_date"))
        return _iso(start) if start is not None else None

    def _start_pipeline(self, from_board: str) -> ItemsPipeline:
        ids = [m.board_id for m in self._boards]
        remaining = ids[ids.index(from_board) :]
        metas = {m.board_id: m for m in self._boards}
        since = {b: self._since({"board_id": b}) for b in remaining}
        for board_id, value in since.items():
            if value:
                self.logger.info("board %s: extracting items updated since %s", board_id, value)
        pipeline = ItemsPipeline(
            self.engine_settings,
            remaining,
            since=since,
            column_types={b: set(metas[b].column_types) for b in remaining},
            expected_items={b: metas[b].items_count for b in remaining if not since[b]},
            column_ids={b: self.column_ids_for(b) for b in remaining},
        )
        pipeline.start()
        return pipeline

    def _close_pipeline(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.close()
            self._log_summary(pipeline)
            self.logger.info("%s: %s", self.name, self.column_value_stats.summary())

    def _log_summary(self, pipeline: ItemsPipeline) -> None:
        for stats in pipeline.stats.values():
            if stats.missing or stats.cursor_resumes or stats.retries or stats.splits:
                self.logger.info(
                    "board %s: %d items emitted, %d vanished between phases, %d cursor resumes, "
                    "%d retries, %d batch splits",
                    stats.board_id,
                    stats.items_emitted,
                    stats.missing,
                    stats.cursor_resumes,
                    stats.retries,
                    stats.splits,
                )

    @override
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        if not context or "board_id" not in context:
            return
        board_id = str(context["board_id"])
        if self._pipeline is None or board_id not in self._pipeline.stats:
            self._close_pipeline()
            self._pipeline = self._start_pipeline(board_id)
        finished = False
        try:
            yield from self._records(self._pipeline, board_id, self.column_value_stats)
            finished = True
        finally:
            last = self._boards[-1].board_id == board_id
            if not finished or last:
                self._close_pipeline()

    @staticmethod
    def _records(
        pipeline: ItemsPipeline, board_id: str, stats: ColumnValueStats
    ) -> Iterator[dict[str, Any]]:
        for raw in pipeline.records(board_id):
            yield item_record(raw, stats)


class ItemsStream(_EngineStream):
    """Top-level items of every selected board (subitems boards excluded)."""

    name = "items"

    @override
    def selected_boards(self) -> list[BoardMeta]:
        configured = [str(b) for b in self.config.get("board_ids") or []] or None
        return [m for m in self._discover(configured) if not m.is_subitems_board]


class SubitemsStream(_EngineStream):
    """Subitems: the items of the subitems boards named by the selected boards' ``subtasks`` columns."""

    name = "subitems"

    @override
    def selected_boards(self) -> list[BoardMeta]:
        if self.config.get("include_subitems") is False:
            return []
        configured = [str(b) for b in self.config.get("board_ids") or []] or None
        parents = [m for m in self._discover(configured) if not m.is_subitems_board]
        wanted = list(dict.fromkeys(b for m in parents for b in m.subitem_board_ids))
        if not wanted:
            return []
        found = discover_boards(
            self.engine_settings,
            board_ids=wanted,
            include_archived=bool(self.config.get("include_archived")),
            skip_unreadable=True,  # a subitems board without access is skipped with a warning
        )
        return found
