"""Typed column values on real emulator items, and the long-format ``item_column_values`` stream.

The expectations below are written from the emulator's ground truth (``Store.render_item``: the item exactly
as ``items(ids:)`` returns it, typed fragments included), independently of column_values.py, so a parser that
drifts from what the API returns fails here.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from monday_emulator.clock import FakeClock
from monday_emulator.testing import RunningEmulator

from tap_monday_boards.items_stream import COLUMN_VALUE_BATCH_ITEMS, ItemColumnValuesStream
from tests.support.insync import InProcessTap, Messages, records, states, sync

Factory = Callable[..., RunningEmulator]
TOKEN = "column-values-token-1618"
Truth = Mapping[str, Any]


def _ids(values: Any) -> list[str]:
    return [str(v) for v in values or []]


def _pids(people: Any) -> list[str]:
    return [str(p["id"]) for p in people or []]


def _day(stamp: Any) -> str | None:
    return stamp[:10] if isinstance(stamp, str) and stamp else None


EXPECTED: dict[str, Callable[[Truth], dict[str, Any]]] = {
    "status": lambda t: {"label": t.get("label"), "index": t.get("index"), "is_done": t.get("is_done")},
    "numbers": lambda t: {"number": t.get("number")},
    "date": lambda t: {"date": t.get("date"), "time": t.get("time")},
    "timeline": lambda t: {"from": _day(t.get("from")), "to": _day(t.get("to"))},
    "checkbox": lambda t: {"checked": bool(t.get("checked"))},
    "people": lambda t: {
        "person_ids": [str(p["id"]) for p in t.get("persons_and_teams") or [] if p["kind"] == "person"],
        "team_ids": [str(p["id"]) for p in t.get("persons_and_teams") or [] if p["kind"] == "team"],
    },
    "dropdown": lambda t: {
        "labels": [v["label"] for v in t.get("values") or []],
        "label_ids": [str(v["id"]) for v in t.get("values") or []],
    },
    "email": lambda t: {"email": t.get("email"), "label": t.get("label")},
    "phone": lambda t: {"phone": t.get("phone"), "country_short_name": t.get("country_short_name")},
    "link": lambda t: {"url": t.get("url"), "url_text": t.get("url_text")},
    "location": lambda t: {"lat": t.get("lat"), "lng": t.get("lng"), "address": t.get("address")},
    "rating": lambda t: {"rating": t.get("rating")},
    "tags": lambda t: {"tag_ids": _ids(t.get("tag_ids"))},
    "file": lambda t: {"asset_ids": [str(f["asset_id"]) for f in t.get("files") or []]},
    "mirror": lambda t: {"display_value": t.get("display_value")},
    "formula": lambda t: {"display_value": t.get("display_value")},
    "board_relation": lambda t: {
        "display_value": t.get("display_value"),
        "linked_item_ids": _ids(t.get("linked_item_ids")),
    },
    "dependency": lambda t: {
        "display_value": t.get("display_value"),
        "linked_item_ids": _ids(t.get("linked_item_ids")),
    },
    "subtasks": lambda t: {"subitem_ids": _ids(t.get("subitems_ids"))},
}
TEXT_ONLY = {"text", "long_text"}

Carries = Callable[[Mapping[str, Any], Any], bool]
CARRIED_BY: dict[str, dict[str, Carries]] = {
    "status": {"index": lambda e, v: e["index"] == v},
    "date": {"date": lambda e, v: e["date"] == v, "time": lambda e, v: e["time"] == (v or None)},
    "timeline": {"from": lambda e, v: e["from"] == _day(v), "to": lambda e, v: e["to"] == _day(v)},
    "checkbox": {"checked": lambda e, v: e["checked"] is (v in (True, "true"))},
    "people": {"personsAndTeams": lambda e, v: sorted(e["person_ids"] + e["team_ids"]) == sorted(_pids(v))},
    "dropdown": {"ids": lambda e, v: e["label_ids"] == _ids(v)},
    "email": {"email": lambda e, v: e["email"] == v, "text": lambda e, v: e["label"] == v},
    "phone": {
        "phone": lambda e, v: e["phone"] == v,
        "countryShortName": lambda e, v: e["country_short_name"] == v,
    },
    "link": {"url": lambda e, v: e["url"] == v, "text": lambda e, v: e["url_text"] == v},
    "location": {
        "lat": lambda e, v: _same(e["lat"], float(v)),
        "lng": lambda e, v: _same(e["lng"], float(v)),
        "address": lambda e, v: e["address"] == v,
    },
    "rating": {"rating": lambda e, v: e["rating"] == v},
    "tags": {"tag_ids": lambda e, v: e["tag_ids"] == _ids(v)},
    "long_text": {"text": lambda e, v: e["text"] == v},
}
"""monday's ``value`` key -> how the entry carries it (``value`` keeps only what nothing else carries)."""
CARRIED_WHOLE: dict[str, Carries] = {
    "numbers": lambda e, v: _same(e["number"], float(v)),
    "text": lambda e, v: e["text"] == v,
}


