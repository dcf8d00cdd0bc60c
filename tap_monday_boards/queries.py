"""Every GraphQL document the tap sends, in one place.

Rules (see docs/architecture.md):
- values (ids, cursors, limits, filters) always travel as ``variables``; nothing is formatted into the text;
- every operation selects ``complexity { ... }`` so the governor can pace from real numbers;
- no ``#`` comments inside documents (the SDK joins lines with spaces, a comment would swallow the rest);
- every document validates against monday.com's 2026-10 schema (tests/test_queries.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

COMPLEXITY_FIELDS = "complexity { before after query reset_in_x_seconds }"

# Typed selections per column type, used by the detail fetch. Keys are monday ``ColumnType`` values;
# only the fragments for the column types present on the extracted boards are sent (selection-aware).
# Scalars and scalar lists only: under monday's published complexity rule a list of objects nested in a
# per-item list counts x1,000 (``persons_and_teams { id kind }`` alone made a 100-item batch cost 2,019,010
# points instead of 12,010). People and dropdown therefore have no fragment: their ``value`` JSON carries
# ``personsAndTeams`` / option ``ids``, dropdown labels come from the column's ``settings_str``
# (column_values.py).
COLUMN_VALUE_FRAGMENTS: dict[str, str] = {
    "status": "... on StatusValue { index label is_done }",
    "numbers": "... on NumbersValue { number }",
    "date": "... on DateValue { date time }",
    "timeline": "... on TimelineValue { from to }",
    "checkbox": "... on CheckboxValue { checked }",
    "email": "... on EmailValue { email label }",
    "phone": "... on PhoneValue { phone country_short_name }",
    "link": "... on LinkValue { url url_text }",
    "location": "... on LocationValue { lat lng address }",
    "tags": "... on TagsValue { tag_ids }",
    "rating": "... on RatingValue { rating }",
    "mirror": "... on MirrorValue { display_value }",
    "board_relation": "... on BoardRelationValue { display_value linked_item_ids }",
    "dependency": "... on DependencyValue { display_value linked_item_ids }",
    "formula": "... on FormulaValue { display_value }",
    "subtasks": "... on SubtasksValue { subitems_ids }",
}

ITEM_SCALAR_FIELDS = (
    "id name state created_at updated_at creator_id group { id title } board { id } parent_item { id }"
)


def column_values_selection(column_types: Iterable[str] | None = None) -> str:
    """The ``column_values`` selection with typed fragments for ``column_types`` (all known when None)."""
    types = COLUMN_VALUE_FRAGMENTS if column_types is None else sorted(set(column_types))
    fragments = " ".join(COLUMN_VALUE_FRAGMENTS[t] for t in types if t in COLUMN_VALUE_FRAGMENTS)
    # ``type`` first: an answer's fields come in the selection's order (GraphQL spec, "Serialized Map
    # Ordering", https://spec.graphql.org/October2021/#sec-Serialized-Map-Ordering), and the engine's
    # decoder picks each entry's struct by its ``type`` (wire.py's tagged union), which it reads without
    # a second pass when it is the object's first key: 12 % less decode time per item, measured on
    # captured 100-item answers (docs/benchmarks.md).
    return f"type id text value {fragments}".strip()


def items_by_ids_query(column_types: Iterable[str] | None = None, *, with_column_ids: bool = False) -> str:
    """Phase 2: full items for a batch of ids. Always pass ``limit`` = number of ids (default is 25).

    With ``with_column_ids`` the query takes ``$column_ids`` and asks only for those columns' values.
    """
    column_args = "(ids: $column_ids)" if with_column_ids else ""
    column_var = ", $column_ids: [String!]" if with_column_ids else ""
    return (
        f"query ItemsByIds($ids: [ID!]!, $limit: Int!{column_var}) {{ {COMPLEXITY_FIELDS} "
        f"items(ids: $ids, limit: $limit) {{ {ITEM_SCALAR_FIELDS} "
        f"column_values{column_args} {{ {column_values_selection(column_types)} }} }} }}"
    )


ITEMS_BY_IDS_QUERY = items_by_ids_query()

# Phase 1: ids only. ``query_params`` and ``cursor`` cannot be combined, so the first page of a chain
# carries the filter/order and the rest go through root ``next_items_page`` (cheaper than re-nesting).
# ``updated_at`` is harvested with the id so an expired cursor can be resumed from the last value seen.
HARVEST_PAGE_FIELDS = "cursor items { id updated_at }"

HARVEST_FIRST_PAGE_QUERY = (
    "query HarvestFirstPage($board_ids: [ID!]!, $limit: Int!, $query_params: ItemsQuery) { "
    f"{COMPLEXITY_FIELDS} "
    "boards(ids: $board_ids) { id items_page(limit: $limit, query_params: $query_params) "
    f"{{ {HARVEST_PAGE_FIELDS} }} }} }}"
)

# Partitioned harvest: the first page of one group's chain (``Group.items_page``, documented at
# https://developer.monday.com/api-reference/reference/items-page). The chain then continues through
# ``next_items_page`` like a board's. About 1,050 points per 500 ids.
HARVEST_GROUP_FIRST_PAGE_QUERY = (
    "query HarvestGroupFirstPage($board_ids: [ID!]!, $group_ids: [String], $limit: Int!, "
    "$query_params: ItemsQuery) { "
    f"{COMPLEXITY_FIELDS} "
    "boards(ids: $board_ids) { id groups(ids: $group_ids) { id "
    "items_page(limit: $limit, query_params: $query_params) { cursor items { id updated_at } } } } }"
)

HARVEST_NEXT_PAGE_QUERY = (
    "query HarvestNextPage($cursor: String!, $limit: Int!) { "
    f"{COMPLEXITY_FIELDS} "
    "next_items_page(cursor: $cursor, limit: $limit) { cursor items { id updated_at } } }"
)

# The board catalog (engine/boards.py): ONE document for every reader of boards, its selection made of the
# fragments the run needs. Every variant selects ``BOARD_CORE_FIELDS``; each need adds one fragment, and the
# boards stream's fragment holds the other two, so a run sends the one variant of its richest need:
# - ``BOARD_ENGINE_FIELDS``: the items engine (column types for selection-aware fragments, the subtasks
#   column's settings_str naming the subitems board, items_count, the group ids the partitioned harvest
#   walks in parallel);
# - ``BOARD_LAYOUT_FIELDS``: board streams' discovery (column titles name the typed properties);
# - ``BOARD_STREAM_FIELDS``: the boards stream and the children reading its answer (groups, columns,
#   board_subscribers).
# Why not always the richest: monday charges each list inside a board x1,000 per board of the page, so the
# boards stream's page costs ~18,000 points per board against ~2,000 for the engine's.
BOARD_CORE_FIELDS = "id name type state"
BOARD_ENGINE_FIELDS = "workspace_id items_count groups { id } columns { id type settings_str }"
BOARD_LAYOUT_FIELDS = "columns { id title type }"
BOARD_STREAM_FIELDS = (
    "description board_kind workspace_id board_folder_id permissions url created_at updated_at items_count "
    "owners { id } subscribers { id } tags { id name color } "
    "groups { id title color position archived deleted } "
    "columns { id title type description width archived settings_str }"
)


def board_catalog_query(operation: str, need_fields: str) -> str:
    """The board catalog's document: ``boards`` filtered and paged, the core fields plus one need's."""
    return (
        f"query {operation}($ids: [ID!], $workspace_ids: [ID], $limit: Int!, $page: Int!, $state: State) {{ "
        f"{COMPLEXITY_FIELDS} "
        "boards(ids: $ids, workspace_ids: $workspace_ids, limit: $limit, page: $page, state: $state) { "
        f"{BOARD_CORE_FIELDS} {need_fields} }} }}"
    )


BOARDS_QUERY = board_catalog_query("Boards", BOARD_STREAM_FIELDS)
"""The boards stream's variant (its page size is 50: 903,160 points with subscribers)."""
BOARDS_META_QUERY = board_catalog_query("BoardsMeta", BOARD_ENGINE_FIELDS)
"""The items engine's variant, when no stream reading the boards answer is selected."""
BOARD_COLUMNS_QUERY = board_catalog_query("BoardColumns", BOARD_LAYOUT_FIELDS)
"""Board streams' discovery variant (``state: all``: an archived board keeps its stream)."""

