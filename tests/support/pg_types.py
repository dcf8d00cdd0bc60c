"""The PostgreSQL column types target-postgres creates for a board stream's properties (tests only).

Why in tests/support: only the tests compare a loaded table's ``format_type`` with what a board layout
promises; the tap itself never talks to PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tap_monday_boards.board_layout import BoardLayout

_PG_STRING_FORMATS = {"date": "date", "date-time": "timestamp without time zone", "time": "time"}
_PG_TYPES = {"number": "numeric", "integer": "bigint", "boolean": "boolean", "object": "jsonb"}


def postgres_type(schema: Mapping[str, Any]) -> str:
    """The column type target-postgres creates for a property, as ``pg_catalog.format_type`` shows it."""
    declared = schema.get("type")
    kinds = [declared] if isinstance(declared, str) else [k for k in declared or [] if k != "null"]
    if not kinds:
        return "jsonb"
    kind = kinds[0]
    if kind == "array":
        items = schema.get("items")
        return f"{postgres_type(items)}[]" if isinstance(items, Mapping) and "type" in items else "jsonb"
    if kind == "string":
        return _PG_STRING_FORMATS.get(str(schema.get("format")), "text")
    return _PG_TYPES.get(kind, "text")


def expected_postgres_types(layout: BoardLayout) -> dict[str, str]:
    """Property -> PostgreSQL column type target-postgres creates for this board stream's table.

    For end-to-end tests: compare with ``SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute``
    of the loaded table (target-postgres adds its ``_sdc_*`` metadata columns on top).
    """
    return {name: postgres_type(prop) for name, prop in layout.schema()["properties"].items()}


