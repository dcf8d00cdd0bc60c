"""The ``ItemsByIds`` answer as typed msgspec structs, decoded straight from the response bytes.

Why: decoding a 100-item batch into dicts was a quarter of the tap's CPU, and every decoded dict stayed
tracked by Python's cyclic garbage collector while it waited in the engine's queues. Decoding into structs
is cheaper (no key strings, no dicts), the structs are not tracked (``gc=False``: they hold no cycles), and
``records.item_record`` reads their attributes directly. The field names are the GraphQL names the detail
query selects (queries.py); a typed fragment field the query did not select stays :data:`msgspec.UNSET`, so
"absent" and "null" differ exactly as they do in a decoded dict.

Only the happy path is typed: :func:`decode_answer` returns None for any body that is not a plain answer
with ``data`` (GraphQL errors, legacy error envelopes, a shape the structs reject), and the transport then
decodes it generically and classifies it as before (errors.classify stays the one classifier).

Column values are decoded as a tagged union on ``type``: one small struct per column type of monday's
``ColumnType`` enum (:data:`COLUMN_TYPES`), holding ``id text value`` and only the typed fragment fields the
query selects for that type. Why: one struct with every fragment's field (29) cost more to decode than a
generic decode into dicts, since every entry had all of them filled with defaults (12.3 vs 17.5 us per
item on captured 100-item answers). An answer with a column type the enum did not have (monday adds types)
is decoded with the one wide struct (:class:`WireColumnValue`, as before), so it stays on the fast path.

Before those, an answer is decoded with *strict* per-type structs (:class:`StrictColumnValue`: each field of
its schema type, fields in the record entry's order), which the batch loop turns into the record entries
themselves (wire_values.encoded_column_values); an answer they do not fit takes the lax structs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, Union

import msgspec
from msgspec import UNSET, UnsetType

from tap_monday_boards.queries import COLUMN_VALUE_FRAGMENTS

Id = str | int | None


class _ByKey:
    """Read access by GraphQL field name, like the dict a generic decode gives (tests and tools index raw
    items by key; the record path reads attributes). An absent field raises KeyError / gives ``default``."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, _ATTRIBUTE.get(key, key), UNSET)
        if value is UNSET or key.startswith("_"):
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """``dict.get`` for a field name."""
        try:
            return self[key]
        except (KeyError, AttributeError):
            return default


_ATTRIBUTE = {"from": "from_"}


class Ref(_ByKey, msgspec.Struct, gc=False):
    """``board { id }`` / ``parent_item { id }``."""

    id: Id = None


class Group(_ByKey, msgspec.Struct, gc=False):
    """``group { id title }``."""

    id: Id = None
    title: Any = None


class WireColumnValue(_ByKey, msgspec.Struct, gc=False):
    """One ``column_values`` entry: ``id type text value`` and every typed fragment field (UNSET if absent).

    ``value`` is monday's JSON *string*; column_values.py decodes it. ``from`` is a Python keyword, hence
    ``from_``.
    """

    id: Any = UNSET
    type: Any = UNSET
    text: Any = UNSET
    value: Any = UNSET
    index: Any = UNSET
    label: Any = UNSET
    is_done: Any = UNSET
    number: Any = UNSET
    date: Any = UNSET
    time: Any = UNSET
    from_: Any = msgspec.field(default=UNSET, name="from")
    to: Any = UNSET
    checked: Any = UNSET
    email: Any = UNSET
    phone: Any = UNSET
    country_short_name: Any = UNSET
    url: Any = UNSET
    url_text: Any = UNSET
    lat: Any = UNSET
    lng: Any = UNSET
    address: Any = UNSET
    tag_ids: Any = UNSET
    rating: Any = UNSET
    display_value: Any = UNSET
    linked_item_ids: Any = UNSET
    subitems_ids: Any = UNSET
    persons_and_teams: Any = UNSET
    values: Any = UNSET
    files: Any = UNSET

    def as_mapping(self) -> dict[str, Any]:
        """The entry as the dict a generic decode would give (absent fields left out), for the reference
        parsers in column_values.py."""
        out = {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}
        if "from_" in out:
            out["from"] = out.pop("from_")
        return out