WORKSPACES_QUERY = (
    "query Workspaces($limit: Int!, $page: Int!) { "
    f"{COMPLEXITY_FIELDS} "
    "workspaces(limit: $limit, page: $page, state: all) "
    "{ id name kind description state created_at is_default_workspace } }"
)

USERS_QUERY = (
    "query Users($limit: Int!, $page: Int!) { "
    f"{COMPLEXITY_FIELDS} "
    "users(limit: $limit, page: $page, non_active: true) "
    "{ id name email title kind status is_deleted created_at last_activity time_zone_identifier "
    "teams { id } } }"
)

TEAMS_QUERY = (
    "query Teams { "
    f"{COMPLEXITY_FIELDS} "
    "teams { id name picture_url is_guest created_at users { id } owners { id } } }"
)

TAGS_QUERY = f"query Tags {{ {COMPLEXITY_FIELDS} tags {{ id name color }} }}"

UPDATE_FIELDS = "id body text_body creator_id item_id created_at updated_at"
ACTIVITY_LOG_FIELDS = "id event entity data user_id account_id created_at"

BOARD_UPDATES_QUERY = (
    "query BoardUpdates($board_ids: [ID!]!, $limit: Int!, $page: Int!) { "
    f"{COMPLEXITY_FIELDS} "
    f"boards(ids: $board_ids) {{ id updates(limit: $limit, page: $page) {{ {UPDATE_FIELDS} }} }} }}"
)

