"""The items engine against the emulator over loopback: completeness, overlap, concurrency, faults, limits."""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.faults import FaultConfig, FaultKind
from monday_emulator.testing import RunningEmulator

from tap_monday_boards.engine.governor import Governor
from tap_monday_boards.engine.pipeline import READ_AHEAD_FACTOR, ItemsPipeline
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.errors import AuthenticationAPIError, MondayFatalAPIError
from tap_monday_boards.records import item_record
from tap_monday_boards.wire import as_dict
from tests.support.engine import engine_settings, pipeline_records

Factory = Callable[..., RunningEmulator]



def _settings(em: RunningEmulator, **kw: Any) -> EngineSettings:
    return engine_settings(em, **{"max_concurrency": 4, "progress_interval_s": 0.5, **kw})


def _boards(em: RunningEmulator) -> list[str]:
    return [str(b) for b in em.emulator.store.board_ids()]


def _assert_complete(em: RunningEmulator, records: dict[str, list[dict[str, Any]]]) -> None:
    store = em.emulator.store
    for board, items in records.items():
        ids = [str(i["id"]) for i in items]
        assert len(ids) == len(set(ids)), f"board {board}: duplicates {Counter(ids).most_common(3)}"
        assert set(ids) == {str(i) for i in store.item_ids(board)}, f"board {board}: ids differ"


def test_two_boards_every_item_exactly_once_and_phases_overlap(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=2, items_per_board=2_000, latency="custom:base=0.01")
    boards = _boards(em)
    records, pipeline = pipeline_records(_settings(em, harvest_page_size=250), boards)
    _assert_complete(em, records)
    sample = records[boards[0]][17]
    truth = em.emulator.store.render_item(sample["id"])
    assert truth is not None
    assert (sample["name"], sample["updated_at"], sample["board"]["id"]) == (
        truth["name"],
        truth["updated_at"],
        boards[0],
    )
    log = em.emulator.request_log
    for board in boards:
        harvest = [
            r for r in log if (r.operation or "").startswith("Harvest") and _board_of(r, pipeline) == board
        ]
        fetches = [r for r in log if r.operation == "ItemsByIds" and _board_of(r, pipeline) == board]
        assert len(harvest) == 8  # 1,960 active ids / 250 per page
        assert min(r.start for r in fetches) < max(r.end for r in harvest), "phase 2 waited for phase 1"
        assert all((r.variables or {})["limit"] == len((r.variables or {})["ids"]) for r in fetches)
        assert max(len((r.variables or {})["ids"]) for r in fetches) == 100
    stats = pipeline.stats[boards[0]]
    assert (stats.ids_harvested, stats.items_emitted, stats.missing) == (1_960, 1_960, 0)


def _board_of(record: Any, pipeline: ItemsPipeline) -> str | None:
    variables = record.variables or {}
    if "board_ids" in variables:
        return str(variables["board_ids"][0])
    if "ids" in variables:
        first = int(variables["ids"][0])
        return next(b for b in pipeline.board_ids if first in pipeline._runs[b].harvest.seen)
    cursor_owner = [b for b in pipeline.board_ids if b in str(_decode(variables.get("cursor", "")))]
    return cursor_owner[0] if cursor_owner else None


def _decode(cursor: str) -> str:
    import base64  # noqa: PLC0415

    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode(errors="replace")


def test_never_more_requests_in_flight_than_max_concurrency(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=3, items_per_board=1_000, latency="custom:base=0.02")
    records, _ = pipeline_records(_settings(em, max_concurrency=3), _boards(em))
    _assert_complete(em, records)
    overlap = em.emulator.metrics.max_concurrency()
    assert 2 <= overlap <= 3  # parallel, but never above the cap


