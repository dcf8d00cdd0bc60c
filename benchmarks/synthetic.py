"""Seeded synthetic raw items shaped like ``items(ids:)`` answers, for the in-process writer benchmark.

Why not the emulator's store: the writer benchmark must isolate the tap's emission path (conformance,
message building, serialisation, the write) from any HTTP or generation cost, and must run even while the
emulator changes. The shape follows queries.ITEMS_BY_IDS_QUERY: item scalars plus 20 column values of
the common types with their typed fragment fields, ``value`` as monday's JSON string.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

COLUMN_TYPES: tuple[str, ...] = (
    "status", "status", "numbers", "numbers", "date", "timeline", "checkbox", "people", "dropdown",
    "email", "phone", "link", "location", "tags", "rating", "text", "long_text", "board_relation",
    "mirror", "formula",
)
"""20 columns, the width the brief asks for (about what a real project board has)."""


def _status(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    index = rng.randrange(5)
    label = ["Working on it", "Done", "Stuck", "Waiting", "Planned"][index]
    return label, {"index": index}, {"index": index, "label": label, "is_done": index == 1}


def _numbers(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    number = round(rng.uniform(0, 10_000), 2)
    return str(number), str(number), {"number": number}


def _date(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    day = f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    return day, {"date": day, "time": None}, {"date": day, "time": None}


def _timeline(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    start, end = f"2026-0{rng.randrange(1, 5)}-01", f"2026-0{rng.randrange(5, 10)}-15"
    return f"{start} - {end}", {"from": start, "to": end}, {"from": start, "to": end}


def _checkbox(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    checked = rng.random() < 0.5
    return ("v" if checked else ""), ({"checked": "true"} if checked else None), {"checked": checked}


def _people(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    ids = [rng.randrange(10_000_000, 99_999_999) for _ in range(rng.randrange(1, 3))]
    persons = [{"id": i, "kind": "person"} for i in ids]
    return "Ada Lovelace", {"personsAndTeams": persons}, {"persons_and_teams": [
        {"id": str(i), "kind": "person"} for i in ids]}


def _dropdown(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    option = rng.randrange(1, 9)
    label = f"Option {option}"
    return label, {"ids": [option]}, {"values": [{"id": str(option), "label": label}]}


def _email(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    email = f"user{rng.randrange(10_000)}@example.com"
    return email, {"email": email, "text": email}, {"email": email, "label": email}


def _phone(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    phone = f"+4930{rng.randrange(1_000_000, 9_999_999)}"
    return phone, {"phone": phone, "countryShortName": "DE"}, {"phone": phone, "country_short_name": "DE"}


def _link(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    url = f"https://example.com/doc/{rng.randrange(100_000)}"
    return url, {"url": url, "text": "spec"}, {"url": url, "url_text": "spec"}


def _location(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    lat, lng = round(rng.uniform(-80, 80), 6), round(rng.uniform(-170, 170), 6)
    return "Somewhere 1", {"lat": lat, "lng": lng, "address": "Somewhere 1"}, {
        "lat": lat, "lng": lng, "address": "Somewhere 1"}


def _tags(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    tags = sorted(rng.sample(range(100, 200), 2))
    return "alpha, beta", {"tag_ids": tags}, {"tag_ids": [str(t) for t in tags]}


def _rating(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    rating = rng.randrange(1, 6)
    return str(rating), {"rating": rating}, {"rating": rating}


def _text(rng: random.Random) -> tuple[str, Any, dict[str, Any]]:
    text = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "omega"]) for _ in range(6))
    return text, text, {}


def _relation(rng: random.Random) -> tuple[str | None, Any, dict[str, Any]]:
    linked = [str(rng.randrange(1_000_000_000, 9_999_999_999)) for _ in range(2)]
    return None, None, {"display_value": "Linked A, Linked B", "linked_item_ids": linked}


def _display(rng: random.Random) -> tuple[str | None, Any, dict[str, Any]]:
    return None, None, {"display_value": str(rng.randrange(1000))}


_MAKERS: dict[str, Callable[[random.Random], tuple[str | None, Any, dict[str, Any]]]] = {
    "status": _status, "numbers": _numbers, "date": _date, "timeline": _timeline, "checkbox": _checkbox,
    "people": _people, "dropdown": _dropdown, "email": _email, "phone": _phone, "link": _link,
    "location": _location, "tags": _tags, "rating": _rating, "text": _text, "long_text": _text,
    "board_relation": _relation, "mirror": _display, "formula": _display,
}


def raw_item(item_id: int, rng: random.Random, *, board_id: str = "5000000001") -> dict[str, Any]:
    """One raw item as ``items(ids:)`` with every field returns it (10% are subitems of another item)."""
    columns = []
    for position, column_type in enumerate(COLUMN_TYPES):
        text, value, typed = _MAKERS[column_type](rng)
        columns.append({
            "id": f"{column_type}_{position}",
            "type": column_type,
            "text": text,
            "value": None if value is None else json.dumps(value),
            **typed,
        })
    parent = {"id": str(item_id - 1)} if rng.random() < 0.1 else None
    return {
        "id": str(item_id),
        "name": f"Item {item_id}",
        "state": "active",
        "created_at": "2026-01-05T10:00:00Z",
        "updated_at": f"2026-11-{rng.randrange(1, 28):02d}T12:34:56Z",
        "creator_id": str(rng.randrange(10_000_000, 99_999_999)),
        "group": {"id": "topics", "title": "Topics"},
        "board": {"id": board_id},
        "parent_item": parent,
        "column_values": columns,
    }


def raw_items(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` raw items, the same for the same seed."""
    rng = random.Random(seed)
    return [raw_item(10_000_000_000 + n, rng) for n in range(count)]