BOARD_ACTIVITY_LOGS_QUERY = (
    "query BoardActivityLogs($board_ids: [ID!]!, $limit: Int!, $page: Int!, "
    "$from: ISO8601DateTime, $to: ISO8601DateTime) { "
    f"{COMPLEXITY_FIELDS} "
    "boards(ids: $board_ids) { id activity_logs(limit: $limit, page: $page, from: $from, to: $to) "
    f"{{ {ACTIVITY_LOG_FIELDS} }} }} }}"
)


@dataclass(frozen=True, slots=True)
class PerBoardList:
    """One list under each board (``updates``, ``activity_logs``, ``items_page``) for several boards at once.

    Why aliases (``b0: boards(ids: $b0) { id updates(limit: $limit, page: $page0) {...} } b1: ...``) and not
    one ``boards(ids: [...])``: each board keeps its own arguments in the same request - its own page (a
    board on its third page of updates rides along with others on their first), its own ``from`` (each
    board's activity-log bookmark) and its own ``query_params`` (each board's ``updated_at`` filter), so an
    incremental run batches boards whose bookmarks all differ. Each alias is priced as its own
    ``boards(ids: [one])`` (tests/emulator/test_cost.py). Documents are built per board count and cached.
    """

    operation: str
    field: str
    shared: tuple[tuple[str, str], ...]
    """(argument, GraphQL type) sent once for every board, e.g. ``limit``."""
    per_board: tuple[tuple[str, str], ...]
    """(argument, GraphQL type) sent per board: variable ``<argument><n>`` for the n-th board."""
    selection: str

    def document(self, boards: int) -> str:
        """The document for ``boards`` boards (aliases ``b0`` ... ``b<boards-1>``)."""
        return _per_board_document(self, boards)

    def variables(
        self, shared: Mapping[str, Any], calls: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> dict[str, Any]:
        """Variables for ``calls`` = [(board id, its per-board arguments)], in alias order."""
        variables = dict(shared)
        for n, (board_id, args) in enumerate(calls):
            variables[f"b{n}"] = [str(board_id)]
            for name, _ in self.per_board:
                variables[f"{name}{n}"] = args.get(name)
        return variables


@functools.lru_cache(maxsize=64)
def _per_board_document(kind: PerBoardList, boards: int) -> str:
    declared = [f"${name}: {type_}" for name, type_ in kind.shared]
    fields = []
    for n in range(boards):
        declared.append(f"$b{n}: [ID!]!")
        declared += [f"${name}{n}: {type_}" for name, type_ in kind.per_board]
        args = [f"{name}: ${name}" for name, _ in kind.shared]
        args += [f"{name}: ${name}{n}" for name, _ in kind.per_board]
        arguments = f"({', '.join(args)})" if args else ""
        inner = f"{kind.field}{arguments} {{ {kind.selection} }}"
        fields.append(f"b{n}: boards(ids: $b{n}) {{ id {inner} }}")
    return f"query {kind.operation}({', '.join(declared)}) {{ {COMPLEXITY_FIELDS} {' '.join(fields)} }}"


BOARD_UPDATES_LIST = PerBoardList(
    "BoardUpdatesBatch", "updates", (("limit", "Int!"),), (("page", "Int!"),), UPDATE_FIELDS
)
BOARD_ACTIVITY_LOGS_LIST = PerBoardList(
    "BoardActivityLogsBatch",
    "activity_logs",
    (("limit", "Int!"),),
    (("page", "Int!"), ("from", "ISO8601DateTime")),
    ACTIVITY_LOG_FIELDS,
)
HARVEST_FIRST_PAGES_LIST = PerBoardList(
    "HarvestFirstPages",
    "items_page",
    (("limit", "Int!"),),
    (("query_params", "ItemsQuery"),),
    HARVEST_PAGE_FIELDS,
)
BOARDS_PER_REQUEST = 100
"""Most boards in one per-board-list request (documents are validated and priced at this size)."""

ME_QUERY = f"query Me {{ {COMPLEXITY_FIELDS} me {{ id name }} }}"

ACCOUNT_PLAN_QUERY = (
    f"query AccountTier {{ {COMPLEXITY_FIELDS} account {{ tier is_during_trial plan {{ tier }} }} }}"
)
"""The account's plan: its published limits set the default rate and concurrency (engine/plan_limits.py)."""

# The streams below select a list of objects (views, replies, assets, subscribers), which monday's published
# rule counts x1,000 per parent. So each is asked only by ids (the bound is the number of ids, never a page
# ``limit``) and only when its stream is selected; never inside the items, updates or boards pages.
# Measured costs are in docs/architecture.md ("Costs of the extra streams").

BOARD_VIEW_FIELDS = "id name type settings_str view_specific_data_str source_view_id access_level"

BOARD_VIEWS_QUERY = (
    "query BoardViews($board_ids: [ID!]!) { "
    f"{COMPLEXITY_FIELDS} "
    f"boards(ids: $board_ids) {{ id views {{ {BOARD_VIEW_FIELDS} }} }} }}"
)

UPDATE_REPLIES_QUERY = (
    "query UpdateReplies($ids: [ID!]!, $limit: Int!) { "
    f"{COMPLEXITY_FIELDS} "
    "updates(ids: $ids, limit: $limit) { id item_id "
    "replies { id body text_body creator_id created_at updated_at } } }"
)

UPDATE_ASSET_IDS_QUERY = (
    "query UpdateAssetIds($ids: [ID!]!, $limit: Int!) { "
    f"{COMPLEXITY_FIELDS} "
    "updates(ids: $ids, limit: $limit) { id assets { id } } }"
)

ASSET_FIELDS = "id name file_extension file_size url public_url url_thumbnail created_at uploaded_by { id }"
ASSETS_PER_LIST = 100
"""Ids per ``assets(ids:)`` list: the 100 of monday's other by-ids lists (``items``, ``updates``)."""
ASSET_LISTS_PER_REQUEST = 5
"""``assets(ids:)`` lists in one request (aliases ``a0`` ...): 500 assets, 9,550 points, one answer of the
size of a harvest page; a fifth of the requests of one list per request."""


@functools.lru_cache(maxsize=8)
def assets_query(lists: int) -> str:
    """``lists`` aliased root ``assets(ids: $ids<n>)`` lists in one document (aliases ``a0`` ...)."""
    declared = " ".join(f"$ids{n}: [ID!]!" for n in range(lists))
    fields = " ".join(f"a{n}: assets(ids: $ids{n}) {{ {ASSET_FIELDS} }}" for n in range(lists))
    return f"query Assets({declared}) {{ {COMPLEXITY_FIELDS} {fields} }}"


ASSETS_QUERY = assets_query(ASSET_LISTS_PER_REQUEST)

ITEM_SUBSCRIBERS_QUERY = (
    "query ItemSubscribers($ids: [ID!]!, $limit: Int!) { "
    f"{COMPLEXITY_FIELDS} "
    "items(ids: $ids, limit: $limit) { id subscribers { id } } }"
)

BOARD_VIEWS_LIST = PerBoardList("BoardViewsBatch", "views", (), (), BOARD_VIEW_FIELDS)
"""Views have no page: each board's whole list (monday counts it x1,000 per board: 7,021 points)."""

ALL_QUERIES: dict[str, str] = {
    "ItemsByIds": ITEMS_BY_IDS_QUERY,
    "ItemsByIdsSelectedColumns": items_by_ids_query(["status", "numbers"], with_column_ids=True),
    "HarvestFirstPage": HARVEST_FIRST_PAGE_QUERY,
    "HarvestGroupFirstPage": HARVEST_GROUP_FIRST_PAGE_QUERY,
    "HarvestNextPage": HARVEST_NEXT_PAGE_QUERY,
    "Boards": BOARDS_QUERY,
    "BoardsMeta": BOARDS_META_QUERY,
    "BoardColumns": BOARD_COLUMNS_QUERY,
    "Workspaces": WORKSPACES_QUERY,
    "Users": USERS_QUERY,
    "Teams": TEAMS_QUERY,
    "Tags": TAGS_QUERY,
    "BoardUpdates": BOARD_UPDATES_QUERY,
    "BoardActivityLogs": BOARD_ACTIVITY_LOGS_QUERY,
    "Me": ME_QUERY,
    "AccountTier": ACCOUNT_PLAN_QUERY,
    "BoardViews": BOARD_VIEWS_QUERY,
    "UpdateReplies": UPDATE_REPLIES_QUERY,
    "UpdateAssetIds": UPDATE_ASSET_IDS_QUERY,
    "Assets": ASSETS_QUERY,
    "ItemSubscribers": ITEM_SUBSCRIBERS_QUERY,
    "BoardUpdatesBatch": BOARD_UPDATES_LIST.document(BOARDS_PER_REQUEST),
    "BoardActivityLogsBatch": BOARD_ACTIVITY_LOGS_LIST.document(BOARDS_PER_REQUEST),
    "HarvestFirstPages": HARVEST_FIRST_PAGES_LIST.document(BOARDS_PER_REQUEST),
    "BoardViewsBatch": BOARD_VIEWS_LIST.document(BOARDS_PER_REQUEST),
}
"""Name -> document, for the schema-validation test and the emulator's document cache warm-up."""