def test_cursor_expiring_mid_harvest_still_yields_every_item_once(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=2_000, latency="custom:base=0.01", cursor_ttl_s=0.05)
    boards = _boards(em)
    records, pipeline = pipeline_records(_settings(em, harvest_page_size=100), boards)
    _assert_complete(em, records)
    stats = pipeline.stats[boards[0]]
    assert stats.cursor_resumes >= 2
    codes = [r.code for r in em.emulator.request_log if r.code]
    assert "CursorException" in codes
    firsts = [r for r in em.emulator.request_log if r.operation == "HarvestFirstPage"]
    rules = [(r.variables or {})["query_params"].get("rules") for r in firsts]
    assert rules[0] is None
    assert all(rule[0]["operator"] == "greater_than_or_equals" for rule in rules[1:])


@pytest.mark.parametrize(
    "kind",
    [
        FaultKind.HTTP_500,
        FaultKind.HTTP_502,
        FaultKind.EMPTY_429,
        FaultKind.TRUNCATED_JSON,
        FaultKind.PARTIAL_TOO_MANY_REQUESTS,
        FaultKind.INTERNAL_ERROR_200,
        FaultKind.CONNECTION_RESET,
        FaultKind.FIELD_LIMIT_EXCEEDED,
    ],
)
def test_faults_are_retried_without_loss_or_duplicates(
    emulator_factory: Factory, fast_clock: FakeClock, kind: FaultKind
) -> None:
    em = emulator_factory(boards=1, items_per_board=600, faults=FaultConfig({kind: 0.25}), clock=fast_clock)
    settings = _settings(em, harvest_page_size=100, max_retries=10)
    governor = Governor(settings, clock=fast_clock.now, poll_s=0.02)
    board = _boards(em)[0]
    out: list[dict[str, Any]] = []
    with ItemsPipeline(settings, [board], governor=governor) as pipeline:
        out.extend(as_dict(item) for item in pipeline.records(board))
    _assert_complete(em, {board: out})
    faults = [r for r in em.emulator.request_log if r.fault == kind.value]
    assert faults, "the emulator injected no fault"
    assert pipeline.stats[board].retries >= len(faults) // 2


def test_fatal_401_stops_fast_without_retries(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=300)
    settings = _settings(em, api_token="wrong-token-123")
    start = time.monotonic()
    with pytest.raises(AuthenticationAPIError) as info:
        pipeline_records(settings, _boards(em))
    assert time.monotonic() - start < 5
    text = str(info.value)
    assert "HTTP 401" in text
    assert _boards(em)[0] in text
    assert "wrong-token-123" not in text
    assert len(em.emulator.request_log) == 1


@pytest.mark.parametrize(
    ("plan", "overrides", "codes"),
    [
        pytest.param(
            "standard",
            {"requests_per_minute": 8},
            {"MINUTE_RATE_LIMIT_EXCEEDED"},
            id="minute-rate",
        ),
        pytest.param(
            "trial",
            {"complexity_per_minute": 40_000, "requests_per_minute": None},  # ~2 minutes of 600 items
            {"COMPLEXITY_BUDGET_EXHAUSTED"},
            id="low-budget",
        ),
        pytest.param(
            "standard",
            {"concurrency": 2, "concurrency_retry_s": 2, "latency": "custom:base=0.05"},
            {"MAX_CONCURRENCY_EXCEEDED"},
            id="concurrency",
        ),
    ],
)
def test_rate_limits_and_budget_are_waited_out(
    emulator_factory: Factory, fast_clock: FakeClock, plan: str, overrides: dict[str, Any], codes: set[str]
) -> None:
    overrides = dict(overrides)
    latency = overrides.pop("latency", "instant")
    em = emulator_factory(
        boards=1, items_per_board=600, plan=plan, limit_overrides=overrides, clock=fast_clock, latency=latency
    )
    settings = _settings(em, harvest_page_size=100)
    governor = Governor(settings, clock=fast_clock.now, poll_s=0.02)
    out: list[dict[str, Any]] = []
    board = _boards(em)[0]
    with ItemsPipeline(settings, [board], governor=governor) as pipeline:
        out.extend(as_dict(item) for item in pipeline.records(board))
    _assert_complete(em, {board: out})
    log = em.emulator.request_log
    seen_codes = {r.code for r in log if r.code}
    budget_paced = governor.stats().budget_waits > 0
    # Either the server refused (and we waited it out) or the governor paced us before it had to.
    assert seen_codes & codes or (budget_paced and "budget" in str(codes).lower())
    rejected = [r for r in log if r.outcome == "rejected"]
    # Requests already in flight when the first refusal arrives are refused too (how many depends on
    # scheduling: the clock runs 100x real time); after that every request waits out the pause.
    assert len(rejected) <= 10, "rate-limit answers must be waited out, not hammered"


