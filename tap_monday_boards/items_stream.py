"""``items`` and ``subitems``: SDK streams whose records come from the two-phase items engine.

Why partitions: each board is one partition (``{"board_id": ...}``) so each gets its own bookmark, while the
engine is started once, lazily on the first partition, for ALL boards: the main thread drains board A while
the engine keeps harvesting (and, within each board's buffer, fetching) the others. The pipeline is torn down
after the last partition, or as soon as a generator is closed early (``--test``, record caps, SIGTERM,
errors), in ``finally``.

Incremental: the bookmark per board is the largest ``updated_at`` (``is_sorted = False``: the parallel fetch
emits out of order, so the SDK keeps progress markers and only advances the bookmark at the end of a board).
The harvest then asks only for items updated since bookmark minus the look-back window (or ``start_date`` on
the first sync), plus the items the board's activity log says were deleted/archived/moved since then
(engine/activity.py).

Deletions in complete runs (docs/incremental.md): a run is *complete* when it extracts every active item of
every board: the catalog forces FULL_TABLE, or no board has a bookmark and no ``start_date`` is set (a first
sync or ``meltano run --full-refresh``). With ``emit_activate_version_messages`` on, a complete run stamps its
records with a table version and sends ONE ``ACTIVATE_VERSION`` after the last board, so the target drops (or
marks) rows the run did not see. The SDK's own message at the start of a FULL_TABLE sync is deferred to the
end: sent first, it would make target-postgres delete every row before the new ones arrive (an empty table
for the whole run, and a lost table if the run fails); sent last, a failed run deletes nothing.

``item_column_values`` (long format, opt-in with the ``item_column_values`` setting) is a child of ``items``
fed from the same records: no request of its own. Its rows are handed over in batches (one child sync per
``COLUMN_VALUE_BATCH_ITEMS`` items, not per item) and read from the parent, never through the context,
so the SDK's per-sync log lines and metrics stay small.

``item_subscribers`` (opt-in with the ``item_subscribers`` setting) is the other child of ``items``: it gets
the ids of the same hand-over (deleted items excluded) and asks ``items(ids:) { id subscribers { id } }``
per 100, a request of its own rather than a field of the engine's ``ItemsByIds`` batch, so the items
stream's points per item stay the same whether or not it is selected. Under monday's published rule the
subscribers list counts x1,000 per item: 1,011 points per item, about 8x the items stream's own.

When ``assets`` is selected, items and subitems hand the asset ids of their file columns to its
``AssetRefs`` as they emit (assets.py); nothing is requested for them here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record
from typing_extensions import override

from tap_monday_boards import queries, sdkcompat
from tap_monday_boards.assets import AssetRefs, asset_refs_for
from tap_monday_boards.batched import IdBatchStream
from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.engine.boards import (
    BoardCatalog,
    BoardListing,
    BoardMeta,
    fetch_catalog,
    fetch_subitem_boards,
)
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.prepared import PreparedEntries, Preparer, preparer
from tap_monday_boards.records import (
    WideRecordStreamMixin,
    column_value_rows,
    encoded_record,
    item_record,
)
from tap_monday_boards.schemas import ITEM_COLUMN_VALUE_SCHEMA, ITEM_SCHEMA
from tap_monday_boards.sources import board_catalog, engine_source, read_bookmark
from tap_monday_boards.wire import RawItem

if TYPE_CHECKING:  # the pipeline (and the harvest, fetch... under it) is imported by the sync that starts one
    from tap_monday_boards.engine.pipeline import ItemsPipeline

COLUMN_VALUE_BATCH_ITEMS = 500
"""Items handed to the children of ``items`` in one child sync (column-value rows, subscriber ids)."""


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
        self.prepared_value_stats = ColumnValueStats()
        """The entries counted on the engine thread (prepared.py): apart, so the two threads never update
        one counter at once; added to ``column_value_stats`` when the pipeline is closed."""
        self._activate_version: int | None = None
        """The table version of a complete run, sent as ACTIVATE_VERSION after the last board."""
        self._prefetch_taken = False

    @cached_property
    def engine_settings(self) -> EngineSettings:
        return EngineSettings.from_config(self.config)

    @cached_property
    def _listing(self) -> BoardListing:
        """The catalog's listing when this stream reads boards on its own (outside a sync)."""
        config = self.config
        return BoardListing(
            board_ids=tuple(str(b) for b in config.get("board_ids") or ()),
            workspace_ids=tuple(str(w) for w in config.get("workspace_ids") or ()),
            state="all" if config.get("include_archived") else "active",
        )

    def _catalog(self) -> BoardCatalog:
        """The run's board catalog: the engine's during a sync, else listed once for this tap (sources.py),
        so ``items`` and ``subitems`` read one listing."""
        return board_catalog(
            sdkcompat.tap_of(self),
            lambda: fetch_catalog(
                self.engine_settings,
                self._listing,
                skip_unreadable=bool(self.config.get("skip_unreadable_boards")),
            ),
        )

    def selected_boards(self) -> list[BoardMeta]:
        """The boards this stream extracts (subclasses choose)."""
        raise NotImplementedError

    @cached_property
    def _boards(self) -> list[BoardMeta]:
        prefetched = self._prefetched
        return prefetched[0] if prefetched is not None else self.selected_boards()

    @cached_property
    def _prefetched(self) -> tuple[list[BoardMeta], ItemsPipeline] | None:
        """The boards and the pipeline the sync's engine started for this stream (None: not prefetched)."""
        source = engine_source(sdkcompat.tap_of(self))
        return None if source is None else source.pipeline(self)

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        return [{"board_id": meta.board_id} for meta in self._boards]

    def column_ids_for(self, board_id: str) -> list[str] | None:
        """Hook: the column ids to fetch for ``board_id`` (``column_values(ids:)``); None = every column."""
        return None

    def _since(self, context: Mapping[str, Any]) -> str | None:
        return self.since_for(str(context["board_id"]))

    def since_for(self, board_id: str) -> str | None:
        """Bookmark minus the look-back window, else ``start_date``, else None (everything).

        Reads the state without writing it, so the engine may ask for every board before the SDK syncs them.
        """
        if self.replication_method != "INCREMENTAL":
            return None
        bookmark = _parse(read_bookmark(self, board_id))
        if bookmark is not None:
            return _iso(bookmark - timedelta(seconds=self.engine_settings.lookback_window_s))
        start = _parse(self.config.get("start_date"))
        return _iso(start) if start is not None else None

    def is_complete_run(self) -> bool:
        """True when this run extracts every active item of every board (see the module docstring)."""
        if self.replication_method != "INCREMENTAL":
            return True
        if _parse(self.config.get("start_date")) is not None:
            return False
        states = (self.get_context_state({"board_id": m.board_id}) for m in self._boards)
        return not any(state.get("replication_key_value") for state in states)

    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        # Called by the SDK at the start of a FULL_TABLE sync: deferred to the end of the run (docstring).
        self._activate_version = full_table_version

    def _versioned_streams(self) -> list[Stream]:
        """This stream and its children, those selected: they share the run's table version."""
        return [s for s in (self, *self.child_streams) if s.selected]

    def _begin_run(self) -> None:
        """At the first board: stamp records with a table version when this complete run will activate it."""
        if self._activate_version is None and self.emit_activate_version_messages and self.is_complete_run():
            self._activate_version = sdkcompat.initialized_at(self) // 1000
        for stream in self._versioned_streams():
            sdkcompat.set_stream_version(stream, self._activate_version)  # the SDK stamps RECORDs with it

    def _end_run(self) -> None:
        """After the last board finished: ACTIVATE_VERSION for this stream and its selected children."""
        version, self._activate_version = self._activate_version, None
        if version is None:
            return
        for stream in self._versioned_streams():
            sdkcompat.write_activate_version(stream, version)
            self.logger.info("%s: ACTIVATE_VERSION %d sent (complete run)", stream.name, version)

    def _start_pipeline(self, from_board: str) -> ItemsPipeline:
        from tap_monday_boards.engine.pipeline import ItemsPipeline  # noqa: PLC0415 - sync only (see imports)

        prefetched = self._prefetched
        if prefetched is not None and not self._prefetch_taken and from_board in prefetched[1].stats:
            self._prefetch_taken = True  # started by the sync's engine for every board: used once
            return prefetched[1]
        ids = [m.board_id for m in self._boards]
        source = engine_source(sdkcompat.tap_of(self))
        remaining = ids[ids.index(from_board) :]
        metas = {m.board_id: m for m in self._boards}
        since = {b: self._since({"board_id": b}) for b in remaining}
        for board_id, value in since.items():
            if value:
                self.logger.info("board %s: extracting items updated since %s", board_id, value)
        preparer = self.batch_preparer()
        pipeline = ItemsPipeline(
            self.engine_settings,
            remaining,
            since=since,
            column_types={b: set(metas[b].column_types) for b in remaining},
            expected_items={b: metas[b].items_count for b in remaining if not since[b]},
            column_ids={b: self.column_ids_for(b) for b in remaining},
            groups={b: metas[b].group_ids for b in remaining},
            runtime=None if source is None else source.runtime,
            prepare=None if preparer is None else preparer([metas[b] for b in remaining]),
        )
        pipeline.start()
        return pipeline

    def batch_preparer(self) -> Preparer | None:
        """What the engine thread does to each answer's items before handing them over: their column
        entries encoded (prepared.py) when the batch loop will write this stream's records, else None.
        Decided here, on the main thread, before the pipeline starts."""
        if not self._batch_path_applies():
            return None
        return preparer(self.prepared_value_stats, asset_ids=asset_refs_for(self) is not None)

    def _close_pipeline(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.close()  # (the engine thread no longer prepares this stream's items)
            self.column_value_stats.add(self.prepared_value_stats)
            self.prepared_value_stats = ColumnValueStats()
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
        with contextlib.closing(self.record_batches(context)) as batches:  # its finally runs on close
            for batch in batches:
                yield from batch

    @override
    def record_batches(
        self, context: Mapping[str, Any] | None
    ) -> Generator[Iterator[dict[str, Any]], None, None]:
        """The board's records, one list per engine hand-over (records.py's batch loop writes them)."""
        if not context or "board_id" not in context:
            return
        board_id = str(context["board_id"])
        if self._boards[0].board_id == board_id:
            self._begin_run()
        else:
            # the SDK finalised the previous board's bookmark when its records ended: checkpoint it now, so a
            # kill later in this run restarts from here instead of from the previous run's bookmarks
            sdkcompat.write_state_message(self)
        if self._pipeline is None or board_id not in self._pipeline.stats:
            self._close_pipeline()
            self._pipeline = self._start_pipeline(board_id)
        finished = False
        last = self._boards[-1].board_id == board_id
        try:
            yield from self._record_lists(self._pipeline, board_id, self.column_value_stats)
            self._board_finished(board_id)
            finished = True
        finally:
            if not finished:
                self._activate_version = None  # an interrupted run never activates a version
            if not finished or last:
                self._close_pipeline()
        if last:
            self._end_run()

    def _board_finished(self, board_id: str) -> None:
        """Hook: the board's last record has been written (before its bookmark is finalised)."""

    def _record_lists(
        self, pipeline: ItemsPipeline, board_id: str, stats: ColumnValueStats
    ) -> Iterator[Iterator[dict[str, Any]]]:
        """The board's records, one batch per hand-over of the pipeline, each record built when the batch
        loop asks for it (so it is written while it is still in the CPU's caches)."""
        meta = next((m for m in self._boards if m.board_id == board_id), None)
        labels = meta.dropdown_labels if meta is not None else None
        refs = asset_refs_for(self) if meta is None or "file" in meta.column_types else None
        for raw_items in pipeline.batches(board_id, on_wait=self.flush_output):
            # read when the batch is built: only records the batch loop encodes as they are
            build = encoded_record if self.encodes_records else item_record
            if refs is None:
                yield (build(raw, stats, labels) for raw in raw_items)
            else:
                yield self._with_refs(raw_items, stats, labels, refs, build)

    @staticmethod
    def _with_refs(
        raw_items: list[RawItem], stats: ColumnValueStats, labels: Any, refs: AssetRefs, build: Any
    ) -> Iterator[dict[str, Any]]:
        """Records that hand their file columns' asset ids to the ``assets`` stream as they are built (by
        ``build``: the encoded record's file entries are structs, which ``AssetRefs.add_item`` reads too; an
        item prepared on the engine thread brings them read already)."""
        for raw in raw_items:
            prepared = getattr(raw, "column_values", None)
            record = build(raw, stats, labels)
            if type(prepared) is PreparedEntries:
                refs.add_item_assets(record["id"], prepared.asset_ids)
            else:
                refs.add_item(record)
            yield record


class ItemsStream(_EngineStream):
    """Top-level items of every selected board (subitems boards excluded)."""

    name = "items"

    @override
    def selected_boards(self) -> list[BoardMeta]:
        return self._catalog().item_boards()


    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.column_value_rows: list[dict[str, Any]] = []
        """Rows waiting for the ``item_column_values`` child; it takes them at its next sync."""
        self.subscriber_item_ids: list[str] = []
        """Ids waiting for the ``item_subscribers`` child; it takes them at its next sync."""
        self._rows_items = 0

    @cached_property
    def _selected_children(self) -> frozenset[str]:
        """Names of the selected children; read per record, so computed once (selection is fixed by then)."""
        return frozenset(c.name for c in self.child_streams if c.selected)

    @override
    def generate_child_contexts(self, record: Record, context: Context | None) -> Iterable[Context | None]:
        children = self._selected_children
        if not children:
            return
        if ItemColumnValuesStream.name in children:
            self.column_value_rows.extend(column_value_rows(record))
        if ItemSubscribersStream.name in children and record.get("state") != "deleted":
            self.subscriber_item_ids.append(str(record["id"]))
        self._rows_items += 1
        if self._rows_items >= COLUMN_VALUE_BATCH_ITEMS:
            yield self._take_rows_context(record.get("board_id"))

    def _take_rows_context(self, board_id: Any) -> Context:
        self._rows_items = 0
        return {"board_id": None if board_id is None else str(board_id)}

    @override
    def _board_finished(self, board_id: str) -> None:
        if self.column_value_rows or self.subscriber_item_ids:
            sdkcompat.sync_children(self, self._take_rows_context(board_id))


class ItemColumnValuesStream(Stream):
    """``item_column_values``: one row per (item, column) of the items stream's records, long format.

    Why a child of ``items``: the rows come from the same engine run (no second fetch), and the SDK drives
    its selection, schema and state like any stream. Opt-in (setting ``item_column_values``, default off;
    the tap only discovers it when on): ``items.column_values`` already holds every value as one ``jsonb``;
    this stream is for SQL that filters typed fields without JSON operators, at ~20 rows per item. An opt-in
    setting rather than ``selected_by_default = False`` because Meltano's usual ``select: ["*.*"]`` selects
    every discovered stream anyway. Rows of deleted items carry the item's ``_sdc_deleted_at``.
    """

    name = "item_column_values"
    parent_stream_type = ItemsStream
    state_partitioning_keys: ClassVar[list[str]] = []
    primary_keys: ClassVar[list[str]] = ["item_id", "column_id"]
    schema = ITEM_COLUMN_VALUE_SCHEMA
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # The parent sends this stream's ACTIVATE_VERSION, and only after a complete run: each child sync
        # is one batch of an items run, possibly an incremental one, never the whole table.
        return False

    @override
    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        parent = sdkcompat.tap_of(self).streams["items"]
        assert isinstance(parent, ItemsStream)
        rows, parent.column_value_rows = parent.column_value_rows, []
        yield from rows


class ItemSubscribersStream(IdBatchStream):
    """``item_subscribers``: one row per item and subscribed user, for the items the ``items`` stream emits.

    Opt-in (setting ``item_subscribers``, default off; discovered only when on) because of its price: 1,011
    points per item under monday's published rule (module docstring). Rows are upserted by ``(item_id,
    user_id)``; an unsubscription reaches the target only through a complete run's ACTIVATE_VERSION (sent
    by ``items`` for its selected children), like the rows of ``item_column_values``.
    """

    name = "item_subscribers"
    parent_stream_type = ItemsStream
    state_partitioning_keys: ClassVar[list[str]] = []
    primary_keys: ClassVar[list[str]] = ["item_id", "user_id"]
    query = queries.ITEM_SUBSCRIBERS_QUERY
    records_jsonpath = "$.data.items[*]"
    schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "item_id": {"type": "string"},
            "user_id": {"type": "string"},
            "board_id": {"type": ["string", "null"]},
        },
        "required": ["item_id", "user_id"],
    }

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        return False  # sent by the parent after a complete run (see ItemColumnValuesStream)

    @override
    def take_ids(self, context: Context | None) -> list[str]:
        parent = sdkcompat.tap_of(self).streams["items"]
        assert isinstance(parent, ItemsStream)
        taken, parent.subscriber_item_ids = parent.subscriber_item_ids, []
        return taken

    @override
    def parse_body(self, body: Any) -> Iterable[dict]:
        for item in super().parse_body(body):
            if not isinstance(item, Mapping):
                continue
            for user in item.get("subscribers") or []:
                if isinstance(user, Mapping) and user.get("id") is not None:
                    yield {"item_id": str(item["id"]), "user_id": str(user["id"])}

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        board_id = (context or {}).get("board_id")
        row["board_id"] = None if board_id is None else str(board_id)
        return row


class SubitemsStream(_EngineStream):
    """Subitems: the items of the subitems boards named by the selected boards' ``subtasks`` columns."""

    name = "subitems"

    @override
    def selected_boards(self) -> list[BoardMeta]:
        if self.config.get("include_subitems") is False:
            return []
        catalog = self._catalog()
        fetch_subitem_boards(self.engine_settings, catalog, self._listing)  # those the listing lacks
        return catalog.subitem_boards()  # one without access is skipped with a warning
