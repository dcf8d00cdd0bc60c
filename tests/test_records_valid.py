"""Every record of a whole-account run is valid against the SCHEMA the tap sent for its stream.

Why: meltano.yml loads with target-postgres' ``validate_records: false`` (docs/benchmarks.md: the target's
JSON-schema validation was 70 % of its CPU). What that validation caught, this test catches instead, before
a release: every stream (the small ones, items, subitems, ``item_column_values`` and a board stream) is
synced in-process from the emulator and every RECORD is checked with the SDK's own target-side validator
(``singer_sdk.sinks.core.JSONSchemaValidator``, the class target-postgres uses), string formats included.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from singer_sdk.sinks.core import JSONSchemaValidator

from tests.support.insync import sync

if TYPE_CHECKING:
    from monday_emulator.testing import RunningEmulator


def test_every_record_of_every_stream_matches_its_schema(emulator: RunningEmulator) -> None:
    store = emulator.emulator.store
    config = {
        "api_token": emulator.token,
        "api_url": emulator.url,
        "board_ids": [store.board_ids()[0]],
        "board_streams": True,
        "item_column_values": True,
    }
    messages = sync(config)
    validators: dict[str, JSONSchemaValidator] = {}
    seen: Counter[str] = Counter()
    for message in messages:
        if message["type"] == "SCHEMA":
            validators[message["stream"]] = JSONSchemaValidator(message["schema"], validate_formats=True)
        elif message["type"] == "RECORD":
            validators[message["stream"]].validate(message["record"])  # raises InvalidRecord
            seen[message["stream"]] += 1
    engine = {"items", "subitems", "item_column_values"}
    assert engine <= set(seen), seen
    assert any(name.startswith("board_") and name != "board_activity_logs" for name in seen), seen
    assert seen["items"] >= 190 and seen["item_column_values"] >= 20 * seen["items"], seen
