"""Column entries straight from the decoded wire structs (wire.py): the fast path of column_values.py.

Why a second implementation: the engine decodes batch answers into ``wire.WireColumnValue`` structs, and
reading their attributes is cheaper than building a dict per value and calling the reference parsers'
``raw.get``. Each builder below mirrors its reference parser in column_values.py line for line, with the
struct's ``UNSET`` standing for "key absent". The reference defines the result: a builder returns None for
any shape it does not handle, and any exception sends the entry to the reference path too, which then
decides (and counts) exactly as it always did. tests/test_column_values.py checks that both paths give
byte-identical entries and the same problem counts, on emulator items and on every edge case.

Entries of ``wire.StrictColumnValue`` structs have a third form, for the batch loop only
(:func:`encoded_column_values`, below the lax builders): the struct itself becomes the entry, fixed in place,
and msgspec encodes it in C (the same bytes as the dict entry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Union

import msgspec
from msgspec import UNSET

from tap_monday_boards.column_values import (
    CARRIED_VALUE_KEYS,
    MAX_SAFE_INTEGER,
    TEXT_ONLY_TYPES,
    ColumnValueStats,
    MalformedValueError,
    _bool,
    _date,
    _has_unsafe_int,
    _id,
    _ids,
    _number,
    _obj,
    _relabel,
    parse_column_value,
    residual_value,
)
from tap_monday_boards.wire import (
    STRICT_COLUMN_VALUES,
    TYPED_COLUMN_VALUES,
    TypedColumnValue,
    WireColumnValue,
)

Entry = dict[str, Any]
Builder = Callable[[Any, Any, str, Any], Entry | None]
"""(struct, decoded value, column type, text) -> the whole entry, or None for "take the reference path".

The struct is a ``wire.TypedColumnValue`` of the builder's type (it has exactly the typed fields the
builder reads) or a ``wire.WireColumnValue`` (every field), hence ``Any``."""
_DECODE = msgspec.json.Decoder().decode


def _safe_json(depth: int) -> Any:
    """JSON whose integers are within +-2^53, nested at most ``depth`` containers deep, as a msgspec type."""
    safe_int = Annotated[int, msgspec.Meta(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
    nested: Any = Union[None, bool, safe_int, float, str]  # noqa: UP007 - a runtime type, built in a loop
    for _ in range(depth):
        containers = (list.__class_getitem__(nested), dict.__class_getitem__((str, nested)))
        nested = Union[(None, bool, safe_int, float, str, *containers)]
    return nested


_DECODE_SAFE = msgspec.json.Decoder(_safe_json(6)).decode
"""``value`` decoded and checked in one call: what ``_DECODE`` gives when ``_has_unsafe_int`` would pass it.

