"""Raw API item -> Singer record, shared by the items and subitems streams.

The record is flat at the root (ids, names, timestamps) so targets make plain columns, and
``column_values`` is ONE object keyed by column id so it loads as a single ``jsonb`` column instead of an
array (``jsonb[]``) that SQL cannot index by column id. See docs/architecture.md "Item record".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tap_monday_boards.column_values import ColumnValueStats, parse_column_values


def _nested_id(raw_item: Mapping[str, Any], key: str) -> str | None:
    """``raw[key]["id"]`` as a string, or None when the relation is null/absent (e.g. no parent item)."""
    nested = raw_item.get(key)
    if not isinstance(nested, Mapping) or nested.get("id") is None:
        return None
    return str(nested["id"])


def item_record(raw_item: Mapping[str, Any], stats: ColumnValueStats | None = None) -> dict[str, Any]:
    """The items/subitems record for one item exactly as ``items(ids:)`` returns it.

    ``_sdc_deleted_at`` is set from ``updated_at`` for deleted items: monday has no deletion timestamp on the
    item, and deleting bumps ``updated_at``, so it is the best available time of the delete.
    ``stats`` (optional) collects unknown/malformed column values for the end-of-stream log.
    """
    group = raw_item.get("group")
    group_id = _nested_id(raw_item, "group")
    group_title = group.get("title") if isinstance(group, Mapping) else None
    state = raw_item.get("state")
    creator = raw_item.get("creator_id")
    return {
        "id": str(raw_item["id"]),
        "board_id": _nested_id(raw_item, "board"),
        "group_id": group_id,
        "group_title": group_title,
        "name": raw_item.get("name"),
        "state": state,
        "created_at": raw_item.get("created_at"),
        "updated_at": raw_item.get("updated_at"),
        "creator_id": None if creator in (None, "") else str(creator),
        "parent_item_id": _nested_id(raw_item, "parent_item"),
        "column_values": parse_column_values(raw_item.get("column_values"), stats),
        "_sdc_deleted_at": raw_item.get("updated_at") if state == "deleted" else None,
    }
