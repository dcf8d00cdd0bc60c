"""Per-board typed streams: one stream per configured board, one typed property per column.

Why: the ``items`` stream keeps every board in one table with ``column_values`` as ``jsonb``, which is
general but makes every SQL query unpack JSON. A board stream is a staging table shaped like the board:
``numbers`` -> ``numeric``, ``date`` -> ``date``, people -> ``text[]`` of ids... Its records are the same
engine records (``records.item_record``) reshaped by one pure function, :func:`board_record`.

Stability (docs/board_streams.md): property names come from column titles the first time a column is
seen and are remembered through the catalog: each column property's ``description`` names its column id
and type, so a later discovery given that catalog keeps every name (renames do not rename), gives a retyped
column a new ``<title>_<type>`` property and keeps the old property as a retired, always-null one (its
name is never reused, so PostgreSQL never has to change a column's type).

Selection: only columns with a selected property are requested (``column_values(ids: [...])``) and only
the typed fragments of their types are sent; ``column_values`` (jsonb) holds those columns' entries.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from singer_sdk import Tap
from typing_extensions import override

from tap_monday_boards import queries
from tap_monday_boards.column_values import ColumnValueStats
from tap_monday_boards.engine.boards import SUBITEMS_BOARD_TYPE, BoardMeta
from tap_monday_boards.engine.governor import get_governor
from tap_monday_boards.engine.pipeline import ItemsPipeline
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.items_stream import _EngineStream
from tap_monday_boards.naming import ColumnRef, assign_names, stream_name
from tap_monday_boards.records import item_record
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


def columns_query(
    column_types: Sequence[str], item_ids: Sequence[str], column_ids: Sequence[str] | None
) -> Request:
    """The ``items(ids:)`` request a board stream sends for these columns (also used by the benchmarks).

    ``column_ids=None`` (every column of the board is extracted) sends no ``ids`` filter: same answer,
    and a list of every id would only make the document longer and, in monday's cost model, dearer.
    """
    variables: dict[str, Any] = {"ids": list(item_ids), "limit": len(item_ids)}
    if column_ids is not None:
        variables["column_ids"] = list(column_ids)
    query = queries.items_by_ids_query(sorted(set(column_types)), with_column_ids=column_ids is not None)
    return Request("ItemsByIds", query, variables, kind="ItemsByIds", units=len(item_ids))


def selection_cost_requests(
    columns: Sequence[BoardColumn], item_ids: Sequence[str], selected: int = 5
) -> dict[str, Request]:
    """Requests to compare complexity per batch: every column vs. the first ``selected`` columns.

    ``emulator.executor.estimate_cost(r.query, r.variables, r.operation)`` prices each; docs/board_streams.md
    has the numbers for a generated board.
    """
    usable = [c for c in columns if c.column_type not in SKIPPED_COLUMN_TYPES]
    chosen = usable[:selected]
    return {
        "all_columns": columns_query([c.column_type for c in usable], item_ids, None),
        f"{selected}_columns": columns_query(
            [c.column_type for c in chosen], item_ids, [c.column_id for c in chosen]
        ),
    }


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


@dataclass(frozen=True, slots=True)
class BoardInfo:
    """A board as discovery of board streams reads it."""

    board_id: str
    name: str
    board_type: str | None
    columns: tuple[BoardColumn, ...]


async def _fetch_boards(transport: Transport, board_ids: Sequence[str]) -> list[BoardInfo]:
    found: list[BoardInfo] = []
    page = 1
    while True:
        variables = {"ids": list(board_ids), "limit": 100, "page": page}
        request = Request("BoardColumns", queries.BOARD_COLUMNS_QUERY, variables, kind="BoardColumns")
        boards = [b for b in (await transport.send(request)).get("boards") or [] if isinstance(b, dict)]
        for board in boards:
            if board.get("state") == "deleted":
                continue
            columns = tuple(
                BoardColumn(str(c["id"]), str(c.get("title") or ""), str(c.get("type") or ""))
                for c in board.get("columns") or []
                if isinstance(c, dict) and c.get("id") is not None
            )
            found.append(
                BoardInfo(str(board["id"]), str(board.get("name") or ""), board.get("type"), columns)
            )
        if len(boards) < 100:
            return found
        page += 1


def fetch_board_columns(settings: EngineSettings, board_ids: Sequence[str]) -> list[BoardInfo]:
    """The configured boards with their columns, in the configured order (blocking; main thread)."""

    async def run() -> list[BoardInfo]:
        async with Transport(settings, get_governor(settings)) as transport:
            return await _fetch_boards(transport, board_ids)

    by_id = {b.board_id: b for b in asyncio.run(run())}
    return [by_id[str(b)] for b in board_ids if str(b) in by_id]


class BoardItemsStream(_EngineStream):
    """One board's items as a typed table (``board_<name>_<id>``); records from the items engine."""

    def __init__(self, tap: Tap, layout: BoardLayout) -> None:
        self.layout = layout
        self._board_schema = layout.schema()
        super().__init__(tap=tap, schema=self._board_schema, name=layout.stream_name)

    @property  # the engine base class pins ``schema`` to ITEM_SCHEMA as a class attribute
    def schema(self) -> dict[str, Any]:  # type: ignore[override]
        """The board's typed schema (``BoardLayout.schema``)."""
        return self._board_schema

    def extracted_columns(self) -> list[ColumnLayout]:
        """Columns with at least one selected property that the (input) catalog's schema knows.

        A column that appeared after the catalog was made is not extracted: the target only knows the
        catalog's schema; the next discovery adds it.
        """
        known = self.effective_schema.get("properties") or {}
        mask = self.mask
        return [
            c
            for c in self.layout.columns
            if any(name in known and mask[("properties", name)] for name, _ in c.properties)
        ]

    @override
    def column_ids_for(self, board_id: str) -> list[str] | None:
        """Column ids for ``column_values(ids: ...)``; None when every column is extracted (no filter).

        The engine hook ``_EngineStream.column_ids_for`` passes this to ``ItemsPipeline(column_ids=...)``.
        """
        extracted = self.extracted_columns()
        if len(extracted) == len(self.layout.columns):
            return None
        return [c.column_id for c in extracted]

    @override
    def selected_boards(self) -> list[BoardMeta]:
        types = frozenset(c.column_type for c in self.extracted_columns())
        return [BoardMeta(self.layout.board_id, self.layout.board_name, "board", "active", None, types, ())]

    def _records(
        self, pipeline: ItemsPipeline, board_id: str, stats: ColumnValueStats
    ) -> Iterator[dict[str, Any]]:
        columns = self.extracted_columns()
        for raw in pipeline.records(board_id, on_wait=self.flush_output):
            yield board_record(item_record(raw, stats), self.layout, columns)


