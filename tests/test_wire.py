"""wire.py: which answers decode into structs, and that everything else is left to the generic path."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from monday_emulator.testing import RunningEmulator

from tap_monday_boards import queries
from tap_monday_boards.engine.transport import _decode
from tap_monday_boards.records import item_record
from tap_monday_boards.wire import (
    StrictColumnValue,
    StrictWireItem,
    TypedColumnValue,
    WideWireItem,
    WireColumnValue,
    WireItem,
    as_dict,
    decode_answer,
    item_id,
)
from tests.conftest import HttpAnswer

Gql = Callable[..., HttpAnswer]

ITEM = {
    "id": "11",
    "name": "n",
    "state": "active",
    "created_at": "2024-01-01T00:00:00Z",
    "updated_at": "2024-01-02T00:00:00Z",
    "creator_id": "5",
    "group": {"id": "g", "title": "G"},
    "board": {"id": "1"},
    "parent_item": None,
    "column_values": [{"id": "d", "type": "timeline", "text": "", "value": None, "from": None, "to": None}],
}
COMPLEXITY = {"before": 10, "after": 5, "query": 5, "reset_in_x_seconds": 60}


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def test_a_plain_answer_decodes_into_structs() -> None:
    answer = {"data": {"complexity": COMPLEXITY, "items": [ITEM, None]}, "extensions": {}}
    body = decode_answer(encode(answer))
    assert body is not None
    items = body["data"]["items"]
    assert isinstance(items[0], WireItem) and items[1] is None
    assert body["data"]["complexity"] == COMPLEXITY and body["extensions"] == {}
    assert item_id(items[0]) == "11" and item_id({"id": 12}) == "12"
    assert as_dict(items[0]) == ITEM  # the absent typed fields stay absent; "from" keeps its name


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"data": {"items": [ITEM]}, "errors": [{"message": "x"}]}, id="partial-data"),
        pytest.param({"data": None, "errors": [{"message": "x"}]}, id="errors"),
        pytest.param({"error_code": "ComplexityException", "error_message": "x"}, id="legacy-envelope"),
        pytest.param({"data": {"items": [{**ITEM, "group": [1]}]}}, id="unexpected-shape"),
        pytest.param({"data": {"items": "nope"}}, id="items-not-a-list"),
    ],
)
def test_anything_else_is_left_to_the_generic_decode(body: dict[str, Any]) -> None:
    raw = encode(body)
    assert decode_answer(raw) is None
    assert _decode(raw, decode_answer) == body  # the transport decodes it as before (then classify decides)


def test_non_json_and_empty_bodies_are_unchanged() -> None:
    assert _decode(b'{"data": {"items": [', decode_answer) == b'{"data": {"items": ['
    assert _decode(b"", decode_answer) is None
    assert _decode(b'{"data": {}}', None) == {"data": {}}
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"id": []}', type=WireItem)


def test_structs_read_by_field_name_like_the_decoded_dict() -> None:
    body = decode_answer(encode({"data": {"items": [ITEM]}}))
    assert body is not None
    item = body["data"]["items"][0]
    assert item["id"] == "11" and item["group"]["title"] == "G" and item.get("parent_item") is None
    value = item["column_values"][0]
    assert value["from"] is None and value["type"] == "timeline" and value.get("label", "absent") == "absent"
    with pytest.raises(KeyError):
        value["label"]  # a typed field the query did not select: absent, as in the dict
    with pytest.raises(KeyError):
        item["__struct_fields__"]


def test_column_values_decode_per_type_and_an_unknown_type_decodes_the_whole_answer_wide() -> None:
    """Per-type structs hold only their type's fields; a type monday added since (not in the enum) keeps the
    answer on the structs with the wide entry, and every path gives the record of the decoded dict."""
    known = {"id": "s", "type": "status", "text": "Done", "value": '{"index":1}', "index": 1, "label": "Done"}
    unknown = {"id": "n", "type": "brand_new_type", "text": "x", "value": '{"a":1}'}
    typed = decode_answer(encode({"data": {"items": [{**ITEM, "column_values": [known]}]}}))
    wide = decode_answer(encode({"data": {"items": [{**ITEM, "column_values": [known, unknown]}]}}))
    assert typed is not None and wide is not None
    typed_item, wide_item = typed["data"]["items"][0], wide["data"]["items"][0]
    assert isinstance(typed_item.column_values[0], TypedColumnValue)
    assert typed_item.column_values[0].type == "status" and typed_item.column_values[0]["index"] == 1
    fields = {"id", "text", "value", "index", "label", "is_done"}
    assert set(typed_item.column_values[0].__struct_fields__) == fields
    assert isinstance(wide_item, WideWireItem) and isinstance(wide_item, WireItem)
    assert wide_item.column_values is not None
    assert all(isinstance(cv, WireColumnValue) for cv in wide_item.column_values)
    assert as_dict(typed_item) == {**ITEM, "column_values": [known]}
    assert as_dict(wide_item) == {**ITEM, "column_values": [known, unknown]}
    assert item_record(typed_item) == item_record({**ITEM, "column_values": [known]})
    assert item_record(wide_item) == item_record({**ITEM, "column_values": [known, unknown]})
    assert typed_item.column_values[0].as_mapping() == known


def test_answers_that_fit_the_schema_types_decode_strict_and_the_rest_lax() -> None:
    """The strict structs first (id/text/value and every selected typed field present, each of its schema
    type); one entry that does not fit sends the whole answer to the lax per-type structs, which read it as
    before."""
    fits = {"id": "s", "type": "status", "text": "Done", "value": '{"index":1}', "index": 1, "label": "Done",
            "is_done": True}  # fmt: skip
    odd_index = {**fits, "index": "1"}  # an Int field sent as a string
    no_value = {k: v for k, v in fits.items() if k != "value"}
    no_is_done = {k: v for k, v in fits.items() if k != "is_done"}  # a selected fragment field absent
    strict = decode_answer(encode({"data": {"items": [{**ITEM, "column_values": [fits]}]}}))
    assert strict is not None
    item = strict["data"]["items"][0]
    assert type(item) is StrictWireItem and isinstance(item.column_values[0], StrictColumnValue)
    assert item_record(item) == item_record({**ITEM, "column_values": [fits]})
    for odd in (odd_index, no_value, no_is_done):
        lax = decode_answer(encode({"data": {"items": [{**ITEM, "column_values": [fits, odd]}]}}))
        assert lax is not None
        item = lax["data"]["items"][0]
        assert type(item) is WireItem and not isinstance(item.column_values[1], StrictColumnValue)
        assert item_record(item) == item_record({**ITEM, "column_values": [fits, odd]})


def test_the_detail_answer_names_each_column_values_type_first(emulator: RunningEmulator, gql: Gql) -> None:
    """The detail query selects ``type`` first and the emulator answers in the selection's order (as the
    GraphQL spec has every server do), so the tagged-union decode finds each entry's struct at its first
    key; the answer decodes strict and gives the same records as the generic decode."""
    store = emulator.emulator.store
    ids = store.item_ids(store.board_ids()[0])[:25]
    answer = gql(emulator, queries.items_by_ids_query(None), variables={"ids": ids, "limit": len(ids)})
    assert answer.status == 200
    in_order = dict(json.loads(answer.raw, object_pairs_hook=list))  # each object as its (key, value) pairs
    items = dict(in_order["data"])["items"]
    first_keys = [entry[0][0] for item in items for entry in dict(item)["column_values"]]
    assert len(first_keys) > 25 and set(first_keys) == {"type"}
    body = decode_answer(answer.raw)
    assert body is not None and all(type(item) is StrictWireItem for item in body["data"]["items"])
    plain = json.loads(answer.raw)["data"]["items"]
    assert [item_record(item) for item in body["data"]["items"]] == [item_record(item) for item in plain]
