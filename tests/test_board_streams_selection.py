"""Selection-aware queries: deselected board-stream properties are never requested.

Proof from the emulator's request log (everything the tap sent): the ``items(ids:)`` documents carry only
the typed fragments of the selected columns' types, ``$column_ids`` lists exactly the selected columns, and
no deselected column id appears in any request text or variables.
"""

from __future__ import annotations

import json
from typing import Any

from monday_emulator.columns import TYPENAMES

from benchmarks.tap_runner import select_only
from tap_monday_boards.board_streams import BoardItemsStream
from tests.support.insync import InProcessTap, deselect_properties, sync

SELECTED_TYPES = {"text", "numbers", "status", "timeline", "people"}


def test_deselected_columns_never_appear_in_any_query(emulator_factory: Any) -> None:
    em = emulator_factory(boards=1, items_per_board=250, subitems=False)
    store = em.emulator.store
    board_id = store.board_ids()[0]
    config = {"api_token": em.token, "api_url": em.url, "board_streams": True, "board_ids": [board_id]}
    discovery = InProcessTap(config=config, streams=BoardItemsStream)
    (stream,) = discovery.streams.values()
    assert isinstance(stream, BoardItemsStream)
    columns = stream.layout.columns
    kept = [c for c in columns if c.column_type in SELECTED_TYPES]
    dropped = [c for c in columns if c.column_type not in SELECTED_TYPES]
    deselected = {name for c in dropped for name, _ in c.properties} | {"people_team_ids"}
    catalog = deselect_properties(select_only(discovery.catalog_dict, {stream.name}), deselected)
    sent_before = len(em.emulator.request_log)

    messages = sync(InProcessTap(config=config, catalog=catalog, streams=BoardItemsStream))

    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert len(records) == len(store.item_ids(board_id))
    for record in records:
        assert not deselected & set(record)
        assert set(record["column_values"]) == {c.column_id for c in kept}
    requests = list(em.emulator.request_log)[sent_before:]
    fetches = [r for r in requests if r.operation == "ItemsByIds"]
    assert len(fetches) >= 3
    dropped_typenames = {TYPENAMES[c.column_type] for c in dropped} - {TYPENAMES[t] for t in SELECTED_TYPES}
    for request in fetches:
        assert request.variables["column_ids"] == [c.column_id for c in kept]
        assert not {t for t in dropped_typenames if f"on {t} " in request.query}, request.query
        assert "on NumbersValue" in request.query and "on TimelineValue" in request.query
    for request in requests:
        sent = request.query + json.dumps(request.variables)
        assert not [c.column_id for c in dropped if c.column_id in sent]
