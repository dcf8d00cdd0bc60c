"""A whole sync on the engine: few requests for many boards, complete paging, exact per-board state.

Real syncs of the tap (in-process, every stream or a few selected) against the emulator over loopback; the
emulator's request log says what was asked and its store what must arrive.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.resolvers import board_updates
from monday_emulator.testing import RunningEmulator

from tap_monday_boards import streams
from tap_monday_boards.engine.boardlists import BoardListReader
from tap_monday_boards.queries import BOARD_UPDATES_LIST
from tests.support.insync import (
    ACTIVITY_LOGS,
    HARVEST_FIRST_PAGES,
    Messages,
    board_calls,
    records,
    states,
    sync,
)

Factory = Callable[..., RunningEmulator]
TOKEN = "account-sync-token-5150"


def _sync(
    em: RunningEmulator, select: set[str] | None = None, state: dict[str, Any] | None = None, **config: Any
) -> Messages:
    """Sync in-process with ``select`` streams selected (None: every stream)."""
    return sync({"api_url": em.url, "api_token": TOKEN, **config}, select=select, state=state)


def _operations(em: RunningEmulator, since: int = 0) -> Counter[str]:
    return Counter(str(r.operation) for r in em.emulator.request_log[since:])


def test_a_whole_sync_of_many_boards_is_a_few_requests_and_every_record(emulator_factory: Factory) -> None:
    """40 boards, every stream: each per-board list, first harvest page and partial batch is shared by
    many boards; nothing is asked once per board; every record the emulator holds arrives once."""
    em = emulator_factory(boards=40, items_per_board=20, extra_tokens=(TOKEN,))
    store = em.emulator.store
    boards = store.board_ids()
    messages = _sync(em, board_ids=boards, update_replies=True)  # the opt-in stream too

    asked = _operations(em)
    assert asked["Boards"] == 1  # one listing for the boards stream and the items engine
    assert asked["BoardUpdatesBatch"] == 1 and asked["BoardActivityLogsBatch"] == math.ceil(40 / 20)
    assert asked["HarvestFirstPages"] == 2  # the items' boards, the subitems' boards
    assert not {"BoardUpdates", "BoardActivityLogs", "HarvestFirstPage"} & set(asked), asked  # none per board
    assert asked["BoardsMeta"] == 1  # the subitems boards, which board_ids does not list
    items = {b: store.item_ids(b) for b in boards}
    subitems = {b: store.item_ids(s) for b in boards if (s := store.subitem_board_id(b))}
    total_items = sum(len(v) for v in items.values())
    total_subitems = sum(len(v) for v in subitems.values())
    assert asked["ItemsByIds"] == math.ceil(total_items / 100) + math.ceil(total_subitems / 100)
    assert asked["BoardViewsBatch"] == 1 and "BoardViews" not in asked
    updates_total = sum(len(board_updates(store, store.board_obj(b))) for b in boards)
    assert asked["UpdateReplies"] == math.ceil(updates_total / 100)  # by update ids, across boards
    assert sum(asked.values()) < len(boards), asked  # every stream of 40 boards: fewer requests than boards

    emitted = [r["id"] for r in records(messages, "items")]
    assert sorted(emitted) == sorted(i for ids in items.values() for i in ids)  # each once
    assert sorted(r["id"] for r in records(messages, "subitems")) == sorted(
        i for ids in subitems.values() for i in ids
    )
    updates = records(messages, "updates")
    for board in boards:
        expected = [u["id"] for u in board_updates(store, store.board_obj(board))]
        assert [u["id"] for u in updates if u["board_id"] == board] == expected  # in monday's order
    assert {r["id"] for r in records(messages, "boards")} == set(boards)
    assert len(records(messages, "groups")) == sum(len(store.board(b)["groups"]) for b in boards)
    assert len(records(messages, "users")) == len(store.account.users)


def test_paging_stays_complete_and_next_pages_share_requests(
    emulator_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 7 updates over boards of 20, 4 and 8: a full page means more pages for that board (the next
    two at once, then four...), a short page is its last; pages of different boards share requests, and
    every update arrives once, in order (2 requests, not 6)."""
    monkeypatch.setattr(streams.UpdatesStream, "page_size", 7)
    em = emulator_factory(boards=3, items_per_board=[100, 20, 40], extra_tokens=(TOKEN,))
    store = em.emulator.store
    messages = _sync(em, {"updates"}, board_ids=store.board_ids())
    updates = records(messages, "updates")
    for board in store.board_ids():
        expected = [u["id"] for u in board_updates(store, store.board_obj(board))]
        assert [u["id"] for u in updates if u["board_id"] == board] == expected
    calls = board_calls(em.emulator.request_log, ("BoardUpdatesBatch",))
    first, second, third = (b for b in store.board_ids())
    pages = [(c["board_id"], c["page"]) for c in calls]
    # the third board's page 3 is asked speculatively and comes back empty: dropped
    assert pages == [(first, 1), (second, 1), (third, 1), (first, 2), (first, 3), (third, 2), (third, 3)]
    assert _operations(em)["BoardUpdatesBatch"] == 2


