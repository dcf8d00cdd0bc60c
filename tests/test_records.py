"""The item record: shape per docs/architecture.md, schema validity, every emulator item parsed cleanly."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from datetime import UTC, datetime
from typing import Any, ClassVar

import jsonschema
import msgspec
import pytest
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib import msgspec as sdk_msgspec
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_monday_boards.assets import AssetRefs
from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.nul import without_nul
from tap_monday_boards.prepared import prepare_items
from tap_monday_boards.records import WideRecordStreamMixin, column_value_rows, encoded_record, item_record
from tap_monday_boards.schemas import ITEM_COLUMN_VALUE_SCHEMA, ITEM_SCHEMA
from tap_monday_boards.tap import TapMondayBoards
from tap_monday_boards.wire import StrictWireItem, WireItem, decode_answer
from tests.support.insync import InProcessTap, deselect_properties, records, sync
from tests.support.truth import as_queried, generated_items

RAW_ITEM: dict[str, Any] = {
    "id": "18265981856",
    "name": "Launch plan",
    "state": "active",
    "created_at": "2024-07-23T12:36:05Z",
    "updated_at": "2025-10-09T12:16:21Z",
    "creator_id": "40000148",
    "group": {"id": "topics", "title": "To do"},
    "board": {"id": "18265960713"},
    "parent_item": None,
    "column_values": [
        {"id": "status", "type": "status", "text": "Done", "value": '{"index":1}',
         "label": "Done", "index": 1},
        {"id": "numbers", "type": "numbers", "text": "7", "value": '"7"', "number": 7.0},
        {"id": "connect", "type": "board_relation", "text": None, "value": None,
         "display_value": "A", "linked_item_ids": ["9007199254740993"]},
    ],
}  # fmt: skip


def validate(record: dict[str, Any]) -> None:
    jsonschema.validate(record, ITEM_SCHEMA, format_checker=jsonschema.FormatChecker())


def test_top_level_item_record() -> None:
    record = item_record(RAW_ITEM)
    validate(record)
    assert record["id"] == "18265981856"
    assert record["board_id"] == "18265960713"
    assert (record["group_id"], record["group_title"]) == ("topics", "To do")
    assert record["parent_item_id"] is None
    assert record["_sdc_deleted_at"] is None
    assert isinstance(record["column_values"], dict)
    assert record["column_values"]["status"]["label"] == "Done"
    assert record["column_values"]["numbers"]["number"] == 7
    assert record["column_values"]["connect"]["linked_item_ids"] == ["9007199254740993"]
    assert set(record) == set(ITEM_SCHEMA["properties"])


def test_subitem_and_deleted_item() -> None:
    raw = {**RAW_ITEM, "id": 42, "parent_item": {"id": 18265981856}, "state": "deleted", "creator_id": ""}
    record = item_record(raw)
    validate(record)
    assert record["id"] == "42"
    assert record["parent_item_id"] == "18265981856"
    assert record["_sdc_deleted_at"] == RAW_ITEM["updated_at"]
    assert record["creator_id"] is None


def test_record_is_json_serialisable_and_column_values_not_an_array() -> None:
    encoded = json.dumps(item_record(RAW_ITEM))
    assert json.loads(encoded)["column_values"]["status"]["index"] == 1
    assert ITEM_SCHEMA["properties"]["column_values"]["type"] == ["object", "null"]


def test_schema_rejects_a_wrong_typed_field() -> None:
    record = item_record(RAW_ITEM)
    record["column_values"]["numbers"]["number"] = "seven"
    with pytest.raises(jsonschema.ValidationError):
        validate(record)


def test_every_emulator_item_parses_without_problems() -> None:
    """Ground truth from the emulator's store: every column type it generates parses, and agrees with text."""
    stats = ColumnValueStats()
    seen_types: set[str] = set()
    count = 0
    for raw in generated_items(seed=11, boards=2, items_per_board=40):
        record = item_record(raw, stats)
        validate(record)
        count += 1
        for column_id, entry in record["column_values"].items():
            seen_types.add(entry["type"])
            if entry["type"] == "status" and entry["text"]:
                assert entry["label"] == entry["text"], column_id
            if entry["type"] == "numbers" and entry["text"]:
                assert entry["number"] == float(entry["text"]), column_id
    assert count > 0
    assert stats.problems == 0, stats.summary()
    assert {"status", "numbers", "people", "board_relation", "subtasks"} <= seen_types


