"""prepared.py: the column entries the engine thread encodes, over real HTTP to the emulator."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from monday_emulator.testing import RunningEmulator
from singer_sdk.contrib import msgspec as sdk_msgspec

from tap_monday_boards.assets import AssetRefs
from tap_monday_boards.board_streams import BoardItemsStream
from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.engine.pipeline import ItemsPipeline
from tap_monday_boards.engine.runtime import THREAD_NAME
from tap_monday_boards.items_stream import ItemsStream
from tap_monday_boards.prepared import BatchPrepare, PreparedEntries
from tap_monday_boards.records import encoded_record, item_record
from tap_monday_boards.wire import StrictWireItem, decode_answer, item_id
from tests.support.insync import build_tap, emulator_config, sync
from tests.support.truth import as_queried

Factory = Callable[..., RunningEmulator]
TOKEN = "prepared-entries-token-1618"


def _items_stream(em: RunningEmulator, select: set[str], **config: Any) -> ItemsStream:
    stream = build_tap(emulator_config(em, TOKEN, **config), select=select).streams["items"]
    assert isinstance(stream, ItemsStream)
    return stream


def test_the_engine_thread_encodes_the_entries_the_batch_loop_writes(emulator_factory: Factory) -> None:
    """With the preparer of a stream on the batch path, each answer's entries are encoded on the engine
    thread before the hand-over, and every record writes the bytes it writes without one, with the same
    column value statistics."""
    em = emulator_factory(boards=2, items_per_board=150, extra_tokens=(TOKEN,))
    stream = _items_stream(em, {"items"})
    preparer = stream.batch_preparer()
    assert preparer is not None
    boards = stream.selected_boards()
    prepare = preparer(boards)
    threads: list[str] = []

    def watched(board_id: str, items: list[Any]) -> None:
        threads.append(threading.current_thread().name)
        prepare(board_id, items)

    def written(hook: BatchPrepare | None, stats: ColumnValueStats) -> dict[str, tuple[bool, bytes]]:
        lines: dict[str, tuple[bool, bytes]] = {}
        with ItemsPipeline(stream.engine_settings, [m.board_id for m in boards], prepare=hook) as pipeline:
            for meta in boards:
                for batch in pipeline.batches(meta.board_id):
                    for item in batch:
                        encoded = type(item.column_values) is msgspec.Raw
                        record = encoded_record(item, stats, meta.dropdown_labels)
                        lines[item_id(item)] = (encoded, sdk_msgspec.encoder.encode(record))
        return lines

    plain_stats = ColumnValueStats()
    prepared, plain = written(watched, ColumnValueStats()), written(None, plain_stats)
    assert len(prepared) == len(plain) > 250 and prepared.keys() == plain.keys()
    assert all(encoded for encoded, _ in prepared.values()) and not any(
        encoded for encoded, _ in plain.values()
    )
    assert all(prepared[i][1] == plain[i][1] for i in plain)
    assert threads and set(threads) == {THREAD_NAME}
    assert stream.prepared_value_stats == plain_stats and plain_stats.parsed > 1000  # counted once, there
    assert stream.column_value_stats == ColumnValueStats()  # (the main thread's own: none here)


def test_file_boards_feeding_assets_bring_their_asset_ids_and_mapped_streams_are_not_prepared(
    emulator_factory: Factory,
) -> None:
    """When ``assets`` is selected, the asset ids of a file board's entries are read on the engine thread as
    they are encoded, the ids ``AssetRefs.add_item`` reads from the unprepared record, and travel with them;
    a board without a file column, or a sync without ``assets``, gets the bytes alone. A stream the batch
    loop does not write (here: a stream map) gets no preparer at all."""
    em = emulator_factory(boards=1, items_per_board=40, extra_tokens=(TOKEN,))
    with_assets = _items_stream(em, {"items", "assets"})
    items_only = _items_stream(em, {"items"})
    (board,) = with_assets.selected_boards()
    assert "file" in board.column_types
    without_files = dataclasses.replace(board, board_id="1", column_types=board.column_types - {"file"})
    store = em.emulator.store
    renders = [store.render_item(i) for i in store.item_ids(board.board_id)]
    answer = {"data": {"items": [as_queried(item) for item in renders if item is not None]}}

    def prepared(stream: ItemsStream, meta: Any) -> list[Any]:
        preparer = stream.batch_preparer()
        assert preparer is not None
        body = decode_answer(json.dumps(answer).encode())
        assert body is not None and all(type(item) is StrictWireItem for item in body["data"]["items"])
        preparer([board, without_files])(meta.board_id, body["data"]["items"])
        return [item.column_values for item in body["data"]["items"]]

    with_ids = prepared(with_assets, board)
    assert all(type(entries) is PreparedEntries for entries in with_ids)
    refs = AssetRefs()
    for raw in answer["data"]["items"]:
        refs.add_item(item_record(raw))
    from_entries = {asset: item["id"] for item, entries in zip(answer["data"]["items"], with_ids, strict=True)
                    for asset in entries.asset_ids}  # fmt: skip
    assert from_entries == refs.item_of and len(from_entries) > 5
    assert all(type(entries) is msgspec.Raw for entries in prepared(with_assets, without_files))
    assert all(type(entries) is msgspec.Raw for entries in prepared(items_only, board))
    mapped = _items_stream(em, {"items"}, stream_maps={"items": {"name_upper": "name.upper()"}})
    assert mapped.batch_preparer() is None


def test_board_streams_read_their_entries_so_they_are_not_prepared(emulator_factory: Factory) -> None:
    """A per-board typed stream reshapes each record from its column entries: its pipeline gets no preparer,
    while the items stream of the same sync gets one."""
    em = emulator_factory(boards=1, items_per_board=5, extra_tokens=(TOKEN,))
    config = emulator_config(em, TOKEN, board_streams=True, board_ids=em.emulator.store.board_ids()[:1])
    board_streams = list(build_tap(config, streams=BoardItemsStream).streams.values())
    assert board_streams and all(isinstance(s, BoardItemsStream) for s in board_streams)
    assert all(s._batch_path_applies() and s.batch_preparer() is None for s in board_streams)
    items = build_tap(config, streams=["items"]).streams["items"]
    assert isinstance(items, ItemsStream) and items.batch_preparer() is not None


def test_the_end_of_stream_summary_counts_the_engine_threads_entries(
    emulator_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """The entries counted on the engine thread are in the stream's one summary line, once each."""
    em = emulator_factory(boards=2, items_per_board=60, extra_tokens=(TOKEN,))
    with caplog.at_level(logging.INFO):
        messages = sync(emulator_config(em, TOKEN), select={"items"})
    entries = sum(len(m["record"]["column_values"]) for m in messages if m.get("type") == "RECORD")
    summaries = [r.getMessage() for r in caplog.records if "column values parsed=" in r.getMessage()]
    assert summaries == [f"items: column values parsed={entries}; unknown types: none; malformed: none"]
    assert entries > 100
