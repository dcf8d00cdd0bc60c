"""Static cost estimates: proportional to list bounds, pluggable, and able to exceed the per-query cap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, GraphQLSchema

from tap_monday_boards.emulator.clock import FakeClock
from tap_monday_boards.emulator.cost import MAX_QUERY_COMPLEXITY, HeuristicCostModel
from tap_monday_boards.emulator.data import Store
from tap_monday_boards.emulator.execute import Executor
from tap_monday_boards.queries import (
    HARVEST_FIRST_PAGE_QUERY,
    HARVEST_NEXT_PAGE_QUERY,
    ITEMS_BY_IDS_QUERY,
    items_by_ids_query,
)


def _executor(**kwargs: Any) -> Executor:
    clock = FakeClock()
    return Executor(Store(seed=1, boards=1, items_per_board=10, clock=clock), clock, **kwargs)


def _ids(n: int) -> list[str]:
    return [str(10_000_000_000 + i) for i in range(n)]


def test_items_by_ids_cost_is_proportional_to_the_number_of_ids() -> None:
    executor = _executor()
    one = executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(1), "limit": 1}, None)
    hundred = executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(100), "limit": 100}, None)
    fifty = executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(50), "limit": 50}, None)
    items_field = HeuristicCostModel().object  # the list field itself is charged once
    assert hundred - items_field == 100 * (one - items_field)
    assert fifty - items_field == 50 * (one - items_field)
    assert one > 20 * 4  # at least the four interface scalars of each of ~20 column values


def test_ids_count_wins_over_limit_and_selected_columns_are_cheaper() -> None:
    executor = _executor()
    by_ids = executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(10), "limit": 100}, None)
    by_ten = executor.estimate_cost(ITEMS_BY_IDS_QUERY, {"ids": _ids(10), "limit": 10}, None)
    assert by_ids == by_ten
    selected = items_by_ids_query(["status"], with_column_ids=True)
    cheap = executor.estimate_cost(
        selected, {"ids": _ids(10), "limit": 10, "column_ids": ["status_1", "x"]}, None
    )
    assert cheap < by_ten / 4


def test_harvest_cost_scales_with_limit_and_next_page_is_cheaper_than_nesting() -> None:
    executor = _executor()
    first_100 = executor.estimate_cost(HARVEST_FIRST_PAGE_QUERY, {"board_ids": ["1"], "limit": 100}, None)
    first_500 = executor.estimate_cost(HARVEST_FIRST_PAGE_QUERY, {"board_ids": ["1"], "limit": 500}, None)
    next_500 = executor.estimate_cost(HARVEST_NEXT_PAGE_QUERY, {"cursor": "x", "limit": 500}, None)
    assert first_500 > 4 * first_100
    assert next_500 < first_500


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
