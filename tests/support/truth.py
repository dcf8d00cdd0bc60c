"""The emulator's ground truth as tests read it: every generated item, and expected board-stream values.

Why shared: the parsers' tests (tests/test_column_values.py, tests/test_records.py) all walk every item a
store generated, and the record test (tests/test_board_streams.py) and the loaded-table test
(tests/e2e/test_meltano_postgres.py) check the same promise - each typed property holds what monday
rendered - one on the Singer record, one after target-postgres; one reading of monday's shapes serves both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from monday_emulator.data import Store


def generated_items(seed: int, boards: int, items_per_board: int) -> Iterator[dict[str, Any]]:
    """Every item a fresh ``Store(seed, boards, items_per_board)`` generated, subitem boards included, as
    ``items(ids:)`` returns it: what the parsers must read without a problem."""
    store = Store(seed=seed, boards=boards, items_per_board=items_per_board)
    for board_id in store.board_ids(include_subitem_boards=True):
        board = store.board_obj(board_id)
        assert board is not None
        for position in range(board.generated):
            raw = store.render_item(board.item_base + position)
            if raw is not None:
                yield dict(raw)


QUERY_ITEM_FIELDS = (
    "id", "name", "state", "created_at", "updated_at", "creator_id", "group", "board", "parent_item",
    "column_values",
)  # fmt: skip
"""The item fields the detail query (``queries.items_by_ids_query``) selects."""
UNSELECTED_ENTRY_FIELDS = frozenset({"persons_and_teams", "values", "files", "column", "__typename"})
"""Fields of a rendered column value the detail query does not select."""


def as_queried(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A rendered item as the detail query answers it: only the fields it selects."""
    values = [{k: v for k, v in e.items() if k not in UNSELECTED_ENTRY_FIELDS} for e in raw["column_values"]]
    return {k: raw[k] for k in QUERY_ITEM_FIELDS} | {"column_values": values}


def expected_property(column_type: str, field: str, raw: Mapping[str, Any]) -> Any:
    """The value of a board stream's property ``field`` of a ``column_type`` column, from the emulator's
    rendered column value ``raw`` (monday's shape), written independently of the tap's parsers."""
    if column_type == "timeline":
        return raw[field][:10] if raw[field] else None
    if column_type == "people":
        kind = "team" if field == "team_ids" else "person"
        return [p["id"] for p in raw["persons_and_teams"] if p["kind"] == kind]
    if column_type == "dropdown":
        return [v["label"] for v in raw["values"]]
    if column_type == "tags":
        return [str(t) for t in raw["tag_ids"]]
    if column_type == "file":
        return [f["asset_id"] for f in raw["files"]]
    if column_type == "subtasks":
        return raw["subitems_ids"]
    if column_type in {"text", "long_text"}:
        return raw["text"]
    direct = {"numbers": "number", "status": "label", "checkbox": "checked", "link": "url"}
    direct.update(dict.fromkeys(["mirror", "formula", "board_relation", "dependency"], "display_value"))
    return raw[direct.get(column_type, field)]
