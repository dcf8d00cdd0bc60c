"""Typed column-value parsing: one case per column type, in the shapes monday returns.

``value`` is a JSON *string* on the wire; typed fragment fields (``label``, ``linked_item_ids``...) come next
to it when the query selects them. Each case checks the typed fields, that nothing was counted as a problem,
and the fallbacks: no typed fields (only ``value``), malformed JSON, null/empty values, ids above 2^53.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import monday_emulator
import msgspec
import pytest

from tap_monday_boards import wire_values
from tap_monday_boards.column_values import (
    CARRIED_VALUE_KEYS,
    PARSERS,
    SCALAR_CARRIED_TYPES,
    TEXT_ONLY_TYPES,
    TYPED_FIELDS,
    ColumnValueStats,
    _has_unsafe_int,
    dropdown_labels,
    parse_column_value,
    parse_column_values,
    residual_value,
)
from tap_monday_boards.queries import COLUMN_VALUE_FRAGMENTS
from tap_monday_boards.wire import (
    OUTPUT_FIELDS,
    STRICT_COLUMN_VALUES,
    TYPED_COLUMN_VALUES,
    ColumnValue,
    StrictValue,
    WireColumnValue,
)
from tap_monday_boards.wire_values import (
    _DECODE,
    _DECODE_SAFE,
    BUILDERS,
    FIXERS,
    encoded_column_values,
    wire_column_values,
)
from tests.support.truth import generated_items

BIG_ID = 2**53 + 17  # 9007199254740009: not representable as a double


def exact_int(literal: str) -> int | str:
    """What the parser does with JSON integers: beyond 2^53 they stay strings."""
    return int(literal) if abs(int(literal)) <= 2**53 else literal


def cv(col_type: str, text: str | None, value: Any, **typed: Any) -> dict[str, Any]:
    """A raw column value as the API returns it: ``value`` JSON-encoded to a string unless None."""
    encoded = None if value is None else json.dumps(value)
    return {"id": f"{col_type}_col", "type": col_type, "text": text, "value": encoded, **typed}


CASES = [
    pytest.param(
        cv(
            "status",
            "Done",
            {"index": 1, "post_id": None, "changed_at": "2025-10-09T12:16:21.130Z"},
            index=1,
            label="Done",
            is_done=True,
        ),
        {"label": "Done", "index": 1, "is_done": True},
        id="status-typed",
    ),
    pytest.param(
        cv("status", "Stuck", {"index": 2, "changed_at": "2025-10-09T12:16:21.130Z"}),
        {"label": "Stuck", "index": 2},
        id="status-from-value",
    ),
    pytest.param(cv("numbers", "12.5", "12.5", number=12.5), {"number": 12.5}, id="numbers-typed"),
    pytest.param(cv("numbers", "-3", "-3"), {"number": -3}, id="numbers-from-value"),
    pytest.param(
        cv(
            "date",
            "2025-05-01 10:00",
            {"date": "2025-05-01", "time": "10:00:00", "changed_at": "x"},
            date="2025-05-01",
            time="10:00:00",
        ),
        {"date": "2025-05-01", "time": "10:00:00", "date_time": "2025-05-01T10:00:00Z"},
        id="date-with-time",
    ),
    pytest.param(
        cv("date", "2025-05-01", {"date": "2025-05-01", "time": None}),
        {"date": "2025-05-01", "time": None, "date_time": None},
        id="date-only",
    ),
    pytest.param(
        cv(
            "timeline",
            "2025-01-01 - 2025-01-31",
            {"from": "2025-01-01", "to": "2025-01-31"},
            **{"from": "2025-01-01T00:00:00+00:00", "to": "2025-01-31T00:00:00+00:00"},
        ),
        {"from": "2025-01-01", "to": "2025-01-31"},
        id="timeline-typed-datetimes",
    ),
    pytest.param(
        cv("checkbox", "v", {"checked": "true", "changed_at": "x"}), {"checked": True}, id="checkbox"
    ),
    pytest.param(cv("checkbox", "", None, checked=None), {"checked": False}, id="checkbox-empty"),
    pytest.param(
        cv(
            "people",
            "Ann, Team A",
            {"personsAndTeams": [{"id": 4012, "kind": "person"}, {"id": 77, "kind": "team"}]},
        ),
        {"person_ids": ["4012"], "team_ids": ["77"]},
        id="people-from-value",
    ),
    pytest.param(
        cv("people", "Ann", None, persons_and_teams=[{"id": str(BIG_ID), "kind": "person"}]),
        {"person_ids": [str(BIG_ID)], "team_ids": []},
        id="people-typed-big-id",
    ),
    pytest.param(
        cv(
            "dropdown",
            "Red, Blue",
            {"ids": [1, 3]},
            values=[{"id": "1", "label": "Red"}, {"id": "3", "label": "Blue"}],
        ),
        {"labels": ["Red", "Blue"], "label_ids": ["1", "3"]},
        id="dropdown-typed",
    ),
    pytest.param(
        cv("dropdown", "Red, Blue", {"ids": [1, 3]}),
        {"labels": ["Red", "Blue"], "label_ids": ["1", "3"]},
        id="dropdown-from-value",
    ),
    pytest.param(
        cv("email", "Ann", {"email": "ann@example.com", "text": "Ann"}),
        {"email": "ann@example.com", "label": "Ann"},
        id="email",
    ),
    pytest.param(
        cv("phone", "+4915112345678", {"phone": "+4915112345678", "countryShortName": "DE"}),
        {"phone": "+4915112345678", "country_short_name": "DE"},
        id="phone",
    ),
    pytest.param(
        cv("link", "docs - https://x.example", {"url": "https://x.example", "text": "docs"}),
        {"url": "https://x.example", "url_text": "docs"},
        id="link",
    ),
    pytest.param(
        cv("location", "Berlin", {"lat": "52.52", "lng": "13.405", "address": "Berlin", "placeId": "p"}),
        {"lat": 52.52, "lng": 13.405, "address": "Berlin"},
        id="location",
    ),
    pytest.param(cv("rating", "4", {"rating": 4, "changed_at": "x"}), {"rating": 4}, id="rating"),
    pytest.param(
        cv("tags", "urgent", {"tag_ids": [BIG_ID, 5]}), {"tag_ids": [str(BIG_ID), "5"]}, id="tags-big-id"
    ),
    pytest.param(
        cv(
            "file",
            "a.pdf",
            {"files": [{"name": "a.pdf", "assetId": 991, "isImage": "false", "fileType": "ASSET"}]},
        ),
        {"asset_ids": ["991"]},
        id="file",
    ),
    pytest.param(cv("mirror", None, None, display_value="A, B"), {"display_value": "A, B"}, id="mirror"),
    pytest.param(cv("formula", None, None, display_value="42"), {"display_value": "42"}, id="formula"),
    pytest.param(
        cv("board_relation", None, None, display_value="Item 1", linked_item_ids=["18265981856"]),
        {"display_value": "Item 1", "linked_item_ids": ["18265981856"]},
        id="board-relation-typed",
    ),
    pytest.param(
        cv("board_relation", "Item 1", {"linkedPulseIds": [{"linkedPulseId": 18265981856}]}),
        {"linked_item_ids": ["18265981856"]},
        id="board-relation-legacy-value",
    ),
    pytest.param(
        cv("dependency", None, None, display_value="", linked_item_ids=[]),
        {"display_value": "", "linked_item_ids": []},
        id="dependency-empty",
    ),
    pytest.param(
        cv("subtasks", "Sub 1, Sub 2", None, subitems_ids=["101", "102"]),
        {"subitem_ids": ["101", "102"]},
        id="subtasks",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_typed_fields_per_column_type(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    stats = ColumnValueStats()
    entry = parse_column_value(raw, stats)
    assert entry["type"] == raw["type"]
    assert entry["text"] == raw["text"]
    decoded = None if raw["value"] is None else json.loads(raw["value"], parse_int=exact_int)
    _assert_value_kept_or_carried(entry, decoded)
    for key, want in expected.items():
        assert entry[key] == want, key
    assert stats.parsed == 1
    assert stats.problems == 0


def _assert_value_kept_or_carried(entry: dict[str, Any], decoded: Any) -> None:
    """Nothing of monday's ``value`` is lost: each key is still in ``value`` or a typed field carries it."""
    kept = entry["value"]
    if isinstance(decoded, dict):
        carried = set(CARRIED_VALUE_KEYS.get(entry["type"], ()))
        if entry["type"] == "long_text" and decoded.get("text") == entry["text"]:
            carried = {"text"}
        assert kept is None or isinstance(kept, dict)
        for key, item in decoded.items():
            if key in carried:
                assert kept is None or key not in kept, f"{key} carried twice"
            else:
                assert kept is not None and kept[key] == item, f"{key} lost"
    elif decoded is not None and (entry["type"] in SCALAR_CARRIED_TYPES or decoded == entry["text"]):
        assert kept is None
    else:
        assert kept == decoded