class TypedColumnValue(_ByKey, msgspec.Struct, gc=False, tag_field="type"):
    """Base of the per-type column value structs: ``id text value``; ``type`` is the class's tag.

    Reads like :class:`WireColumnValue` (``cv.type``, ``cv.<typed field>`` for the fields of its type, by
    name with ``cv["..."]``); a field its type does not have is absent, as in the decoded dict.
    """

    type: ClassVar[str]
    id: Any = UNSET
    text: Any = UNSET
    value: Any = UNSET

    def as_mapping(self) -> dict[str, Any]:
        """The entry as the dict a generic decode would give (absent fields left out)."""
        out = {"id": self.id, "type": self.type}
        out.update((f, v) for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET)
        if out["id"] is UNSET:
            del out["id"]
        if "from_" in out:
            out["from"] = out.pop("from_")
        return out


COLUMN_TYPES = (
    "auto_number", "board_relation", "button", "checkbox", "color_picker", "country", "creation_log", "date",
    "dependency", "doc", "dropdown", "email", "file", "formula", "group", "hour", "integration",
    "item_assignees", "item_id", "last_updated", "link", "location", "long_text", "mirror", "numbers",
    "people", "phone", "progress", "rating", "status", "tags", "team", "text", "timeline", "time_tracking",
    "vote", "week", "world_clock", "unsupported", "name", "person", "direct_doc", "subtasks",
)  # fmt: skip
"""monday's ``ColumnType`` enum (API 2026-10, emulator/monday_emulator/schema.graphql): one struct each."""

_READ_UNSELECTED = {"people": ("persons_and_teams",), "dropdown": ("values",), "file": ("files",)}
"""Typed fields the query no longer selects but the reference parsers still read when an answer has them."""


def _fragment_fields(column_type: str) -> tuple[str, ...]:
    """The typed fields ``queries.COLUMN_VALUE_FRAGMENTS`` selects for a type (``from`` as ``from_``)."""
    fragment = COLUMN_VALUE_FRAGMENTS.get(column_type, "")
    names = fragment.partition("{")[2].partition("}")[0].split()
    return tuple("from_" if n == "from" else n for n in names) + _READ_UNSELECTED.get(column_type, ())


def _typed_struct(column_type: str) -> type[TypedColumnValue]:
    fields = [
        (name, Any, msgspec.field(default=UNSET, name="from") if name == "from_" else UNSET)
        for name in _fragment_fields(column_type)
    ]
    return _tagged_struct(TypedColumnValue, "ColumnValue_", column_type, fields)


_S = TypeVar("_S", bound=msgspec.Struct)


def _tagged_struct(
    base: type[_S], prefix: str, column_type: str, fields: list[Any], **options: Any
) -> type[_S]:
    """A subclass of ``base`` for one column type: tagged by the type (the answer's ``type`` picks it in a
    union), no GC tracking, and ``type`` readable as a class attribute."""
    made = msgspec.defstruct(
        prefix + column_type,
        fields,
        bases=(base,),
        tag=column_type,
        gc=False,
        namespace={"type": column_type},
        **options,
    )
    assert issubclass(made, base)
    return made


TYPED_COLUMN_VALUES: dict[str, type[TypedColumnValue]] = {t: _typed_struct(t) for t in COLUMN_TYPES}
"""Column type -> its struct."""
if TYPE_CHECKING:
    ColumnValue = TypedColumnValue
else:
    ColumnValue = Union[tuple(TYPED_COLUMN_VALUES.values())]  # noqa: UP007 - built from a tuple
"""The tagged union the column values of an answer decode into (for the type checker: their base)."""


class StrictColumnValue(TypedColumnValue, gc=False, kw_only=True):
    """Base of the *strict* per-type structs: ``id`` a string, ``text`` and ``value`` strings or null, and
    each typed field the query's fragment selects of the JSON type monday's schema gives it
    (:data:`STRICT_FIELD_TYPES`); all of them present.

    Why: an entry that decodes into one of these has, field by field, the shapes the reference parsers take
    without a second look, so ``wire_values`` builds its entry with no per-field checks in Python (the
    checks run in msgspec's C while the answer is decoded: about half of building an item's entries). An
    answer where any entry does not fit is decoded with the lax structs (:class:`TypedColumnValue`) as before.
    """

    id: str
    text: str | None
    value: str | None