def test_a_long_list_takes_log2_of_its_pages_in_round_trips(
    emulator_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 updates in pages of 10: 20 pages in 5 round trips (1, 2, 4, 8, 16 pages), each once, in order."""
    monkeypatch.setattr(streams.UpdatesStream, "page_size", 10)
    em = emulator_factory(boards=1, items_per_board=1_000, extra_tokens=(TOKEN,))
    store = em.emulator.store
    (board,) = store.board_ids()
    messages = _sync(em, {"updates"}, board_ids=[board])
    expected = [u["id"] for u in board_updates(store, store.board_obj(board))]
    assert len(expected) == 200
    assert [u["id"] for u in records(messages, "updates")] == expected
    assert _operations(em)["BoardUpdatesBatch"] == 5


def test_activity_logs_of_many_boards_each_from_its_own_bookmark(emulator_factory: Factory) -> None:
    """Incremental: two boards with different bookmarks share one request, each asked from its bookmark
    minus the look-back (so its last entry comes again); each board's state moves to its own newest entry."""
    clock = FakeClock()
    em = emulator_factory(boards=2, items_per_board=30, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    first, second = store.board_ids()
    store.rename_item(store.item_ids(first)[0], "early")
    clock.advance(3_600)
    store.rename_item(store.item_ids(second)[0], "later")
    state = states(_sync(em, {"board_activity_logs"}, board_ids=[first, second]))[-1]

    clock.advance(3_600)
    store.rename_item(store.item_ids(first)[1], "next for the first board")
    before = len(em.emulator.request_log)
    messages = _sync(em, {"board_activity_logs"}, state=state, board_ids=[first, second])

    calls = board_calls(em.emulator.request_log[before:], ACTIVITY_LOGS)
    assert _operations(em, before)["BoardActivityLogsBatch"] == 1
    asked = {c["board_id"]: c["from"] for c in calls}
    assert set(asked) == {first, second} and asked[first] < asked[second]
    emitted = records(messages, "board_activity_logs")
    # each board's entries since its own bookmark minus the look-back (its last entry is read again)
    assert Counter(r["board_id"] for r in emitted) == {first: 2, second: 1}
    newest = max(r["created_at_ts"] for r in emitted if r["board_id"] == first)
    bookmarks = {
        p["context"]["board_id"]: p["replication_key_value"]
        for p in states(messages)[-1]["bookmarks"]["board_activity_logs"]["partitions"]
    }
    assert bookmarks[first] == newest and bookmarks[second] > asked[second]


def test_incremental_harvest_of_many_boards_shares_first_pages_and_activity_logs(
    emulator_factory: Factory,
) -> None:
    """The second run over 12 boards after 2 changes each: one first-page request and one activity-log
    request for the items' boards (not 12 of each), and only the changes plus the look-back arrive."""
    clock = FakeClock()
    em = emulator_factory(boards=12, items_per_board=40, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    boards = store.board_ids()
    state = states(_sync(em, {"items"}, include_subitems=False))[-1]
    clock.advance(3_600)
    changed = {b: store.item_ids(b)[3:5] for b in boards}
    for ids in changed.values():
        for item_id in ids:
            store.rename_item(item_id, "changed")
    store.delete_item(store.item_ids(boards[0])[9])
    before = len(em.emulator.request_log)
    messages = _sync(em, {"items"}, state=state, include_subitems=False)

    asked = _operations(em, before)
    assert asked["HarvestFirstPages"] == 1 and asked["BoardActivityLogsBatch"] == 1, asked
    assert asked["ItemsByIds"] == 1  # 25 ids of 12 boards in one mixed batch
    assert len(board_calls(em.emulator.request_log[before:], HARVEST_FIRST_PAGES)) == 12
    emitted = {r["id"]: r for r in records(messages, "items")}
    assert {i for ids in changed.values() for i in ids} <= set(emitted)
    assert len(emitted) == len(records(messages, "items"))  # each once
    assert len(emitted) <= 25 + 12  # the changes, the deleted item, at most a few look-back items
    assert any(r["state"] == "deleted" for r in emitted.values())


def test_a_board_with_more_than_a_page_of_changes_walks_its_own_chain(emulator_factory: Factory) -> None:
    """Its shared first page comes back with a cursor: the board harvests alone, completely, each id once."""
    clock = FakeClock()
    em = emulator_factory(boards=2, items_per_board=60, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    busy, quiet = store.board_ids()
    config = {"include_subitems": False, "harvest_page_size": 10}
    state = states(_sync(em, {"items"}, **config))[-1]
    clock.advance(3_600)
    for item_id in store.item_ids(busy)[:25]:
        store.rename_item(item_id, "busy")
    store.rename_item(store.item_ids(quiet)[0], "quiet")
    before = len(em.emulator.request_log)
    messages = _sync(em, {"items"}, state=state, **config)

    emitted = [r["id"] for r in records(messages, "items")]
    assert len(emitted) == len(set(emitted))
    assert set(store.item_ids(busy)[:25]) <= set(emitted)
    own = ("HarvestFirstPage", "HarvestGroupFirstPage")  # its own chain(s), from the start (harvest.py)
    chains = [r for r in em.emulator.request_log[before:] if r.operation in own]
    walked = {str((r.variables or {})["board_ids"][0]) for r in chains}
    assert walked == {busy}  # the quiet board's shared first page was all of it


def test_the_reader_never_fetches_past_its_read_ahead_except_for_the_drained_board() -> None:
    reader = BoardListReader(BOARD_UPDATES_LIST, limit=100, boards_per_request=2, read_ahead_rows=50)
    reader.add_boards([(str(b), {}) for b in range(5)])
    assert [c.board_id for c in reader._take()] == ["0", "1"]
    reader._in_flight = 1
    reader._buffered = 60  # more than the read-ahead is waiting to be drained
    assert reader._take() == []
    reader._draining = 2  # the main thread reached board 2: it goes on whatever is buffered
    assert [c.board_id for c in reader._take()] == ["2"]
    reader._buffered = 10
    assert [c.board_id for c in reader._take()] == ["3", "4"]
