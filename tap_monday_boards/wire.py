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
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

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


class WireItem(_ByKey, msgspec.Struct, gc=False):
    """One item of ``items(ids:)`` with the fields of ``queries.ITEM_SCALAR_FIELDS`` and its column values."""

    id: Id = None
    name: Any = None
    state: Any = None
    created_at: Any = None
    updated_at: Any = None
    creator_id: Any = None
    group: Group | None = None
    board: Ref | None = None
    parent_item: Ref | None = None
    column_values: list[WireColumnValue] | None = None


class ItemsData(msgspec.Struct, gc=False):
    """``data`` of an ``ItemsByIds`` answer."""

    items: list[WireItem | None] | None = None
    complexity: dict[str, Any] | None = None


class ItemsAnswer(msgspec.Struct, gc=False):
    """The whole body; the error fields are only read to send any answer that has them the generic way."""

    data: ItemsData | None = None
    errors: Any = UNSET
    error_code: Any = UNSET
    error_message: Any = UNSET
    extensions: Any = UNSET


RawItem = WireItem | dict[str, Any]
"""What the engine hands over per item: a struct, or a dict when an answer did not fit the structs."""

_DECODER = msgspec.json.Decoder(ItemsAnswer)


def decode_answer(raw: bytes) -> dict[str, Any] | None:
    """``{"data": {"items": [WireItem | None, ...], "complexity": {...}}, "extensions": ...}`` for a plain
    answer with data; None for anything else (the caller decodes that generically)."""
    try:
        answer = _DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
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
