"""prepared.py: the column entries the engine thread encodes, over real HTTP to the emulator."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from typing import Any

import msgspec
from monday_emulator.testing import RunningEmulator
from singer_sdk.contrib import msgspec as sdk_msgspec

from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.engine.pipeline import ItemsPipeline
from tap_monday_boards.engine.runtime import THREAD_NAME
from tap_monday_boards.items_stream import ItemsStream
from tap_monday_boards.prepared import BatchPrepare
from tap_monday_boards.records import encoded_record
from tap_monday_boards.wire import StrictWireItem, decode_answer, item_id
from tests.support.insync import build_tap, emulator_config

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
    assert stream.column_value_stats == plain_stats and plain_stats.parsed > 1000  # counted once, by prepare


def test_file_boards_feeding_assets_keep_their_structs_and_mapped_streams_are_not_prepared(
    emulator_factory: Factory,
) -> None:
    """When ``assets`` is selected, a board with a file column is left as the answer decoded it (the asset
    ids are read from its entries as they are written); a board without one is prepared. A stream the batch
    loop does not write (here: a stream map) gets no preparer at all."""
    em = emulator_factory(boards=1, items_per_board=5, extra_tokens=(TOKEN,))
    with_assets = _items_stream(em, {"items", "assets"})
    items_only = _items_stream(em, {"items"})
    (board,) = with_assets.selected_boards()
    assert "file" in board.column_types
    without_files = dataclasses.replace(board, board_id="1", column_types=board.column_types - {"file"})
    answer = {
        "data": {
            "items": [dict(em.emulator.store.render_item(em.emulator.store.item_ids(board.board_id)[0]))]
        }
    }
    unselected = {"persons_and_teams", "values", "files", "column", "__typename"}  # not in the query
    for entry in answer["data"]["items"][0]["column_values"]:
        for key in unselected & set(entry):
            del entry[key]

    def entries(stream: ItemsStream, meta: Any) -> type:
        preparer = stream.batch_preparer()
        assert preparer is not None
        body = decode_answer(json.dumps(answer).encode())
        assert body is not None and type(body["data"]["items"][0]) is StrictWireItem
        preparer([board, without_files])(meta.board_id, body["data"]["items"])
        return type(body["data"]["items"][0].column_values)

    assert entries(with_assets, board) is list
    assert entries(with_assets, without_files) is msgspec.Raw
    assert entries(items_only, board) is msgspec.Raw
    mapped = _items_stream(em, {"items"}, stream_maps={"items": {"name_upper": "name.upper()"}})
    assert mapped.batch_preparer() is None