def test_value_keeps_only_what_no_other_field_carries() -> None:
    value = {"index": 1, "post_id": None, "changed_at": "2025-10-09T12:16:21.130Z"}
    entry = parse_column_value(cv("status", "Done", value, index=1, label="Done", is_done=True))
    assert entry["value"] == {"post_id": None, "changed_at": "2025-10-09T12:16:21.130Z"}
    assert entry["index"] == 1
    assert parse_column_value(cv("text", "Sprint 1", "Sprint 1"))["value"] is None
    assert parse_column_value(cv("text", "shown", "stored"))["value"] == "stored"
    assert parse_column_value(cv("numbers", "12.5", "12.5", number=12.5))["value"] is None
    assert parse_column_value(cv("tags", "a", {"tag_ids": [1]}))["value"] is None
    long_text = parse_column_value(cv("long_text", "Notes", {"text": "Notes", "changed_at": "x"}))
    assert long_text["value"] == {"changed_at": "x"}
    place = {"lat": "1.5", "lng": "2", "address": "A", "city": {"long_name": "B"}}
    assert parse_column_value(cv("location", "A", place))["value"] == {"city": {"long_name": "B"}}
    # a value that does not parse is kept whole, as sent
    assert parse_column_value(cv("status", "?", [1, 2]))["value"] == [1, 2]
    raw = {"id": "s", "type": "status", "text": "a", "value": {"index": 2, "x": 1}}
    assert parse_column_value(raw)["value"] == {"x": 1}
    assert raw["value"] == {"index": 2, "x": 1}  # the caller's dict is not changed


def test_every_parser_has_a_case() -> None:
    covered = {case.values[0]["type"] for case in CASES}
    assert covered == set(PARSERS)


def test_typed_fields_are_declared() -> None:
    """Every key a parser emits is in TYPED_FIELDS (the schema is built from it)."""
    emitted: set[str] = set()
    for case in CASES:
        emitted |= set(parse_column_value(case.values[0])) - {"type", "text", "value"}
    assert emitted <= set(TYPED_FIELDS)


