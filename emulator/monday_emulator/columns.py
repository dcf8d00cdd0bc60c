"""Column definitions and column-value rendering.

A column value is produced in two steps: a *raw* Python value (what a user typed: a label, a number, a list
of ids...) and :func:`render_value`, which turns it into the dict ``items { column_values { ... } }`` returns,
with monday's rules for ``text`` (``""`` when empty for most types, ``null`` for mirror/board_relation/
dependency, ``null`` for empty status/dropdown) and ``value`` (a JSON-encoded string; ``null`` for
board_relation, dependency, subtasks, mirror and formula). The generator and the change API share it, so a
changed value looks exactly like a generated one.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TYPENAMES: dict[str, str] = {
    "text": "TextValue",
    "long_text": "LongTextValue",
    "numbers": "NumbersValue",
    "status": "StatusValue",
    "date": "DateValue",
    "timeline": "TimelineValue",
    "people": "PeopleValue",
    "dropdown": "DropdownValue",
    "checkbox": "CheckboxValue",
    "email": "EmailValue",
    "phone": "PhoneValue",
    "link": "LinkValue",
    "location": "LocationValue",
    "tags": "TagsValue",
    "rating": "RatingValue",
    "file": "FileValue",
    "mirror": "MirrorValue",
    "board_relation": "BoardRelationValue",
    "formula": "FormulaValue",
    "dependency": "DependencyValue",
    "subtasks": "SubtasksValue",
}
"""Column type -> GraphQL ``ColumnValue`` implementation."""

MAIN_BOARD_TYPES: tuple[str, ...] = tuple(TYPENAMES)
SUBITEM_BOARD_TYPES: tuple[str, ...] = ("text", "status", "numbers", "date", "people")

COLORS_GROUPS = ("#579bfc", "#fdab3d", "#00c875", "#c4c4c4")
STATUS_LABELS = ("Working on it", "Done", "Stuck", "Waiting for review", "Planned")
DROPDOWN_LABELS = ("Frontend", "Backend", "Design", "Data", "QA", "Ops")
WORDS = (
    "alpha",
    "budget",
    "customer",
    "delivery",
    "estimate",
    "forecast",
    "growth",
    "launch",
    "migration",
    "onboarding",
    "pipeline",
    "quarterly",
    "release",
    "review",
    "roadmap",
    "sprint",
    "vendor",
    "workshop",
)
CITIES = (
    (40.7128, -74.006, "New York, NY, USA"),
    (51.5072, -0.1276, "London, UK"),
    (32.0853, 34.7818, "Tel Aviv, Israel"),
    (48.8566, 2.3522, "Paris, France"),
    (35.6762, 139.6503, "Tokyo, Japan"),
)

# Exclusive upper bound of what a generated date may be: keeps every generated value in the past.
_DATE_BASE = 1_735_689_600  # 2025-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class ColumnDef:
    """One column of a board, as ``Board.columns`` returns it (``as_dict``)."""

    id: str
    title: str
    type: str
    settings: Mapping[str, Any]
    settings_str: str = field(init=False, repr=False, compare=False)
    """``settings`` as monday's JSON string, encoded once: every rendered value carries its column."""
    value_column: dict[str, Any] = field(init=False, repr=False, compare=False)
    """:meth:`as_dict`, made once: the ``column`` of every value rendered for this column (one dict shared by
    them, never changed in place, like the values themselves: fastpath.py)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings_str", json.dumps(dict(self.settings), separators=(",", ":")))
        object.__setattr__(self, "value_column", self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        """The GraphQL ``Column`` object."""
        return {
            "id": self.id,
            "title": self.title,
            "type": self.type,
            "description": None,
            "width": 160,
            "archived": False,
            "settings_str": self.settings_str,
        }


def iso(ts: float) -> str:
    """Epoch seconds -> monday's ``YYYY-MM-DDTHH:MM:SSZ``."""
    # The date part is strftime's, cached per day; the time of day is written out. Every item carries two
    # timestamps of its own, so a cache of whole timestamps missed (strftime + gmtime: an eighth of an
    # item's rendering); the day is shared by hundreds of items. Same text as
    # strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(int(ts))) for every ts (tests/emulator/test_render_shortcuts.py).
    day, rest = divmod(int(ts), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return f"{_day_prefix(day)}{_TWO_DIGITS[hours]}:{_TWO_DIGITS[minutes]}:{_TWO_DIGITS[secs]}Z"


@functools.lru_cache(maxsize=1 << 14)
def _day_prefix(day: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))


