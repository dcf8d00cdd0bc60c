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
on the main thread before the pipeline starts). Where the board's file columns hand asset ids to the
``assets`` stream, the ids are read here too, before the entries are encoded, and travel with them
(:class:`PreparedEntries`) to the main thread, which hands them over as it writes the item (as
``AssetRefs.add_item`` did from the record). Any other reader of a prepared item gets dict entries back
(``records.item_record`` decodes the bytes), the same values; the column value statistics are counted here,
once, into statistics of the engine thread's own (``_EngineStream.prepared_value_stats``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import msgspec
from singer_sdk.contrib import msgspec as sdk_msgspec

from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.engine.boards import BoardMeta
from tap_monday_boards.wire import RawItem, StrictWireItem
from tap_monday_boards.wire_values import encoded_column_values, file_asset_ids

BatchPrepare = Callable[[str, list[RawItem]], None]
"""(board id, one answer's items) -> None, on the engine thread: see the module docstring."""

Preparer = Callable[[Sequence[BoardMeta]], BatchPrepare]
"""The pipeline's boards -> its :data:`BatchPrepare` (built where the pipeline is, on either thread)."""


class PreparedEntries(NamedTuple):
    """An item's column entries encoded, with the asset ids of its file entries (for ``assets``)."""

    encoded: msgspec.Raw
    asset_ids: list[str]


def prepare_items(
    items: list[RawItem],
    stats: ColumnValueStats | None,
    labels: Mapping[str, Mapping[str, str]] | None,
    *,
    asset_ids: bool = False,
) -> None:
    """Each strict item's column entries, encoded in place (any other item's entries stay as they are):
    a ``msgspec.Raw``, or with ``asset_ids`` a :class:`PreparedEntries`."""
    encode = sdk_msgspec.encoder.encode  # the batch loop's encoder: the same bytes (msgspec is thread-safe)
    raw = msgspec.Raw
    for item in items:
        if type(item) is StrictWireItem:
            entries = encoded_column_values(item.column_values, stats, labels)
            encoded = raw(encode(entries))
            prepared = PreparedEntries(encoded, file_asset_ids(entries)) if asset_ids else encoded
            item.column_values = prepared  # type: ignore[assignment]


def preparer(stats: ColumnValueStats, *, asset_ids: bool) -> Preparer:
    """The :data:`Preparer` of a stream whose records the batch loop writes: entries counted in ``stats``;
    ``asset_ids``: the ``assets`` stream is told the ids of each written item's file columns."""

    def for_boards(boards: Sequence[BoardMeta]) -> BatchPrepare:
        plans: dict[str, tuple[Any, bool]] = {
            meta.board_id: (meta.dropdown_labels, asset_ids and "file" in meta.column_types)
            for meta in boards
        }

        def prepare(board_id: str, items: list[RawItem]) -> None:
            plan = plans.get(board_id)
            if plan is not None:
                prepare_items(items, stats, plan[0], asset_ids=plan[1])

        return prepare

    return for_boards