def _assert_nothing_lost(entry: Mapping[str, Any], decoded: Any, where: tuple[Any, ...]) -> None:
    """Every part of monday's ``value`` is still in ``value`` or carried by ``text`` / a typed field."""
    kept = entry["value"]
    if isinstance(decoded, dict):
        for key, item in decoded.items():
            if isinstance(kept, dict) and key in kept:
                assert kept[key] == item, (*where, key)
            else:
                carries = CARRIED_BY.get(entry["type"], {}).get(key)
                assert carries is not None and carries(entry, item), (*where, key, "lost")
    elif decoded is not None and kept is None:
        assert CARRIED_WHOLE[entry["type"]](entry, decoded), (*where, "lost")
    else:
        assert kept == decoded, where


STREAMS = ("items", "item_column_values")
"""items (+ item_column_values when the setting is on); subitems and the small streams are not needed."""


def _sync(em: RunningEmulator, state: dict[str, Any] | None = None, **config: Any) -> Messages:
    config = {"api_token": TOKEN, "api_url": em.url, "max_concurrency": 4, **config}
    return sync(config, streams=STREAMS, state=state)


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, float | int) and isinstance(want, float | int) and not isinstance(got, bool):
        return math.isclose(got, want)
    return bool(got == want)


def test_every_generated_column_type_parses_to_its_ground_truth(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=3, items_per_board=200, extra_tokens=(TOKEN,))
    store = em.emulator.store
    items = records(_sync(em), "items")
    assert items
    with_value: Counter[str] = Counter()
    for record in items:
        truth = store.render_item(record["id"])
        assert truth is not None
        assert set(record["column_values"]) == {cv["id"] for cv in truth["column_values"]}
        for cv in truth["column_values"]:
            assert cv["type"] in EXPECTED or cv["type"] in TEXT_ONLY, f"no expectation for type {cv['type']}"
            entry = record["column_values"][cv["id"]]
            assert (entry["type"], entry["text"]) == (cv["type"], cv["text"]), (record["id"], cv["id"])
            decoded = None if cv["value"] is None else json.loads(cv["value"])
            _assert_nothing_lost(entry, decoded, (record["id"], cv["id"]))
            typed = {} if cv["type"] in TEXT_ONLY else EXPECTED[cv["type"]](cv)
            if cv["value"] is not None or any(v not in (None, [], "") for v in typed.values()):
                with_value[cv["type"]] += 1
            if cv["type"] in TEXT_ONLY:
                assert set(entry) == {"type", "text", "value"}
                continue
            for field, want in typed.items():
                got = entry.get(field)
                assert _same(got, want), (record["id"], cv["type"], field, got, want)
    # Every type the parser knows must have been met with a value at least once, or this proved little.
    missing = (set(EXPECTED) | TEXT_ONLY) - set(with_value)
    assert not missing, f"column types never generated with a value: {sorted(missing)}"