Why: walking every decoded value in Python for integers beyond 2^53 (which the reference keeps as strings)
cost ~4 us per item (21 values); here msgspec checks them while it decodes. A value it rejects (such an
integer, or deeper than 6 levels) takes the two-step path, which decides exactly as before."""


def _or(value: Any, default: Any) -> Any:
    """``raw.get(key, default)`` for a struct field: the default when the key was absent."""
    return default if value is UNSET else value


_EMPTY: Mapping[str, Any] = {}
"""``_obj(None)``: read only."""


def _mapping(value: Any) -> Mapping[str, Any]:
    """``column_values._obj`` with its two common cases first (raises MalformedValueError the same way)."""
    if type(value) is dict:
        return value
    return _EMPTY if value is None else _obj(value)


def _num(value: Any) -> int | float | None:
    """``column_values._number`` with its common cases first."""
    return value if value is None or type(value) is int else _number(value)


def _status(cv: Any, value: Any, t: str, text: Any) -> Entry:
    obj = _mapping(value)  # evaluated eagerly, as in the reference
    index = cv.index if cv.index is not UNSET else obj.get("index")
    label = cv.label if cv.label is not UNSET else (_or(text, None) or None)
    if type(index) is not int and index is not None:
        index = int(_number(index) or 0)
    done = _or(cv.is_done, None)
    return {"type": t, "text": text, "value": value, "label": label, "index": index, "is_done": done}


def _numbers(cv: Any, value: Any, t: str, text: Any) -> Entry:
    return {"type": t, "text": text, "value": value, "number": _num(_or(cv.number, value))}


def _date_col(cv: Any, value: Any, t: str, text: Any) -> Entry | None:
    obj = _mapping(value)
    day = _date(cv.date if cv.date is not UNSET else obj.get("date"))
    time = (cv.time if cv.time is not UNSET else obj.get("time")) or None
    if time is not None and type(time) is not str:
        return None
    stamp = f"{day}T{time}Z" if day and time else None
    return {"type": t, "text": text, "value": value, "date": day, "time": time, "date_time": stamp}


def _timeline(cv: Any, value: Any, t: str, text: Any) -> Entry:
    obj = _mapping(value)
    start = _date(cv.from_ if cv.from_ is not UNSET else obj.get("from"))
    return {"type": t, "text": text, "value": value, "from": start, "to": _date(_or(cv.to, obj.get("to")))}


def _checkbox(cv: Any, value: Any, t: str, text: Any) -> Entry:
    checked = cv.checked
    if checked is UNSET or checked is None:
        checked = _mapping(value).get("checked")
    checked = checked if type(checked) is bool else _bool(checked)
    return {"type": t, "text": text, "value": value, "checked": checked}


def _people(cv: Any, value: Any, t: str, text: Any) -> Entry | None:
    obj = _mapping(value)
    entries = _or(cv.persons_and_teams, obj.get("personsAndTeams")) or []
    if type(entries) is not list:
        return None
    persons: list[str] = []
    teams: list[str] = []
    for entry in entries:
        if type(entry) is not dict:
            return None
        (teams if entry.get("kind") == "team" else persons).append(_id(entry.get("id")))
    return {"type": t, "text": text, "value": value, "person_ids": persons, "team_ids": teams}


def _dropdown(cv: Any, value: Any, t: str, text: Any) -> Entry | None:
    if cv.values is not UNSET and cv.values is not None:
        return None  # the typed ``values`` list: the reference handles it (the query does not select it)
    labels = [part.strip() for part in (_or(text, None) or "").split(",") if part.strip()]
    ids = _ids(_mapping(value).get("ids"))
    return {"type": t, "text": text, "value": value, "labels": labels, "label_ids": ids}


def _email(cv: Any, value: Any, t: str, text: Any) -> Entry:
    obj = _mapping(value)
    email = cv.email if cv.email is not UNSET else obj.get("email")
    label = cv.label if cv.label is not UNSET else obj.get("text")
    return {"type": t, "text": text, "value": value, "email": email, "label": label}


def _phone(cv: Any, value: Any, t: str, text: Any) -> Entry:
    obj = _mapping(value)
    phone = cv.phone if cv.phone is not UNSET else obj.get("phone")
    country = _or(cv.country_short_name, obj.get("countryShortName"))
    return {"type": t, "text": text, "value": value, "phone": phone, "country_short_name": country}


def _link(cv: Any, value: Any, t: str, text: Any) -> Entry:
    obj = _mapping(value)
    url = cv.url if cv.url is not UNSET else obj.get("url")
    url_text = cv.url_text if cv.url_text is not UNSET else obj.get("text")
    return {"type": t, "text": text, "value": value, "url": url, "url_text": url_text}


def _location(cv: Any, value: Any, t: str, text: Any) -> Entry:
    obj = _mapping(value)
    lat = _num(cv.lat if cv.lat is not UNSET else obj.get("lat"))
    lng = _num(cv.lng if cv.lng is not UNSET else obj.get("lng"))
    address = cv.address if cv.address is not UNSET else obj.get("address")
    return {"type": t, "text": text, "value": value, "lat": lat, "lng": lng, "address": address}


def _rating(cv: Any, value: Any, t: str, text: Any) -> Entry | None:
    obj = _mapping(value)
    rating = _num(cv.rating if cv.rating is not UNSET else obj.get("rating"))
    if rating is not None and type(rating) is not int:
        return None
    return {"type": t, "text": text, "value": value, "rating": rating}


def _tags(cv: Any, value: Any, t: str, text: Any) -> Entry:
    obj = _mapping(value)
    ids = _ids(cv.tag_ids if cv.tag_ids is not UNSET else obj.get("tag_ids"))
    return {"type": t, "text": text, "value": value, "tag_ids": ids}


def _file(cv: Any, value: Any, t: str, text: Any) -> Entry | None:
    if cv.files is not UNSET:
        return None  # the typed ``files`` field: the reference handles it (the query does not select it)
    files = _mapping(value).get("files") or []
    if type(files) is not list or not all(type(f) is dict for f in files):
        return None
    assets = [_id(f["assetId"]) for f in files if f.get("assetId") is not None]
    return {"type": t, "text": text, "value": value, "asset_ids": assets}


def _display(cv: Any, value: Any, t: str, text: Any) -> Entry:
    return {"type": t, "text": text, "value": value, "display_value": _or(cv.display_value, None)}


def _pulse_ids(value: Any) -> list[str] | None:
    """``linkedPulseIds`` of the pre-2025-03 ``value`` shape; None when it is not a list of objects."""
    pulses = _mapping(value).get("linkedPulseIds") or []
    if type(pulses) is not list or not all(type(p) is dict for p in pulses):
        return None
    return [_id(p.get("linkedPulseId")) for p in pulses]


def _linked(cv: Any, value: Any, t: str, text: Any) -> Entry | None:
    linked = cv.linked_item_ids
    ids = _ids(linked) if linked is not UNSET and linked is not None else _pulse_ids(value)
    if ids is None:
        return None
    display = _or(cv.display_value, None)
    return {"type": t, "text": text, "value": value, "display_value": display, "linked_item_ids": ids}


def _subtasks(cv: Any, value: Any, t: str, text: Any) -> Entry | None:
    sub = cv.subitems_ids
    ids = _ids(sub) if sub is not UNSET and sub is not None else _pulse_ids(value)
    return None if ids is None else {"type": t, "text": text, "value": value, "subitem_ids": ids}


BUILDERS: dict[str, Builder] = {
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
"""Column type -> builder; the keys are exactly column_values.PARSERS' (tests check it)."""

