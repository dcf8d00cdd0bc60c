"""Self-defence against monday's per-query complexity cap, against the emulator over loopback.

The emulator refuses any document priced above ``complexity_per_query`` with monday's answer ("Query has
complexity of N, which exceeds max complexity of M", code ``ComplexityException``). A lower cap than
monday's 5,000,000 makes the tap's normal documents "too complex", so these tests show what a heavy board
or a changed price list would do on the real service: the tap asks again with smaller batches or pages,
says so once, loses and repeats nothing, and fails clearly only when one row is over the cap.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from monday_emulator.testing import RunningEmulator
from singer_sdk.exceptions import FatalAPIError as SdkFatalAPIError

from tap_monday_boards.errors import MondayFatalAPIError, QueryTooComplexAPIError
from tests.support.engine import engine_settings, pipeline_records
from tests.support.insync import InProcessTap, build_tap, records, sync

Factory = Callable[..., RunningEmulator]
OVER_CAP = "over monday's per-query complexity cap"


def _refused(em: RunningEmulator, operation: str) -> list[Any]:
    log = em.emulator.request_log
    return [r for r in log if r.operation == operation and r.code == "ComplexityException"]


def _answered(em: RunningEmulator, operation: str) -> list[Any]:
    return [r for r in em.emulator.request_log if r.operation == operation and r.status == 200 and not r.code]


def test_engine_shrinks_batches_and_harvest_pages_once_per_board_and_loses_nothing(
    emulator_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    # ItemsByIds of 100 ids prices at 12,010 and a harvest page of 500 ids at ~1,030 (documented model):
    # with a cap of 600 both are refused until batches are 4 ids and pages 250 ids.
    em = emulator_factory(boards=2, items_per_board=600, limit_overrides={"complexity_per_query": 600})
    boards = [str(b) for b in em.emulator.store.board_ids()]
    with caplog.at_level(logging.INFO, logger="tap_monday_boards"):
        records, _ = pipeline_records(engine_settings(em), boards)

    for board in boards:
        ids = [str(item["id"]) for item in records[board]]
        assert Counter(ids).most_common(1)[0][1] == 1, f"board {board}: an item twice"
        assert set(ids) == {str(i) for i in em.emulator.store.item_ids(board)}, f"board {board}: items differ"
    assert _refused(em, "ItemsByIds") and _refused(em, "HarvestFirstPage")
    assert all(len(r.variables["ids"]) <= 4 for r in _answered(em, "ItemsByIds"))
    assert all(r.cost <= 600 for r in _answered(em, "ItemsByIds") + _answered(em, "HarvestNextPage"))
    assert {r.variables["limit"] for r in _answered(em, "HarvestFirstPage")} == {250}

    warnings = [r.getMessage() for r in caplog.records if OVER_CAP in r.getMessage()]
    assert sorted(w.split(":")[0] for w in warnings) == sorted(f"board {b}" for b in boards for _ in (1, 2))
    assert any("ItemsByIds batches of 100 ids: 12,010 points" in w and "of 600" in w for w in warnings)
    assert any("harvest pages of 500 ids" in w for w in warnings)
    costs = [r.getMessage() for r in caplog.records if "complexity points per item" in r.getMessage()]
    assert len(costs) == len(boards)  # once per board
    # 4 ids per batch: (10 + 4 x 120) / 4 = 122.5 points per item, the batch's own 10 included
    assert all(": 122 complexity points per item" in line for line in costs), costs


def test_engine_fails_clearly_when_one_id_is_over_the_cap(emulator_factory: Factory) -> None:
    # One item prices at 130 under the documented model: a cap of 100 cannot be met by any batch.
    em = emulator_factory(boards=1, items_per_board=50, limit_overrides={"complexity_per_query": 100})
    board = str(em.emulator.store.board_ids()[0])
    with pytest.raises(QueryTooComplexAPIError) as info:
        pipeline_records(engine_settings(em), [board])
    text = str(info.value)
    for part in (f"ItemsByIds board {board} (1 ids)", "query cost 130", "cap of 100", "select fewer columns"):
        assert part in text, text
    assert isinstance(info.value, MondayFatalAPIError)
    assert em.token not in text


# --- SDK streams (page/limit lists) -----------------------------------------------------------------------


def _tap(em: RunningEmulator, select: set[str]) -> InProcessTap:
    return build_tap({"api_token": em.token, "api_url": em.url, "max_retries": 2}, select=select)


def _user_ids(em: RunningEmulator) -> list[str]:
    return [str(u["id"]) for u in em.emulator.store.account.users]


def test_sdk_stream_asks_the_same_rows_again_with_a_smaller_page(
    emulator_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    # Users pages of 500 price at 510,010 (each user's ``teams { id }`` is an unbounded list: x1,000).
    em = emulator_factory(boards=1, items_per_board=5, limit_overrides={"complexity_per_query": 18_200})
    with caplog.at_level(logging.WARNING):
        messages = sync(_tap(em, {"users"}))
    ids = [r["id"] for r in records(messages, "users")]
    assert sorted(ids) == sorted(_user_ids(em)) and len(ids) == len(set(ids)) == 25
    users = [r for r in em.emulator.request_log if r.operation == "Users"]
    assert [(r.variables["limit"], r.variables["page"], r.code) for r in users] == [
        (500, 1, "ComplexityException"),
        (16, 1, None),
        (16, 2, None),  # 9 users: a short page ends the walk
    ]
    warnings = [r.getMessage() for r in caplog.records if OVER_CAP in r.getMessage()]
    assert warnings == [
        "stream users: query Users with 500 rows per page: 510,010 points, over monday's per-query "
        "complexity cap of 18,200; asking for the same rows 16 per page from now on"
    ]


def test_sdk_stream_recomputes_the_page_number_when_the_cap_drops_mid_stream(
    emulator_factory: Factory,
) -> None:
    em = emulator_factory(boards=1, items_per_board=5, limit_overrides={"complexity_per_query": 18_200})
    stream = _tap(em, {"users"}).streams["users"]
    rows = stream.get_records(None)
    first = [next(rows) for _ in range(16)]  # page 1 (16 users) is read; page 2 is not asked yet
    limits = em.emulator.limits
    limits.plan = limits.plan.with_overrides(complexity_per_query=9_000)  # the server's price list changes
    rest = list(rows)
    ids = [str(r["id"]) for r in first + rest]
    assert ids == _user_ids(em)  # the emulator lists users in a fixed order: none skipped, none twice
    pages = [(r.variables["limit"], r.variables["page"], r.code) for r in em.emulator.request_log]
    assert pages[-4:] == [
        (16, 2, "ComplexityException"),
        (4, 5, None),  # rows 17-20: page 5 of 4 (4 divides the 16 rows already read)
        (4, 6, None),
        (4, 7, None),  # 1 user: short page, the end
    ]


def test_sdk_stream_without_pages_fails_naming_query_cost_and_cap(emulator_factory: Factory) -> None:
    # Teams has no page size to shrink: 2,025,010 points (users and owners lists) over a 1,000,000 cap.
    em = emulator_factory(boards=1, items_per_board=5, limit_overrides={"complexity_per_query": 1_000_000})
    with pytest.raises(SdkFatalAPIError) as info:
        sync(_tap(em, {"teams"}))
    text = str(info.value)
    for part in ("stream teams: query Teams", "2,025,010", "cap of 1,000,000", "ComplexityException"):
        assert part in text, text
    assert len([r for r in em.emulator.request_log if r.operation == "Teams"]) == 1  # never the same again