def test_long_format_rows_match_the_items_and_cost_no_request(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=2, items_per_board=700, extra_tokens=(TOKEN,))
    plain = _sync(em)
    requests_plain = Counter(r.operation for r in em.emulator.request_log)
    logged = len(em.emulator.request_log)
    messages = _sync(em, item_column_values=True)
    requests_long = Counter(r.operation for r in em.emulator.request_log[logged:])

    assert requests_long == requests_plain, "the long format must come from the same fetch"
    items = records(messages, "items")
    assert len(items) == len(records(plain, "items"))
    rows = records(messages, "item_column_values")
    keys = [(r["item_id"], r["column_id"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate (item_id, column_id)"
    by_key = {(r["item_id"], r["column_id"]): r for r in rows}
    assert len(by_key) == sum(len(i["column_values"]) for i in items)
    for item in items:
        for column_id, entry in item["column_values"].items():
            row = by_key[(item["id"], column_id)]
            assert (row["board_id"], row["updated_at"], row["_sdc_deleted_at"]) == (
                item["board_id"],
                item["updated_at"],
                None,
            )
            assert {k: v for k, v in row.items() if k in entry} == entry
    schemas = [m for m in messages if m["type"] == "SCHEMA" and m["stream"] == "item_column_values"]
    batches = len(items) // COLUMN_VALUE_BATCH_ITEMS + 2
    assert 1 <= len(schemas) <= batches, "one child sync per batch of items, not per item"
    assert ItemColumnValuesStream.primary_keys == ["item_id", "column_id"]
    default = InProcessTap(config={"api_token": TOKEN}, streams=STREAMS).streams
    assert "item_column_values" not in {s.name for s in default.values()}


def test_long_format_follows_items_in_incremental_and_complete_runs(emulator_factory: Factory) -> None:
    clock = FakeClock()
    em = emulator_factory(boards=1, items_per_board=300, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    board = store.board_ids()[0]
    first = _sync(em, item_column_values=True, emit_activate_version_messages=True)
    mine = [(n, m) for n, m in enumerate(first) if m.get("stream") == "item_column_values"]
    activations = [(n, m) for n, m in mine if m["type"] == "ACTIVATE_VERSION"]
    assert len(activations) == 1
    rows = [(n, m) for n, m in mine if m["type"] == "RECORD"]
    assert activations[0][0] > rows[-1][0], "ACTIVATE_VERSION must follow the last row"
    assert {m.get("version") for _, m in rows} == {activations[0][1]["version"]}

    clock.advance(3_600)
    deleted = store.item_ids(board)[3]
    store.delete_item(deleted)
    state = states(first)[-1]
    second = _sync(em, state=state, item_column_values=True, emit_activate_version_messages=True)
    assert not [m for m in second if m["type"] == "ACTIVATE_VERSION"], "an incremental run activates nothing"
    changed_rows = records(second, "item_column_values")
    assert {r["item_id"] for r in changed_rows} <= {r["id"] for r in records(second, "items")}
    deleted_rows = [r for r in changed_rows if r["item_id"] == deleted]
    assert deleted_rows, "the deleted item's rows were not re-emitted"
    assert all(r["_sdc_deleted_at"] is not None for r in deleted_rows)


def test_long_format_alone_when_items_is_deselected(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=120, extra_tokens=(TOKEN,))
    config = {"api_token": TOKEN, "api_url": em.url, "item_column_values": True}
    messages = sync(
        {**config, "emit_activate_version_messages": True}, streams=STREAMS, select={"item_column_values"}
    )
    assert not records(messages, "items")
    item_ids = {r["item_id"] for r in records(messages, "item_column_values")}
    assert item_ids == {str(i) for i in em.emulator.store.item_ids(em.emulator.store.board_ids()[0])}
    activated = {m["stream"] for m in messages if m["type"] == "ACTIVATE_VERSION"}
    assert activated == {"item_column_values"}, "no ACTIVATE_VERSION for a stream that sent no records"
