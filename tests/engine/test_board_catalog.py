"""The board catalog: one document with fragments per need, one model, one missing-board rule, one listing.

Real syncs and listings against the emulator over loopback; its request log says what was asked.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from monday_emulator.testing import RunningEmulator

from tap_monday_boards import queries
from tap_monday_boards.board_streams import discover_board_streams
from tap_monday_boards.engine.boards import (
    MISSING_BOARD_CODE,
    BoardListing,
    fetch_catalog,
    fetch_subitem_boards,
    missing_board_decision,
    missing_boards,
)
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.errors import MondayAPIError
from tap_monday_boards.tap import TapMondayBoards
from tests.support.insync import records, run_in_process

Factory = Callable[..., RunningEmulator]
TOKEN = "board-catalog-token-7341"
UNKNOWN = "4242424242"


def _config(em: RunningEmulator, **config: Any) -> dict[str, Any]:
    return {"api_url": em.url, "api_token": TOKEN, **config}


def _operations(em: RunningEmulator) -> Counter[str]:
    return Counter(str(r.operation) for r in em.emulator.request_log)


def test_every_variant_is_the_core_plus_one_need_and_the_stream_need_covers_the_others() -> None:
    """One document builder: the boards stream's variant selects everything the engine's and the layout's
    select, so a run that needs several sends the one richest variant (tests/test_queries.py validates each
    against monday's schema)."""
    variants = {
        queries.BOARDS_QUERY: queries.BOARD_STREAM_FIELDS,
        queries.BOARDS_META_QUERY: queries.BOARD_ENGINE_FIELDS,
        queries.BOARD_COLUMNS_QUERY: queries.BOARD_LAYOUT_FIELDS,
    }
    for document, need in variants.items():
        assert f"{{ {queries.BOARD_CORE_FIELDS} {need} }}" in document
    stream = queries.BOARD_STREAM_FIELDS
    for scalar in ("workspace_id", "items_count"):
        assert scalar in stream.split()
    assert "groups { id " in stream
    assert "settings_str" in stream.split("columns {")[1]
    assert {"id", "title", "type"} <= set(stream.split("columns {")[1].split("}")[0].split())


def test_the_missing_board_rule_names_the_board_the_code_and_both_settings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(MondayAPIError) as excinfo:
        missing_boards(["1", "2", "3"], ["1"], skip_unreadable=False, where="items")
    text = str(excinfo.value)
    assert "board 2" in text and MISSING_BOARD_CODE in text
    assert "board_ids" in text and "skip_unreadable_boards" in text
    assert not excinfo.value.decision.retryable
    caplog.set_level(logging.WARNING)
    assert missing_boards(["1", "2", "3", "2"], ["1"], skip_unreadable=True, where="items") == ["2", "3"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and all(MISSING_BOARD_CODE in w and "skipped" in w for w in warned), warned


@pytest.mark.parametrize("select", [{"boards"}, {"items"}, {"subitems"}])
def test_a_missing_board_fails_every_reader_with_the_same_words(
    emulator_factory: Factory, select: set[str]
) -> None:
    em = emulator_factory(boards=1, items_per_board=5, extra_tokens=(TOKEN,))
    real = str(em.emulator.store.board_ids()[0])
    _, error = run_in_process(_config(em, board_ids=[real, UNKNOWN]), select=select)
    assert error is not None
    assert missing_board_decision(UNKNOWN).message in str(error), str(error)
    assert _operations(em)["Boards" if "boards" in select else "BoardsMeta"] == 1  # the listing, once


def test_board_streams_discovery_uses_the_catalog_and_its_rule(emulator_factory: Factory) -> None:
    em = emulator_factory(boards=2, items_per_board=5, extra_tokens=(TOKEN,))
    real = [str(b) for b in em.emulator.store.board_ids()]
    config = {"api_url": em.url, "api_token": TOKEN, "board_streams": True, "board_ids": [UNKNOWN, *real]}
    with pytest.raises(MondayAPIError) as excinfo:
        TapMondayBoards(config=config)
    assert missing_board_decision(UNKNOWN).message in str(excinfo.value)
    before = len(em.emulator.request_log)
    tap = TapMondayBoards(config={**config, "skip_unreadable_boards": True})
    asked = [r.operation for r in em.emulator.request_log[before:]]
    assert asked == ["BoardColumns"], asked  # one listing for every board stream
    streams = discover_board_streams(tap)
    assert [s.layout.board_id for s in streams] == real  # configured order, the unknown board left out
    truth = em.emulator.store.board(real[0])
    assert {c.title for c in streams[0].layout.columns} <= {c["title"] for c in truth["columns"]}


def test_outside_a_sync_one_listing_gives_item_and_subitem_boards(emulator_factory: Factory) -> None:
    """The catalog a stream run on its own reads: the listing, then only the subitems boards it lacks."""
    em = emulator_factory(boards=3, items_per_board=5, extra_tokens=(TOKEN,))
    store = em.emulator.store
    boards = [str(b) for b in store.board_ids()]
    settings = EngineSettings.from_config({"api_url": em.url, "api_token": TOKEN})
    listing = BoardListing(board_ids=tuple(boards))
    catalog = fetch_catalog(settings, listing)
    assert [m.board_id for m in catalog.item_boards()] == boards
    assert _operations(em) == Counter({"BoardsMeta": 1})  # items alone: the listing only
    fetch_subitem_boards(settings, catalog, listing)
    fetch_subitem_boards(settings, catalog, listing)  # it holds them now: no second request
    expected = [str(s) for b in boards if (s := store.subitem_board_id(b))]
    assert expected and [m.board_id for m in catalog.subitem_boards()] == expected
    assert _operations(em) == Counter({"BoardsMeta": 2})
    first = catalog.item_boards()[0]
    assert first.columns and all(c.title == "" for c in first.columns)  # the engine variant asks no titles
    assert first.group_ids and first.column_types


def test_a_listing_by_ids_is_charged_for_those_boards_only(emulator_factory: Factory) -> None:
    """With board ids, the page's ``limit`` is their count: the same boards, at a fraction of the price
    (monday charges a page by its limit, nested ``groups``/``columns`` lists included)."""
    em = emulator_factory(boards=3, items_per_board=5, extra_tokens=(TOKEN,))
    boards = [str(b) for b in em.emulator.store.board_ids()]
    settings = EngineSettings.from_config({"api_url": em.url, "api_token": TOKEN})
    by_ids = fetch_catalog(settings, BoardListing(board_ids=tuple(boards[:2])))
    every = fetch_catalog(settings, BoardListing())
    assert [m.board_id for m in by_ids.item_boards()] == boards[:2]
    assert [m.board_id for m in every.item_boards()] == boards
    first, second = [r for r in em.emulator.request_log if r.operation == "BoardsMeta"]
    assert first.variables["limit"] == 2 and second.variables["limit"] == 100
    assert 0 < first.cost * 40 < second.cost  # 2 of 100 boards' worth, not a whole page


def test_one_listing_feeds_boards_groups_columns_subscribers_and_items(emulator_factory: Factory) -> None:
    """A sync of the boards stream, its children and items: one listing, every child's rows from it."""
    em = emulator_factory(boards=2, items_per_board=5, extra_tokens=(TOKEN,))
    store = em.emulator.store
    boards = [str(b) for b in store.board_ids()]
    select = {"boards", "groups", "columns", "board_subscribers", "items"}
    messages, error = run_in_process(_config(em, board_ids=boards), select=select)
    assert error is None, error
    asked = _operations(em)
    assert asked["Boards"] == 1 and "BoardsMeta" not in asked and "BoardColumns" not in asked, asked
    for board in boards:
        truth = store.board(board)
        assert [g["id"] for g in records(messages, "groups") if g["board_id"] == board] == [
            str(g["id"]) for g in truth["groups"]
        ]
        assert [c["id"] for c in records(messages, "columns") if c["board_id"] == board] == [
            str(c["id"]) for c in truth["columns"]
        ]
    assert {s["board_id"] for s in records(messages, "board_subscribers")} == set(boards)
    assert sorted(r["id"] for r in records(messages, "items")) == sorted(
        str(i) for b in boards for i in store.item_ids(b)
    )