_PROBLEMS = (MalformedValueError, TypeError, ValueError, KeyError, AttributeError)
_STRICT_PROBLEMS = (msgspec.DecodeError, *_PROBLEMS)
"""What sends a strict entry to the lax path: any of :data:`_PROBLEMS`, or a ``value`` that
:data:`_DECODE_SAFE` refuses (a ``msgspec.ValidationError`` is a ``DecodeError``)."""

_PLANS: dict[type, tuple[str, Builder | None]] = {
    struct: (column_type, BUILDERS.get(column_type))
    for structs in (TYPED_COLUMN_VALUES, STRICT_COLUMN_VALUES)
    for column_type, struct in structs.items()
}
"""Per-type struct -> (its column type, its builder): one look-up by the entry's class instead of reading
``type`` and looking up the builder (an attribute read that cannot stay specialised when the entries of
one item are of ~20 different classes)."""


# --- strict structs (wire.StrictColumnValue): the entry is the struct itself ----------------------------
# For a consumer that only encodes the record (records.encoded_record): each fixer turns one strict struct
# into its record entry *in place*: ``value`` becomes the residual (column_values.residual_value), the typed
# fields that are derived are set (dates cut to the day, ids as strings, integral floats as integers,
# labels, ids read from ``value``), and the caller sets ``id`` UNSET; msgspec then encodes it as exactly
# the entry the lax builders above give as a dict (field order and names are wire.OUTPUT_FIELDS'). The
# strict decode already checked every field's JSON type, so a fixer checks only what the reference derives
# from: a typed field null where the lax builder reads ``value`` instead, or a ``value`` that is not an
# object (the selected typed fields are always there: a strict struct requires them). Then it returns False
# *before changing anything*, and the entry takes the lax path as a dict (which then decides, and counts,
# as before). tests/test_column_values.py compares the
# encoded entries with the reference parsers' byte for byte.