_FLOAT = int | float | None
"""A GraphQL ``Float``: a JSON number (an integer literal stays ``int``, as in a generic decode)."""

STRICT_FIELD_TYPES: dict[str, Any] = {
    "index": int | None, "label": str | None, "is_done": bool | None, "number": _FLOAT,
    "date": str | None, "time": str | None, "from_": str | None, "to": str | None, "checked": bool | None,
    "email": str | None, "phone": str | None, "country_short_name": str | None, "url": str | None,
    "url_text": str | None, "lat": _FLOAT, "lng": _FLOAT, "address": str | None,
    "tag_ids": list[int] | None, "rating": int | None, "display_value": str | None,
    "linked_item_ids": list[str] | None, "subitems_ids": list[str] | None,
}  # fmt: skip
"""Typed fragment field -> its type in monday's schema (emulator/monday_emulator/schema.graphql: ``Int``,
``String``, ``Boolean``, ``Float``, ``Date``, ``[Int!]``, ``[ID!]``), nullable; unselected fields stay Any."""


OUTPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("label", "index", "is_done"),
    "numbers": ("number",),
    "date": ("date", "time", "date_time"),
    "timeline": ("from_", "to"),
    "checkbox": ("checked",),
    "people": ("person_ids", "team_ids"),
    "dropdown": ("labels", "label_ids"),
    "email": ("email", "label"),
    "phone": ("phone", "country_short_name"),
    "link": ("url", "url_text"),
    "location": ("lat", "lng", "address"),
    "rating": ("rating",),
    "tags": ("tag_ids",),
    "file": ("asset_ids",),
    "mirror": ("display_value",),
    "formula": ("display_value",),
    "board_relation": ("display_value", "linked_item_ids"),
    "dependency": ("display_value", "linked_item_ids"),
    "subtasks": ("subitem_ids",),
}
"""Column type -> the typed fields of its record entry, in the entry's order (column_values.py's parsers;
``from`` as ``from_``): a strict struct declares them in this order, right after ``id text value``."""


def _strict_struct(column_type: str) -> type[StrictColumnValue]:
    """The strict struct of a type: ``id text value``, the entry's typed fields in its order (those the
    fragment selects typed as in the schema, the derived ones UNSET until set), then the fragment's other
    fields. Encoded with ``id`` and the wire-only fields UNSET, it is the type's record entry."""
    present = _fragment_fields(column_type)
    unselected = _READ_UNSELECTED.get(column_type, ())
    output = OUTPUT_FIELDS.get(column_type, ())
    names = [*output, *(name for name in present if name not in output)]
    fields: list[tuple[str, Any, Any]] = []
    for name in names:
        wire_name = "from" if name == "from_" else name
        if name in present and name not in unselected:  # selected by the query: required, of its type
            fields.append((name, STRICT_FIELD_TYPES[name], msgspec.field(name=wire_name)))
        else:  # derived for the entry (set by wire_values), or not selected: absent until set
            fields.append((name, Any | UnsetType, msgspec.field(default=UNSET, name=wire_name)))
    return _tagged_struct(StrictColumnValue, "StrictColumnValue_", column_type, fields, kw_only=True)


STRICT_COLUMN_VALUES: dict[str, type[StrictColumnValue]] = {t: _strict_struct(t) for t in COLUMN_TYPES}
"""Column type -> its strict struct (the same fields as its :data:`TYPED_COLUMN_VALUES` struct)."""
if TYPE_CHECKING:
    StrictValue = StrictColumnValue
else:
    StrictValue = Union[tuple(STRICT_COLUMN_VALUES.values())]  # noqa: UP007 - built from a tuple


class WireItem(_ByKey, msgspec.Struct, gc=False):
    """One item of ``items(ids:)`` with the fields of ``queries.ITEM_SCALAR_FIELDS`` and its column values
    (:class:`TypedColumnValue` structs; :class:`WireColumnValue` in a :class:`WideWireItem`)."""

    id: Id = None
    name: Any = None
    state: Any = None
    created_at: Any = None
    updated_at: Any = None
    creator_id: Any = None
    group: Group | None = None
    board: Ref | None = None
    parent_item: Ref | None = None
    column_values: list[ColumnValue] | None = None