def _emit(stream_class: type[Stream], deselect: str | None) -> list[dict[str, Any]]:
    """Sync one stream yielding RAW_ITEM records in-process (in the tap's place of ``items``, with its
    writer); return its records, property ``deselect`` deselected in the catalog."""
    config = {"api_token": "records-test-token", "api_url": "http://127.0.0.1:9/v2"}  # never asked

    def tap(catalog: dict[str, Any] | None = None) -> InProcessTap:
        return InProcessTap(config=config, streams={"items"}, swap={"items": stream_class}, catalog=catalog)

    catalog = deselect_properties(tap().catalog_dict, {deselect} if deselect else set())
    return records(sync(tap(catalog)), "items")


def _emit_lines(stream_class: type[Stream], buffer: io.TextIOWrapper | None = None) -> list[bytes]:
    """Sync one stream in-process in a plain SDK tap with the tap's writer (its STATE cadence is the SDK's,
    not paced by time as in the tap); every line written to stdout, in order."""

    class LinesTap(Tap):
        name = "tap-records-test"
        config_jsonschema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
        message_writer_class = TapMondayBoards.message_writer_class

        def discover_streams(self) -> list[Stream]:
            return [stream_class(self)]

    buffer = buffer or io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer):
        LinesTap(config={}).sync_all()
        buffer.flush()
    return list(buffer.buffer.getvalue().splitlines())  # type: ignore[attr-defined,unused-ignore]


def _without_clock(line: bytes) -> bytes:
    """The line without what the clock writes into it (extraction time, the state's signpost)."""
    return re.sub(rb'"(time_extracted|replication_key_signpost)":"[^"]*"', b"", line)


@pytest.mark.parametrize("partitioned", [False, True], ids=["one-state", "per-board-state"])
def test_wide_record_mixin_writes_the_sdk_lines_in_the_sdk_order(partitioned: bool) -> None:
    """The fast RECORD path (one encode, no flush per line) writes the SDK's bytes, and every STATE comes
    after the records it covers, exactly where the SDK's own path puts it; per-board bookmarks (the
    partition's state found once per board) are the SDK's too."""

    class Plain(Stream):
        name = "items"
        schema = ITEM_SCHEMA
        primary_keys = ("id",)
        replication_key = "updated_at"
        STATE_MSG_FREQUENCY = 2

        @property
        def partitions(self) -> list[dict[str, Any]] | None:
            return [{"board_id": b} for b in ("b1", "b2", "b3")] if partitioned else None

        def get_records(self, context: Any) -> Any:
            board = (context or {}).get("board_id", "b0")
            for n in range(5):
                stamp = f"2025-10-0{1 + (n * 7 + len(board)) % 9}T12:16:21Z"  # out of order
                raw = {**RAW_ITEM, "id": f"{board}{n}", "name": f"é {n}", "board": {"id": board}}
                yield item_record({**raw, "updated_at": stamp})

    class Wide(WideRecordStreamMixin, Plain):
        pass

    class Batched(Wide):
        """The batch loop: the same records in lists of 3, so batches straddle the STATE cadence of 2."""

        def get_records(self, context: Any) -> Any:
            raise AssertionError("the batch loop reads record_batches only")

        def record_batches(self, context: Any) -> Any:
            records = list(Plain.get_records(self, context))
            return (iter(records[n : n + 3]) for n in range(0, len(records), 3))  # consumed once, in order

    wide, plain, batched = _emit_lines(Wide), _emit_lines(Plain), _emit_lines(Batched)
    assert [_without_clock(line) for line in wide] == [_without_clock(line) for line in plain]
    assert [_without_clock(line) for line in batched] == [_without_clock(line) for line in plain]
    kinds = [json.loads(line)["type"] for line in wide]
    assert kinds.count("RECORD") == (15 if partitioned else 5) and "STATE" in kinds[2:]
    assert all(b'"time_extracted":"' in line for line in wide if line.startswith(b'{"type":"RECORD"'))
    final = json.loads(wide[-1])["value"]["bookmarks"]["items"]
    if partitioned:
        assert [p["context"]["board_id"] for p in final["partitions"]] == ["b1", "b2", "b3"]
        assert all(p["replication_key_value"] for p in final["partitions"])


