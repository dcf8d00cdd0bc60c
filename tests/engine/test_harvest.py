"""Partitioned harvest over loopback: one chain per group, a catch-up chain, every id exactly once.

Items are moved between groups, created and archived while the chains run (full and incremental runs);
with one harvest slot the group chains run in board order, so "a group whose chain has finished" is known
exactly and the catch-up chain is what must find the items that went there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from monday_emulator.data import Store
from monday_emulator.testing import RunningEmulator

from tap_monday_boards.engine.governor import Governor
from tap_monday_boards.engine.harvest import HarvestState, harvest_board
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Transport
from tests.support.engine import engine_settings

Factory = Callable[..., RunningEmulator]


def _harvest(
    em: RunningEmulator,
    settings: EngineSettings,
    on_ids: Callable[[list[str]], None],
    *,
    slots: int = 4,
    **kw: Any,
) -> HarvestState:
    store = em.emulator.store
    board = str(store.board_ids()[0])
    state = HarvestState(board)

    async def run() -> None:
        async with Transport(settings, Governor(settings)) as transport:
            await harvest_board(
                transport,
                settings,
                state,
                on_ids,
                group_ids=_groups(store, board),
                slots=asyncio.Semaphore(slots),
                **kw,
            )

    asyncio.run(run())
    return state


def _groups(store: Store, board: str) -> list[str]:
    return [g["id"] for g in store.board(board)["groups"]]  # type: ignore[index]


def _group_of(store: Store, item_id: str) -> str:
    return str(store.render_item(item_id)["group"]["id"])  # type: ignore[index]


def _ops(em: RunningEmulator, name: str) -> list[Any]:
    return [r for r in em.emulator.request_log if r.operation == name]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_full_run_walks_every_group_at_once_then_one_catch_up(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=3_000, groups_per_board=6, latency="custom:base=0.05")
    store = em.emulator.store
    board = str(store.board_ids()[0])
    handed: list[str] = []
    before = time.time()
    state = _harvest(em, engine_settings(em), handed.extend, expected_items=len(store.item_ids(board)))
    assert sorted(handed) == sorted(store.item_ids(board)) and len(handed) == len(set(handed))
    firsts = _ops(em, "HarvestGroupFirstPage")
    assert sorted(r.variables["group_ids"][0] for r in firsts) == sorted(_groups(store, board))
    assert em.emulator.metrics.max_concurrency("HarvestGroupFirstPage") >= 2  # chains walk at once
    (catch_up,) = _ops(em, "HarvestFirstPage")
    rule = catch_up.variables["query_params"]["rules"][0]
    assert (rule["column_id"], rule["operator"]) == ("__last_updated__", "greater_than_or_equals")
    assert rule["compare_value"] == ["EXACT", state.catch_up_since]
    assert _iso(before - 300 - 2) <= str(state.catch_up_since) <= _iso(time.time() - 300)  # start - look-back
    assert catch_up.start > max(r.end for r in _ops(em, "HarvestNextPage"))  # after every group chain
    assert (state.partitioned, state.chains, state.done) == (True, 7, True)


def test_small_boards_pay_no_extra_request(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=1_000, groups_per_board=6)
    store = em.emulator.store
    board = str(store.board_ids()[0])
    handed: list[str] = []
    state = _harvest(em, engine_settings(em), handed.extend, expected_items=len(store.item_ids(board)))
    assert sorted(handed) == sorted(store.item_ids(board))  # 980 ids: two pages of one chain
    assert [r.operation for r in em.emulator.request_log] == ["HarvestFirstPage", "HarvestNextPage"]
    assert (state.partitioned, state.chains) == (False, 1)
    # incremental with few changes: the whole board's first page has no cursor, nothing else is asked
    store.rename_item(store.item_ids(board)[3], "changed")
    since = _iso(time.time() - 5)
    handed.clear()
    state = _harvest(em, engine_settings(em), handed.extend, since=since)
    assert handed == [store.item_ids(board)[3]]
    assert [r.operation for r in em.emulator.request_log[2:]] == ["BoardActivityLogs", "HarvestFirstPage"]
    assert not state.partitioned


class _Meddler:
    """Changes the board while the chains run: once the first group's chain is over (the second group
    chain's first page has been answered; one harvest slot, so chains run in board order)."""

    def __init__(self, em: RunningEmulator) -> None:
        self.em = em
        self.store = em.emulator.store
        self.board = str(self.store.board_ids()[0])
        self.groups = _groups(self.store, self.board)
        self.handed: list[str] = []
        self.done_at_trigger: set[str] = set()
        self.archived: list[str] = []
        self.created: list[str] = []

    def __call__(self, ids: list[str]) -> None:
        self.handed.extend(ids)
        if self.done_at_trigger or len(_ops(self.em, "HarvestGroupFirstPage")) < 2:
            return
        store, groups = self.store, self.groups
        self.done_at_trigger = {groups[0]}
        unseen = set(store.item_ids(self.board)) - set(self.handed)
        later = [i for i in sorted(unseen) if _group_of(store, i) in groups[2:4]]
        # from groups not walked yet into the finished one: only the catch-up chain can see these
        for item_id in later[:5]:
            store.move_item(item_id, groups[0])
        # created in the finished group, and in one not walked yet
        self.created = [
            store.create_item(self.board, "new in done group", group_id=groups[0]),
            store.create_item(self.board, "new in later group", group_id=groups[3]),
        ]
        # already handed on, moved into a group still to come: seen again there and by the catch-up
        for item_id in [i for i in self.handed if _group_of(store, i) == groups[0]][:5]:
            store.move_item(item_id, groups[4])
        # archived before its chain reached it: not active any more, never handed on
        self.archived = later[5:8]
        for item_id in self.archived:
            store.archive_item(item_id)


