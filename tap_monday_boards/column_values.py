"""Typed parsing of monday.com column values.

monday returns every column value as ``{id, type, text, value}`` where ``value`` is a JSON *string* whose
shape depends on the column type, plus (when the query selects them) typed fields from inline fragments
such as ``StatusValue.label`` or ``BoardRelationValue.linked_item_ids`` (``queries.COLUMN_VALUE_FRAGMENTS``).
Downstream SQL wants real numbers, dates and id lists, so each entry becomes
``{type, text, value, ...typed fields}`` where ``value`` is the parsed JSON minus what ``text`` and the
typed fields already carry (:func:`residual_value`: no value is carried twice).

Rules:
- people and dropdown come from ``value`` JSON (``personsAndTeams``, option ``ids``): their typed fields are
  lists of objects that monday prices x1,000 per item (queries.py); dropdown labels come from the column's
  ``settings_str`` when the caller passes them (:func:`dropdown_labels`), else from ``text``;
- typed fragment fields win over the ``value`` JSON (they are what monday documents as stable; ``value`` is
  null for board_relation/dependency/subtasks since 2025-03, and mirror/formula only have ``display_value``);
- ids (people, teams, tags, linked items, assets, dropdown options) are strings: item ids already exceed 2^32
  and a JSON consumer that uses doubles would corrupt anything above 2^53;
- a value we cannot parse never stops the sync: the entry keeps ``text`` and the raw ``value`` and the problem
  is counted in :class:`ColumnValueStats`, which the stream logs once at the end.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

MAX_SAFE_INTEGER = 2**53
"""Largest integer a JSON consumer using IEEE doubles (JavaScript, many JSON libraries) represents exactly."""


class MalformedValueError(ValueError):
    """A column value whose JSON or typed fields do not have the shape its column type promises."""


@dataclass(slots=True)
class ColumnValueStats:
    """Counts of parsed, unknown-type and malformed column values, logged by the stream at the end.

    Kept per stream (not global) so concurrent streams and tests do not mix their numbers.
    """

    parsed: int = 0
    unknown_types: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)

    @property
    def problems(self) -> int:
        """Number of entries that fell back to ``text`` + raw ``value``."""
        return sum(self.unknown_types.values()) + sum(self.malformed.values())

    def add(self, other: ColumnValueStats) -> None:
        """Count ``other``'s values here too (the engine thread counts apart: items_stream.py)."""
        self.parsed += other.parsed
        self.unknown_types.update(other.unknown_types)
        self.malformed.update(other.malformed)

    def summary(self) -> str:
        """One line for the end-of-stream log: totals and the offending column types."""
        unknown = ", ".join(f"{k}={v}" for k, v in sorted(self.unknown_types.items())) or "none"
        malformed = ", ".join(f"{k}={v}" for k, v in sorted(self.malformed.items())) or "none"
        return f"column values parsed={self.parsed}; unknown types: {unknown}; malformed: {malformed}"


def _safe_int(literal: str) -> int | str:
    """JSON integer hook: integers beyond 2^53 stay strings so no consumer can round them."""
    number = int(literal)
    return number if -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER else literal


_DECODER = json.JSONDecoder(parse_int=_safe_int)
"""Built once: ``json.loads`` with a hook builds a new decoder per call (measurable at 20 values per item)."""


_FAST_DECODER = msgspec.json.Decoder()


def _has_unsafe_int(decoded: Any) -> bool:
    """Whether msgspec's result holds an integer beyond 2^53 (which the stdlib hook would keep a string).

    Checking the decoded value is ~2x cheaper than scanning the text for long digit runs, and exact: only
    integer literals decode to ``int``.
    """
    kind = type(decoded)
    if kind is dict:
        decoded = decoded.values()
    elif kind is not list:
        return kind is int and not -MAX_SAFE_INTEGER <= decoded <= MAX_SAFE_INTEGER
    for item in decoded:
        item_kind = type(item)
        if item_kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return True
        elif (item_kind is dict or item_kind is list) and _has_unsafe_int(item):
            return True
    return False


