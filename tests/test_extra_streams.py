"""assets, update_replies, board_views, board_subscribers and item_subscribers against the emulator.

What a user is promised: discovery lists them with primary keys (``item_subscribers`` only when its setting
is on); a full sync emits exactly the emulator's ground truth for each (tests/support/extras_truth.py reads
the emulator's generators, not the tap); ``assets`` syncs after the streams that hand it asset ids and, on
an incremental run, reads only the assets of what that run emitted; and the request shapes cost what
docs/architecture.md says under monday's published complexity rule (the emulator's default
``documented`` model), with the items stream's points per item unchanged by the new streams.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from monday_emulator.clock import FakeClock
from monday_emulator.cost import DocumentedCostModel
from monday_emulator.data import Store
from monday_emulator.execute import Executor
from monday_emulator.testing import RunningEmulator

from tap_monday_boards import batched, queries
from tap_monday_boards.streams import BoardsStream, UpdatesStream
from tap_monday_boards.tap import TapMondayBoards
from tests.support import extras_truth as truth
from tests.support.insync import Messages, board_calls, build_tap, emulator_config, records, states, sync

Factory = Callable[..., RunningEmulator]
TOKEN = "extra-streams-token-2718"
NEW_STREAMS = ("assets", "update_replies", "board_views", "board_subscribers", "item_subscribers")
PER_ITEM_OPERATIONS = ("HarvestFirstPage", "HarvestFirstPages", "HarvestNextPage", "ItemsByIds")
"""The engine's requests that scale with the items (its boards come from the one boards listing of the
sync: BoardsMeta alone, or the boards stream's fuller page when that stream is selected)."""


def _config(em: RunningEmulator, **config: Any) -> dict[str, Any]:
    """These tests' config: ``update_replies`` on (it is off by default)."""
    return emulator_config(em, TOKEN, **{"update_replies": True, **config})


def _sync(em: RunningEmulator, select: set[str] | None = None, state: Any = None, **config: Any) -> Messages:
    return sync(_config(em, **config), select=select, state=state)


