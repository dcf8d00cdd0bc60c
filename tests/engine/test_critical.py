"""The harvest's critical path: timeouts and hedge delays from observed latency; one stalled page over
loopback costs seconds, not ``request_timeout``."""

from __future__ import annotations

import pytest
from monday_emulator.faults import FaultConfig, FaultKind, ScriptedFault
from monday_emulator.server import EmulatorConfig
from monday_emulator.testing import running_emulator

from tap_monday_boards.engine import critical
from tap_monday_boards.engine.critical import CriticalPath
from tap_monday_boards.engine.settings import EngineSettings
from tests.support.engine import pipeline_records


def test_before_enough_samples_the_session_timeout_and_the_prior_hedge_apply() -> None:
    path = CriticalPath(request_timeout=60)
    assert (path.p95(), path.timeout_s(), path.hedge_after_s()) == (None, 60, critical.HEDGE_PRIOR_S)
    path.observe(0.5)
    path.observe(0.6)
    assert path.p95() is None  # MIN_SAMPLES = 3


@pytest.mark.parametrize(
    ("samples", "timeout", "hedge"),
    [
        ([0.01] * 10, critical.TIMEOUT_FLOOR_S, critical.HEDGE_FLOOR_S),  # instant server: the floors
        ([1.0] * 19 + [2.0], 5.0, 2.0),  # p95 of 20 samples ignores the slowest one
        ([3.0] * 20, 12.0, 6.0),  # 4x and 2x the p95
        ([30.0] * 20, 60.0, 60.0),  # never above request_timeout
    ],
)
def test_timeout_and_hedge_follow_the_recent_p95(samples: list[float], timeout: float, hedge: float) -> None:
    path = CriticalPath(request_timeout=60)
    for seconds in samples:
        path.observe(seconds)
    assert (path.timeout_s(), path.hedge_after_s()) == (pytest.approx(timeout), pytest.approx(hedge))


def test_p95_ignores_one_outlier_in_twenty_and_the_window_forgets() -> None:
    path = CriticalPath(request_timeout=60)
    for seconds in [1.0] * 19 + [50.0]:
        path.observe(seconds)
    assert path.p95() == 1.0  # 19 of 20 at 1 s: one stall does not move the timeout
    path.observe(50.0)
    assert path.p95() == 50.0  # two in 21: now it does
    for _ in range(critical.WINDOW):
        path.observe(2.0)
    assert path.p95() == 2.0


def test_a_stalled_harvest_page_costs_seconds_not_request_timeout() -> None:
    """The 4th next-page request of the chain stalls for 120 s (request_timeout is 60 s): the hedge sent
    after ~1 s answers, the chain goes on, the whole harvest ends long before either would have."""
    stall = ScriptedFault("HarvestNextPage", 4, FaultKind.SLOW_RESPONSE)
    config = EmulatorConfig(
        seed=3,
        boards=1,
        items_per_board=3_000,
        latency="instant",
        faults=FaultConfig(slow_delay_s=120, scripted=(stall,)),
    )
    with running_emulator(config) as em:
        settings = EngineSettings(
            api_token=em.token, api_url=em.url, harvest_page_size=250, request_timeout=60, max_concurrency=4
        )
        board = str(em.emulator.store.board_ids()[0])
        records, pipeline = pipeline_records(settings, [board])
        ids = [str(item["id"]) for item in records[board]]
        stats = pipeline.stats[board]
        assert sorted(ids) == sorted(em.emulator.store.item_ids(board)) and len(ids) == len(set(ids))
        assert stats.harvest_done_at is not None
        harvest_s = stats.harvest_done_at - stats.started_at
        assert harvest_s < 20, f"the harvest took {harvest_s:.1f} s: it waited for the stalled page"
        assert (pipeline.critical.hedges, pipeline.critical.hedge_wins) == (1, 1)
    log = em.emulator.request_log  # complete now: the stalled request ended when the emulator stopped
    (stalled,) = [r for r in log if r.fault == FaultKind.SLOW_RESPONSE.value]
    cursor = stalled.variables["cursor"]
    (hedge,) = [
        r
        for r in log
        if r.operation == "HarvestNextPage" and r is not stalled and r.variables["cursor"] == cursor
    ]
    assert hedge.status == 200
    assert hedge.start - stalled.start < 10  # sent after about HEDGE_FLOOR_S, not after 60 s
    later_pages = [r for r in log if r.operation == "HarvestNextPage" and r.start > hedge.end]
    assert later_pages and max(r.end for r in later_pages) < stalled.end  # the chain did not wait for it


def test_a_rate_limit_pause_is_not_a_slow_page() -> None:
    """A 429 pauses every request for seconds: the page is not on the wire then, so no hedge goes out (it
    would only wait out the same pause and cost a second page)."""
    limited = ScriptedFault("HarvestNextPage", 4, FaultKind.EMPTY_429)
    config = EmulatorConfig(
        seed=3, boards=1, items_per_board=3_000, latency="instant", faults=FaultConfig(scripted=(limited,))
    )
    with running_emulator(config) as em:
        settings = EngineSettings(
            api_token=em.token, api_url=em.url, harvest_page_size=250, rate_limit_first_wait_s=3
        )
        board = str(em.emulator.store.board_ids()[0])
        records, pipeline = pipeline_records(settings, [board])
        ids = [str(item["id"]) for item in records[board]]
        assert sorted(ids) == sorted(em.emulator.store.item_ids(board))
        assert pipeline.critical.hedges == 0
        assert pipeline.stats[board].retries == 1
    pages = [r for r in em.emulator.request_log if r.operation == "HarvestNextPage"]
    assert len({r.variables["cursor"] for r in pages}) == len(pages) - 1  # only the refused page twice


def test_a_page_sent_before_any_sample_is_hedged_once_the_window_fills() -> None:
    """The very first next-page of a chain stalls while other chains' answers are still arriving: its hedge
    delay follows the p95 learned meanwhile, not the 10 s prior it was sent under."""
    stall = ScriptedFault("HarvestNextPage", 1, FaultKind.SLOW_RESPONSE)
    config = EmulatorConfig(
        seed=3,
        boards=1,
        items_per_board=6_000,
        groups_per_board=2,  # two first pages: fewer samples than MIN_SAMPLES when the stalled page leaves
        latency="custom:base=0.05",
        faults=FaultConfig(slow_delay_s=120, scripted=(stall,)),
    )
    with running_emulator(config) as em:
        settings = EngineSettings(api_token=em.token, api_url=em.url, harvest_page_size=250)
        store = em.emulator.store
        board = str(store.board_ids()[0])
        groups = {board: [g["id"] for g in store.board(board)["groups"]]}  # type: ignore[index]
        expected = {board: len(store.item_ids(board))}
        records, pipeline = pipeline_records(settings, [board], groups=groups, expected_items=expected)
        ids = [str(item["id"]) for item in records[board]]
        stats = pipeline.stats[board]
        assert sorted(ids) == sorted(store.item_ids(board)) and len(ids) == len(set(ids))
        assert stats.harvest_done_at is not None and stats.chains == 3
        assert stats.harvest_done_at - stats.started_at < 8  # the prior alone would hedge after 10 s
        assert pipeline.critical.hedge_wins == 1
