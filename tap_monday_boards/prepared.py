"""Column entries encoded on the engine thread, as soon as an answer is decoded.

Why: an item's 21 column entries are most of what the tap does per record (fixing each decoded struct into
its entry, encoding it, freeing it). Done on the main thread, they ran long after the engine thread had
decoded the answer - often on the other core, after the read-ahead of other answers had pushed the structs
out of the CPU's caches - and cost ~5 us more per item than with the answer still warm (docs/benchmarks.md,
"Sixth round"). So the engine thread, right after it decoded and checked an answer, turns each strict
item's ``column_values`` into its encoded entries (``msgspec.Raw``: the exact bytes
``records.encoded_record`` would have made the batch loop write) and frees the structs at once; the main
thread then writes them as they are (``records._wire_item_record``).

Only where the batch loop will write the records (``WideRecordStreamMixin._batch_path_applies``, decided
on the main thread before the pipeline starts) and the entries are not read again: a board whose file
columns hand asset ids to the ``assets`` stream keeps its structs (``AssetRefs.add_item`` reads them). Any
other reader of a prepared item gets dict entries back (``records.item_record`` decodes the bytes), the same
values; the column value statistics are counted here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from singer_sdk.contrib import msgspec as sdk_msgspec

from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.engine.boards import BoardMeta
from tap_monday_boards.wire import RawItem, StrictWireItem
from tap_monday_boards.wire_values import encoded_column_values

BatchPrepare = Callable[[str, list[RawItem]], None]
"""(board id, one answer's items) -> None, on the engine thread: see the module docstring."""

Preparer = Callable[[Sequence[BoardMeta]], BatchPrepare]
"""The pipeline's boards -> its :data:`BatchPrepare` (built where the pipeline is, on either thread)."""


def prepare_items(
    items: list[RawItem], stats: ColumnValueStats | None, labels: Mapping[str, Mapping[str, str]] | None
) -> None:
    """Each strict item's column entries, encoded in place (any other item's entries stay as they are)."""
    encode = sdk_msgspec.encoder.encode  # the batch loop's encoder: the same bytes (msgspec is thread-safe)
    raw = msgspec.Raw
    for item in items:
        if type(item) is StrictWireItem:
            entries = encoded_column_values(item.column_values, stats, labels)
            item.column_values = raw(encode(entries))  # type: ignore[assignment]


def preparer(stats: ColumnValueStats, *, keep_file_boards: bool) -> Preparer:
    """The :data:`Preparer` of a stream whose records the batch loop writes: entries counted in ``stats``;
    ``keep_file_boards``: boards with a file column are left alone (the ``assets`` stream reads them)."""

    def for_boards(boards: Sequence[BoardMeta]) -> BatchPrepare:
        labels: dict[str, Any] = {
            meta.board_id: meta.dropdown_labels
            for meta in boards
            if not (keep_file_boards and "file" in meta.column_types)
        }

        def prepare(board_id: str, items: list[RawItem]) -> None:
            if board_id in labels:
                prepare_items(items, stats, labels[board_id])

        return prepare

    return for_boards
