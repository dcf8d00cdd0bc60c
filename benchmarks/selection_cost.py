"""The ``items(ids:)`` requests a board stream sends, to price a column selection (benchmarks, docs).

Why here: pricing every column against a few selected ones is a measurement (docs/board_streams.md,
tests/test_board_streams.py), not something the tap does during a sync; the tap's own requests are
built by the engine (engine/fetch.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tap_monday_boards import queries
from tap_monday_boards.board_layout import SKIPPED_COLUMN_TYPES, BoardColumn
from tap_monday_boards.engine.transport import Request


def columns_query(
    column_types: Sequence[str], item_ids: Sequence[str], column_ids: Sequence[str] | None
) -> Request:
    """The ``items(ids:)`` request a board stream sends for these columns (also used by the benchmarks).

    ``column_ids=None`` (every column of the board is extracted) sends no ``ids`` filter: same answer,
    and a list of every id would only make the document longer and, in monday's cost model, dearer.
    """
    variables: dict[str, Any] = {"ids": list(item_ids), "limit": len(item_ids)}
    if column_ids is not None:
        variables["column_ids"] = list(column_ids)
    query = queries.items_by_ids_query(sorted(set(column_types)), with_column_ids=column_ids is not None)
    return Request("ItemsByIds", query, variables, kind="ItemsByIds", units=len(item_ids))


def selection_cost_requests(
    columns: Sequence[BoardColumn], item_ids: Sequence[str], selected: int = 5
) -> dict[str, Request]:
    """Requests to compare complexity per batch: every column vs. the first ``selected`` columns.

    ``emulator.executor.estimate_cost(r.query, r.variables, r.operation)`` prices each; docs/board_streams.md
    has the numbers for a generated board.
    """
    usable = [c for c in columns if c.column_type not in SKIPPED_COLUMN_TYPES]
    chosen = usable[:selected]
    return {
        "all_columns": columns_query([c.column_type for c in usable], item_ids, None),
        f"{selected}_columns": columns_query(
            [c.column_type for c in chosen], item_ids, [c.column_id for c in chosen]
        ),
    }