def test_closing_early_cancels_and_joins(emulator_factory: Factory, caplog: pytest.LogCaptureFixture) -> None:
    em = emulator_factory(boards=2, items_per_board=3_000, latency="custom:base=0.01")
    settings = _settings(em, record_queue_size=200)
    pipeline = ItemsPipeline(settings, _boards(em), governor=Governor(settings))
    pipeline.start()
    gen = pipeline.records(_boards(em)[0])
    first = [as_dict(next(gen)) for _ in range(15)]
    assert len({r["id"] for r in first}) == 15
    gen.close()
    with caplog.at_level(logging.WARNING):
        pipeline.close()
    assert not pipeline.running
    assert not [r for r in caplog.records if "did not stop" in r.message]
    assert pipeline.error is not None  # the cancelled engine reports why it stopped
    deadline = time.monotonic() + 5  # let cut-off requests end before the emulator stops (see report)
    while em.emulator.metrics.snapshot()["in_flight"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.mark.parametrize("items", [pytest.param(10_000, id="10k"), pytest.param(2_000, id="2k")])
def test_large_board_arrives_complete(emulator_factory: Factory, items: int) -> None:
    em = emulator_factory(boards=1, items_per_board=items)
    board = _boards(em)[0]
    records, pipeline = pipeline_records(_settings(em, max_concurrency=8), [board])
    _assert_complete(em, records)
    stats = pipeline.stats[board]
    assert stats.items_emitted == len(em.emulator.store.item_ids(board)) > 0.9 * items
    assert stats.pages == -(-stats.ids_harvested // 500)


def test_buffer_is_bounded_while_the_harvest_runs_ahead(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=3_000)
    board = _boards(em)[0]
    settings = _settings(em, record_queue_size=200)
    with ItemsPipeline(settings, [board], governor=Governor(settings)) as pipeline:
        stats = pipeline.stats[board]
        deadline = time.monotonic() + 20
        while not stats.harvest_done:  # nobody consumes: the harvest must still finish
            assert time.monotonic() < deadline, "the harvest waited for the consumer"
            time.sleep(0.01)
        fetched = pipeline._runs[board].fetcher.stats.fetched
        assert stats.ids_harvested == len(em.emulator.store.item_ids(board))
        # nobody drains it yet: only what fits the shared read-ahead was fetched
        assert fetched <= READ_AHEAD_FACTOR * 200 + settings.batch_size
        got = list(pipeline.records(board))
    assert len(got) == stats.ids_harvested


def test_unknown_board_is_fatal_and_named(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=100)
    with pytest.raises(MondayFatalAPIError) as info:
        pipeline_records(_settings(em), ["999999999"])
    assert "999999999" in str(info.value)


def test_batch_that_keeps_timing_out_is_split(emulator_factory: Factory) -> None:
    # ~24 objects per item: a 100-id batch (~2,400 objects) takes ~0.48 s > the 0.3 s ceiling; 50 ids pass.
    em = emulator_factory(
        boards=1, items_per_board=200, latency="custom:base=0.0,per_object=0.0002,ceiling=0.3"
    )
    board = _boards(em)[0]
    records, pipeline = pipeline_records(_settings(em, request_timeout=5, harvest_page_size=500), [board])
    _assert_complete(em, records)
    stats = pipeline.stats[board]
    assert stats.splits >= 1
    assert stats.batch_size < 100
    fetches = [r for r in em.emulator.request_log if r.operation == "ItemsByIds"]
    assert {len((r.variables or {})["ids"]) for r in fetches if r.status == 504} >= {100}
    assert max(len((r.variables or {})["ids"]) for r in fetches if r.status == 200) <= 50


def test_daily_limit_is_fatal_with_the_reset_wait(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=2_000, limit_overrides={"daily_calls": 3})
    board = _boards(em)[0]
    with pytest.raises(MondayFatalAPIError) as info:
        pipeline_records(_settings(em, harvest_page_size=100), [board])
    text = str(info.value)
    assert "DAILY_LIMIT_EXCEEDED" in text
    assert "resets in" in text
    assert board in text
    rejected = [r for r in em.emulator.request_log if r.code == "DAILY_LIMIT_EXCEEDED"]
    assert 1 <= len(rejected) <= 4  # no retries of a fatal answer beyond what was already in flight


def test_progress_lines_report_rate_eta_and_budget(
    emulator_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    em = emulator_factory(boards=1, items_per_board=1_000, latency="custom:base=0.02")
    with caplog.at_level(logging.INFO, logger="tap_monday_boards.engine.progress"):
        pipeline_records(
            _settings(em, progress_interval_s=0.05, max_concurrency=2, harvest_page_size=50),
            _boards(em),
            expected_items={_boards(em)[0]: 1_000},
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "tap_monday_boards.engine.progress"]
    assert len(lines) >= 3  # periodic, plus the final line
    assert all("items/s" in line and "ETA" in line and "complexity left" in line for line in lines)
    assert "980 items fetched" in lines[-1]
    running = [line for line in lines if "(done)" not in line]
    assert any(re.search(r"ETA \d+ s", line) for line in running)  # items_count: an ETA during the harvest
    assert em.token not in caplog.text


def test_many_boards_share_one_read_ahead_buffer(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=5, items_per_board=1_000)
    boards = _boards(em)
    settings = _settings(em, record_queue_size=50)
    with ItemsPipeline(settings, boards, governor=Governor(settings)) as pipeline:
        deadline = time.monotonic() + 20
        while not all(pipeline.stats[b].harvest_done for b in boards):  # nobody consumes yet
            assert time.monotonic() < deadline
            time.sleep(0.01)
        fetched = sum(pipeline._runs[b].fetcher.stats.fetched for b in boards)
        assert 0 < fetched <= READ_AHEAD_FACTOR * 50  # not 5 boards x a full buffer each
        # the drained board bypasses: no deadlock
        records = {b: [as_dict(i) for i in pipeline.records(b)] for b in boards}
    _assert_complete(em, records)


def test_a_board_is_not_held_to_its_own_queue_while_another_drains(emulator_factory: Factory) -> None:
    """Board B fetches its whole read-ahead share (here: all of it) while board A is drained, instead of
    stopping at its own queue size and waiting for A's drain to end."""
    em = emulator_factory(boards=2, items_per_board=600)
    first, second = _boards(em)
    settings = _settings(em, record_queue_size=200)  # read-ahead 800 >= the 600 of board B; own queue 200
    with ItemsPipeline(settings, [first, second], governor=Governor(settings)) as pipeline:
        records = {first: [as_dict(i) for i in pipeline.records(first)]}
        expected = len(em.emulator.store.item_ids(second))
        deadline = time.monotonic() + 20
        while pipeline._runs[second].fetcher.stats.fetched < expected:  # B not consumed yet
            assert time.monotonic() < deadline, "board B stopped at its own queue size"
            time.sleep(0.01)
        assert expected > 200
        records[second] = [as_dict(i) for i in pipeline.records(second)]
    _assert_complete(em, records)


def test_column_ids_limit_the_fetched_column_values(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=300)
    board = _boards(em)[0]
    full, _ = pipeline_records(_settings(em), [board])
    all_columns = [c["id"] for c in full[board][0]["column_values"]]
    assert len(all_columns) > 3
    wanted = all_columns[:2]
    part, _ = pipeline_records(_settings(em), [board], column_ids={board: wanted})
    _assert_complete(em, part)
    assert all({c["id"] for c in item["column_values"]} == set(wanted) for item in part[board])
    fetches = [r for r in em.emulator.request_log if r.operation == "ItemsByIds"]
    assert (fetches[-1].variables or {})["column_ids"] == wanted
    assert fetches[-1].cost < fetches[0].cost  # unselected columns cost nothing


@pytest.mark.parametrize("known_types", [True, False], ids=["column-types-known", "column-types-unknown"])
def test_small_boards_share_batches_and_every_item_is_exact(
    emulator_factory: Factory, known_types: bool
) -> None:
    """25 boards of ~10 items: their first pages go several boards per request and their items in batches
    that mix boards (3 requests for ~250 items, not 25); each record is the emulator's item exactly, typed
    column values included, whether or not the pipeline was told the boards' column types."""
    em = emulator_factory(boards=25, items_per_board=10, subitems=False)
    store = em.emulator.store
    boards = _boards(em)
    types = {b: {c["type"] for c in store.board(b)["columns"]} for b in boards} if known_types else None
    counts = {b: len(store.item_ids(b)) for b in boards}
    records, _ = pipeline_records(_settings(em), boards, expected_items=counts, column_types=types)
    _assert_complete(em, records)
    for board in boards:
        for item in records[board]:
            truth = store.render_item(item["id"])
            assert truth is not None
            assert item_record(item) == item_record(truth), f"board {board}: item {item['id']} differs"
    asked = Counter(str(r.operation) for r in em.emulator.request_log)
    assert asked["HarvestFirstPages"] == 1 and "HarvestFirstPage" not in asked
    assert asked["ItemsByIds"] == math.ceil(sum(counts.values()) / 100)


def test_on_wait_is_called_only_when_the_next_batch_is_not_there(emulator_factory: Factory) -> None:
    """The stream flushes its buffered RECORD lines in ``on_wait``: called before the consumer would block
    (the first batch cannot be there yet), never between the items of one batch."""
    em = emulator_factory(boards=1, items_per_board=600)
    board = _boards(em)[0]
    settings = _settings(em, batch_size=100)
    events: list[str] = []
    with ItemsPipeline(settings, [board], governor=Governor(settings)) as pipeline:
        for item in pipeline.records(board, on_wait=lambda: events.append("wait")):
            events.append(str(as_dict(item)["id"]))
    items = [e for e in events if e != "wait"]
    assert sorted(items) == sorted(str(i) for i in em.emulator.store.item_ids(board))
    assert events[0] == "wait"
    # between two waits there is always at least one whole batch of items (only the last may be short)
    runs = [run for run in "".join("w" if e == "wait" else "i" for e in events).split("w") if run]
    assert all(len(run) >= 100 for run in runs[:-1])


def test_batches_hand_over_the_records_lists_within_the_same_buffer_bound(emulator_factory: Factory) -> None:
    """``batches`` (the streams' batch loop) gives every item once, as the answers' lists, and a list's
    buffer credits back only when the next is asked for: fetching stays within the drained board's own
    buffer plus the shared read-ahead beyond what was consumed, as with ``records``."""
    em = emulator_factory(boards=1, items_per_board=2_000)
    board = _boards(em)[0]
    settings = _settings(em, record_queue_size=200, batch_size=100)
    consumed = 0
    sizes: list[int] = []
    ids: list[str] = []
    with ItemsPipeline(settings, [board], governor=Governor(settings)) as pipeline:
        runs = pipeline._runs
        for items in pipeline.batches(board):
            fetched = runs[board].fetcher.stats.fetched
            assert fetched <= consumed + (READ_AHEAD_FACTOR + 1) * 200 + settings.batch_size
            sizes.append(len(items))
            ids.extend(str(as_dict(item)["id"]) for item in items)
            consumed += len(items)
        assert pipeline.stats[board].items_emitted == consumed
    assert sorted(ids) == sorted(str(i) for i in em.emulator.store.item_ids(board))
    assert len(ids) == len(set(ids)) and max(sizes) <= settings.batch_size and len(sizes) >= 20