Fixer = Callable[[Any, Any], bool]
"""(strict struct, its decoded ``value``, owned) -> True when the struct is now its entry (but ``id``)."""

# Each fixer runs once per column of every record (~21 per item): the common shapes take the fewest calls
# and checks (measured per type on captured answers), and every other shape goes where it went before:
# the reference helper (``_number``, ``_id``, ``_date``), which decides and raises exactly as it does there.
# The keys a fixer drops from ``value`` are column_values.CARRIED_VALUE_KEYS' (written out: no loop and no
# look-up per entry; tests/test_column_values.py checks each type with every carried key and one more).

_DAYS: dict[str, str] = {}
"""Date or date-time string -> its day (``column_values._date``) for the strings seen since the cache last
started over.

Why: the same few hundred days come back in every answer (timeline ``from``/``to``, date ``date``), and a
look-up costs a tenth of checking the string again; only strings ``_date`` accepted are kept. Used from the
engine thread (prepared.py) and the main thread: each dict operation is atomic, and an entry lost to a
concurrent ``clear`` only costs one check more."""
_DAYS_LIMIT = 1 << 14
"""At most this many entries (under 3 MB); the cache starts over when full."""


def _day(value: Any) -> str | None:
    """``column_values._date`` (the same result, the same error), remembered in :data:`_DAYS`; callers
    look the cache up first (``_DAYS.get(value) or _day(value)``) and call this on a miss."""
    day = _date(value)
    if day is not None:
        if len(_DAYS) >= _DAYS_LIMIT:
            _DAYS.clear()
        _DAYS[value] = day
    return day


def _f_plain(cv: Any, value: Any) -> bool:
    cv.value = value
    return True


def _f_text(cv: Any, value: Any) -> bool:
    cv.value = None if type(value) is str and value == cv.text else value
    return True


def _f_long_text(cv: Any, value: Any) -> bool:
    if type(value) is dict and value.get("text") == cv.text:
        value.pop("text", None)  # (absent when ``text`` is null)
        value = value or None
    cv.value = value
    return True


def _residual_only(column_type: str) -> Fixer:
    """The fixer of a type whose typed fields are decoded already: ``value`` becomes its residual (one or
    two carried keys: a closure per count, so the keys are cell reads, not a loop)."""
    keys = CARRIED_VALUE_KEYS[column_type]
    if len(keys) == 1:
        (key,) = keys

        def fix(cv: Any, value: Any) -> bool:
            if value is not None:
                if type(value) is not dict:
                    return False
                value.pop(key, None)
                cv.value = value or None
            return True

        return fix
    first, second = keys

    def fix_two(cv: Any, value: Any) -> bool:
        if value is not None:
            if type(value) is not dict:
                return False
            value.pop(first, None)
            value.pop(second, None)
            cv.value = value or None
        return True

    return fix_two


_f_status = _residual_only("status")
_f_email = _residual_only("email")
_f_phone = _residual_only("phone")
_f_link = _residual_only("link")
_f_rating = _residual_only("rating")


def _f_numbers(cv: Any, value: Any) -> bool:
    kind = type(value)
    if value is not None and kind is not str and kind is not int and kind is not float:
        return False
    number = cv.number
    # ``_number`` of a float is the float itself unless it is integral (-> int) or not finite (raises: the
    # lax path decides; ``x - x`` is not 0 only for inf and NaN); the common amounts (12.5) skip the call.
    if type(number) is float and (number.is_integer() or number - number != 0.0):
        cv.number = _number(number)
    cv.value = None
    return True


def _f_date(cv: Any, value: Any) -> bool:
    if value is not None:
        if type(value) is not dict:
            return False
        value.pop("date", None)
        value.pop("time", None)
        value = value or None
    day = cv.date
    day = _DAYS.get(day) or _day(day)
    time = cv.time or None
    cv.value, cv.date, cv.time = value, day, time
    cv.date_time = f"{day}T{time}Z" if day and time else None
    return True