def test_wide_record_mixin_keeps_output_and_deselection() -> None:
    class Plain(Stream):
        name = "items"
        schema = ITEM_SCHEMA
        primary_keys = ("id",)

        def get_records(self, context: Any) -> Any:
            for n in range(3):
                yield item_record({**RAW_ITEM, "id": str(n)})

    class Wide(WideRecordStreamMixin, Plain):
        pass

    assert Wide.TYPE_CONFORMANCE_LEVEL is TypeConformanceLevel.ROOT_ONLY
    assert _emit(Wide, None) == _emit(Plain, None)
    records = _emit(Wide, "name")
    assert len(records) == 3
    assert all("name" not in r and r["column_values"]["status"]["label"] == "Done" for r in records)


def test_wide_record_mixin_conforms_records_that_need_it() -> None:
    """The skipped-conformance shortcut must not hide what conformance changes: datetimes and unknown keys."""
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    class Plain(Stream):
        name = "items"
        schema = ITEM_SCHEMA
        primary_keys = ("id",)

        def get_records(self, context: Any) -> Any:
            yield {**item_record(RAW_ITEM), "created_at": moment}
            yield {**item_record(RAW_ITEM), "id": "2", "not_in_schema": 1}
            yield item_record({**RAW_ITEM, "id": "3"})

    class Wide(WideRecordStreamMixin, Plain):
        pass

    wide = _emit(Wide, None)
    assert wide == _emit(Plain, None)
    assert wide[0]["created_at"].startswith("2025-01-02T03:04:05")
    assert "not_in_schema" not in wide[1]
    assert wide[2]["column_values"]["connect"]["linked_item_ids"] == ["9007199254740993"]


def test_long_format_rows_one_per_column_and_valid() -> None:
    record = item_record(RAW_ITEM)
    rows = column_value_rows(record)
    assert [r["column_id"] for r in rows] == ["status", "numbers", "connect"]
    for row in rows:
        jsonschema.validate(row, ITEM_COLUMN_VALUE_SCHEMA, format_checker=jsonschema.FormatChecker())
        assert (row["item_id"], row["board_id"]) == ("18265981856", "18265960713")
    assert rows[1]["number"] == 7 and rows[2]["linked_item_ids"] == ["9007199254740993"]
    assert column_value_rows({**record, "column_values": {}}) == []


def test_struct_items_give_the_same_records_as_dicts() -> None:
    """The engine hands over ``wire.WireItem`` structs: the same record as the item decoded as a dict."""
    store_mod = pytest.importorskip("monday_emulator.data", reason="emulator store not available")
    store = store_mod.Store(seed=13, boards=2, items_per_board=50)
    raws: list[dict[str, Any]] = [
        RAW_ITEM,
        {**RAW_ITEM, "id": 42, "parent_item": {"id": 7}, "state": "deleted", "creator_id": ""},
        {**RAW_ITEM, "group": None, "board": None, "creator_id": 5, "column_values": None},
    ]
    for board_id in store.board_ids(include_subitem_boards=True):
        raws += [item for item_id in store.item_ids(board_id, "all") if (item := store.render_item(item_id))]
    decoder = msgspec.json.Decoder(WireItem)
    labels = {"dropdown_x": {"1": "One"}}
    for raw in raws:
        struct_stats, dict_stats = ColumnValueStats(), ColumnValueStats()
        from_struct = item_record(decoder.decode(json.dumps(raw)), struct_stats, labels)
        from_dict = item_record(raw, dict_stats, labels)
        assert json.dumps(from_struct) == json.dumps(from_dict), raw["id"]
        assert struct_stats == dict_stats
    assert len(raws) > 100