def _canon(rows: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def _asset_ids(request: Any) -> list[str]:
    """The asset ids of one ``Assets`` request, over its aliased lists (``ids0``, ``ids1``, ...)."""
    return [i for name, ids in sorted(request.variables.items()) if name.startswith("ids") for i in ids]


def _requests(em: RunningEmulator, operation: str, since: int = 0) -> list[Any]:
    return [r for r in em.emulator.request_log[since:] if r.operation == operation and r.status == 200]


def test_discovery_lists_the_new_streams_with_keys_and_the_costly_ones_only_when_on() -> None:
    config = {"api_token": TOKEN, "api_url": "http://127.0.0.1:9/v2"}
    default = TapMondayBoards(config=config).streams
    keys = {name: tuple(default[name].primary_keys or ()) for name in NEW_STREAMS if name in default}
    assert keys == {
        "assets": ("id",),
        "board_views": ("id",),
        "board_subscribers": ("board_id", "user_id"),
    }
    assert next(reversed(default)) == "assets", "assets must sync last (it reads what the others collected)"
    opted = TapMondayBoards(config={**config, "item_subscribers": True, "update_replies": True}).streams
    assert tuple(opted["item_subscribers"].primary_keys or ()) == ("item_id", "user_id")
    assert opted["item_subscribers"].parent_stream_type is type(opted["items"])
    assert tuple(opted["update_replies"].primary_keys or ()) == ("id",)
    assert opted["update_replies"].parent_stream_type is type(opted["updates"])
    assert next(reversed(opted)) == "assets"
    properties = TapMondayBoards.config_jsonschema["properties"]
    assert properties["item_subscribers"]["default"] is False
    assert "1,000 points per item" in properties["item_subscribers"]["description"]
    assert properties["update_replies"]["default"] is False
    assert "6,000 points per update" in properties["update_replies"]["description"]


def test_a_full_sync_emits_exactly_the_ground_truth_of_each_new_stream(emulator_factory: Factory) -> None:
    # 550 items per board -> 110 updates per board: the replies of one board take two requests (100 + 10)
    em = emulator_factory(boards=2, items_per_board=550, extra_tokens=(TOKEN,))
    store = em.emulator.store
    messages = _sync(em, item_subscribers=True)
    streams = build_tap(_config(em, item_subscribers=True)).streams
    items = [r["id"] for r in records(messages, "items")]
    subitems = [r["id"] for r in records(messages, "subitems")]
    assert sorted(items) == sorted(truth.active_item_ids(store))
    expected = {
        "board_subscribers": truth.board_subscribers(store),
        "board_views": truth.board_views(store),
        "update_replies": truth.update_replies(store),
        "item_subscribers": truth.item_subscribers(store, items),
        "assets": truth.assets(store, [*items, *subitems]),
    }
    for stream, want in expected.items():
        got = records(messages, stream)
        assert want, f"the emulator generated no {stream}: the comparison would prove nothing"
        assert _canon(got) == _canon(want), stream
        keys = [tuple(r[k] for k in streams[stream].primary_keys or ()) for r in got]
        assert len(keys) == len(set(keys)), f"duplicate keys in {stream}"
    kinds = Counter(("item" if r["item_id"] else "update") for r in records(messages, "assets"))
    assert kinds["item"] and kinds["update"]

    positions = {
        stream: [n for n, m in enumerate(messages) if m["type"] == "RECORD" and m["stream"] == stream]
        for stream in ("items", "subitems", "updates", "assets")
    }
    assert min(positions["assets"]) > max(positions["items"] + positions["subitems"] + positions["updates"])

    boards = truth.readable_board_ids(store)
    views = board_calls(em.emulator.request_log, ("BoardViewsBatch",))
    assert sorted(c["board_id"] for c in views) == sorted(boards), "each board's views asked once"
    assert len(_requests(em, "BoardViewsBatch")) == 1, "several boards' views in one request"
    replies = _requests(em, "UpdateReplies")
    assert len(replies) == math.ceil(len(truth.updates(store)) / 100), "100 update ids a request, any board"
    for request in [*replies, *_requests(em, "ItemSubscribers"), *_requests(em, "UpdateAssetIds")]:
        assert 1 <= len(request.variables["ids"]) == request.variables["limit"] <= 100
    assets_requested = [i for r in _requests(em, "Assets") for i in _asset_ids(r)]
    lists = [v for r in _requests(em, "Assets") for v in r.variables.values()]
    assert all(1 <= len(ids) <= 100 for ids in lists), "at most 100 ids per assets(ids:) list"
    assert sorted(assets_requested) == sorted(r["id"] for r in expected["assets"]), "each asset asked once"


def test_assets_are_written_by_the_batch_loop(emulator_factory: Factory) -> None:
    """Assets come in bursts of tens of thousands: their rows are written a whole answer at a time by the
    batch loop of records.py (the record built in ``parse_body``, the SDK's ``post_process``), not through
    the SDK's per-record loop; a stream with its own ``post_process`` keeps the SDK's loop."""
    em = emulator_factory(boards=1, items_per_board=5, extra_tokens=(TOKEN,))
    tap = build_tap(_config(em))
    assert tap.streams["assets"]._batch_path_applies()
    assert tap.streams["items"]._batch_path_applies()
    assert not tap.streams["update_replies"]._batch_path_applies()


def test_the_items_stream_costs_the_same_points_per_item_with_the_new_streams(
    emulator_factory: Factory,
) -> None:
    """Under the documented cost model: item subscribers and assets come from requests of their own."""
    plain_em = emulator_factory(boards=2, items_per_board=450, extra_tokens=(TOKEN,))
    full_em = emulator_factory(boards=2, items_per_board=450, extra_tokens=(TOKEN,))
    assert isinstance(full_em.emulator.executor.cost_model, DocumentedCostModel)
    plain = _sync(plain_em, {"items"})
    options = {"item_subscribers": True, "item_column_values": True}
    everything = set(build_tap(_config(full_em, **options)).streams) - {"subitems"}
    full = _sync(full_em, everything, **options)
    assert {"assets", "item_subscribers", "item_column_values"} <= {m.get("stream") for m in full}

    def engine_points(em: RunningEmulator, messages: Messages) -> tuple[float, set[str]]:
        spent = [r for r in em.emulator.request_log if r.operation in PER_ITEM_OPERATIONS]
        documents = {r.query for r in em.emulator.request_log if r.operation in PER_ITEM_OPERATIONS}
        return sum(r.cost for r in spent) / len(records(messages, "items")), documents

    plain_points, plain_documents = engine_points(plain_em, plain)
    full_points, full_documents = engine_points(full_em, full)
    assert len(records(plain, "items")) == len(records(full, "items")) == 882
    # Equal up to one request's own 10 points: the boards' last partial batches leave together or apart
    # depending on when the main thread reaches each board (engine/mixed.py).
    assert full_points == pytest.approx(plain_points, abs=10 / 882), (plain_points, full_points)
    assert full_documents == plain_documents, "the engine's documents must not change"
    assert 100 < plain_points < 150
    subscribers = _requests(full_em, "ItemSubscribers")
    asked = sum(len(r.variables["ids"]) for r in subscribers)
    assert asked == 882  # every emitted (non-deleted) item once
    assert sum(r.cost for r in subscribers) == 10 * len(subscribers) + 1_011 * asked


def test_an_incremental_run_reads_only_the_assets_of_what_it_emitted(emulator_factory: Factory) -> None:
    clock = FakeClock()
    em = emulator_factory(boards=1, items_per_board=300, extra_tokens=(TOKEN,), clock=clock)
    store = em.emulator.store
    select = {"boards", "updates", "items", "assets"}
    first = _sync(em, select)
    assert {r["item_id"] for r in records(first, "assets") if r["item_id"]}
    changed = next(i for i in store.item_ids(store.board_ids()[0]) if truth.item_asset_ids(store, [i]))
    clock.advance(3_600)
    store.rename_item(changed, "Renamed with files")
    logged = len(em.emulator.request_log)
    second = _sync(em, select, state=states(first)[-1])
    emitted = [r["id"] for r in records(second, "items")]
    assert changed in emitted and len(emitted) <= 3  # + the newest items, inside the look-back window
    assert _canon(records(second, "assets")) == _canon(truth.assets(store, emitted))
    asked = {i for r in _requests(em, "Assets", logged) for i in _asset_ids(r)}
    assert asked == {r["id"] for r in truth.assets(store, emitted)}, "no asset of an item not emitted"


def _most_at_once(requests: list[Any]) -> int:
    """The most of ``requests`` the server was handling at the same moment."""
    edges = sorted([(r.start, 1) for r in requests] + [(r.end, -1) for r in requests])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


def test_batches_of_ids_are_in_flight_together_under_the_concurrency_limit(
    emulator_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ~5,500 item files -> a dozen Assets requests of 500; at 0.2 s an answer, one at a time ~2.4 s of them.
    # A partial batch goes early only after its ids stopped coming (test_batched.py); here no pause of the
    # writer may send one, so the full batches can be told apart from the stream's own last one.
    monkeypatch.setattr(batched, "EARLY_LINGER_S", 3600.0)
    latency = "custom:base=0.2,per_object=0,jitter=0"
    em = emulator_factory(boards=2, items_per_board=2_750, extra_tokens=(TOKEN,), latency=latency)
    store = em.emulator.store
    messages = _sync(em, {"items", "assets"}, max_concurrency=8)
    emitted = [r["id"] for r in records(messages, "items")]
    assert _canon(records(messages, "assets")) == _canon(truth.assets(store, emitted, with_updates=False))
    assets = _requests(em, "Assets")
    assert len(assets) >= 10
    assert 2 <= _most_at_once(assets) <= 8, "batches overlap, never beyond max_concurrency"
    asked = [i for r in assets for i in _asset_ids(r)]
    assert len(asked) == len(set(asked)), "each asset asked once"
    items_end = max(r.end for r in _requests(em, "ItemsByIds"))
    early = [r for r in assets if r.start < items_end]
    assert early, "the assets of item files already written are asked while the items are still fetched"
    assert all(len(_asset_ids(r)) == 500 for r in early), "early batches are full ones (5 lists of 100)"


def test_update_asset_ids_are_asked_as_the_engine_fetches_the_updates(emulator_factory: Factory) -> None:
    # 550 items -> 110 updates: one full batch of 100 update ids can go before anything is written
    latency = "custom:base=0.2,per_object=0,jitter=0"
    em = emulator_factory(boards=1, items_per_board=550, extra_tokens=(TOKEN,), latency=latency)
    store = em.emulator.store
    messages = _sync(em, {"boards", "updates", "items", "assets"}, max_concurrency=8, include_subitems=False)
    emitted = [r["id"] for r in records(messages, "items")]
    assert _canon(records(messages, "assets")) == _canon(truth.assets(store, emitted))
    update_ids = [i for r in _requests(em, "UpdateAssetIds") for i in r.variables["ids"]]
    assert sorted(update_ids) == sorted(u["id"] for u in records(messages, "updates")), "each update once"
    # items are written first, updates after them: an update-ids request sent before the last items batch
    # was answered can only come from the engine's hook on the fetched updates
    first_update_ids = min(r.start for r in _requests(em, "UpdateAssetIds"))
    assert first_update_ids < max(r.end for r in _requests(em, "ItemsByIds"))


def test_assets_without_items_warns_and_never_extracts_items(
    emulator_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    em = emulator_factory(boards=1, items_per_board=200, extra_tokens=(TOKEN,))
    caplog.set_level(logging.WARNING)
    messages = _sync(em, {"boards", "updates", "assets"})
    assert not {r.operation for r in em.emulator.request_log} & {*PER_ITEM_OPERATIONS, "BoardsMeta"}
    update_assets = truth.assets(em.emulator.store, [], with_updates=True)
    assert _canon(records(messages, "assets")) == _canon(update_assets) and update_assets
    for name in ("items", "subitems"):
        assert f"stream '{name}' is not selected" in caplog.text
    assert "stream 'updates' is not selected" not in caplog.text


def _nested(document: str, after: str, extra: str) -> str:
    """``document`` with ``extra`` selected right after ``after`` (the shape a peer would send)."""
    assert document.count(after) == 1, after
    return document.replace(after, f"{after} {extra}")


def test_request_shapes_cost_what_the_docs_say_under_the_published_rule() -> None:
    """The numbers in docs/architecture.md ("Costs of the extra streams"), and why each shape was chosen."""
    clock = FakeClock()
    executor = Executor(Store(seed=1, boards=1, items_per_board=10, clock=clock), clock)

    def cost(document: str, **variables: Any) -> int:
        points = executor.estimate_cost(document, variables, None)
        assert points > 0, "the document does not validate against the emulator's schema"
        return points

    def ids(n: int, base: int = 300_000_000) -> list[str]:
        return [str(base + i) for i in range(n)]

    # update_replies: by update ids vs nested in the updates page (limit 100, charged full)
    updates = queries.BOARD_UPDATES_QUERY
    page = {"board_ids": ["1"], "limit": UpdatesStream.page_size, "page": 1}
    replies = "replies { id body text_body creator_id created_at updated_at }"
    plain_page = cost(updates, **page)
    nested = cost(_nested(updates, "created_at updated_at", replies), **page)
    assert (plain_page, nested) == (721, 601_721)
    by_ids = {n: cost(queries.UPDATE_REPLIES_QUERY, ids=ids(n), limit=n) for n in (1, 5, 50, 100)}
    assert by_ids == {n: 10 + 6_012 * n for n in by_ids} and by_ids[5] == 30_070 and by_ids[100] == 601_210
    assert by_ids[100] - (nested - plain_page) == 210, "a full page: 0.03% dearer by ids; any other: cheaper"
    # asset ids of updates: by ids vs nested in the page
    assert cost(_nested(updates, "created_at updated_at", "assets { id }"), **page) - plain_page == 101_000
    assert cost(queries.UPDATE_ASSET_IDS_QUERY, ids=ids(100), limit=100) == 101_110

    # assets by id (19 points each) vs Item.assets in the engine's batch; subscribers in or out of it
    assert cost(queries.assets_query(1), ids0=ids(100)) == 1_910
    lists = {f"ids{n}": ids(100, 10_000 * (n + 1)) for n in range(queries.ASSET_LISTS_PER_REQUEST)}
    assert cost(queries.ASSETS_QUERY, **lists) == 1_910 * queries.ASSET_LISTS_PER_REQUEST, "each list its own"
    items = {"ids": ids(100, 10_000_000_000), "limit": 100}
    batch = cost(queries.ITEMS_BY_IDS_QUERY, **items)
    fields = "id name file_extension file_size url public_url url_thumbnail created_at uploaded_by { id }"
    assert batch == 12_010
    with_assets = _nested(queries.ITEMS_BY_IDS_QUERY, "parent_item { id }", f"assets {{ {fields} }}")
    assert cost(with_assets, **items) == 1_913_010
    with_subscribers = _nested(queries.ITEMS_BY_IDS_QUERY, "parent_item { id }", "subscribers { id }")
    assert cost(with_subscribers, **items) - batch == 101_000
    assert cost(queries.ITEM_SUBSCRIBERS_QUERY, **items) == 101_110

    # boards page (limit 50) with subscribers, under a trial budget; views per board vs nested
    boards_page = {"limit": BoardsStream.page_size, "page": 1}
    boards = cost(queries.BOARDS_QUERY, **boards_page)
    without = cost(queries.BOARDS_QUERY.replace(" subscribers { id }", ""), **boards_page)
    assert (BoardsStream.page_size, boards, boards - without) == (50, 903_160, 50 * 1_010)
    assert boards <= 1_000_000, "a boards page must fit in a trial account's budget per minute"
    views = "views { id name type settings_str view_specific_data_str source_view_id access_level }"
    assert cost(_nested(queries.BOARDS_QUERY, "owners { id }", views), **boards_page) - boards == 50 * 7_010
    assert cost(queries.BOARD_VIEWS_QUERY, board_ids=["1"]) == 7_021
