"""Stray empty-body 429s (the gateway's throttle, no Retry-After, no body) cost seconds, not minutes.

Both HTTP stacks pause through the one governor: without a hint it waits 2 s, doubling only while such
answers follow each other, and starts over after a success. The waits are read from the governor's record
of its pauses (never timed): the engine runs on a ``FakeClock`` shared with the emulator, so the pauses are
simulated time, and the SDK stream gets tiny bounds through the settings.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.faults import FaultConfig, FaultKind
from monday_emulator.testing import RunningEmulator

from tap_monday_boards.engine.governor import Governor, get_governor
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.wire import item_id
from tests.support.engine import pipeline_records
from tests.support.insync import build_tap, records, sync

Factory = Callable[..., RunningEmulator]


def test_five_percent_empty_429s_are_waited_out_in_seconds_and_every_item_comes_once(
    emulator_factory: Factory, fast_clock: FakeClock
) -> None:
    em = emulator_factory(
        seed=11,
        boards=2,
        items_per_board=2_000,
        latency="custom:base=0.1",
        faults=FaultConfig({FaultKind.EMPTY_429: 0.05}),
        clock=fast_clock,
    )
    settings = EngineSettings(api_token=em.token, api_url=em.url)  # shipped defaults
    governor = Governor(settings, clock=fast_clock.now, poll_s=0.02)
    boards = [str(b) for b in em.emulator.store.board_ids()]
    records_of, _ = pipeline_records(settings, boards, governor=governor)
    out = {board: [item_id(item) for item in items] for board, items in records_of.items()}

    for board in boards:
        assert len(out[board]) == len(set(out[board])), f"board {board}: an item twice"
        assert set(out[board]) == {str(i) for i in em.emulator.store.item_ids(board)}
    throttled = [r for r in em.emulator.request_log if r.fault == FaultKind.EMPTY_429.value]
    assert len(throttled) >= 3, "the emulator injected too few 429s to show anything"
    assert all(r.status == 429 for r in throttled)
    stats = governor.stats()
    waits = list(governor.core.pause_log)
    # One pause per throttle episode (answers arriving during a running pause are not new steps) ...
    assert 1 <= stats.hintless_pauses == len(waits) <= len(throttled)
    # ... of a few seconds each: 5 % is never a long run of consecutive 429s, so never near 60 s.
    assert min(waits) == 2.0
    assert stats.longest_pause_s <= 8.0, waits
    assert stats.rate_limit_pauses == len(waits)


def test_sdk_streams_use_the_same_escalating_wait(emulator_factory: Factory) -> None:
    faults = FaultConfig({FaultKind.EMPTY_429: 0.4}, operations=frozenset({"Users"}))
    em = emulator_factory(seed=4, boards=1, items_per_board=5, faults=faults)
    config = {
        "api_token": em.token,
        "api_url": em.url,
        "max_retries": 8,
        "rate_limit_first_wait_s": 0.01,  # the shipped 2 s, scaled down: the policy is what is tested
        "rate_limit_max_wait_s": 0.04,
    }
    tap = build_tap(config, select={"users"})
    tap.streams["users"].page_size = 2  # 13 pages: many requests, so several 429s in a row
    ids = [r["id"] for r in records(sync(tap), "users")]
    assert sorted(ids) == sorted(str(u["id"]) for u in em.emulator.store.account.users)
    assert len(ids) == len(set(ids))

    # The expected waits follow from the request log alone: 0.01 s doubling per consecutive 429, capped
    # at 0.04 s, back to 0.01 s after an answered page (requests are sequential in the SDK streams).
    expected: list[float] = []
    streak = 0
    for record in (r for r in em.emulator.request_log if r.operation == "Users"):
        if record.status == 429:
            expected.append(min(0.04, 0.01 * 2**streak))
            streak += 1
        else:
            streak = 0
    assert len(expected) >= 3 and max(expected) == 0.04, expected  # the seed gives a run of 429s
    governor = get_governor(EngineSettings.from_config(config))
    assert list(governor.core.pause_log) == pytest.approx(expected)
    assert all(w <= 0.04 for w in governor.core.pause_log)  # never the old 60 s