class StrictWireItem(WireItem, gc=False):
    """An item of an answer whose every column value fits its strict struct (:class:`StrictColumnValue`)."""

    column_values: list[StrictValue] | None = None  # type: ignore[assignment]


class WideWireItem(WireItem, gc=False):
    """An item of an answer with a column type :data:`COLUMN_TYPES` lacks: every entry one wide struct."""

    column_values: list[WireColumnValue] | None = None  # type: ignore[assignment]


class ItemsData(msgspec.Struct, gc=False):
    """``data`` of an ``ItemsByIds`` answer."""

    items: list[WireItem | None] | None = None
    complexity: dict[str, Any] | None = None


class StrictItemsData(msgspec.Struct, gc=False):
    """``data`` of an answer decoded with :class:`StrictWireItem`."""

    items: list[StrictWireItem | None] | None = None
    complexity: dict[str, Any] | None = None


class WideItemsData(msgspec.Struct, gc=False):
    """``data`` of an answer decoded with :class:`WideWireItem`."""

    items: list[WideWireItem | None] | None = None
    complexity: dict[str, Any] | None = None


class _Envelope(msgspec.Struct, gc=False):
    """The body's fields besides ``data``; the error fields are only read to send any answer that has them
    the generic way."""

    errors: Any = UNSET
    error_code: Any = UNSET
    error_message: Any = UNSET
    extensions: Any = UNSET


class ItemsAnswer(_Envelope, gc=False):
    """The whole body."""

    data: ItemsData | None = None


class StrictItemsAnswer(_Envelope, gc=False):
    """:class:`ItemsAnswer` with :class:`StrictWireItem` items."""

    data: StrictItemsData | None = None


class WideItemsAnswer(_Envelope, gc=False):
    """:class:`ItemsAnswer` with :class:`WideWireItem` items."""

    data: WideItemsData | None = None


RawItem = WireItem | dict[str, Any]
"""What the engine hands over per item: a struct, or a dict when an answer did not fit the structs."""

_STRICT_DECODER = msgspec.json.Decoder(StrictItemsAnswer)
_DECODER = msgspec.json.Decoder(ItemsAnswer)
_WIDE_DECODER = msgspec.json.Decoder(WideItemsAnswer)
_DECODERS = (_STRICT_DECODER.decode, _DECODER.decode, _WIDE_DECODER.decode)


def decode_answer(raw: bytes) -> dict[str, Any] | None:
    """``{"data": {"items": [WireItem | None, ...], "complexity": {...}}, "extensions": ...}`` for a plain
    answer with data; None for anything else (the caller decodes that generically).

    The strict per-type structs first; an answer they do not fit (a field of another JSON type than the
    schema's, an absent ``id``/``text``/``value``) with the lax per-type structs; an answer those do not fit
    (a column type :data:`COLUMN_TYPES` lacks, a ``type`` that is not a string) with the wide struct; then
    None."""
    answer: StrictItemsAnswer | ItemsAnswer | WideItemsAnswer | None = None
    for decode in _DECODERS:
        try:
            answer = decode(raw)
        except msgspec.ValidationError:  # (a DecodeError too: caught first) valid JSON of another shape
            continue
        except msgspec.DecodeError:
            return None
        break
    if answer is None:
        return None
    data = answer.data
    if data is None or not _unset(answer.errors, answer.error_code, answer.error_message):
        return None
    body: dict[str, Any] = {"data": {"items": data.items, "complexity": data.complexity}}
    if answer.extensions is not UNSET:
        body["extensions"] = answer.extensions
    return body


def _unset(*values: Any | UnsetType) -> bool:
    return all(value is UNSET for value in values)


def as_dict(item: RawItem) -> dict[str, Any]:
    """A raw item as the dict a generic decode gives (absent typed fields left out), e.g. for tests."""
    if isinstance(item, WireItem):
        built: dict[str, Any] = msgspec.to_builtins(item)
        return built
    return item


def item_id(item: RawItem) -> str:
    """The id of a raw item (a struct from :func:`decode_answer` or a decoded dict) as a string."""
    return str(item.id if isinstance(item, WireItem) else item.get("id"))
