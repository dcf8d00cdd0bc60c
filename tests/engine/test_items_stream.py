"""items/subitems streams through the SDK (real Singer output) against the emulator."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.testing import RunningEmulator

from tap_monday_boards.engine.runtime import THREAD_NAME
from tests.support.insync import (
    ENGINE_STREAMS,
    HARVEST_FIRST_PAGES,
    Messages,
    board_calls,
    records,
    states,
    sync,
)

Factory = Callable[..., RunningEmulator]
TOKEN = "sekret-token-4711"


def _sync(em: RunningEmulator, state: dict[str, Any] | None = None, **config: Any) -> Messages:
    config = {"api_token": TOKEN, "api_url": em.url, "max_concurrency": 4, **config}
    return sync(config, streams=ENGINE_STREAMS, state=state)


def _engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def test_full_sync_items_and_subitems(emulator_factory: Factory, caplog: pytest.LogCaptureFixture) -> None:
    em = emulator_factory(boards=2, items_per_board=300, extra_tokens=(TOKEN,))
    store = em.emulator.store
    with caplog.at_level(logging.INFO):
        messages = _sync(em)
    assert TOKEN not in caplog.text
    items = records(messages, "items")
    boards = store.board_ids()
    assert sorted(r["id"] for r in items) == sorted(str(i) for b in boards for i in store.item_ids(b))
    assert {r["board_id"] for r in items} == {str(b) for b in boards}
    assert all(r["parent_item_id"] is None for r in items)
    truth = store.render_item(items[5]["id"])
    assert truth is not None
    assert (items[5]["name"], items[5]["updated_at"]) == (truth["name"], truth["updated_at"])
    assert isinstance(items[5]["column_values"], dict)

    subitems = records(messages, "subitems")
    sub_boards = [s for s in (store.subitem_board_id(b) for b in boards) if s]
    expected_sub = sorted(str(i) for s in sub_boards for i in store.item_ids(s))
    assert expected_sub, "the emulator generated no subitems"
    assert sorted(r["id"] for r in subitems) == expected_sub
    assert all(r["parent_item_id"] for r in subitems)
    assert {r["board_id"] for r in subitems} <= {str(s) for s in sub_boards}

    partitions = states(messages)[-1]["bookmarks"]["items"]["partitions"]
    by_board = {p["context"]["board_id"]: p["replication_key_value"] for p in partitions}
    for board in boards:
        newest = max(r["updated_at"] for r in items if r["board_id"] == str(board))
        assert by_board[str(board)] == newest
    assert not _engine_threads()


def test_incremental_sync_reads_only_changes_since_bookmark(emulator_factory: Factory) -> None:
    clock = FakeClock()
    em = emulator_factory(boards=1, items_per_board=400, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    board = store.board_ids()[0]
    first = _sync(em, include_subitems=False)
    state = states(first)[-1]
    assert len(records(first, "items")) == len(store.item_ids(board))

    clock.advance(3_600)
    changed = store.item_ids(board)[7]
    store.rename_item(changed, "Renamed by the test")
    second = _sync(em, state=state, include_subitems=False)
    items = records(second, "items")
    assert changed in {r["id"] for r in items}
    assert next(r for r in items if r["id"] == changed)["name"] == "Renamed by the test"
    assert len(items) < 10  # only the change and the look-back window, not the board
    harvests = board_calls(em.emulator.request_log, HARVEST_FIRST_PAGES)
    rule = harvests[-1]["query_params"]["rules"][0]
    assert rule["column_id"] == "__last_updated__"
    assert rule["operator"] == "greater_than_or_equals"
    bookmark = state["bookmarks"]["items"]["partitions"][0]["replication_key_value"]
    assert rule["compare_value"][1] < bookmark  # bookmark minus the 5-minute look-back
    new_bookmark = states(second)[-1]["bookmarks"]["items"]["partitions"][0]["replication_key_value"]
    assert new_bookmark > bookmark


def test_start_date_bounds_the_first_sync(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=300, extra_tokens=(TOKEN,))
    board = em.emulator.store.board_ids()[0]
    all_items = records(_sync(em, include_subitems=False), "items")
    cut = sorted(r["updated_at"] for r in all_items)[200]
    recent = records(_sync(em, include_subitems=False, start_date=cut), "items")
    assert {r["id"] for r in recent} == {r["id"] for r in all_items if r["updated_at"] >= cut}
    assert board


def test_dry_run_record_cap_tears_the_engine_down(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=2, items_per_board=2_000, latency="custom:base=0.01", extra_tokens=(TOKEN,))
    config = {"api_token": TOKEN, "api_url": em.url, "include_subitems": False}
    messages = sync(config, streams=ENGINE_STREAMS, dry_run_record_limit=5)
    assert 1 <= len([m for m in messages if m["type"] == "RECORD"]) <= 10
    assert not _engine_threads()
    assert len(em.emulator.request_log) < 40  # stopped long before 4,000 items were fetched
    _wait_until_server_idle(em)


def _wait_until_server_idle(em: RunningEmulator) -> None:
    """Requests cut off by the teardown are still sleeping in the emulator's latency; let them end before
    the emulator stops (its shutdown otherwise races with those connections; see the report)."""
    deadline = time.monotonic() + 5
    while em.emulator.metrics.snapshot()["in_flight"]:
        assert time.monotonic() < deadline, "emulator requests never finished"
        time.sleep(0.01)
