"""Board stream naming: SQL-safe, at most 63 bytes, unique, stable (tap_monday_boards/naming.py)."""

from __future__ import annotations

import random
import re

import pytest

from tap_monday_boards.naming import (
    MAX_IDENTIFIER_BYTES,
    ColumnRef,
    assign_names,
    created_as,
    identifier,
    slug,
    stream_name,
)

SAFE = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED = {"id", "name", "state", "created_at"}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        pytest.param("Deal value", "deal_value", id="words"),
        pytest.param("  Deal -- Value (€)  ", "deal_value", id="punctuation-and-symbols"),
        pytest.param("Größe", "grosse", id="german-sharp-s"),
        pytest.param("Café crème", "cafe_creme", id="accents"),
        pytest.param("Ærøskøbing", "aeroskobing", id="undecomposable-latin"),
        pytest.param("Łódź", "lodz", id="polish"),
        pytest.param("Q3 2026 🚀 target", "q3_2026_target", id="emoji"),
        pytest.param("Статус", None, id="cyrillic"),
        pytest.param("状态", None, id="cjk"),
        pytest.param("\u05e1\u05d8\u05d8\u05d5\u05e1", None, id="hebrew"),
        pytest.param("Status статус", None, id="mixed-scripts"),
        pytest.param("٣ days", None, id="arabic-indic-digit"),
        pytest.param("!!!", None, id="nothing-usable"),
        pytest.param("", None, id="empty"),
    ],
)
def test_slug(title: str, expected: str | None) -> None:
    assert slug(title) == expected


def test_identifier_starts_with_a_letter_and_fits() -> None:
    assert identifier("2026_budget") == "c_2026_budget"
    long = identifier("a_" * 60)
    assert len(long.encode()) <= MAX_IDENTIFIER_BYTES
    assert SAFE.match(long) and not long.endswith("_")


@pytest.mark.parametrize(
    ("board_name", "board_id", "expected"),
    [
        pytest.param("Deals", "1234567890", "board_deals_1234567890", id="plain"),
        pytest.param("Sales — Q3 pipeline!", "42", "board_sales_q3_pipeline_42", id="punctuation"),
        pytest.param("Сделки", "1234567890", "board_1234567890", id="non-latin"),
    ],
)
def test_stream_name(board_name: str, board_id: str, expected: str) -> None:
    assert stream_name(board_name, board_id) == expected


def test_long_board_names_keep_the_id_and_fit() -> None:
    name = stream_name("Quarterly customer onboarding and migration tracker " * 3, "18000000810")
    assert len(name.encode()) <= MAX_IDENTIFIER_BYTES
    assert name.endswith("_18000000810") and SAFE.match(name)
    assert stream_name("Same", "1") != stream_name("Same", "2")


@pytest.mark.parametrize(
    ("column_id", "expected"),
    [
        ("numbers_mk1a2b3c", "numbers"),
        ("status4", "status"),
        ("long_text_mkx9", "long_text"),
        ("board_relation_mkz", "board_relation"),
        ("numeric_mk1a2b3c", None),  # not a type name: says nothing
        ("person", None),
        ("text", "text"),
    ],
)
def test_created_as(column_id: str, expected: str | None) -> None:
    assert created_as(column_id) == expected


def _names(columns: list[ColumnRef], **kwargs: object) -> dict[str, str]:
    assigned = assign_names(columns, reserved=RESERVED, **kwargs)  # type: ignore[arg-type]
    return {column_id: name for (column_id, _), name in assigned.items()}


def test_titles_name_properties_and_collisions_fall_back_to_the_column_id() -> None:
    columns = [
        ColumnRef("status_mk1", "Status", "status"),
        ColumnRef("status_mk2", "status!", "status"),  # same slug as the first
        ColumnRef("text_mk3", "Name", "text"),  # reserved item field
        ColumnRef("text_mk4", "Заметки", "text"),  # non-Latin title
        ColumnRef("numbers_mk5", "Deal value", "numbers"),
    ]
    assert _names(columns) == {
        "status_mk1": "status",
        "status_mk2": "status_mk2",
        "text_mk3": "text_mk3",
        "text_mk4": "text_mk4",
        "numbers_mk5": "deal_value",
    }


def test_long_titles_fit_with_their_suffixes_and_stay_unique_after_truncation() -> None:
    prefix = "Expected delivery window for the enterprise customer rollout phase"
    columns = [
        ColumnRef("timeline_mk1", f"{prefix} one", "timeline", ("_from", "_to")),
        ColumnRef("timeline_mk2", f"{prefix} two", "timeline", ("_from", "_to")),
        ColumnRef("location_mk3", f"{prefix} three", "location", ("_lat", "_lng", "_address")),
    ]
    assigned = assign_names(columns, reserved=RESERVED)
    full = [f"{assigned[(c.column_id, c.column_type)]}{s}" for c in columns for s in c.suffixes]
    assert all(len(n.encode()) <= MAX_IDENTIFIER_BYTES and SAFE.match(n) for n in full), full
    assert len(set(full)) == len(full)
    # the second title truncates to the first one's name, so it falls back to its column id
    assert assigned[("timeline_mk2", "timeline")] == "timeline_mk2"