def parse_value_json(value: Any) -> Any:
    """Decode monday's JSON-string ``value``; non-strings (already decoded, or null) pass through.

    Why two decoders: msgspec is ~3x cheaper than ``json`` per value but has no integer hook, so its result
    is kept only when it holds no integer beyond 2^53; those texts, and anything msgspec rejects (NaN, lone
    surrogates, out-of-range numbers) go to the stdlib decoder, which defines the result.

    Raises:
        MalformedValueError: the string is not valid JSON.
    """
    if not isinstance(value, str):
        return value
    try:
        decoded = _FAST_DECODER.decode(value)
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    else:
        if not _has_unsafe_int(decoded):
            return decoded
    try:
        return _DECODER.decode(value)
    except json.JSONDecodeError as exc:
        raise MalformedValueError(f"value is not valid JSON: {exc.msg}") from exc


def _id(value: Any) -> str:
    """An id as a string (monday sends ids as numbers inside ``value`` JSON, as strings in typed fields)."""
    kind = type(value)
    if kind is int:  # the common cases first: exact int/str types (bool is not int here)
        return str(value)
    if kind is str and value and not value[0].isspace() and not value[-1].isspace():
        return value
    if isinstance(value, bool) or value is None or isinstance(value, float | dict | list):
        raise MalformedValueError(f"not an id: {value!r}")
    text = str(value).strip()
    if not text:
        raise MalformedValueError("empty id")
    return text