def test_encoded_records_write_the_bytes_of_the_dict_records() -> None:
    """``encoded_record`` (the batch loop's: column entries that are the answer's strict structs, fixed in
    place) encodes to the SDK's bytes of ``item_record`` for every emulator item, dropdown labels and
    problem counts included; items that are not strict structs get ``item_record`` itself."""
    raws = _queried_items(seed=21)
    labels = {c: {"1": "One", "2": "Two, too"} for raw in raws for c in _dropdowns(raw)}
    # RAW_ITEM's status has no ``is_done`` (a fragment field the strict structs require): a lax answer
    others = [RAW_ITEM, {**RAW_ITEM, "group": None, "board": None, "creator_id": 5, "column_values": None}]
    strict = 0
    refs_encoded, refs_dict = AssetRefs(), AssetRefs()  # the file entries' asset ids, read from either
    for answer in (raws, others):
        body = decode_answer(json.dumps({"data": {"items": answer}}).encode())
        again = decode_answer(json.dumps({"data": {"items": answer}}).encode())
        assert body is not None and again is not None
        for item, same, raw in zip(body["data"]["items"], again["data"]["items"], answer, strict=True):
            encoded_stats, dict_stats = ColumnValueStats(), ColumnValueStats()
            record = encoded_record(item, encoded_stats, labels)
            refs_encoded.add_item(record)
            refs_dict.add_item(item_record(raw, None, labels))
            got = sdk_msgspec.encoder.encode(record)
            assert got == sdk_msgspec.encoder.encode(item_record(same, dict_stats, labels)), raw["id"]
            assert got == sdk_msgspec.encoder.encode(item_record(raw, None, labels)), raw["id"]
            assert encoded_stats == dict_stats
            strict += type(item) is StrictWireItem
    assert strict == len(raws) > 100
    assert refs_encoded.item_of == refs_dict.item_of and len(refs_dict.item_of) > 10
    odd = {"id": "n", "type": "numbers", "text": "1", "value": "1", "number": "1"}  # not the schema's Float
    lax = {**RAW_ITEM, "column_values": [odd]}
    assert encoded_record(lax) == item_record(lax)


def _queried_items(seed: int) -> list[dict[str, Any]]:
    """Every emulator item (subitems too) as the detail query answers it (only the selected fields)."""
    store_mod = pytest.importorskip("monday_emulator.data", reason="emulator store not available")
    store = store_mod.Store(seed=seed, boards=2, items_per_board=60)
    raws: list[dict[str, Any]] = []
    for board_id in store.board_ids(include_subitem_boards=True):
        for item_id in store.item_ids(board_id, "all"):
            item = store.render_item(item_id)
            if item:
                raws.append(as_queried(item))
    return raws


def test_prepared_items_write_the_same_bytes_and_give_the_same_records() -> None:
    """Items whose entries the engine thread encoded (prepared.py) write the bytes ``encoded_record`` writes
    for the same item unprepared, give ``item_record`` the same dict record (decoded back), and count the
    same problems (once, when prepared); items that are not strict structs are left as they are."""
    raws = _queried_items(seed=5)
    labels = {c: {"1": "One", "2": "Two, too"} for raw in raws for c in _dropdowns(raw)}
    odd = {"id": "n", "type": "numbers", "text": "1", "value": "1", "number": "1"}  # not the schema's Float
    answers = (raws, [RAW_ITEM, {**RAW_ITEM, "column_values": [odd]}])
    prepared_count = 0
    for answer in answers:
        text = json.dumps({"data": {"items": answer}}).encode()
        plain, prepared, again = (decode_answer(text) for _ in range(3))
        assert plain is not None and prepared is not None and again is not None
        prepared_stats, plain_stats = ColumnValueStats(), ColumnValueStats()
        prepare_items(prepared["data"]["items"], prepared_stats, labels)
        prepare_items(again["data"]["items"], None, labels)
        items = zip(
            plain["data"]["items"], prepared["data"]["items"], again["data"]["items"], answer, strict=True
        )
        for item, ready, ready_again, raw in items:
            strict = type(item) is StrictWireItem
            assert (type(ready.column_values) is msgspec.Raw) is strict
            prepared_count += strict
            want = sdk_msgspec.encoder.encode(encoded_record(item, plain_stats, labels))
            got = sdk_msgspec.encoder.encode(encoded_record(ready, prepared_stats, labels))
            assert got == want, raw["id"]
            from_dict = item_record(raw, None, labels)
            assert json.dumps(item_record(ready_again, None, labels)) == json.dumps(from_dict), raw["id"]
        assert prepared_stats == plain_stats
    assert prepared_count == len(raws) > 100


