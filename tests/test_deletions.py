"""Deletions against the emulator: activity-log re-reads (incremental), ACTIVATE_VERSION (complete runs).

Incremental runs cannot see deleted/archived items through ``items_page`` (active items only); the tap reads
the board's activity log since the bookmark and re-reads those items with ``items(ids:)``. Complete runs
(no bookmark and no ``start_date``, or a catalog forcing FULL_TABLE) send one ACTIVATE_VERSION per stream,
after its last record, when ``emit_activate_version_messages`` is on. Rules: docs/incremental.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monday_emulator.clock import FakeClock
from monday_emulator.testing import RunningEmulator
from singer_sdk.helpers.types import Context, Record

from tap_monday_boards.engine.activity import is_leave_event, pulse_ids
from tap_monday_boards.items_stream import ItemsStream
from tests.support.insync import (
    ACTIVITY_LOGS,
    ENGINE_STREAMS,
    HARVEST_FIRST_PAGES,
    InProcessTap,
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
TOKEN = "deletions-token-2718"


class _FailingItems(ItemsStream):
    """``items`` that fails on its 50th record: a complete run that does not complete."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count = 0

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        self._count += 1
        if self._count == 50:
            raise RuntimeError("simulated failure")
        return row


def _sync(
    em: RunningEmulator,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    **config: Any,
) -> Messages:
    return sync(emulator_config(em, TOKEN, **config), streams=ENGINE_STREAMS, state=state, catalog=catalog)


def _activations(messages: Messages, stream: str) -> list[tuple[int, int]]:
    """(position in the output, version) of each ACTIVATE_VERSION of ``stream``."""
    return [
        (n, m["version"])
        for n, m in enumerate(messages)
        if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream
    ]