@pytest.mark.parametrize(
    ("raw", "bucket"),
    [
        pytest.param(
            {"id": "n", "type": "numbers", "text": "1", "value": '{"broken'}, "malformed", id="bad-json"
        ),
        pytest.param(cv("numbers", "abc", "abc"), "malformed", id="number-not-numeric"),
        pytest.param(cv("rating", "x", {"rating": "x"}), "malformed", id="rating-not-int"),
        pytest.param(cv("date", "?", {"date": "01/05/2025"}), "malformed", id="date-wrong-format"),
        pytest.param(cv("people", "?", {"personsAndTeams": "nope"}), "malformed", id="people-not-list"),
        pytest.param(cv("checkbox", "?", {"checked": "maybe"}), "malformed", id="checkbox-not-bool"),
        pytest.param(cv("status", "?", [1, 2]), "malformed", id="status-value-not-object"),
        pytest.param(cv("brand_new_type", "hello", {"x": 1}), "unknown", id="unknown-type"),
    ],
)
def test_bad_values_keep_text_and_value_and_are_counted(raw: dict[str, Any], bucket: str) -> None:
    stats = ColumnValueStats()
    entry = parse_column_value(raw, stats)
    assert entry["text"] == raw["text"]
    try:
        expected_value = json.loads(raw["value"])
    except ValueError:
        expected_value = raw["value"]  # undecodable: the raw string is kept
    assert entry["value"] == expected_value
    assert set(entry) == {"type", "text", "value"}
    counter = stats.malformed if bucket == "malformed" else stats.unknown_types
    assert counter[raw["type"]] == 1
    assert stats.problems == 1
    assert raw["type"] in stats.summary()


def test_null_and_empty_values_give_empty_typed_fields() -> None:
    stats = ColumnValueStats()
    values = [
        cv("status", None, None),
        cv("numbers", "", None),
        cv("date", "", None),
        cv("people", "", None),
        cv("tags", "", None),
        cv("link", "", None),
    ]
    parsed = parse_column_values(values, stats)
    assert parsed["status_col"]["label"] is None and parsed["status_col"]["index"] is None
    assert parsed["numbers_col"]["number"] is None
    assert parsed["date_col"]["date"] is None
    assert parsed["people_col"]["person_ids"] == []
    assert parsed["tags_col"]["tag_ids"] == []
    assert parsed["link_col"]["url"] is None
    assert stats.problems == 0 and stats.parsed == len(values)


def test_big_integers_in_value_json_stay_exact_strings() -> None:
    raw = {"id": "t", "type": "text", "text": "x", "value": json.dumps({"ref": BIG_ID, "small": 7})}
    entry = parse_column_value(raw)
    assert entry["value"] == {"ref": str(BIG_ID), "small": 7}


def test_column_values_is_one_object_keyed_by_column_id() -> None:
    parsed = parse_column_values([cv("status", "Done", {"index": 1}), cv("numbers", "2", "2")])
    assert list(parsed) == ["status_col", "numbers_col"]
    assert parsed["numbers_col"]["number"] == 2


def test_text_only_types_are_not_problems() -> None:
    stats = ColumnValueStats()
    parse_column_values([cv("long_text", "hello", {"text": "hello"}), cv("text", "hi", "hi")], stats)
    assert stats.parsed == 2 and stats.problems == 0


# --- fast path == reference -------------------------------------------------------------------------------
# parse_column_values inlines a msgspec fast path for speed; the reference below is the original per-value
# implementation (stdlib decoder with the 2^53 hook, one parse_column_value call per entry). Both must give
# byte-identical records and the same problem counts on real emulator items and on every edge case.

_REFERENCE_DECODER = json.JSONDecoder(parse_int=exact_int)


def _reference_entry(raw: dict[str, Any], stats: ColumnValueStats) -> dict[str, Any]:
    col_type = str(raw.get("type") or "")
    raw_value = raw.get("value")
    try:
        value = _REFERENCE_DECODER.decode(raw_value) if isinstance(raw_value, str) else raw_value
    except json.JSONDecodeError:
        stats.malformed[col_type or "<none>"] += 1
        return {"type": col_type, "text": raw.get("text"), "value": raw_value}
    entry: dict[str, Any] = {"type": col_type, "text": raw.get("text"), "value": value}
    parser = PARSERS.get(col_type)
    if parser is None:
        if col_type in TEXT_ONLY_TYPES:
            entry["value"] = residual_value(col_type, value, entry["text"])
            stats.parsed += 1
        else:
            stats.unknown_types[col_type or "<none>"] += 1
        return entry
    try:
        entry.update(parser(raw, value))
    except (ValueError, TypeError, KeyError):
        stats.malformed[col_type] += 1
        return entry
    entry["value"] = residual_value(col_type, value, entry["text"])
    stats.parsed += 1
    return entry


def _reference(raw_values: list[dict[str, Any]], stats: ColumnValueStats) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for raw in raw_values:
        if raw.get("id") is None:
            stats.malformed["<no id>"] += 1
            continue
        result[str(raw["id"])] = _reference_entry(raw, stats)
    return result


_WIRE_IDS = itertools.count()


def wire(col_type: str, text: str | None, value: str | None) -> dict[str, Any]:
    """A raw column value whose ``value`` is already the wire string (possibly not valid JSON)."""
    return {"id": f"{col_type}_{next(_WIRE_IDS)}", "type": col_type, "text": text, "value": value}