def test_nul_is_replaced_inside_struct_entries_too() -> None:
    """A line with U+0000 is encoded again from a copy without it (nul.py): for an ``encoded_record`` that
    copy reaches inside the column entries that are structs, to the same bytes as the dict record's."""
    values = [
        {"id": "s", "type": "status", "text": "D\x00", "value": '{"index":1,"note":"a\\u0000"}', "index": 1,
         "label": "D\x00", "is_done": None},
        {"id": "t", "type": "text", "text": "x\x00", "value": '"x\\u0000"'},
    ]  # fmt: skip
    raw = {**RAW_ITEM, "name": "n\x00", "column_values": values}
    body = decode_answer(json.dumps({"data": {"items": [raw]}}).encode())
    assert body is not None and type(body["data"]["items"][0]) is StrictWireItem
    record = encoded_record(body["data"]["items"][0])
    assert not all(type(entry) is dict for entry in record["column_values"].values())
    cleaned = sdk_msgspec.encoder.encode(without_nul(record))
    assert b"\\u0000" not in cleaned and "\ufffd".encode() in cleaned
    assert cleaned == sdk_msgspec.encoder.encode(without_nul(item_record(raw)))
    again = decode_answer(json.dumps({"data": {"items": [raw]}}).encode())  # entries encoded on the engine
    assert again is not None
    prepare_items(again["data"]["items"], None, None)
    prepared = encoded_record(again["data"]["items"][0])
    assert type(prepared["column_values"]) is msgspec.Raw
    assert b"\\u0000" in bytes(memoryview(prepared["column_values"]))
    assert sdk_msgspec.encoder.encode(without_nul(prepared)) == cleaned


def _dropdowns(raw: dict[str, Any]) -> list[str]:
    return [e["id"] for e in raw.get("column_values") or [] if e.get("type") == "dropdown"]


def test_wide_record_mixin_passes_integers_but_conforms_boolean_properties() -> None:
    """Flat records with integers (the assets' ``file_size``) skip conformance, as the SDK would change
    nothing; an integer under a boolean-only property is still turned into a boolean, as the SDK does."""

    class Plain(Stream):
        name = "assets"
        schema = th.PropertiesList(
            th.Property("id", th.StringType(nullable=False), required=True),
            th.Property("file_size", th.IntegerType()),
            th.Property("public", th.BooleanType()),
        ).to_dict()
        primary_keys = ("id",)

        def get_records(self, context: Any) -> Any:
            yield {"id": "1", "file_size": 2048, "public": None}
            yield {"id": "2", "file_size": 0, "public": 1}
            yield {"id": "3", "file_size": None, "public": False}

    class Wide(WideRecordStreamMixin, Plain):
        pass

    wide, plain = _emit_lines(Wide), _emit_lines(Plain)
    assert [_without_clock(line) for line in wide] == [_without_clock(line) for line in plain]
    rows = [json.loads(line)["record"] for line in wide if line.startswith(b'{"type":"RECORD"')]
    assert [r["file_size"] for r in rows] == [2048, 0, None]
    assert [r["public"] for r in rows] == [None, True, False]


def test_batch_loop_closes_its_source_at_once_when_a_batch_fails() -> None:
    """An error while writing a batch closes the stream's batch source before it propagates (the engine
    streams stop their pipeline in its ``finally``)."""
    closed: list[bool] = []

    class Failing(WideRecordStreamMixin, Stream):
        name = "items"
        schema = ITEM_SCHEMA
        primary_keys = ("id",)
        replication_key = "updated_at"

        def get_records(self, context: Any) -> Any:
            raise AssertionError("the batch loop reads record_batches only")

        def record_batches(self, context: Any) -> Any:
            try:
                yield iter([item_record(RAW_ITEM)])
                broken = {k: v for k, v in item_record(RAW_ITEM).items() if k != "updated_at"}
                yield iter([broken])  # no replication key: the bookmark fails as in the SDK's loop
                yield iter([item_record(RAW_ITEM)])
            finally:
                closed.append(True)

    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with pytest.raises(KeyError):
        _emit_lines(Failing, buffer)
    assert closed == [True]
    buffer.flush()
    written = [json.loads(line) for line in buffer.buffer.getvalue().splitlines()]  # type: ignore[attr-defined,unused-ignore]
    # the records written before the error reach stdout (the broken one is written, then its bookmark fails)
    assert [m["record"]["id"] for m in written if m["type"] == "RECORD"] == [str(RAW_ITEM["id"])] * 2