def test_incremental_run_re_reads_deleted_and_archived_items(emulator_factory: Factory) -> None:
    clock = FakeClock()
    em = emulator_factory(boards=1, items_per_board=300, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    board = store.board_ids()[0]
    sub_board = store.subitem_board_id(board)
    assert sub_board, "the emulator generated no subitems board"
    first = _sync(em)
    state = states(first)[-1]

    clock.advance(3_600)
    active = store.item_ids(board)
    deleted, archived, renamed = active[10:13], active[20:23], active[30:33]
    deleted_sub = store.item_ids(sub_board)[0]
    for item_id in deleted:
        store.delete_item(item_id)
    for item_id in archived:
        store.archive_item(item_id)
    for item_id in renamed:
        store.rename_item(item_id, "renamed")
    store.delete_item(deleted_sub)
    requests_before = len(em.emulator.request_log)

    second = _sync(em, state=state)

    items = {r["id"]: r for r in records(second, "items")}
    assert set(deleted) | set(archived) | set(renamed) <= set(items)
    assert len(items) <= 9 + 5, "more than the changes and a few look-back items were re-read"
    for item_id in deleted:
        assert items[item_id]["state"] == "deleted"
        assert items[item_id]["_sdc_deleted_at"] == truth(store, item_id)["updated_at"]
    for item_id in archived:
        assert (items[item_id]["state"], items[item_id]["_sdc_deleted_at"]) == ("archived", None)
    for item_id in renamed:
        assert (items[item_id]["name"], items[item_id]["_sdc_deleted_at"]) == ("renamed", None)
    subitems = {r["id"]: r for r in records(second, "subitems")}
    assert subitems[deleted_sub]["state"] == "deleted"
    assert subitems[deleted_sub]["_sdc_deleted_at"] is not None

    logs = board_calls(em.emulator.request_log[requests_before:], ACTIVITY_LOGS)
    asked = {c["board_id"]: c["from"] for c in logs}
    harvests = board_calls(em.emulator.request_log[requests_before:], HARVEST_FIRST_PAGES)
    since = {c["board_id"]: c["query_params"]["rules"][0]["compare_value"][1] for c in harvests}
    assert asked == since, "activity logs must be read from the same moment as the harvest filter"
    assert set(asked) == {board, sub_board}


def test_first_sync_reads_no_activity_log(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=100, extra_tokens=(TOKEN,))
    _sync(em, include_subitems=False)
    assert not [r for r in em.emulator.request_log if r.operation in ACTIVITY_LOGS]


def test_leave_events_and_pulse_ids() -> None:
    assert [
        e for e in ("delete_pulse", "archive_pulse", "update_name", "create_pulse") if is_leave_event(e)
    ] == [
        "delete_pulse",
        "archive_pulse",
    ]
    assert is_leave_event("batch_delete_pulses") and not is_leave_event(None)
    assert pulse_ids({"data": '{"pulse_id": 17, "pulse_ids": [18, "19"]}'}) == ["17", "18", "19"]
    assert pulse_ids({"data": "not json"}) == [] and pulse_ids({"data": '{"pulse_id": "x"}'}) == []


def _assert_versioned(messages: Messages, stream: str) -> None:
    """One ACTIVATE_VERSION after the stream's last RECORD, and every RECORD stamped with that version."""
    activations = _activations(messages, stream)
    assert len(activations) == 1, activations
    position, version = activations[0]
    records = [(n, m) for n, m in enumerate(messages) if m["type"] == "RECORD" and m["stream"] == stream]
    assert records, f"no {stream} records"
    assert records[-1][0] < position, (
        "ACTIVATE_VERSION must follow the last record (else rows vanish mid-run)"
    )
    assert {m.get("version") for _, m in records} == {version}


def test_complete_run_activates_its_version_after_the_last_record(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=2, items_per_board=150, extra_tokens=(TOKEN,))
    messages = _sync(em, emit_activate_version_messages=True)
    _assert_versioned(messages, "items")
    _assert_versioned(messages, "subitems")

    # Incremental (state), partial (start_date) or opted-out runs must never activate a version.
    later = _sync(em, state=states(messages)[-1], emit_activate_version_messages=True)
    partial = _sync(em, emit_activate_version_messages=True, start_date="2020-01-01T00:00:00Z")
    off = _sync(em)
    for run in (later, partial, off):
        assert not [m for m in run if m["type"] == "ACTIVATE_VERSION"]
        assert all(m.get("version") is None for m in run if m["type"] == "RECORD")
    assert records(partial, "items") and records(off, "items")


def test_forced_full_table_sends_activate_version_at_the_end_not_the_start(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=1, items_per_board=150, extra_tokens=(TOKEN,))
    first = _sync(em, include_subitems=False)
    config = emulator_config(em, TOKEN, include_subitems=False)
    catalog = InProcessTap(config=config, streams=ENGINE_STREAMS).catalog_dict
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "items":
            entry["replication_method"] = "FULL_TABLE"
            root = next(m for m in entry["metadata"] if not m["breadcrumb"])
            root["metadata"].update({"forced-replication-method": "FULL_TABLE", "selected": True})
    # A bookmark exists, but FULL_TABLE means every item again and a version at the end.
    messages = _sync(
        em,
        state=states(first)[-1],
        catalog=catalog,
        include_subitems=False,
        emit_activate_version_messages=True,
    )
    assert len(records(messages, "items")) == len(records(first, "items"))
    _assert_versioned(messages, "items")


def test_a_failed_complete_run_activates_nothing(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=2, items_per_board=150, extra_tokens=(TOKEN,))
    config = emulator_config(em, TOKEN, emit_activate_version_messages=True, include_subitems=False)
    messages, error = run_in_process(config, streams={"items"}, swap={"items": _FailingItems})
    assert error is not None
    assert len(records(messages, "items")) == 49
    assert not [m for m in messages if m["type"] == "ACTIVATE_VERSION"]


def test_activity_log_pages_until_a_short_page(emulator_factory: Factory) -> None:
    clock = FakeClock()
    em = emulator_factory(boards=1, items_per_board=1_000, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    board = store.board_ids()[0]
    state = states(_sync(em, include_subitems=False))[-1]
    clock.advance(3_600)
    gone = store.item_ids(board)[:520]  # 520 delete_pulse entries: more than one page of 500
    for item_id in gone:
        store.delete_item(item_id)
    requests_before = len(em.emulator.request_log)
    items = {r["id"]: r for r in records(_sync(em, state=state, include_subitems=False), "items")}
    assert {i for i in gone if items.get(i, {}).get("state") == "deleted"} == set(gone)
    pages = [c["page"] for c in board_calls(em.emulator.request_log[requests_before:], ACTIVITY_LOGS)]
    assert sorted(pages) == [1, 2]
