"""A board stream's layout: which typed property each column becomes, and the record reshaped to it.

Pure (no I/O, no SDK): the same columns and previous schema always give the same names, so discovery, the
stream and the tests share one set of rules. Naming itself (SQL-safe, <= 63 bytes, stable) is naming.py's;
the stream that reads items into this layout is board_streams.py.

Stability (docs/board_streams.md): property names come from column titles the first time a column is
seen and are remembered through the catalog: each column property's ``description`` names its column id
and type, so a later discovery given that catalog keeps every name (renames do not rename), gives a retyped
column a new ``<title>_<type>`` property and keeps the old property as a retired, always-null one (its
name is never reused, so PostgreSQL never has to change a column's type).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tap_monday_boards.naming import ColumnRef, assign_names, stream_name
from tap_monday_boards.schemas import BOOLEAN, DATE_TIME, ID_LIST, INTEGER, ITEM_SCHEMA, STRING, nullable
from tap_monday_boards.schemas import COLUMN_VALUE_SCHEMA as _ENTRY_SCHEMA

DATE = nullable("string", format="date")
NUMBER = nullable("number")
STRING_LIST = ID_LIST  # array of strings -> text[] in PostgreSQL
TEXT = (("", "text", STRING),)

Prop = tuple[str, str, dict[str, Any]]
"""(name suffix, typed field of the parsed column value, JSON schema)."""

COLUMN_PROPERTIES: dict[str, tuple[Prop, ...]] = {
    "numbers": (("", "number", NUMBER),),
    # One rule per column: always a date. The time (when set) stays in column_values.<id>.date_time.
    "date": (("", "date", DATE),),
    "timeline": (("_from", "from", DATE), ("_to", "to", DATE)),
    "checkbox": (("", "checked", BOOLEAN),),
    "status": (("", "label", STRING),),
    "dropdown": (("", "labels", STRING_LIST),),  # labels as text[]: `WHERE 'QA' = ANY(skills)`
    "people": (("", "person_ids", ID_LIST), ("_team_ids", "team_ids", ID_LIST)),
    "rating": (("", "rating", INTEGER),),
    "link": (("", "url", STRING),),
    "email": (("", "email", STRING),),
    "phone": (("", "phone", STRING),),
    "location": (("_lat", "lat", NUMBER), ("_lng", "lng", NUMBER), ("_address", "address", STRING)),
    "tags": (("", "tag_ids", ID_LIST),),
    "file": (("", "asset_ids", ID_LIST),),
    "subtasks": (("", "subitem_ids", ID_LIST),),
    "mirror": (("", "display_value", STRING),),
    "formula": (("", "display_value", STRING),),
    "board_relation": (("", "display_value", STRING),),
    "dependency": (("", "display_value", STRING),),
}
"""Column type -> its properties; any other type (text, long_text, hour, ...) is one text property."""

SKIPPED_COLUMN_TYPES = frozenset({"name"})
"""The ``name`` column is the item's own ``name`` field."""

COLUMN_VALUES = "column_values"
DELETED_AT = "_sdc_deleted_at"
ITEM_PROPERTIES: dict[str, dict[str, Any]] = {
    name: prop for name, prop in ITEM_SCHEMA["properties"].items() if name not in {COLUMN_VALUES, DELETED_AT}
}
"""The item fields of a board stream: those of the items stream (schemas.ITEM_SCHEMA), one source of truth."""
RESERVED_NAMES = frozenset({*ITEM_PROPERTIES, COLUMN_VALUES, DELETED_AT})

_DESCRIPTION = re.compile(r"^monday\.com column (\S+) \(([a-z_]+)\) field ([a-z_]+)")
_RETIRED = ". Retired: the column was removed or retyped; kept (null) so the name is never reused."


def column_properties(column_type: str) -> tuple[Prop, ...]:
    """The properties a column of ``column_type`` produces."""
    return COLUMN_PROPERTIES.get(column_type, TEXT)


def _loads_as_one_text(column_type: str) -> bool:
    """True when the column becomes one text property (text, status, email, mirror, ...)."""
    props = column_properties(column_type)
    return len(props) == 1 and props[0][0] == "" and props[0][2] == STRING


@dataclass(frozen=True, slots=True)
class BoardColumn:
    """One column as discovery reads it (``columns { id title type }``)."""

    column_id: str
    title: str
    column_type: str


@dataclass(frozen=True, slots=True)
class ColumnLayout:
    """One column of a board stream: where its values go."""

    column_id: str
    column_type: str
    title: str
    properties: tuple[tuple[str, str], ...]
    """(property name, typed field) pairs."""