EDGE_VALUES: list[dict[str, Any]] = [
    wire("numbers", "1", '"1"'),
    wire("numbers", "x", "NaN"),  # stdlib accepts NaN, msgspec does not
    wire("text", "t", '"\\ud800 lone surrogate"'),
    wire("text", "t", "1e400"),  # out of range for msgspec
    wire("people", "p", json.dumps({"personsAndTeams": [{"id": BIG_ID, "kind": "person"}]})),
    wire("text", "t", json.dumps({"n": 2**53 + 1, "s": "12345678901234567"})),
    wire("text", "t", json.dumps({"f": 0.12345678901234567, "g": 1.5, "i": -0, "e": 1e-7})),
    wire("status", "Done", "{not json"),
    wire("status", "Done", '{"index":"x"}'),
    wire("brand_new_type", "t", '{"a":1}'),
    {"id": "no_type", "text": "t", "value": "1"},
    {"id": "odd_type", "type": 7, "text": "t", "value": "1"},
    {"type": "text", "text": "no id", "value": "1"},
    {"id": 5, "type": "text", "text": "int id", "value": "1"},
    wire("text", "t", str(2**53 + 1)),
    wire("text", "t", str(-(2**53) - 1)),
    wire("text", "t", str(2**53)),
    wire("text", "t", f"[1,[2,{2**53 + 3}]]"),
    wire("text", "t", f'{{"a":[{{"b":{2**70}}}]}}'),
    {"id": "no_text", "type": "status", "value": '{"index":1}'},
    {"id": "decoded", "type": "status", "text": "a", "value": {"index": 2}},
    {"id": "number_value", "type": "numbers", "text": "1", "value": 3},
    {"id": "none_id", "type": "text", "text": "t", "value": None},
    wire("checkbox", None, None),
    wire("dropdown", "a, b", '{"ids":[1,2]}'),
    wire("long_text", "x", json.dumps({"text": "é" * 40, "changed_at": "2024-01-01T00:00:00Z"})),
]


def _assert_same(got: Any, got_stats: ColumnValueStats, ref: Any, ref_stats: ColumnValueStats) -> None:
    """The same entries and the same problem counts as the reference."""
    # Encoding both compares key order and int-vs-float, which == on dicts would not.
    assert json.dumps(got, allow_nan=True) == json.dumps(ref, allow_nan=True)
    assert (got_stats.parsed, got_stats.unknown_types, got_stats.malformed) == (
        ref_stats.parsed,
        ref_stats.unknown_types,
        ref_stats.malformed,
    )


def _compare(raw_values: list[dict[str, Any]]) -> None:
    fast_stats, ref_stats = ColumnValueStats(), ColumnValueStats()
    fast = parse_column_values(raw_values, fast_stats)
    _assert_same(fast, fast_stats, _reference(raw_values, ref_stats), ref_stats)


def test_fast_path_matches_reference_on_edge_cases() -> None:
    for raw in EDGE_VALUES:
        _compare([raw])
    _compare(EDGE_VALUES)


def test_fast_path_matches_reference_on_emulator_items() -> None:
    compared = 0
    for raw in generated_items(seed=5, boards=2, items_per_board=60):
        _compare(raw["column_values"])
        compared += 1
    assert compared > 100


# --- wire structs (the engine's path) == reference ---------------------------------------------------------
# The engine decodes answers into wire.WireColumnValue structs and wire_values.py builds the entries from
# their attributes. Same entries, same problem counts as the reference on the same values decoded as dicts.

_WIRE = msgspec.json.Decoder(list[WireColumnValue])
_TYPED = msgspec.json.Decoder(list[ColumnValue])
_STRICT = msgspec.json.Decoder(list[StrictValue])

WIRE_EDGE_VALUES: list[dict[str, Any]] = [
    # reference parsers evaluate _obj(value) eagerly even when the typed field is there: still malformed
    {"id": "s", "type": "status", "text": "D", "value": "[1]", "index": 1, "label": "D", "is_done": True},
    {"id": "r", "type": "rating", "text": "2", "value": "[1]", "rating": 2},
    {"id": "t", "type": "tags", "text": "a", "value": "[1]", "tag_ids": [1]},
    {"id": "p", "type": "people", "text": "a", "value": "[1]"},
    {"id": "e", "type": "email", "text": "a", "value": "[1]", "email": "a@b.c", "label": "a"},
    # typed fields the query no longer selects: the reference reads them
    {"id": "pt", "type": "people", "text": "A", "value": None, "persons_and_teams": [{"id": "1"}]},
    {"id": "dv", "type": "dropdown", "text": "A", "value": None, "values": [{"id": 1, "label": "A"}]},
    {"id": "fa", "type": "file", "text": "f", "value": None, "files": [{"asset_id": 9}]},
    # nulls and absences
    {"id": "cn", "type": "checkbox", "text": "v", "value": '{"checked": "true"}', "checked": None},
    {"id": "sl", "type": "status", "text": "", "value": None, "index": None, "label": None, "is_done": None},
    {"id": "nt", "type": "status", "value": None, "index": 1, "label": "x", "is_done": False},
    {"id": "nv", "type": "text", "text": "no value key"},
    {"id": "dt", "type": "date", "text": "d", "value": None, "date": "2025-01-02", "time": 5},
    {"id": "rf", "type": "rating", "text": "1.5", "value": None, "rating": 1.5},
    {"id": "nf", "type": "numbers", "text": "2", "value": None, "number": 2.0},
    {"id": "nb", "type": "numbers", "text": "t", "value": None, "number": True},
    {"id": "tl", "type": "timeline", "text": "", "value": None, "from": "2025-01-01T00:00:00Z", "to": None},
    {"id": "lp", "type": "board_relation", "text": None, "value": '{"linkedPulseIds":[{"linkedPulseId":7}]}'},
    {"id": "lb", "type": "dependency", "text": None, "value": '{"linkedPulseIds":[3]}', "display_value": "x"},
    {"id": "sb", "type": "subtasks", "text": "", "value": '{"linkedPulseIds": "x"}'},
    {"id": "fl", "type": "file", "text": "f", "value": '{"files": [{"assetId": null}, {"assetId": 5}]}'},
    {"id": "fb", "type": "file", "text": "f", "value": '{"files": [1]}'},
    # integers at and beyond 2^53 inside ``value``, and nesting deeper than the one-call decode takes
    {"id": "bi", "type": "people", "text": "A",
     "value": '{"personsAndTeams":[{"id":9007199254740993,"kind":"person"}]}'},
    {"id": "b2", "type": "tags", "text": "t", "value": '{"tag_ids":[9007199254740992,-9007199254740992]}'},
    {"id": "b3", "type": "text", "text": "n", "value": "-9007199254740993"},
    {"id": "b4", "type": "long_text", "text": "x", "value": '{"a":[[[[[[[[1]]]]]]]],"text":"x"}'},
    {"id": "b5", "type": "numbers", "text": "1", "value": "1e308"},
    {"id": "b6", "type": "text", "text": "x", "value": '[[[[[[[[99999999999999999999]]]]]]]]'},
]  # fmt: skip


