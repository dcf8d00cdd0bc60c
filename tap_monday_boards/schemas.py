"""JSON schemas shared by the streams: the item record and the column-value entry.

Why hand-written dicts rather than ``th.PropertiesList``: ``column_values`` is an object keyed by column *ids*
(unknown until runtime), which needs ``additionalProperties`` with a sub-schema; writing the whole item schema
the same way keeps it in one readable place. Ids are strings (monday ids exceed 2^32 and travel as GraphQL
``ID``); timestamps are ``date-time`` so targets create timestamp columns.
"""

from __future__ import annotations

from typing import Any

from tap_monday_boards.column_values import TYPED_FIELDS


def nullable(json_type: str, **extra: Any) -> dict[str, Any]:
    """A nullable property of ``json_type`` (monday returns null for most fields on some records)."""
    return {"type": [json_type, "null"], **extra}


STRING = nullable("string")
DATE_TIME = nullable("string", format="date-time")
INTEGER = nullable("integer")
BOOLEAN = nullable("boolean")
ID_LIST = {"type": ["array", "null"], "items": {"type": "string"}}


def _typed_field_schema(name: str, types: tuple[str, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": list(types)}
    if "array" in types:
        schema["items"] = {"type": "string"}
    if name in {"date", "from", "to"}:
        schema["format"] = "date"
    if name == "date_time":
        schema["format"] = "date-time"
    return schema


COLUMN_VALUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "text": STRING,
        # ``value`` is monday's column JSON decoded, minus what ``text`` and the typed fields carry (often
        # just ``changed_at``, or null): its shape differs per column type (and stays the raw string when it
        # was not valid JSON), so it is deliberately untyped; typed fields carry meaning.
        "value": {},
        **{name: _typed_field_schema(name, types) for name, types in TYPED_FIELDS.items()},
    },
    "required": ["type", "text", "value"],
    "additionalProperties": False,
}
"""One entry of ``column_values``: ``{type, text, value, ...typed fields of that type}``."""

ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "board_id": STRING,
        "group_id": STRING,
        "group_title": STRING,
        "name": STRING,
        "state": nullable("string", enum=["active", "archived", "deleted", None]),
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        "creator_id": STRING,
        "parent_item_id": STRING,
        "column_values": {
            "type": ["object", "null"],
            "additionalProperties": COLUMN_VALUE_SCHEMA,
        },
        "_sdc_deleted_at": DATE_TIME,
    },
    "required": ["id"],
}
"""The items/subitems record (docs/architecture.md "Item record"); key ``id``, replication ``updated_at``."""

ITEM_COLUMN_VALUE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "board_id": STRING,
        "item_id": {"type": "string"},
        "column_id": {"type": "string"},
        "updated_at": DATE_TIME,
        **{k: v for k, v in COLUMN_VALUE_SCHEMA["properties"].items()},
        "_sdc_deleted_at": DATE_TIME,
    },
    "required": ["item_id", "column_id"],
}
"""The ``item_column_values`` record: one row per (item, column), key ``(item_id, column_id)``; every typed
field is its own column, so SQL can filter on e.g. ``number`` without touching JSON."""