def test_numeric_tail_when_title_and_id_are_taken() -> None:
    columns = [
        ColumnRef("a", "b", "text"),
        ColumnRef("c", "b", "text"),  # title taken -> its id
        ColumnRef("b", "c", "text"),  # title and id taken -> id + numeric tail
    ]
    assert _names(columns) == {"a": "b", "c": "c", "b": "b_2"}


def test_previous_names_survive_renames_and_retypes_get_a_new_name() -> None:
    first = [ColumnRef("numbers_mk1", "Priority", "numbers"), ColumnRef("text_mk2", "Owner note", "text")]
    before = assign_names(first, reserved=RESERVED)
    later = [
        ColumnRef("numbers_mk1", "Priority", "status"),  # retyped: same id, new type
        ColumnRef("text_mk2", "Remark", "text"),  # renamed
        ColumnRef("text_mk3", "Owner note", "text"),  # a new column takes the old title
    ]
    after = assign_names(later, reserved=RESERVED, previous=before, retired=["priority"])
    assert after[("text_mk2", "text")] == "owner_note"
    assert after[("numbers_mk1", "status")] == "priority_status"
    assert after[("text_mk3", "text")] == "text_mk3"


def test_without_memory_an_id_minted_for_another_type_marks_a_retype() -> None:
    columns = [ColumnRef("numbers_mk1", "Priority", "status"), ColumnRef("status_mk2", "Stage", "status")]
    names = _names(columns)
    assert names == {"numbers_mk1": "priority_status", "status_mk2": "stage"}


def test_assignment_is_deterministic_and_always_unique() -> None:
    rng = random.Random(8)
    words = ["Status", "Owner", "Due date", "Статус", "Owner!", "x" * 70, "Name", "id"]
    types = ["status", "text", "date", "timeline", "location", "numbers"]
    suffixes = {"timeline": ("_from", "_to"), "location": ("_lat", "_lng", "_address")}
    for _ in range(50):
        columns = []
        for n in range(rng.randrange(1, 25)):
            kind = rng.choice(types)
            columns.append(ColumnRef(f"{kind}_mk{n}", rng.choice(words), kind, suffixes.get(kind, ("",))))
        first = assign_names(columns, reserved=RESERVED)
        assert first == assign_names(columns, reserved=RESERVED)
        full = [f"{first[(c.column_id, c.column_type)]}{s}" for c in columns for s in c.suffixes]
        assert len(set(full)) == len(full) and not set(full) & RESERVED
        assert all(len(n.encode()) <= MAX_IDENTIFIER_BYTES and SAFE.match(n) for n in full)


def test_without_memory_a_non_text_column_with_an_opaque_id_carries_its_type() -> None:
    """An id that names no type cannot reveal a later retype, so the type is in the name from the start."""
    before = _names([ColumnRef("deal_amount", "Amount", "numbers", plain_text=False)])
    after = _names([ColumnRef("deal_amount", "Amount", "text")])
    assert before == {"deal_amount": "amount_numbers"}
    assert after == {"deal_amount": "amount"}
    assert before["deal_amount"] != after["deal_amount"]  # a retype never reuses a typed property's name


def test_minted_ids_keep_plain_title_names() -> None:
    names = _names([ColumnRef("numbers_mk9", "Amount", "numbers", plain_text=False)])
    assert names == {"numbers_mk9": "amount"}


def test_names_from_column_ids_survive_renames_without_memory() -> None:
    before = _names([ColumnRef("numbers_mk1", "Amount", "numbers", plain_text=False)], by_id=True)
    after = _names([ColumnRef("numbers_mk1", "Deal size", "numbers", plain_text=False)], by_id=True)
    retyped = _names([ColumnRef("numbers_mk1", "Deal size", "text")], by_id=True)
    assert before == after == {"numbers_mk1": "numbers_mk1"}
    assert retyped == {"numbers_mk1": "numbers_mk1_text"}  # a retype still never reuses the typed name


def test_board_layout_by_column_id_keeps_names_across_a_rename() -> None:
    from tap_monday_boards.board_layout import BoardColumn, build_layout  # noqa: PLC0415

    def props(title: str) -> dict[str, str]:
        layout = build_layout("42", "Deals", [BoardColumn("date4", title, "date")], by_id=True)
        return {name: field for column in layout.columns for name, field in column.properties}

    assert props("Close date") == props("Closing on") == {"date4": "date"}
    by_title = build_layout("42", "Deals", [BoardColumn("date4", "Close date", "date")])
    assert by_title.columns[0].properties == (("close_date", "date"),)