def _f_timeline(cv: Any, value: Any) -> bool:
    if value is not None:
        if type(value) is not dict:
            return False
        value.pop("from", None)
        value.pop("to", None)
        value = value or None
    days = _DAYS
    start, end = cv.from_, cv.to
    start = days.get(start) or _day(start)
    end = days.get(end) or _day(end)
    cv.value, cv.from_, cv.to = value, start, end
    return True


def _f_checkbox(cv: Any, value: Any) -> bool:
    if cv.checked is None:  # null: the lax builder reads ``value``
        return False
    if value is not None:
        if type(value) is not dict:
            return False
        value.pop("checked", None)
        cv.value = value or None
    return True


def _f_people(cv: Any, value: Any) -> bool:
    if cv.persons_and_teams is not UNSET:
        return False
    persons: list[str] = []
    teams: list[str] = []
    if value is not None:
        if type(value) is not dict:
            return False
        entries = value.pop("personsAndTeams", None)
        if entries:
            if type(entries) is not list:
                return False
            for entry in entries:
                if type(entry) is not dict:
                    return False
                ident = entry.get("id")
                ident = str(ident) if type(ident) is int else _id(ident)
                if entry.get("kind") == "team":
                    teams.append(ident)
                else:
                    persons.append(ident)
        value = value or None
    cv.value, cv.person_ids, cv.team_ids = value, persons, teams
    return True


def _f_dropdown(cv: Any, value: Any) -> bool:
    options = cv.values
    if options is not UNSET and options is not None:
        return False
    ids: list[str] = []
    if value is not None:
        if type(value) is not dict:
            return False
        found = value.pop("ids", None)
        if found is not None:
            if type(found) is not list:
                return False
            for i in found:
                ids.append(str(i) if type(i) is int else _id(i))
        value = value or None
    labels: list[str] = []
    text = cv.text
    if text:
        for part in text.split(","):
            label = part.strip()
            if label:
                labels.append(label)
    cv.value, cv.labels, cv.label_ids = value, labels, ids
    return True


def _f_location(cv: Any, value: Any) -> bool:
    lat, lng = cv.lat, cv.lng
    if type(lat) is float and (lat.is_integer() or lat - lat != 0.0):  # (see _f_numbers)
        lat = _number(lat)
    if type(lng) is float and (lng.is_integer() or lng - lng != 0.0):
        lng = _number(lng)
    if value is not None:
        if type(value) is not dict:
            return False
        value.pop("lat", None)
        value.pop("lng", None)
        value.pop("address", None)
        value = value or None
    cv.value, cv.lat, cv.lng = value, lat, lng
    return True


def _f_tags(cv: Any, value: Any) -> bool:
    if value is not None:
        if type(value) is not dict:
            return False
        value.pop("tag_ids", None)
        value = value or None
    ids: list[str] = []
    tag_ids = cv.tag_ids  # [Int!]: ints only, after the strict decode
    if tag_ids:
        for i in tag_ids:
            ids.append(str(i))
    cv.value, cv.tag_ids = value, ids
    return True


def _f_file(cv: Any, value: Any) -> bool:
    if cv.files is not UNSET:
        return False
    assets: list[str] = []
    if value is not None:
        if type(value) is not dict:
            return False
        files = value.get("files")
        if files:
            if type(files) is not list:
                return False
            for f in files:
                if type(f) is not dict:
                    return False
                asset = f.get("assetId")
                if asset is not None:
                    assets.append(str(asset) if type(asset) is int else _id(asset))
    cv.value, cv.asset_ids = value, assets  # a file's ``value`` is carried whole
    return True


def _f_display(cv: Any, value: Any) -> bool:
    cv.value = value  # mirror / formula: ``value`` is carried whole
    return True