def sv(column_id: str, column_type: str, text: str | None, value: str | None, **typed: Any) -> dict[str, Any]:
    """A raw column value with ``value`` already the wire string; ``from_`` stands for ``from``."""
    if "from_" in typed:
        typed["from"] = typed.pop("from_")
    return {"id": column_id, "type": column_type, "text": text, "value": value, **typed}


_PEOPLE = '{"personsAndTeams":[{"id":1,"kind":"team"},{"id":"2","kind":"person"}],"changed_at":"c"}'
_CITY = '{"lat":1,"lng":-2.5,"address":"a","city":{"long_name":"x"}}'

STRICT_EDGE_VALUES: list[dict[str, Any]] = [
    # what the strict fixers derive, each next to the shapes they leave to the lax path
    sv("s1", "status", "", '{"index":3,"changed_at":"c"}', index=3, label=None, is_done=False),
    sv("s2", "status", "x", '"x"', index=1, label="x", is_done=None),
    sv("n1", "numbers", "2", '"2"', number=2.0),
    sv("n2", "numbers", "2.5", "2.5", number=2.5),
    sv("n3", "numbers", "", None, number=None),
    sv("n4", "numbers", "9", '{"a":1}', number=9007199254740993),
    sv("d1", "date", "d", '{"date":"2025-01-02","time":"10:00:00","changed_at":"c"}', date="2025-01-02",
       time="10:00:00"),
    sv("d2", "date", "", None, date="", time=""),
    sv("d3", "date", "d", '{"date":"x"}', date="2025-01-02T00:00:00Z", time=None),
    sv("d4", "date", "d", None, date="2025/01/02", time=None),
    sv("t1", "timeline", "t", '{"to":"2025-02-01","x":[1],"from":"2025-01-01"}', from_="2025-01-01T00:00:00Z",
       to="2025-02-01"),
    sv("t2", "timeline", "t", None, from_="bad", to=None),
    sv("c1", "checkbox", "", None, checked=False),
    sv("c2", "checkbox", "v", '"x"', checked=True),
    sv("p1", "people", "T, P", _PEOPLE),
    sv("p2", "people", "", '{"personsAndTeams":5}'),
    sv("p3", "people", "", '{"personsAndTeams":[]}'),
    sv("o1", "dropdown", "A, , B", '{"ids":["1"," 2"]}'),
    sv("o2", "dropdown", None, '{"ids":[{"x":1}]}'),
    sv("e1", "email", "", None, email=None, label=None),
    sv("e2", "email", "a", '{"text":"a","email":"a@b.c","x":1}', email="a@b.c", label="a"),
    sv("h1", "phone", "1", '{"phone":"1","countryShortName":"US"}', phone="1", country_short_name="US"),
    sv("k1", "link", "l", '{"url":"u","text":"l","changed_at":"c"}', url="u", url_text="l"),
    sv("l1", "location", "a", _CITY, lat=1.0, lng=-2.5, address="a"),
    sv("l2", "location", "", None, lat=None, lng=1e308, address=None),
    sv("r1", "rating", "", None, rating=None),
    sv("g1", "tags", "", '{"tag_ids":[]}', tag_ids=[]),
    sv("g2", "tags", "", None, tag_ids=None),
    sv("f1", "file", "f", '{"files":[{"assetId":"7","name":"n"}],"x":1}'),
    sv("f2", "file", "f", '{"files":[]}'),
    sv("f3", "file", "f", '{"files":{"a":1}}'),
    sv("m1", "mirror", None, '{"a":1}', display_value=""),
    sv("m2", "formula", "1", '"1"'),
    sv("b1", "board_relation", None, None, display_value="x", linked_item_ids=["1", " 2 "]),
    sv("b7", "dependency", None, '{"linkedPulseIds":[],"y":2}', linked_item_ids=[]),
    sv("b8", "board_relation", None, None, display_value="", linked_item_ids=[""]),
    sv("u1", "subtasks", "", '{"linkedPulseIds":[{"linkedPulseId":5}],"x":1}', subitems_ids=["5"]),
    sv("u2", "subtasks", "", None, subitems_ids=None),
    sv("x1", "long_text", None, '{"x":1}'),
    sv("x2", "long_text", "a", '{"text":"a"}'),
    sv("x3", "text", "t", '"other"'),
    sv("x4", "hour", "10:00", '{"hour":10,"minute":0}'),
    sv("", "text", "empty id", None),
]  # fmt: skip


