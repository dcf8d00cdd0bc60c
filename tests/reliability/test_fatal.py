"""Fatal conditions stop the real tap process fast, with one clear message, and without wasted requests.

The emulator's request log is the witness: a wrong token must cost exactly one request (and the account
plan's, sent beside the first request of a sync with items), invalid settings
none at all, and a spent daily quota must not be hammered.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from monday_emulator.testing import RunningEmulator

from tests.reliability.harness import FAST_TUNING, run_tap

Factory = Callable[..., RunningEmulator]
TOKEN = "fatal-token-93c1d0"


def _config(em: RunningEmulator, **overrides: object) -> dict[str, object]:
    return {"api_url": em.url, "api_token": TOKEN, "max_concurrency": 4, **FAST_TUNING, **overrides}


@pytest.mark.parametrize("streams", [("items", "subitems"), ()], ids=["engine-streams", "all-streams"])
def test_wrong_token_stops_after_one_request(
    streams: tuple[str, ...], emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(boards=1, items_per_board=50)  # accepts only its own token, not TOKEN
    run = run_tap(_config(em), tmp_path, streams=streams, timeout_s=60)
    err = run.stderr_text()
    assert run.returncode != 0
    assert run.wall_s < 15, f"took {run.wall_s:.1f} s to give up"
    # one request for data; a sync with items also asks the account's plan beside it (engine/plan_limits.py)
    asked = [r for r in em.emulator.request_log if r.operation != "AccountTier"]
    plan = [r for r in em.emulator.request_log if r.operation == "AccountTier"]
    assert len(asked) == 1, [r.operation for r in em.emulator.request_log]
    assert len(plan) == 1  # both runs sync items ("all streams" too)
    assert all(r.status == 401 for r in em.emulator.request_log)
    assert "401" in err and "not authenticated" in err.lower(), err[-2000:]
    assert ": retrying (" not in err
    assert not run.records("items")
    assert TOKEN not in err and TOKEN.encode() not in run.stdout


@pytest.mark.parametrize(
    "streams",
    [
        pytest.param(("items", "subitems"), id="engine-streams"),
        pytest.param((), id="all-streams"),
    ],
)
def test_wrong_token_message_says_authentication_failed_once(
    streams: tuple[str, ...], emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(boards=1, items_per_board=20)
    run = run_tap(_config(em), tmp_path, streams=streams, timeout_s=60)
    error_lines = [ln for ln in run.stderr_text().splitlines() if "| ERROR" in ln and "401" in ln]
    assert len(error_lines) == 1, error_lines
    assert "authentication failed" in error_lines[0].lower()
    assert "api_token" in error_lines[0]


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("batch_size", 0, "batch_size"),
        ("batch_size", 101, "batch_size"),
        ("max_concurrency", 0, "max_concurrency"),
        ("api_url", "htp:/nowhere", "api_url"),
        ("api_url", "http:///v2", "api_url"),
        ("api_version", "2026-13", "api_version"),
        ("api_version", "latest", "api_version"),
        ("harvest_page_size", 501, "harvest_page_size"),
    ],
)
def test_invalid_settings_are_rejected_before_any_request(
    setting: str, value: object, named: str, emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(boards=1, items_per_board=20, token=TOKEN)
    config = _config(em, **{setting: value})
    run = run_tap(config, tmp_path, timeout_s=60)
    err = run.stderr_text()
    assert run.returncode != 0
    assert named in err, err[-2000:]
    assert len(em.emulator.request_log) == 0
    assert not run.messages or all(m["type"] != "RECORD" for m in run.messages)
    assert TOKEN not in err


def test_unknown_board_is_named_in_the_error(emulator_factory: Factory, tmp_path: Path) -> None:
    em = emulator_factory(boards=1, items_per_board=20, token=TOKEN)
    run = run_tap(_config(em, board_ids=["4242424242"]), tmp_path, timeout_s=60)
    err = run.stderr_text()
    assert run.returncode != 0
    assert "4242424242" in err, err[-2000:]
    assert ": retrying (" not in err
    assert len(em.emulator.request_log) <= 3


def test_unknown_board_is_skipped_with_a_warning_when_asked(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    em = emulator_factory(boards=2, items_per_board=30, token=TOKEN)
    real = [str(b) for b in em.emulator.store.board_ids()]
    config = _config(em, board_ids=[real[0], "4242424242"], skip_unreadable_boards=True)
    run = run_tap(config, tmp_path, timeout_s=60)
    err = run.stderr_text()
    assert run.returncode == 0, err[-2000:]
    warnings = [line for line in err.splitlines() if "WARNING" in line and "4242424242" in line]
    assert warnings, err[-2000:]
    items = run.records("items")
    assert sorted(r["id"] for r in items) == sorted(str(i) for i in em.emulator.store.item_ids(real[0]))


def _bookmarks(state: dict[str, Any] | None) -> dict[str, str]:
    partitions = (state or {}).get("bookmarks", {}).get("items", {}).get("partitions", [])
    return {p["context"]["board_id"]: p.get("replication_key_value") for p in partitions}


def test_daily_limit_stops_with_the_reset_time_and_keeps_state(
    emulator_factory: Factory, tmp_path: Path
) -> None:
    """The quota runs out mid-sync: the tap stops at once (no retry storm) and says when the quota resets;
    no STATE it wrote loses or moves a bookmark, so the next run from that state still finds the changes."""
    em = emulator_factory(boards=3, items_per_board=[40, 300, 300], token=TOKEN)
    store, limits = em.emulator.store, em.emulator.limits
    first = run_tap(_config(em), tmp_path / "first", streams=("items",), timeout_s=60)
    assert first.returncode == 0, first.stderr_text()[-2000:]
    before = _bookmarks(first.last_state)
    assert len(before) == 3 and all(before.values()), before

    board = str(store.board_ids()[2])
    renamed = [str(i) for i in store.item_ids(board)[:2]]
    for item_id in renamed:
        store.rename_item(item_id, f"renamed {item_id}")
    limits.plan = dataclasses.replace(limits.plan, daily_calls=len(em.emulator.request_log) + 2)
    seen = len(em.emulator.request_log)

    second = run_tap(_config(em), tmp_path / "second", streams=("items",), state=first.last_state)
    err = second.stderr_text()
    log = em.emulator.request_log[seen:]
    assert second.returncode != 0
    assert second.wall_s < 20
    rejected = [r.code for r in log].count("DAILY_LIMIT_EXCEEDED")
    # requests already in flight may each meet the limit once; none is retried
    assert 1 <= rejected <= 4, [(r.operation, r.code) for r in log]
    assert not [ln for ln in err.splitlines() if ": retrying (" in ln and "DAILY" in ln]
    assert re.search(r"DAILY_LIMIT_EXCEEDED.*resets in \d+ s", err), err[-2000:]
    assert TOKEN not in err
    for state in second.states:
        after = _bookmarks(state)
        for board_id, value in before.items():
            assert after.get(board_id) is not None and after[board_id] >= value, (board_id, after, before)

    limits.plan = dataclasses.replace(limits.plan, daily_calls=None)  # the next day
    resume = second.last_state or first.last_state
    third = run_tap(_config(em), tmp_path / "third", streams=("items",), state=resume)
    assert third.returncode == 0, third.stderr_text()[-2000:]
    names = {r["id"]: r["name"] for r in third.records("items")}
    assert {i: names.get(i) for i in renamed} == {i: f"renamed {i}" for i in renamed}