def _stripped(ids: list[str]) -> list[str] | None:
    """``[_id(i) for i in ids]`` for the strings of an ``[ID!]`` field (``_id`` of a string is the string
    stripped, and refuses an empty one: None). A loop, not a comprehension: the comprehension's own frame
    cost more than its work on these short lists (Python 3.11)."""
    out: list[str] = []
    for raw in ids:
        stripped = raw.strip()
        if not stripped:
            return None
        out.append(stripped)
    return out


def _f_linked(cv: Any, value: Any) -> bool:
    linked = cv.linked_item_ids
    if linked is None:
        return False
    if linked:  # [ID!]: strings; ``_id`` of a string is the string stripped, and refuses an empty one
        linked = _stripped(linked)
        if linked is None:
            return False
    if value is not None:
        if type(value) is not dict:
            return False
        value.pop("linkedPulseIds", None)  # (board_relation's and dependency's carried key)
        value = value or None
    cv.value, cv.linked_item_ids = value, linked
    return True


def _f_subtasks(cv: Any, value: Any) -> bool:
    sub = cv.subitems_ids
    if sub is None:
        return False
    if sub:
        sub = _stripped(sub)
        if sub is None:
            return False
    if value is not None:
        if type(value) is not dict:
            return False
        value.pop("linkedPulseIds", None)
        value = value or None
    cv.value, cv.subitem_ids, cv.subitems_ids = value, sub, UNSET  # the wire's name is not the entry's
    return True


FIXERS: dict[str, Fixer] = {
    "status": _f_status,
    "numbers": _f_numbers,
    "date": _f_date,
    "timeline": _f_timeline,
    "checkbox": _f_checkbox,
    "people": _f_people,
    "dropdown": _f_dropdown,
    "email": _f_email,
    "phone": _f_phone,
    "link": _f_link,
    "location": _f_location,
    "rating": _f_rating,
    "tags": _f_tags,
    "file": _f_file,
    "mirror": _f_display,
    "formula": _f_display,
    "board_relation": _f_linked,
    "dependency": _f_linked,
    "subtasks": _f_subtasks,
    "text": _f_text,
    "long_text": _f_long_text,
}
"""Column type -> fixer: :data:`BUILDERS`' keys, and the text-only types whose residual is not the whole
``value`` (every other text-only type: :func:`_f_plain`)."""

_FIX_PLANS: dict[type, Fixer] = {
    struct: FIXERS.get(column_type, _f_plain) for column_type, struct in STRICT_COLUMN_VALUES.items()
}