def _compare_wire(raw_values: list[dict[str, Any]], labels: dict[str, dict[str, str]] | None = None) -> bool:
    """Every struct family (the wide one always, the lax per-type ones when the values fit them, the strict
    ones when they fit those) gives the reference's entries and counts, as dicts (``wire_column_values``)
    and, for the strict ones, as the structs the batch loop encodes (``encoded_column_values``, compared
    on their encoding); True when the per-type structs were compared too."""
    encoded = json.dumps(raw_values)
    decoded: list[Any] = [_WIRE.decode(encoded)]
    with contextlib.suppress(msgspec.ValidationError):  # a type the enum lacks, or not a string: wide only
        decoded.append(_TYPED.decode(encoded))
    strict = True
    try:
        decoded.append(_STRICT.decode(encoded))
    except msgspec.ValidationError:  # a field of another JSON type than the schema's, or id/text/value absent
        strict = False
    builds: list[Any] = [wire_column_values for _ in decoded]
    if strict:  # the strict structs once more, turned into the entries themselves
        decoded.append(_STRICT.decode(encoded))
        builds.append(encoded_column_values)
    for values, build in zip(decoded, builds, strict=True):
        wire_stats, ref_stats = ColumnValueStats(), ColumnValueStats()
        wire = msgspec.to_builtins(build(values, wire_stats, labels))  # structs: the dict their encoding is
        if labels:
            ref = parse_column_values(raw_values, ref_stats, labels)
        else:
            ref = _reference(raw_values, ref_stats)
        _assert_same(wire, wire_stats, ref, ref_stats)
        if build is encoded_column_values:  # the bytes the SDK's encoder writes: the same
            expected = _encodable(parse_column_values(raw_values, None, labels))
            got = _encodable(build(_STRICT.decode(encoded), None, labels))
            assert got == expected
    return len(decoded) >= 2


def _encodable(entries: Any) -> bytes | None:
    """msgspec's encoding, or None where it cannot encode the reference's value either (a lone surrogate)."""
    try:
        return msgspec.json.encode(entries)
    except UnicodeEncodeError:
        return None


def test_strict_structs_decode_the_emulator_items_and_take_the_fixers() -> None:
    """Generated items fit the strict structs (monday's schema types), and every entry of theirs is fixed in
    place (no entry falls back to the lax path): the encoded entries are what the reference gives."""
    unselected = {"persons_and_teams", "values", "files"}  # the ground truth has them, the query does not
    for raw in generated_items(seed=3, boards=2, items_per_board=40):
        answer = [{k: v for k, v in entry.items() if k not in unselected} for entry in raw["column_values"]]
        values = _STRICT.decode(json.dumps(answer))
        stats = ColumnValueStats()
        entries = encoded_column_values(values, stats)
        assert all(not isinstance(entry, dict) for entry in entries.values()), raw["id"]
        assert stats.problems == 0 and stats.parsed == len(values)
        assert msgspec.json.encode(entries) == msgspec.json.encode(parse_column_values(answer))


def test_strict_structs_declare_the_entry_fields_in_the_entry_order() -> None:
    """A strict struct is ``id text value``, its entry's typed fields (the parsers' order), then wire-only
    fields; the fixers cover every parser, and a type without a parser has no typed field."""
    assert set(FIXERS) == set(PARSERS) | {"text", "long_text"}
    for column_type, struct in STRICT_COLUMN_VALUES.items():
        output = OUTPUT_FIELDS.get(column_type, ())
        assert struct.__struct_fields__[: 3 + len(output)] == ("id", "text", "value", *output), column_type
        typed = set(TYPED_COLUMN_VALUES[column_type].__struct_fields__)
        assert typed <= set(struct.__struct_fields__), column_type
        if column_type in PARSERS:
            sample = PARSERS[column_type]({"text": "", "type": column_type}, None)
            names = tuple("from_" if name == "from" else name for name in sample)
            assert names == output, column_type


def test_wire_builders_cover_every_parser() -> None:
    assert set(BUILDERS) == set(PARSERS)


def test_wire_path_matches_reference_on_cases_and_edge_cases() -> None:
    every = [case.values[0] for case in CASES] + EDGE_VALUES + WIRE_EDGE_VALUES + STRICT_EDGE_VALUES
    typed = [_compare_wire([raw]) for raw in every]
    assert sum(typed) >= len(every) - 5  # all but the unknown / non-string / absent types
    assert not _compare_wire(every)
    labels = {"dropdown_col": {"1": "Red, dark", "2": "Blue"}}
    _compare_wire([cv("dropdown", "Red, dark, Blue", {"ids": [1, 2]})], labels)


