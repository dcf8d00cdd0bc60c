"""Incremental items/subitems against the emulator: bookmarks per board, the look-back filter, safe state.

What is proven here, from the emulator's own request log and ground truth (its ``Store``):
- a second sync after changing 50 of 10,000 items fetches about those 50 items, not the board;
- the harvest filter is ``__last_updated__ >= bookmark - look-back``;
- a sync that crashes mid-board leaves that board's bookmark where it was, so a restart from the last STATE
  it emitted still fetches every change;
- every subitem of every extracted item arrives, linked by ``parent_item_id``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from monday_emulator.clock import FakeClock
from monday_emulator.testing import RunningEmulator
from singer_sdk.helpers.types import Context, Record

from tap_monday_boards.items_stream import ItemsStream
from tests.support.insync import (
    ENGINE_STREAMS,
    HARVEST_FIRST_PAGES,
    Messages,
    board_calls,
    emulator_config,
    records,
    run_in_process,
    states,
    sync,
    truth,
)

Factory = Callable[..., RunningEmulator]
TOKEN = "incremental-token-5150"


class _CrashingItems(ItemsStream):
    """``items`` that dies after ``crash_after`` records of ``crash_board`` (a crash mid-board)."""

    STATE_MSG_FREQUENCY = 5  # emit STATE often, so the crash happens after some mid-board STATE messages
    crash_board: ClassVar[str] = ""
    crash_after: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen = 0

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        if row.get("board_id") == self.crash_board:
            self._seen += 1
            if self._seen > self.crash_after:
                raise RuntimeError("simulated crash mid-board")
        return row


def _sync(em: RunningEmulator, state: dict[str, Any] | None = None, **config: Any) -> Messages:
    return sync(emulator_config(em, TOKEN, **config), streams=ENGINE_STREAMS, state=state)


def _bookmarks(state: dict[str, Any], stream: str = "items") -> dict[str, Any]:
    partitions = state.get("bookmarks", {}).get(stream, {}).get("partitions", [])
    return {p["context"]["board_id"]: p.get("replication_key_value") for p in partitions}


def _fetched_ids(em: RunningEmulator, since_request: int) -> list[str]:
    """Every id asked for in ``ItemsByIds`` requests after the first ``since_request`` logged requests."""
    log = em.emulator.request_log[since_request:]
    return [str(i) for r in log if r.operation == "ItemsByIds" for i in (r.variables or {}).get("ids", [])]


def _iso(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def test_second_sync_fetches_only_the_50_changed_of_10000_items(emulator_factory: Factory) -> None:
    clock = FakeClock()
    em = emulator_factory(boards=1, items_per_board=10_000, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    board = store.board_ids()[0]
    first = _sync(em, include_subitems=False)
    assert len(records(first, "items")) == len(store.item_ids(board)) > 9_000
    state = states(first)[-1]
    bookmark = _bookmarks(state)[board]

    clock.advance(3_600)
    rng = random.Random(6)
    changed = rng.sample(store.item_ids(board), 50)
    info = store.board(board)
    assert info is not None
    number_column = next(c["id"] for c in info["columns"] if c["type"] == "numbers")
    for n, item_id in enumerate(changed):
        store.update_column_value(item_id, number_column, 100_000 + n)
        store.rename_item(item_id, f"changed {n}")
    requests_before = len(em.emulator.request_log)

    second = _sync(em, state=state, include_subitems=False)

    fetched = _fetched_ids(em, requests_before)
    overlap = [i for i in fetched if i not in set(changed)]
    # Items updated within the look-back window before the bookmark are read again (at-least-once).
    window_start = _iso(bookmark) - timedelta(minutes=5)
    updated = {i: _iso(truth(store, i)["updated_at"]) for i in store.item_ids(board)}
    in_window = {i for i, moment in updated.items() if window_start <= moment <= _iso(bookmark)}
    assert set(changed) <= set(fetched)
    assert len(fetched) == len(set(fetched)), "an id was fetched twice in one run"
    assert set(overlap) <= in_window, "fetched an item that neither changed nor sits in the look-back window"
    assert 50 <= len(fetched) <= 50 + len(in_window)
    assert len(fetched) <= 75, f"{len(fetched)} ids fetched for 50 changes"
    items = {r["id"]: r for r in records(second, "items")}
    for n, item_id in enumerate(changed):
        record = items[item_id]
        assert record["name"] == f"changed {n}"
        assert record["column_values"][number_column]["number"] == 100_000 + n
        assert record["updated_at"] == truth(store, item_id)["updated_at"]
    harvest = board_calls(em.emulator.request_log[requests_before:], HARVEST_FIRST_PAGES)
    rule = harvest[0]["query_params"]["rules"][0]
    assert (rule["column_id"], rule["operator"]) == ("__last_updated__", "greater_than_or_equals")
    assert _iso(rule["compare_value"][1]) == _iso(bookmark) - timedelta(minutes=5)
    new_bookmark = _bookmarks(states(second)[-1])[board]
    assert new_bookmark == max(truth(store, i)["updated_at"] for i in changed)


def test_restart_after_a_crash_mid_board_still_fetches_every_change(emulator_factory: Factory) -> None:
    clock = FakeClock()
    em = emulator_factory(boards=2, items_per_board=600, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    board_a, board_b = store.board_ids()
    first = _sync(em, include_subitems=False)
    state0 = states(first)[-1]
    old = _bookmarks(state0)

    clock.advance(3_600)
    rng = random.Random(11)
    changed = {b: rng.sample(store.item_ids(b), 30) for b in (board_a, board_b)}
    for board_changes in changed.values():
        for item_id in board_changes:
            clock.advance(1)
            store.rename_item(item_id, f"renamed {item_id}")

    _CrashingItems.crash_board, _CrashingItems.crash_after = board_b, 12
    config, crashing = emulator_config(em, TOKEN), {"items": _CrashingItems}  # only items, crashing mid-board
    crashed, error = run_in_process(config, streams={"items"}, swap=crashing, state=state0)
    assert error is not None, "the simulated crash did not happen"
    crashed_ids = {r["id"] for r in records(crashed, "items")}
    assert set(changed[board_a]) <= crashed_ids, "board A finished before the crash"
    assert not set(changed[board_b]) <= crashed_ids, "the crash came too late to prove anything"
    last = states(crashed)[-1]
    marks = _bookmarks(last)
    # Board A completed: its bookmark advanced. Board B crashed: its bookmark must not have moved, even
    # though STATE messages (with progress markers) were written while it ran.
    assert marks[board_a] == max(truth(store, i)["updated_at"] for i in changed[board_a])
    assert marks[board_b] == old[board_b]
    assert len(states(crashed)) > 3, "no mid-board STATE was written"

    resumed = _sync(em, state=last, include_subitems=False)
    resumed_records = {r["id"]: r for r in records(resumed, "items")}
    assert set(changed[board_b]) <= set(resumed_records)
    for item_id in changed[board_b]:
        assert resumed_records[item_id]["name"] == f"renamed {item_id}"
    done = _bookmarks(states(resumed)[-1])
    assert done[board_b] == max(truth(store, i)["updated_at"] for i in changed[board_b])


def test_every_subitem_arrives_linked_to_its_parent(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=2, items_per_board=300, extra_tokens=(TOKEN,))
    store = em.emulator.store
    messages = _sync(em)
    items = {r["id"]: r for r in records(messages, "items")}
    subitems = {r["id"]: r for r in records(messages, "subitems")}
    expected: dict[str, str] = {}  # subitem id -> parent id, from the parents' subtasks columns
    for item_id, record in items.items():
        for value in record["column_values"].values():
            for sub_id in value.get("subitem_ids") or []:
                expected[sub_id] = item_id
    truth_subs = {
        str(i) for b in store.board_ids() if (s := store.subitem_board_id(b)) for i in store.item_ids(s)
    }
    assert expected, "the emulator generated no subitems"
    assert set(subitems) == truth_subs
    assert set(expected) <= set(subitems)
    for sub_id, parent_id in expected.items():
        assert subitems[sub_id]["parent_item_id"] == parent_id
        assert truth(store, sub_id)["parent_item"]["id"] == parent_id
    # The rest are active subitems of archived/deleted parents: the subitems board still lists them.
    for sub_id in set(subitems) - set(expected):
        parent_id = subitems[sub_id]["parent_item_id"]
        assert parent_id == truth(store, sub_id)["parent_item"]["id"]
        assert parent_id not in items and truth(store, parent_id)["state"] != "active"