@dataclass(frozen=True, slots=True)
class BoardLayout:
    """A board stream's name and columns; ``retired`` are remembered properties with no column now."""

    board_id: str
    board_name: str
    stream_name: str
    columns: tuple[ColumnLayout, ...]
    retired: Mapping[str, Mapping[str, Any]]

    def schema(self) -> dict[str, Any]:
        """The stream's JSON schema: item fields, typed column properties, ``column_values``, retired ones."""
        props: dict[str, Any] = dict(ITEM_PROPERTIES)
        for column in self.columns:
            schemas = {field: schema for _, field, schema in column_properties(column.column_type)}
            for name, field in column.properties:
                props[name] = {
                    **schemas[field],
                    "title": column.title,
                    "description": describe(column.column_id, column.column_type, field),
                }
        props[COLUMN_VALUES] = {"type": ["object", "null"], "additionalProperties": _ENTRY_SCHEMA}
        props[DELETED_AT] = DATE_TIME
        props.update({name: dict(schema) for name, schema in self.retired.items()})
        return {"type": "object", "properties": props, "required": ["id"]}


def describe(column_id: str, column_type: str, field: str) -> str:
    """A column property's description: for humans, and the memory :func:`remembered_names` reads back."""
    return f"monday.com column {column_id} ({column_type}) field {field}"


def remembered_names(schema: Mapping[str, Any] | None) -> dict[tuple[str, str], dict[str, str]]:
    """(column id, type) -> {field: property name} from an earlier discovery's stream schema."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        match = _DESCRIPTION.match(str(prop.get("description") or ""))
        if match:
            found.setdefault((match.group(1), match.group(2)), {})[match.group(3)] = name
    return found


def _base_of(names: Mapping[str, str], column_type: str) -> str | None:
    for suffix, field, _ in column_properties(column_type):
        name = names.get(field)
        if name is not None and name.endswith(suffix):
            return name[: len(name) - len(suffix)] if suffix else name
    return None


def build_layout(
    board_id: str,
    board_name: str,
    columns: Sequence[BoardColumn],
    previous: Mapping[str, Any] | None = None,
    *,
    by_id: bool = False,
) -> BoardLayout:
    """The board stream's layout; ``previous`` is the stream's schema from an earlier catalog (or None).

    ``by_id`` names properties from column ids rather than titles (``board_stream_names: column_id``).

    Pure: the same columns and previous schema always give the same names (tests rely on it).
    """
    usable = [c for c in columns if c.column_type not in SKIPPED_COLUMN_TYPES]
    remembered = remembered_names(previous)
    current = {(c.column_id, c.column_type) for c in usable}
    old_props = (previous or {}).get("properties") or {}
    retired = {
        name: {**old_props[name], "description": old_props[name]["description"].split(_RETIRED)[0] + _RETIRED}
        for key, names in remembered.items()
        if key not in current
        for name in names.values()
    }
    bases = {key: base for key, names in remembered.items() if (base := _base_of(names, key[1])) is not None}
    refs = [
        ColumnRef(
            c.column_id,
            c.title,
            c.column_type,
            tuple(s for s, _, _ in column_properties(c.column_type)),
            plain_text=_loads_as_one_text(c.column_type),
        )
        for c in usable
    ]
    names = assign_names(refs, reserved=RESERVED_NAMES, previous=bases, retired=retired, by_id=by_id)
    layouts = tuple(
        ColumnLayout(
            c.column_id,
            c.column_type,
            c.title,
            tuple(
                (f"{names[(c.column_id, c.column_type)]}{suffix}", field)
                for suffix, field, _ in column_properties(c.column_type)
            ),
        )
        for c in usable
    )
    return BoardLayout(str(board_id), board_name, stream_name(board_name, str(board_id)), layouts, retired)


def board_record(
    record: Mapping[str, Any], layout: BoardLayout, columns: Sequence[ColumnLayout] | None = None
) -> dict[str, Any]:
    """An ``items`` record (``records.item_record``) -> the board stream's record.

    ``columns`` are the columns extracted (default: all); the others' properties are absent and
    ``column_values`` keeps only their entries. A value whose ``type`` is not the column's type in the
    layout (the column was retyped after discovery) gives null, never a value of the wrong type: the raw
    entry stays in ``column_values``. Retired properties are always null.
    """
    chosen = layout.columns if columns is None else columns
    values = record.get(COLUMN_VALUES) or {}
    out: dict[str, Any] = {name: record.get(name) for name in ITEM_PROPERTIES}
    for column in chosen:
        entry = values.get(column.column_id)
        typed = entry if isinstance(entry, Mapping) and entry.get("type") == column.column_type else {}
        for name, field in column.properties:
            out[name] = typed.get(field)
    wanted = {c.column_id for c in chosen}
    out[COLUMN_VALUES] = {k: v for k, v in values.items() if k in wanted}
    out[DELETED_AT] = record.get(DELETED_AT)
    out.update(dict.fromkeys(layout.retired))
    return out