# The strict fixers' shortcuts (wire_values.py): each next to the shapes that still reach the reference
# helpers (``_date``, ``_number``, ``_id``) or the lax path.
FIXER_SHORTCUT_VALUES: list[dict[str, Any]] = [
    sv("fn1", "numbers", "-0", '"-0"', number=-0.0),
    sv("fn2", "numbers", "1e300", '"1e300"', number=1e300),
    sv("fn3", "numbers", "0.1", '"0.1"', number=0.1),
    sv("fl1", "location", "a", '{"lat":"0","lng":"1e300"}', lat=0.0, lng=1e300, address="a"),
    sv("fl2", "location", "a", None, lat=-12.25, lng=3, address=None),
    sv("fo1", "dropdown", "  ", '{"ids":[]}'),
    sv("fo2", "dropdown", " A ", '{"ids":[1]}'),
    sv("fo3", "dropdown", ",", '{"ids":null,"x":1}'),
    sv("fo4", "dropdown", "A,B , ,C", '{"ids":[1,"2",3]}'),
    sv("fo5", "dropdown", "A", '{"ids":[true]}'),
    sv("fo6", "dropdown", "A", '{"ids":[""]}'),
    sv("fo7", "dropdown", "A", '{"ids":"1"}'),
    sv("fp1", "people", "", '{"personsAndTeams":[{"id":" 3 ","kind":"team"},{"id":4}]}'),
    sv("fp2", "people", "", '{"personsAndTeams":[{"id":1.5,"kind":"person"}]}'),
    sv("fp3", "people", "", '{"personsAndTeams":[{"id":null,"kind":"team"}]}'),
    sv("fp4", "people", "", '{"personsAndTeams":{}}'),
    sv("ff1", "file", "f", '{"files":""}'),
    sv("ff2", "file", "f", '{"files":null,"x":1}'),
    sv("ff3", "file", "f", '{"files":[{"assetId":" 8"},{"assetId":false}]}'),
    sv("ff4", "file", "f", '{"files":[{"assetId":9,"name":"a"},{"name":"b"}]}'),
    sv("fg1", "tags", "", '{"tag_ids":[1,2]}', tag_ids=[9007199254740993, 2]),
    sv("fb1", "board_relation", None, None, display_value="x", linked_item_ids=["  "]),
    sv("fb2", "dependency", None, None, display_value="x", linked_item_ids=["\t1", "2\n", "3"]),
    sv("fu1", "subtasks", "", None, subitems_ids=[" 5", "6"]),
    sv("fu2", "subtasks", "", None, subitems_ids=["7", " "]),
    sv("fu3", "subtasks", "", '{"linkedPulseIds":[]}', subitems_ids=[]),
]  # fmt: skip


def _dates(tag: str) -> list[dict[str, Any]]:
    """Date and timeline entries whose days repeat (each string twice: the second from the day cache)."""
    return [
        sv(f"{tag}1", "date", "d", None, date="2025-01-02", time=None),
        sv(f"{tag}2", "date", "d", None, date="2025-01-02", time="10:00:00"),
        sv(f"{tag}3", "timeline", "t", None, from_="2025-01-02T00:00:00Z", to="2025-01-02"),
        sv(f"{tag}4", "timeline", "t", None, from_="2025-01-03T00:00:00Z", to="2025-01-03T00:00:00Z"),
        sv(f"{tag}5", "date", "d", None, date="2025-1-02", time=None),
        sv(f"{tag}6", "timeline", "t", None, from_="2025-01-02", to="2025-01-0x"),
        sv(f"{tag}7", "date", "d", None, date="", time=""),
        sv(f"{tag}8", "timeline", "t", None, from_="\u0663025-01-02", to=None),
    ]


def test_fixer_shortcuts_match_reference() -> None:
    _STRICT.decode(json.dumps(FIXER_SHORTCUT_VALUES + _dates("s")))  # strict structs all: the fixers' input
    for raw in FIXER_SHORTCUT_VALUES:
        assert _compare_wire([raw])
    assert _compare_wire(FIXER_SHORTCUT_VALUES)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_strict_non_finite_floats_take_the_reference_path(bad: float) -> None:
    """JSON has no such number (the strict decode never gives one), but a struct built with one is refused
    as the reference refuses it: counted malformed, the entry the reference's."""
    raws = [
        sv("n", "numbers", "x", None, number=bad),
        sv("l", "location", "", None, lat=1.5, lng=bad, address=""),
    ]
    structs = [STRICT_COLUMN_VALUES[r["type"]](**{k: v for k, v in r.items() if k != "type"}) for r in raws]
    got_stats, ref_stats = ColumnValueStats(), ColumnValueStats()
    got = msgspec.to_builtins(encoded_column_values(structs, got_stats))
    _assert_same(got, got_stats, parse_column_values(raws, ref_stats), ref_stats)
    assert got_stats.malformed == {"numbers": 1, "location": 1}