def _day(ts: int) -> str:
    return iso(ts)[:10]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _base(column: ColumnDef, text: str | None, value: str | None) -> dict[str, Any]:
    return {
        "__typename": TYPENAMES[column.type],
        "id": column.id,
        "type": column.type,
        "text": text,
        "value": value,
        "column": column.value_column,
    }


Context = Mapping[str, Any]
"""Lookups a renderer may need: ``users`` (id -> name), ``tags`` (id -> name), ``items`` (id -> name)."""


def render_value(column: ColumnDef, raw: Any, changed_at: str, ctx: Context) -> dict[str, Any]:
    """Render the raw value of ``column`` (``None`` = empty) into a ``ColumnValue`` dict."""
    return _RENDERERS[column.type](column, raw, changed_at, ctx)


def _text(c: ColumnDef, raw: Any, _at: str, _ctx: Context) -> dict[str, Any]:
    return _base(c, raw or "", None if raw is None else _dumps(raw))


def _long_text(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    return _base(c, raw or "", None if raw is None else _dumps({"text": raw, "changed_at": at}))


def _numbers(c: ColumnDef, raw: Any, _at: str, _ctx: Context) -> dict[str, Any]:
    if raw is None:
        out = _base(c, "", None)
        out.update(number=None, symbol=None, direction=None)
        return out
    text = f"{raw:g}"
    out = _base(c, text, _dumps(text))
    out.update(number=float(raw), symbol=None, direction=None)
    return out


def _status(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    if raw is None:
        out = _base(c, None, None)
        out.update(index=None, label=None, is_done=None)
        return out
    index = STATUS_LABELS.index(raw)
    out = _base(c, raw, _dumps({"index": index, "post_id": None, "changed_at": at}))
    out.update(index=index, label=raw, is_done=raw == "Done")
    return out


def _date(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    if raw is None:
        out = _base(c, "", None)
        out.update(date=None, time=None)
        return out
    out = _base(c, raw, _dumps({"date": raw, "changed_at": at}))
    out.update(date=raw, time=None)
    return out


def _timeline(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    if raw is None:
        out = _base(c, "", None)
        out.update({"from": None, "to": None})
        return out
    start, end = raw
    out = _base(c, f"{start} - {end}", _dumps({"from": start, "to": end, "changed_at": at}))
    out.update({"from": f"{start}T00:00:00Z", "to": f"{end}T00:00:00Z"})
    return out


def _people(c: ColumnDef, raw: Any, at: str, ctx: Context) -> dict[str, Any]:
    ids: Sequence[str] = raw or ()
    names = ctx.get("users", {})
    value = _dumps({"personsAndTeams": [{"id": int(i), "kind": "person"} for i in ids], "changed_at": at})
    out = _base(c, ", ".join(names.get(i, i) for i in ids), value if ids else None)
    out["persons_and_teams"] = [{"id": i, "kind": "person"} for i in ids]
    return out


def _dropdown(c: ColumnDef, raw: Any, _at: str, _ctx: Context) -> dict[str, Any]:
    ids: Sequence[int] = raw or ()
    labels = [DROPDOWN_LABELS[i - 1] for i in ids]
    out = _base(c, ", ".join(labels) if ids else None, _dumps({"ids": list(ids)}) if ids else None)
    out["values"] = [{"id": str(i), "label": DROPDOWN_LABELS[i - 1]} for i in ids]
    return out


def _checkbox(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    out = _base(c, "v" if raw else "", _dumps({"checked": "true", "changed_at": at}) if raw else None)
    out["checked"] = bool(raw)
    return out


def _email(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    email, label = raw if raw else (None, None)
    value = _dumps({"email": email, "text": label, "changed_at": at}) if raw else None
    out = _base(c, f"{label} <{email}>" if raw else "", value)
    out.update(email=email, label=label)
    return out


def _phone(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    phone, country = raw if raw else (None, None)
    value = _dumps({"phone": phone, "countryShortName": country, "changed_at": at}) if raw else None
    out = _base(c, phone or "", value)
    out.update(phone=phone, country_short_name=country)
    return out


def _link(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    url, label = raw if raw else (None, None)
    value = _dumps({"url": url, "text": label, "changed_at": at}) if raw else None
    out = _base(c, f"{label} - {url}" if raw else "", value)
    out.update(url=url, url_text=label)
    return out


def _location(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    lat, lng, address = raw if raw else (None, None, None)
    value = _dumps({"lat": str(lat), "lng": str(lng), "address": address, "changed_at": at}) if raw else None
    out = _base(c, address or "", value)
    out.update(lat=lat, lng=lng, address=address)
    return out


def _tags(c: ColumnDef, raw: Any, _at: str, ctx: Context) -> dict[str, Any]:
    ids: Sequence[int] = raw or ()
    names = ctx.get("tags", {})
    out = _base(
        c, ", ".join(names.get(i, str(i)) for i in ids), _dumps({"tag_ids": list(ids)}) if ids else None
    )
    out["tag_ids"] = list(ids)
    return out


def _rating(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    value = _dumps({"rating": raw, "changed_at": at}) if raw else None
    out = _base(c, str(raw) if raw else "", value)
    out["rating"] = raw or None
    return out


def asset_url(asset_id: str, name: str) -> str:
    """The ``url`` of an asset (opening it needs the token); a file column's ``text`` lists these."""
    return f"https://files.example.monday.com/resources/{asset_id}/{name}"


def is_image(name: str) -> bool:
    """Whether a file is an image by its name (``FileAssetValue.is_image``; images have a thumbnail)."""
    return name.lower().rsplit(".", 1)[-1] in {"png", "jpg", "jpeg", "gif"}


def _json_text(text: str) -> str:
    """``json.dumps(text)``: quoted as is when json would escape nothing (printable ASCII without ``"`` or
    ``\\``, what generated file names are), else json.dumps itself."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


def _file(c: ColumnDef, raw: Any, at: str, _ctx: Context) -> dict[str, Any]:
    files: Sequence[tuple[str, str, str]] = raw or ()  # (asset_id, name, creator_id)
    urls, entries, assets = [], [], []
    for a, n, u in files:
        image = is_image(n)
        urls.append(asset_url(a, n))
        # _dumps({"files": [{"name": n, "assetId": int(a), "isImage": "true"/"false", "fileType": "ASSET"}]})
        # written out (json.dumps was a third of rendering an item with files; the same text, tested)
        flag = "true" if image else "false"
        entries.append(f'{{"name":{_json_text(n)},"assetId":{int(a)},"isImage":"{flag}","fileType":"ASSET"}}')
        assets.append(
            {
                "__typename": "FileAssetValue",
                "asset_id": a,
                "name": n,
                "is_image": image,
                "created_at": at,
                "creator_id": u,
            }
        )
    value = f'{{"files":[{",".join(entries)}]}}' if files else None
    out = _base(c, ", ".join(urls), value)
    out["files"] = assets
    return out


def _display(c: ColumnDef, raw: Any, _at: str, _ctx: Context) -> dict[str, Any]:
    out = _base(c, None, None)
    out["display_value"] = raw or ""
    return out


def _formula(c: ColumnDef, raw: Any, _at: str, _ctx: Context) -> dict[str, Any]:
    out = _base(c, "", None)
    out["display_value"] = "" if raw is None else str(raw)
    return out


def _linked(c: ColumnDef, raw: Any, _at: str, ctx: Context) -> dict[str, Any]:
    ids: Sequence[str] = raw or ()
    names = ctx.get("items", {})
    out = _base(c, None, None)
    out["display_value"] = ", ".join(names.get(i, f"Item {i}") for i in ids)
    out["linked_item_ids"] = list(ids)
    return out


def _subtasks(c: ColumnDef, raw: Any, _at: str, ctx: Context) -> dict[str, Any]:
    ids: Sequence[str] = raw or ()
    names = ctx.get("items", {})
    out = _base(c, ", ".join(names.get(i, f"Subitem {i}") for i in ids), None)
    out["subitems_ids"] = list(ids)
    return out


_RENDERERS: dict[str, Callable[[ColumnDef, Any, str, Context], dict[str, Any]]] = {
    "text": _text,
    "long_text": _long_text,
    "numbers": _numbers,
    "status": _status,
    "date": _date,
    "timeline": _timeline,
    "people": _people,
    "dropdown": _dropdown,
    "checkbox": _checkbox,
    "email": _email,
    "phone": _phone,
    "link": _link,
    "location": _location,
    "tags": _tags,
    "rating": _rating,
    "file": _file,
    "mirror": _display,
    "board_relation": _linked,
    "formula": _formula,
    "dependency": _linked,
    "subtasks": _subtasks,
}


def random_raw(column_type: str, rng: random.Random, user_ids: Sequence[str], tag_ids: Sequence[int]) -> Any:
    """A plausible raw value for a column type, or ``None`` (about 15% empty). Item-linked types excluded."""
    if rng.random() < 0.15:
        return None
    word = rng.choice(WORDS)
    day = _DATE_BASE - rng.randrange(1, 700) * 86_400
    gen: dict[str, Callable[[], Any]] = {
        "text": lambda: f"{word.title()} {rng.randrange(1000)}",
        "long_text": lambda: f"Notes on the {word} plan: {rng.choice(WORDS)} then {rng.choice(WORDS)}.",
        "numbers": lambda: round(rng.uniform(0, 10_000), rng.choice((0, 2))),
        "status": lambda: rng.choice(STATUS_LABELS),
        "date": lambda: _day(day),
        "timeline": lambda: (_day(day), _day(day + rng.randrange(1, 60) * 86_400)),
        "people": lambda: sorted(rng.sample(list(user_ids), k=min(len(user_ids), rng.randrange(1, 3)))),
        "dropdown": lambda: sorted(rng.sample(range(1, len(DROPDOWN_LABELS) + 1), k=rng.randrange(1, 3))),
        "checkbox": lambda: rng.random() < 0.6,
        "email": lambda: (f"{word}{rng.randrange(100)}@example.com", word.title()),
        "phone": lambda: (f"+1555{rng.randrange(10**6, 10**7)}", "US"),
        "link": lambda: (f"https://example.com/{word}/{rng.randrange(10**4)}", f"{word.title()} page"),
        "location": lambda: rng.choice(CITIES),
        "tags": lambda: sorted(rng.sample(list(tag_ids), k=min(len(tag_ids), rng.randrange(1, 3)))),
        "rating": lambda: rng.randrange(1, 6),
        "file": lambda: [(str(rng.randrange(10**8, 10**9)), f"{word}.pdf", rng.choice(list(user_ids)))],
        "mirror": lambda: f"{rng.choice(STATUS_LABELS)}, {rng.choice(STATUS_LABELS)}",
        "formula": lambda: f"{rng.randrange(10**5)}",
    }
    return gen[column_type]()