def encoded_column_values(
    values: Sequence[WireColumnValue | TypedColumnValue] | None,
    stats: ColumnValueStats | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """:func:`wire_column_values` for a consumer that only *encodes* the result with msgspec: the entries of
    strict structs are those structs, changed in place (the values are used up: call it once per item);
    any other entry is the dict :func:`wire_column_values` gives. Encoded, the same bytes."""
    result: dict[str, Any] = {}
    if not values:
        return result
    plans = _FIX_PLANS
    decode_safe = _DECODE_SAFE
    declined = 0
    for cv in values:
        raw_value = cv.value
        try:  # a KeyError: not a strict struct; a DecodeError: big integers, deep or invalid JSON
            if plans[type(cv)](cv, None if raw_value is None else decode_safe(raw_value)):
                result[cv.id] = cv
                cv.id = UNSET
                continue
        except _STRICT_PROBLEMS:
            pass
        result.update(_lax_column_values((cv,), stats, None))  # (it counts its entry itself)
        declined += 1
    if stats is not None:
        stats.parsed += len(values) - declined
    if labels:
        _relabel_all(result, labels)
    return result


def _relabel_all(result: dict[str, Any], labels: Mapping[str, Mapping[str, str]]) -> None:
    """Dropdown labels from the column settings, for dict and struct entries alike."""
    for column_id, options in labels.items():
        entry = result.get(column_id)
        if entry is None:
            continue
        if type(entry) is dict:
            if entry.get("type") == "dropdown":
                _relabel(entry, options)
        elif entry.type == "dropdown" and options:  # a strict struct: its type is its class's
            ids = entry.label_ids
            if not ids:
                continue
            named: list[str] = []
            for i in ids:  # (_relabel, as a loop: no generator and comprehension frames per entry)
                if i not in options:
                    break
                named.append(options[i])
            else:
                entry.labels = named


def wire_column_values(
    values: Sequence[WireColumnValue | TypedColumnValue] | None,
    stats: ColumnValueStats | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """An item's wire column values -> ONE object keyed by column id, equal to
    ``column_values.parse_column_values`` on the same values decoded as dicts."""
    if not values:
        return {}
    return _lax_column_values(values, stats, labels)


def _lax_column_values(  # noqa: PLR0912, PLR0915 - one hot loop, inlined on purpose (module docstring)
    values: Sequence[WireColumnValue | TypedColumnValue],
    stats: ColumnValueStats | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """:func:`wire_column_values` for lax (and wide) structs: every field checked here."""
    result: dict[str, dict[str, Any]] = {}
    builders = BUILDERS
    text_only = TEXT_ONLY_TYPES
    decode = _DECODE
    decode_safe = _DECODE_SAFE
    residual = residual_value  # (None for a null value: what it returns for one, without the call)
    parsed = 0
    plans = _PLANS
    for cv in values:
        plan = plans.get(type(cv))
        if plan is None:  # the wide struct: its type is read from the entry
            col_type = cv.type
            if type(col_type) is not str:
                _reference(cv, result, stats)
                continue
            builder = builders.get(col_type)
        else:
            col_type, builder = plan
        column_id, raw_value, text = cv.id, cv.value, cv.text
        if type(column_id) is not str or text is UNSET or raw_value is UNSET:
            _reference(cv, result, stats)
            continue
        if type(raw_value) is str:
            try:
                value = decode_safe(raw_value)
            except msgspec.ValidationError:  # (a DecodeError too: caught first) see _DECODE_SAFE
                try:
                    value = decode(raw_value)
                except msgspec.DecodeError:
                    _reference(cv, result, stats)
                    continue
                if _has_unsafe_int(value):
                    _reference(cv, result, stats)
                    continue
            except msgspec.DecodeError:
                _reference(cv, result, stats)
                continue
        elif raw_value is None:
            value = None
        else:
            _reference(cv, result, stats)
            continue
        if builder is None:
            if col_type not in text_only:
                _reference(cv, result, stats)
                continue
            rest = None if value is None else residual(col_type, value, text, owned=True)
            result[column_id] = {"type": col_type, "text": text, "value": rest}
        else:
            try:
                entry = builder(cv, value, col_type, text)
            except _PROBLEMS:
                entry = None
            if entry is None:
                _reference(cv, result, stats)
                continue
            entry["value"] = None if value is None else residual(col_type, value, text, owned=True)
            result[column_id] = entry
        parsed += 1
    if stats is not None:
        stats.parsed += parsed
    if labels:
        _relabel_all(result, labels)
    return result


def _reference(
    cv: WireColumnValue | TypedColumnValue, result: dict[str, dict[str, Any]], stats: ColumnValueStats | None
) -> None:
    """The reference path for one entry, exactly as ``parse_column_values`` takes it for a dict."""
    raw = cv.as_mapping()
    if raw.get("id") is None:
        if stats is not None:
            stats.malformed["<no id>"] += 1
        return
    result[str(raw["id"])] = parse_column_value(raw, stats)


def file_asset_ids(entries: Mapping[str, Any]) -> list[str]:
    """The asset ids in an item's file column entries, in entry order.

    The entries are dicts, or (``records.encoded_record``) the answer's strict structs, whose type is their
    class's: only a file struct is read, by attribute (asking each struct ``get`` by field name, ~20 per
    item, was ~10 % of an every-stream sync's CPU).
    """
    found: list[str] = []
    for entry in entries.values():
        if type(entry) is dict:
            ids = entry.get("asset_ids")
        elif getattr(entry, "type", None) == "file":
            ids = entry.asset_ids
        else:
            continue
        found += [str(asset_id) for asset_id in ids or ()]
    return found