def test_strict_dates_from_the_day_cache_match_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The days of repeated strings come from ``wire_values._DAYS``: the reference's days, the reference's
    refusals, and the cache never holds more than its limit (it starts over)."""
    monkeypatch.setattr(wire_values, "_DAYS", {})
    monkeypatch.setattr(wire_values, "_DAYS_LIMIT", 3)
    for tag in ("a", "b"):
        for raw in _dates(tag):
            assert _compare_wire([raw])
        assert _compare_wire(_dates(tag))
        assert 0 < len(wire_values._DAYS) <= 3
    assert all(day == key[:10] for key, day in wire_values._DAYS.items())


def test_strict_fixers_drop_exactly_the_carried_keys() -> None:
    """Each type's ``value`` with every key its typed fields carry (column_values.CARRIED_VALUE_KEYS) between
    keys they do not: the fixer (no fallback) drops those keys only and keeps the others' order."""
    unselected = {"persons_and_teams", "values", "files"}
    found: dict[str, dict[str, Any]] = {}
    for raw in generated_items(seed=3, boards=2, items_per_board=10):
        for entry in raw["column_values"]:
            if entry["type"] in CARRIED_VALUE_KEYS:
                found.setdefault(entry["type"], {k: v for k, v in entry.items() if k not in unselected})
    assert set(found) == set(CARRIED_VALUE_KEYS)
    for column_type, entry in found.items():
        value = json.loads(entry["value"]) if entry["value"] else {}
        carried = {key: value.get(key) for key in CARRIED_VALUE_KEYS[column_type]}
        rest = {k: v for k, v in value.items() if k not in carried}
        widened = {"first": 1, **carried, "middle": [2], **rest, "last": {"z": None}}
        raw_value = {**entry, "value": json.dumps(widened)}
        assert _compare_wire([raw_value]), column_type
        entries = encoded_column_values(_STRICT.decode(json.dumps([raw_value])))
        assert not isinstance(entries[entry["id"]], dict), column_type  # the fixer took it


def test_wire_path_matches_reference_on_emulator_items() -> None:
    compared = 0
    for raw in generated_items(seed=9, boards=2, items_per_board=60):
        assert _compare_wire(raw["column_values"])
        compared += 1
    assert compared > 100


def test_per_type_structs_hold_exactly_the_fields_their_builders_and_parsers_read() -> None:
    """One struct per ``ColumnType`` of the schema, each with the typed fields its query fragment selects
    (and the three unselected ones the reference still reads), nothing else."""
    schema = (Path(monday_emulator.__file__).parent / "schema.graphql").read_text()
    enum = re.search(r"enum ColumnType \{([^}]*)\}", schema)
    assert enum is not None
    assert set(TYPED_COLUMN_VALUES) == set(enum.group(1).split())
    for column_type, struct in TYPED_COLUMN_VALUES.items():
        fragment = COLUMN_VALUE_FRAGMENTS.get(column_type, "{ }").partition("{")[2].partition("}")[0]
        selected = {"from_" if f == "from" else f for f in fragment.split()}
        unselected = {"people": {"persons_and_teams"}, "dropdown": {"values"}, "file": {"files"}}
        extra = unselected.get(column_type, set())
        assert set(struct.__struct_fields__) == {"id", "text", "value"} | selected | extra, column_type


def test_dropdown_labels_come_from_the_column_settings_when_given() -> None:
    """A label with a comma survives: ``text`` would split it, the settings name each option exactly."""
    settings = json.dumps({"labels": [{"id": 1, "name": "Red, dark"}, {"id": 2, "name": "Blue"}]})
    labels = {"dropdown_col": dropdown_labels(settings)}
    assert labels == {"dropdown_col": {"1": "Red, dark", "2": "Blue"}}
    raw = [cv("dropdown", "Red, dark, Blue", {"ids": [1, 2]})]
    assert parse_column_values(raw)["dropdown_col"]["labels"] == ["Red", "dark", "Blue"]  # text only
    parsed = parse_column_values(raw, None, labels)["dropdown_col"]
    assert parsed["labels"] == ["Red, dark", "Blue"] and parsed["label_ids"] == ["1", "2"]
    # an option missing from the settings (deleted since): the text stays the source, never a partial list
    partial = parse_column_values([cv("dropdown", "Green", {"ids": [3]})], None, labels)["dropdown_col"]
    assert partial["labels"] == ["Green"]


@pytest.mark.parametrize(
    ("settings_str", "expected"),
    [
        ('{"labels": {"1": "A", "2": "B"}}', {"1": "A", "2": "B"}),
        ('{"labels": [{"id": 5, "name": "E"}, {"name": "no id"}]}', {"5": "E"}),
        ("not json", {}),
        (None, {}),
        ('{"hide_footer": false}', {}),
    ],
)
def test_dropdown_labels_reads_both_settings_shapes(settings_str: str | None, expected: dict) -> None:
    assert dropdown_labels(settings_str) == expected


@pytest.mark.parametrize(
    "text",
    ["1", "-0", "1.5", "9007199254740992", "9007199254740993", "-9007199254740993", "1e400", '"x"', "[]",
     '{"a":{"b":[1,2,{"c":null}]}}', "[[[[[[1]]]]]]", "[[[[[[[1]]]]]]]", "[[[[[[[9007199254740993]]]]]]]",
     '{"k":18446744073709551616}', "true", "nul", "[1,", '{"a":1,"a":2}', '"\\ud800"'],
)  # fmt: skip
def test_one_call_decode_gives_the_two_step_decode_or_declines(text: str) -> None:
    """``_DECODE_SAFE`` either gives exactly what decode + ``_has_unsafe_int`` would accept, or raises and
    the entry takes that two-step path (which then decides as before)."""
    try:
        two_step: Any = _DECODE(text)
    except msgspec.DecodeError:
        two_step = "invalid"
    try:
        one_call: Any = _DECODE_SAFE(text)
    except msgspec.DecodeError:
        return  # declined: the two-step path decides
    assert two_step != "invalid" and not _has_unsafe_int(two_step)
    assert one_call == two_step and json.dumps(one_call) == json.dumps(two_step)


def test_a_null_value_leaves_no_residual_for_any_type() -> None:
    """wire_values skips ``residual_value`` for a null ``value``: it must be None for every type."""
    for column_type in [*PARSERS, *TEXT_ONLY_TYPES, "brand_new_type"]:
        for text in (None, "", "x"):
            assert residual_value(column_type, None, text) is None, column_type