def test_moves_and_creates_during_a_full_partitioned_harvest_arrive_exactly_once(
    emulator_factory: Factory,
) -> None:
    em = emulator_factory(boards=1, items_per_board=2_000, groups_per_board=5, latency="custom:base=0.01")
    meddler = _Meddler(em)
    store, board = meddler.store, meddler.board
    settings = engine_settings(em, harvest_page_size=100)
    state = _harvest(em, settings, meddler, slots=1, expected_items=len(store.item_ids(board)))
    assert meddler.done_at_trigger and meddler.created and meddler.archived
    assert len(meddler.handed) == len(set(meddler.handed)), "an id was handed on twice"
    assert sorted(meddler.handed) == sorted(store.item_ids(board))  # every active item, created included
    assert not set(meddler.archived) & set(meddler.handed)
    assert state.partitioned and state.duplicates > 0  # the moved, already-seen items came round again


def test_moves_and_creates_during_an_incremental_partitioned_harvest_arrive_exactly_once(
    emulator_factory: Factory,
) -> None:
    em = emulator_factory(boards=1, items_per_board=2_000, groups_per_board=5, latency="custom:base=0.01")
    meddler = _Meddler(em)
    store, board = meddler.store, meddler.board
    since = _iso(time.time() - 5)
    ids = store.item_ids(board)
    for item_id in ids[::7]:  # ~280 changes: more than one page, so the harvest partitions
        store.rename_item(item_id, "changed since the bookmark")
    moved_before = ids[1:40:13]
    for item_id in moved_before:
        store.move_item(item_id, meddler.groups[1])
    state = _harvest(em, engine_settings(em, harvest_page_size=100), meddler, slots=1, since=since)
    assert state.partitioned and meddler.created
    assert len(meddler.handed) == len(set(meddler.handed)), "an id was handed on twice"
    changed = {
        i
        for i in store.item_ids(board)
        if str(store.render_item(i)["updated_at"]) >= since  # type: ignore[index]
    }
    assert set(meddler.handed) == changed | set(moved_before)
    assert set(meddler.created) <= set(meddler.handed)
    assert state.left == len(moved_before)  # from the activity log, before any chain
    firsts = _ops(em, "HarvestGroupFirstPage")
    for request in firsts:  # each group chain keeps the bookmark's filter
        rules = request.variables["query_params"]["rules"]
        assert rules == [
            {
                "column_id": "__last_updated__",
                "compare_value": ["EXACT", since],
                "compare_attribute": "UPDATED_AT",
                "operator": "greater_than_or_equals",
            }
        ]


def test_group_chains_shrink_an_over_cap_page_size_once_for_the_board(
    emulator_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """Every group's first page of 500 ids (~1,040 points) is over a 600-point cap at once: the board's page
    size is halved once (not once per chain), said once, and every id still arrives once."""
    em = emulator_factory(
        boards=1, items_per_board=3_000, groups_per_board=4, limit_overrides={"complexity_per_query": 600}
    )
    store = em.emulator.store
    board = str(store.board_ids()[0])
    handed: list[str] = []
    with caplog.at_level(logging.WARNING, logger="tap_monday_boards"):
        state = _harvest(em, engine_settings(em), handed.extend, expected_items=len(store.item_ids(board)))
    assert sorted(handed) == sorted(store.item_ids(board)) and len(handed) == len(set(handed))
    assert state.partitioned and state.page_size == 250
    answered = [r for r in em.emulator.request_log if r.status == 200 and not r.code]
    assert {r.variables["limit"] for r in answered} == {250}
    warnings = [r.getMessage() for r in caplog.records if "per-query complexity cap" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith(f"board {board}: harvest pages of 500 ids")
