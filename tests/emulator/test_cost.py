"""Static cost estimates: monday's published figures, both models, and every document the tap sends.

The ``documented`` model must reproduce the only costs monday.com has published (emulator/cost.py cites
them); the tap's documents must stay cheap under it: an ``ItemsByIds`` batch with every typed column
fragment at most 200 points per id, a harvest page (board or group) at most 2,500 points per 500 ids,
every page of the small streams under the 5,000,000 per-query cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from graphql import DocumentNode, GraphQLSchema
from monday_emulator.clock import FakeClock
from monday_emulator.cost import (
    COST_MODELS,
    DEFAULT_COST_MODEL,
    MAX_QUERY_COMPLEXITY,
    DocumentedCostModel,
    HeuristicCostModel,
    cost_model_named,
)
from monday_emulator.data import Store
from monday_emulator.execute import Executor

from tap_monday_boards import queries
from tap_monday_boards.batched import IdBatchStream
from tap_monday_boards.engine import boards as engine_boards
from tap_monday_boards.queries import (
    HARVEST_FIRST_PAGE_QUERY,
    HARVEST_GROUP_FIRST_PAGE_QUERY,
    HARVEST_NEXT_PAGE_QUERY,
    ITEMS_BY_IDS_QUERY,
    items_by_ids_query,
)
from tap_monday_boards.streams import BoardActivityLogsStream, BoardsStream, UpdatesStream, UsersStream

CONNECT_BOARDS_TEXT = (
    'query { items(ids: 1234567890) { column_values(ids: "connect_boards") { text } } complexity { query } }'
)
RELATION_FRAGMENT_TEXT = (
    "query { items(ids: 1234567890) { column_values { ... on BoardRelationValue { text } } } "
    "complexity { query } }"
)
GROUPS_SIX_SCALARS = (
    "query { boards(ids: [553122091]) { groups { id title archived color deleted position } } }"
)


def _executor(model: str | None = None, **kwargs: Any) -> Executor:
    clock = FakeClock()
    if model is not None:
        kwargs["cost_model"] = cost_model_named(model)
    return Executor(Store(seed=1, boards=1, items_per_board=10, clock=clock), clock, **kwargs)


def _ids(n: int) -> list[str]:
    return [str(10_000_000_000 + i) for i in range(n)]


def test_documented_model_reproduces_mondays_published_figures() -> None:
    executor = _executor()  # the default model
    assert DEFAULT_COST_MODEL == "documented" and isinstance(executor.cost_model, DocumentedCostModel)
    assert executor.estimate_cost(CONNECT_BOARDS_TEXT, None, None) == 21
    assert executor.estimate_cost(RELATION_FRAGMENT_TEXT, None, None) == 30
    assert executor.estimate_cost(GROUPS_SIX_SCALARS, None, None) == 10 + 10 + 1_000 * 6


def test_heuristic_model_stays_selectable_and_prices_differently() -> None:
    executor = _executor("heuristic")
    assert type(executor.cost_model) is HeuristicCostModel
    # unbounded lists count 10 and column_values without ids 20: not monday's figures
    assert executor.estimate_cost(GROUPS_SIX_SCALARS, None, None) == 10 + 10 + 10 * 6
    assert executor.estimate_cost(CONNECT_BOARDS_TEXT, None, None) != 21
    assert set(COST_MODELS) == {"documented", "heuristic"}
    with pytest.raises(ValueError, match="unknown cost model 'flat'; known models: documented, heuristic"):
        cost_model_named("flat")


@pytest.mark.parametrize("model", sorted(COST_MODELS))
def test_items_by_ids_cost_is_proportional_to_the_number_of_ids(model: str) -> None:
    executor = _executor(model)
    one = executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(1), "limit": 1}, None)
    hundred = executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(100), "limit": 100}, None)
    fifty = executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(50), "limit": 50}, None)
    items_field = HeuristicCostModel().object  # the list field itself is charged once
    assert hundred - items_field == 100 * (one - items_field)
    assert fifty - items_field == 50 * (one - items_field)
    # ids win over limit
    assert executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(10), "limit": 100}, None) == (
        executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(10), "limit": 10}, None)
    )


@pytest.mark.parametrize("model", sorted(COST_MODELS))
def test_selected_columns_cost_less_than_every_column(model: str) -> None:
    executor = _executor(model)
    every = executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(10), "limit": 10}, None)
    selected = items_by_ids_query(["status"], with_column_ids=True)
    cheap = executor.estimate_cost(selected, {"ids": _ids(10), "limit": 10, "column_ids": ["status_1"]}, None)
    assert cheap < every


def test_every_column_type_fetch_costs_at_most_200_points_per_id_under_the_documented_model() -> None:
    executor = _executor("documented")
    every_type = queries.items_by_ids_query(None)  # every typed fragment the tap knows
    for n in (1, 25, 100):
        cost = executor.estimate_cost(every_type, {"ids": _ids(n), "limit": n}, None)
        assert cost <= 200 * n, (n, cost)
    per_column = queries.items_by_ids_query(None, with_column_ids=True)
    cost = executor.estimate_cost(per_column, {"ids": _ids(100), "limit": 100, "column_ids": ["a"]}, None)
    assert cost <= 200 * 100


def test_a_list_of_objects_inside_each_item_would_cost_x1000() -> None:
    """Why people/dropdown have no fragment: the same batch with ``persons_and_teams`` costs ~17x more."""
    executor = _executor("documented")
    variables = {"ids": _ids(100), "limit": 100}
    cheap = executor.estimate_cost(ITEMS_BY_IDS_QUERY, variables, None)
    nested = ITEMS_BY_IDS_QUERY.replace(
        "... on StatusValue", "... on PeopleValue { persons_and_teams { id kind } } ... on StatusValue"
    )
    assert executor.estimate_cost(nested, variables, None) > 10 * cheap


def test_harvest_pages_cost_at_most_2500_points_per_500_ids() -> None:
    executor = _executor("documented")
    first = executor.estimate_cost(HARVEST_FIRST_PAGE_QUERY, {"board_ids": ["1"], "limit": 500}, None)
    following = executor.estimate_cost(HARVEST_NEXT_PAGE_QUERY, {"cursor": "x", "limit": 500}, None)
    assert first <= 2_500 and following <= 2_500
    first_100 = executor.estimate_cost(HARVEST_FIRST_PAGE_QUERY, {"board_ids": ["1"], "limit": 100}, None)
    assert first > 4 * first_100
    group = {"board_ids": ["1"], "group_ids": ["topics"], "limit": 500}
    group_first = executor.estimate_cost(HARVEST_GROUP_FIRST_PAGE_QUERY, group, None)
    assert group_first <= 2_500
    # without group ids the groups list is unbounded (x1,000): the engine always names its one group
    assert (
        executor.estimate_cost(HARVEST_GROUP_FIRST_PAGE_QUERY, {**group, "group_ids": None}, None) > 1_000_000
    )


PER_BOARD_LISTS = (
    queries.BOARD_UPDATES_LIST,
    queries.BOARD_ACTIVITY_LOGS_LIST,
    queries.HARVEST_FIRST_PAGES_LIST,
    queries.BOARD_VIEWS_LIST,
)
PER_BOARD_LIMITS = {
    "BoardUpdatesBatch": UpdatesStream.page_size,
    "BoardActivityLogsBatch": BoardActivityLogsStream.page_size,
    "HarvestFirstPages": 500,
    "BoardViewsBatch": 1_000,  # no page: monday's bound for an unbounded list
}


def _full_per_board(kind: queries.PerBoardList, boards: int = queries.BOARDS_PER_REQUEST) -> dict[str, Any]:
    calls = [(str(n + 1), {"page": 1, "from": None, "query_params": None}) for n in range(boards)]
    shared = {"limit": PER_BOARD_LIMITS[kind.operation]} if kind.shared else {}
    return kind.variables(shared, calls)


@pytest.mark.parametrize("kind", PER_BOARD_LISTS, ids=lambda k: k.operation)
def test_several_boards_per_request_cost_what_each_board_costs_alone(kind: queries.PerBoardList) -> None:
    """k boards in one request cost k x one board (~k x (10 + limit x fields)), whatever each board's
    page: the full 100-board document stays far under the 5,000,000 per-query cap (views, a list without
    pages, x1,000 per board: 702,100 points)."""
    executor = _executor("documented")
    one = executor.estimate_cost(kind.document(1), _full_per_board(kind, 1), None)
    full = executor.estimate_cost(kind.document(queries.BOARDS_PER_REQUEST), _full_per_board(kind), None)
    assert full == queries.BOARDS_PER_REQUEST * one
    assert one <= 10 + 10 + PER_BOARD_LIMITS[kind.operation] * 8
    assert full <= MAX_QUERY_COMPLEXITY // 5


@pytest.mark.parametrize("model", sorted(COST_MODELS))
def test_every_page_the_tap_sends_stays_under_the_per_query_cap(model: str) -> None:
    """Page sizes as the streams and the engine use them; the model is static, so a board with hundreds
    of columns costs what this test measures."""
    executor = _executor(model)
    pages: dict[str, dict[str, Any]] = {
        "Boards": {"limit": BoardsStream.page_size, "page": 1},
        "BoardsMeta": {"limit": engine_boards.PAGE_SIZE, "page": 1},
        "BoardColumns": {"limit": 100, "page": 1},
        "Users": {"limit": UsersStream.page_size, "page": 1},
        "Workspaces": {"limit": 100, "page": 1},
        "BoardUpdates": {"board_ids": ["1"], "limit": UpdatesStream.page_size, "page": 1},
        "BoardActivityLogs": {"board_ids": ["1"], "limit": BoardActivityLogsStream.page_size, "page": 1},
        "ItemsByIds": {"ids": _ids(100), "limit": 100},
        "ItemsByIdsSelectedColumns": {"ids": _ids(100), "limit": 100, "column_ids": ["a", "b"]},
        "HarvestFirstPage": {"board_ids": ["1"], "limit": 500},
        "HarvestGroupFirstPage": {"board_ids": ["1"], "group_ids": ["topics"], "limit": 500},
        "HarvestNextPage": {"cursor": "x", "limit": 500},
        "BoardViews": {"board_ids": ["1"]},
        "UpdateReplies": {"ids": _ids(IdBatchStream.batch_size), "limit": IdBatchStream.batch_size},
        "UpdateAssetIds": {"ids": _ids(IdBatchStream.batch_size), "limit": IdBatchStream.batch_size},
        "Assets": {f"ids{n}": _ids(queries.ASSETS_PER_LIST) for n in range(queries.ASSET_LISTS_PER_REQUEST)},
        "ItemSubscribers": {"ids": _ids(IdBatchStream.batch_size), "limit": IdBatchStream.batch_size},
        **{kind.operation: _full_per_board(kind) for kind in PER_BOARD_LISTS},
    }
    unpaged = {"Teams", "Tags", "Me", "AccountTier"}
    assert set(pages) | unpaged >= set(queries.ALL_QUERIES), "a document without its page"
    for name, document in queries.ALL_QUERIES.items():
        cost = executor.estimate_cost(document, pages.get(name, {}), None)
        assert 0 < cost <= MAX_QUERY_COMPLEXITY, (name, cost)


def test_a_huge_query_exceeds_the_per_query_cap() -> None:
    executor = _executor()
    query = (
        "query { boards(limit: 1000) { items_page(limit: 500) { items { id column_values { id text "
        "... on StatusValue { label } } } } } }"
    )
    assert executor.estimate_cost(query, None, None) > MAX_QUERY_COMPLEXITY
    assert executor.estimate_cost("query { boards { id ", None, None) == 0


class _Flat:
    """A cost model that charges a fixed price: proves the executor uses the one it is given."""

    def estimate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        return 4242


def test_cost_model_is_pluggable_and_reported() -> None:
    executor = _executor(cost_model=_Flat())
    result = executor.execute("query { complexity { query } me { id } }", None, None)
    assert result.cost == 4242 and result.data == {
        "complexity": {"query": 4242},
        "me": {"id": result.data["me"]["id"]},
    }  # type: ignore[index]
    handed = {"before": 9_000_000, "after": 8_995_758, "query": 4242, "reset_in_x_seconds": 41}
    shown = executor.execute(
        "query { complexity { before after query reset_in_x_seconds } }", None, None, complexity=handed
    )
    assert shown.data == {"complexity": handed}
