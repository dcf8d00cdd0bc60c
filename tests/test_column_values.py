"""Typed column-value parsing: one case per column type, in the shapes monday returns (monday_api.md §6).

``value`` is a JSON *string* on the wire; typed fragment fields (``label``, ``linked_item_ids``...) come next
to it when the query selects them. Each case checks the typed fields, that nothing was counted as a problem,
and the fallbacks: no typed fields (only ``value``), malformed JSON, null/empty values, ids above 2^53.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tap_monday_boards.column_values import (
    PARSERS,
    TYPED_FIELDS,
    ColumnValueStats,
    parse_column_value,
    parse_column_values,
)

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
    assert entry["value"] == (None if raw["value"] is None else json.loads(raw["value"], parse_int=exact_int))
    for key, want in expected.items():
        assert entry[key] == want, key
    assert stats.parsed == 1
    assert stats.problems == 0


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