def _ids(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise MalformedValueError(f"expected a list of ids, got {type(values).__name__}")
    return [_id(v) for v in values]


def _number(value: Any) -> int | float | None:
    """A finite number from a number, numeric string or empty string/None (-> None)."""
    if type(value) is int:  # exact int (not bool): the most common typed field shape
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise MalformedValueError(f"not a number: {value!r}")
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise MalformedValueError(f"not a number: {value!r}") from exc
    if not math.isfinite(number):
        raise MalformedValueError(f"not a finite number: {value!r}")
    return int(number) if number.is_integer() and abs(number) <= MAX_SAFE_INTEGER else number


def _date(value: Any) -> str | None:
    """``YYYY-MM-DD`` from a date or ISO date-time (timeline ``from``/``to`` are ``Date`` scalars)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) < 10 or value[4] != "-" or value[7] != "-":
        raise MalformedValueError(f"not a date: {value!r}")
    day = value[:10]
    if not (day[:4].isdigit() and day[5:7].isdigit() and day[8:10].isdigit()):
        raise MalformedValueError(f"not a date: {value!r}")
    return day


def _bool(value: Any) -> bool:
    """monday writes checkbox state as ``true`` or ``"true"``; null means unchecked."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise MalformedValueError(f"not a boolean: {value!r}")


def _obj(value: Any) -> Mapping[str, Any]:
    """The decoded ``value`` as a mapping; null means "empty column" and gives an empty mapping."""
    if value is None:
        return {}
    if not (type(value) is dict or isinstance(value, Mapping)):
        raise MalformedValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


Typed = dict[str, Any]
Parser = Callable[[Mapping[str, Any], Any], Typed]


def _status(raw: Mapping[str, Any], value: Any) -> Typed:
    index = raw.get("index", _obj(value).get("index"))
    return {
        "label": raw.get("label", raw.get("text") or None),
        "index": None if index is None else int(_number(index) or 0),
        "is_done": raw.get("is_done"),
    }


def _numbers(raw: Mapping[str, Any], value: Any) -> Typed:
    # value is a JSON string holding a numeric string, e.g. "\"12.5\"" -> "12.5".
    return {"number": _number(raw.get("number", value))}


def _date_col(raw: Mapping[str, Any], value: Any) -> Typed:
    obj = _obj(value)
    day = _date(raw.get("date", obj.get("date")))
    time = raw.get("time", obj.get("time")) or None
    if time is not None and not isinstance(time, str):
        raise MalformedValueError(f"not a time: {time!r}")
    # monday stores date columns with a time in UTC.
    stamp = f"{day}T{time}Z" if day and time else None
    return {"date": day, "time": time, "date_time": stamp}


def _timeline(raw: Mapping[str, Any], value: Any) -> Typed:
    obj = _obj(value)
    return {"from": _date(raw.get("from", obj.get("from"))), "to": _date(raw.get("to", obj.get("to")))}


def _checkbox(raw: Mapping[str, Any], value: Any) -> Typed:
    checked = raw["checked"] if raw.get("checked") is not None else _obj(value).get("checked")
    return {"checked": _bool(checked)}


def _people(raw: Mapping[str, Any], value: Any) -> Typed:
    entries = raw.get("persons_and_teams", _obj(value).get("personsAndTeams")) or []
    if not isinstance(entries, list):
        raise MalformedValueError("persons_and_teams is not a list")
    persons: list[str] = []
    teams: list[str] = []
    for entry in entries:
        if not (type(entry) is dict or isinstance(entry, Mapping)):
            raise MalformedValueError("people entry is not an object")
        (teams if entry.get("kind") == "team" else persons).append(_id(entry.get("id")))
    return {"person_ids": persons, "team_ids": teams}


def _dropdown(raw: Mapping[str, Any], value: Any) -> Typed:
    if "values" in raw and raw["values"] is not None:
        options = raw["values"]
        if not isinstance(options, list) or not all(
            (type(o) is dict or isinstance(o, Mapping)) for o in options
        ):
            raise MalformedValueError("dropdown values is not a list of objects")
        labels = [str(o.get("label")) for o in options]
        return {"labels": labels, "label_ids": [_id(o.get("id")) for o in options]}
    text = raw.get("text") or ""
    labels = [part.strip() for part in text.split(",") if part.strip()]
    return {"labels": labels, "label_ids": _ids(_obj(value).get("ids"))}


def _email(raw: Mapping[str, Any], value: Any) -> Typed:
    obj = _obj(value)
    return {"email": raw.get("email", obj.get("email")), "label": raw.get("label", obj.get("text"))}


def _phone(raw: Mapping[str, Any], value: Any) -> Typed:
    obj = _obj(value)
    return {
        "phone": raw.get("phone", obj.get("phone")),
        "country_short_name": raw.get("country_short_name", obj.get("countryShortName")),
    }


def _link(raw: Mapping[str, Any], value: Any) -> Typed:
    obj = _obj(value)
    return {"url": raw.get("url", obj.get("url")), "url_text": raw.get("url_text", obj.get("text"))}


def _location(raw: Mapping[str, Any], value: Any) -> Typed:
    obj = _obj(value)
    return {
        "lat": _number(raw.get("lat", obj.get("lat"))),
        "lng": _number(raw.get("lng", obj.get("lng"))),
        "address": raw.get("address", obj.get("address")),
    }


def _rating(raw: Mapping[str, Any], value: Any) -> Typed:
    rating = _number(raw.get("rating", _obj(value).get("rating")))
    if rating is not None and not isinstance(rating, int):
        raise MalformedValueError(f"rating is not an integer: {rating!r}")
    return {"rating": rating}


def _tags(raw: Mapping[str, Any], value: Any) -> Typed:
    return {"tag_ids": _ids(raw.get("tag_ids", _obj(value).get("tag_ids")))}


def _file(raw: Mapping[str, Any], value: Any) -> Typed:
    typed = raw.get("files")
    if isinstance(typed, list) and all(
        (type(f) is dict or isinstance(f, Mapping)) and "asset_id" in f for f in typed
    ):
        # FileValue { files { ... on FileAssetValue { asset_id } } } when the query selects it.
        return {"asset_ids": [_id(f["asset_id"]) for f in typed]}
    files = _obj(value).get("files") or []
    if not isinstance(files, list) or not all((type(f) is dict or isinstance(f, Mapping)) for f in files):
        raise MalformedValueError("files is not a list of objects")
    assets = [_id(f["assetId"]) for f in files if f.get("assetId") is not None]
    return {"asset_ids": assets}


def _display(raw: Mapping[str, Any], value: Any) -> Typed:
    return {"display_value": raw.get("display_value")}


def _linked(raw: Mapping[str, Any], value: Any) -> Typed:
    if raw.get("linked_item_ids") is not None:
        linked = _ids(raw["linked_item_ids"])
    else:
        # Pre-2025-03 shape: {"linkedPulseIds": [{"linkedPulseId": 123}]}; null since then.
        pulses = _obj(value).get("linkedPulseIds") or []
        if not isinstance(pulses, list) or not all(
            (type(p) is dict or isinstance(p, Mapping)) for p in pulses
        ):
            raise MalformedValueError("linkedPulseIds is not a list of objects")
        linked = [_id(p.get("linkedPulseId")) for p in pulses]
    return {"display_value": raw.get("display_value"), "linked_item_ids": linked}


def _subtasks(raw: Mapping[str, Any], value: Any) -> Typed:
    if raw.get("subitems_ids") is not None:
        return {"subitem_ids": _ids(raw["subitems_ids"])}
    pulses = _obj(value).get("linkedPulseIds") or []
    if not isinstance(pulses, list) or not all((type(p) is dict or isinstance(p, Mapping)) for p in pulses):
        raise MalformedValueError("linkedPulseIds is not a list of objects")
    return {"subitem_ids": [_id(p.get("linkedPulseId")) for p in pulses]}


PARSERS: dict[str, Parser] = {
    "status": _status,
    "numbers": _numbers,
    "date": _date_col,
    "timeline": _timeline,
    "checkbox": _checkbox,
    "people": _people,
    "dropdown": _dropdown,
    "email": _email,
    "phone": _phone,
    "link": _link,
    "location": _location,
    "rating": _rating,
    "tags": _tags,
    "file": _file,
    "mirror": _display,
    "formula": _display,
    "board_relation": _linked,
    "dependency": _linked,
    "subtasks": _subtasks,
}
"""Column type -> parser of its typed fields. Each parser raises MalformedValueError on a bad shape."""

TEXT_ONLY_TYPES = frozenset(
    {
        "text", "long_text", "name", "color_picker", "country", "hour", "week", "world_clock", "item_id",
        "creation_log", "last_updated", "auto_number", "button", "time_tracking", "vote", "doc", "direct_doc",
        "progress", "integration", "item_assignees", "group", "person", "team", "unsupported",
    }
)  # fmt: skip
"""Known types whose ``text`` + parsed ``value`` are the whole story: not counted as unknown."""

TYPED_FIELDS: dict[str, tuple[str, ...]] = {
    "label": ("string", "null"),
    "index": ("integer", "null"),
    "is_done": ("boolean", "null"),
    "number": ("number", "null"),
    "date": ("string", "null"),
    "time": ("string", "null"),
    "date_time": ("string", "null"),
    "from": ("string", "null"),
    "to": ("string", "null"),
    "checked": ("boolean", "null"),
    "person_ids": ("array", "null"),
    "team_ids": ("array", "null"),
    "labels": ("array", "null"),
    "label_ids": ("array", "null"),
    "email": ("string", "null"),
    "phone": ("string", "null"),
    "country_short_name": ("string", "null"),
    "url": ("string", "null"),
    "url_text": ("string", "null"),
    "lat": ("number", "null"),
    "lng": ("number", "null"),
    "address": ("string", "null"),
    "rating": ("integer", "null"),
    "tag_ids": ("array", "null"),
    "asset_ids": ("array", "null"),
    "display_value": ("string", "null"),
    "linked_item_ids": ("array", "null"),
    "subitem_ids": ("array", "null"),
}
"""Every typed field a parser can emit and its JSON type (arrays hold strings); schemas.py builds on this."""


CARRIED_VALUE_KEYS: dict[str, tuple[str, ...]] = {
    "status": ("index",),
    "date": ("date", "time"),
    "timeline": ("from", "to"),
    "checkbox": ("checked",),
    "people": ("personsAndTeams",),
    "dropdown": ("ids",),
    "email": ("email", "text"),
    "phone": ("phone", "countryShortName"),
    "link": ("url", "text"),
    "location": ("lat", "lng", "address"),
    "rating": ("rating",),
    "tags": ("tag_ids",),
    "board_relation": ("linkedPulseIds",),
    "dependency": ("linkedPulseIds",),
    "subtasks": ("linkedPulseIds",),
}
"""Keys of a parsed entry's ``value`` object that its typed fields already carry (not carried twice)."""

SCALAR_CARRIED_TYPES = frozenset({"numbers"})
"""Types whose scalar ``value`` (``"12.5"``) a typed field (``number``) carries whole."""


def residual_value(col_type: str, value: Any, text: Any, *, owned: bool = False) -> Any:
    """What ``value`` says beyond the entry's ``text`` and typed fields (None when nothing is left).

    Why: every typed field is derived from ``value`` (or from the typed fragment that mirrors it), so
    keeping both carried each value twice in every record, into every target's JSON parser and into the
    warehouse (docs/benchmarks.md: about a tenth of the target's CPU and a quarter of PostgreSQL's). What
    only ``value`` has stays: ``changed_at``, ``post_id``, a location's city, a file's names. Only for an
    entry that parsed: malformed and unknown-type entries keep ``value`` whole. ``owned``: ``value`` was
    decoded for this entry alone, so keys can be dropped in place.
    """
    kind = type(value)
    if kind is dict:
        carried = CARRIED_VALUE_KEYS.get(col_type)
        if col_type == "long_text" and value.get("text") == text:
            carried = ("text",)
        if carried is None:
            return value
        rest = value if owned else dict(value)
        for key in carried:
            rest.pop(key, None)
        return rest or None
    if col_type in SCALAR_CARRIED_TYPES and (kind is str or kind is int or kind is float):
        return None
    if col_type == "text" and kind is str and value == text:
        return None
    return value


def dropdown_labels(settings_str: str | None) -> dict[str, str]:
    """Option id -> label from a dropdown column's ``settings_str``; ``{}`` when it has none or is not JSON.

    monday writes ``{"labels": [{"id": 1, "name": "A"}, ...]}`` (older boards: ``{"labels": {"1": "A"}}``).
    """
    try:
        settings = json.loads(settings_str or "{}")
    except ValueError:
        return {}
    labels = settings.get("labels") if isinstance(settings, dict) else None
    if isinstance(labels, dict):
        return {str(k): str(v) for k, v in labels.items()}
    if isinstance(labels, list):
        options = (o for o in labels if isinstance(o, dict) and "id" in o and "name" in o)
        return {str(o["id"]): str(o["name"]) for o in options}
    return {}


def _relabel(entry: dict[str, Any], labels: Mapping[str, str] | None) -> None:
    """Dropdown labels from the column settings (exact even when a label contains a comma)."""
    ids = entry.get("label_ids")
    if labels and ids and all(i in labels for i in ids):
        entry["labels"] = [labels[i] for i in ids]


def parse_column_value(raw: Mapping[str, Any], stats: ColumnValueStats | None = None) -> dict[str, Any]:
    """One API column value -> ``{type, text, value, ...typed fields}``; never raises on bad data.

    Unknown types and malformed values keep ``text`` and the raw ``value`` (the undecoded string when it is
    not JSON) and are counted in ``stats``.
    """
    col_type = str(raw.get("type") or "")
    text = raw.get("text")
    raw_value = raw.get("value")
    try:
        value = parse_value_json(raw_value)
    except MalformedValueError:
        if stats is not None:
            stats.malformed[col_type or "<none>"] += 1
        return {"type": col_type, "text": text, "value": raw_value}
    entry: dict[str, Any] = {"type": col_type, "text": text, "value": value}
    parser = PARSERS.get(col_type)
    if parser is None:
        if col_type in TEXT_ONLY_TYPES:
            entry["value"] = residual_value(col_type, value, text)
            if stats is not None:
                stats.parsed += 1
        elif stats is not None:
            stats.unknown_types[col_type or "<none>"] += 1
        return entry
    try:
        typed = parser(raw, value)
    except (MalformedValueError, TypeError, ValueError, KeyError):
        if stats is not None:
            stats.malformed[col_type] += 1
        return entry
    entry["value"] = residual_value(col_type, value, text)
    entry.update(typed)
    if stats is not None:
        stats.parsed += 1
    return entry


def parse_column_values(  # noqa: PLR0912, PLR0915 - one hot loop, inlined on purpose (see docstring)
    raw_values: list[Mapping[str, Any]] | None,
    stats: ColumnValueStats | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The item's ``column_values`` list -> ONE object keyed by column id (loads as one ``jsonb``).

    ``labels`` (column id -> option id -> label, from :func:`dropdown_labels`) names dropdown options.

    This runs ~20 times per item and dominated the tap's CPU, so the common path (value decodes, parser
    succeeds) is inlined here with locals bound once; anything unusual goes through
    :func:`parse_column_value`, which defines the result (tests/test_column_values.py checks they agree).
    """
    result: dict[str, dict[str, Any]] = {}
    if not raw_values:
        return result
    parsers = PARSERS
    text_only = TEXT_ONLY_TYPES
    decode = _FAST_DECODER.decode
    unsafe_int = _has_unsafe_int
    residual = residual_value
    parsed = 0
    for raw in raw_values:
        try:  # the query always selects these four; a missing one takes the general path below
            column_id = raw["id"]
            col_type = raw["type"]
            raw_value = raw["value"]
            text = raw["text"]
        except (KeyError, TypeError):
            column_id = col_type = None
        if type(column_id) is not str or type(col_type) is not str:
            if raw.get("id") is None:
                if stats is not None:
                    stats.malformed["<no id>"] += 1
            else:
                result[str(raw["id"])] = parse_column_value(raw, stats)
            continue
        parser = parsers.get(col_type)
        if type(raw_value) is str:
            try:
                value = decode(raw_value)
            except (msgspec.DecodeError, msgspec.ValidationError):
                result[column_id] = parse_column_value(raw, stats)
                continue
            if unsafe_int(value):
                result[column_id] = parse_column_value(raw, stats)
                continue
        elif raw_value is None:
            value = None
        else:  # an already-decoded or odd value: the general path defines what happens
            result[column_id] = parse_column_value(raw, stats)
            continue
        if parser is None:
            if col_type not in text_only:
                result[column_id] = parse_column_value(raw, stats)
                continue
            rest = residual(col_type, value, text, owned=True)
            result[column_id] = {"type": col_type, "text": text, "value": rest}
        else:
            try:
                typed = parser(raw, value)
            except (MalformedValueError, TypeError, ValueError, KeyError):
                if stats is not None:
                    stats.malformed[col_type] += 1
                result[column_id] = {"type": col_type, "text": text, "value": value}
                continue
            rest = residual(col_type, value, text, owned=True)
            result[column_id] = {"type": col_type, "text": text, "value": rest, **typed}
        parsed += 1
    if stats is not None:
        stats.parsed += parsed
    if labels:
        for column_id, options in labels.items():
            entry = result.get(column_id)
            if entry is not None and entry.get("type") == "dropdown":
                _relabel(entry, options)
    return result