def discover_board_streams(tap: Tap) -> list[BoardItemsStream]:
    """One stream per board in ``board_ids`` (subitems boards excluded); names remembered from the catalog.

    Raises:
        ValueError: a configured board does not exist or cannot be read (unless ``skip_unreadable_boards``).
    """
    board_ids = [str(b) for b in tap.config.get("board_ids") or []]
    if not board_ids:
        tap.logger.warning("board_streams is on but board_ids is empty: no board streams")
        return []
    boards = fetch_board_columns(EngineSettings.from_config(tap.config), board_ids)
    missing = sorted(set(board_ids) - {b.board_id for b in boards})
    if missing and not tap.config.get("skip_unreadable_boards"):
        raise ValueError(f"board_streams: board(s) {', '.join(missing)} do not exist or cannot be read")
    for board_id in missing:
        tap.logger.warning("board_streams: board %s does not exist or cannot be read: skipped", board_id)
    streams = []
    for board in boards:
        if board.board_type == SUBITEMS_BOARD_TYPE:
            continue
        name = stream_name(board.name, board.board_id)
        entry = tap.input_catalog.get_stream(name) if tap.input_catalog is not None else None
        previous = entry.schema.to_dict() if entry is not None else None
        by_id = tap.config.get("board_stream_names") == "column_id"
        layout = build_layout(board.board_id, board.name, board.columns, previous, by_id=by_id)
        streams.append(BoardItemsStream(tap, layout))
    return streams
