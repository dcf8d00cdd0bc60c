"""Field resolvers for graphql-core execution over the Store's plain dicts.

Most fields are plain dict keys (graphql-core's default resolver reads them); the table ``RESOLVERS`` names
the fields that take arguments or need the store. Application errors are raised as :class:`QueryError` and
become GraphQL errors with ``extensions.code``.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLError, GraphQLResolveInfo, default_field_resolver

from monday_emulator.assets import update_by_id
from monday_emulator.columns import iso
from monday_emulator.data import ITEM_KEYS, Store, ValueView, mix64
from monday_emulator.extras import EXTRA_RESOLVERS
from monday_emulator.listing import Paginator, QueryError, parse_time

if TYPE_CHECKING:
    from monday_emulator.data import Board

MAX_ITEMS_IDS = 100
BOARD_KEY = "_board_id"
"""Key the ``Board.groups`` resolver adds to the group dicts it returns (never selectable in GraphQL)."""
UPDATES_PER_ITEMS = 5  # one generated update per this many items, capped by MAX_BOARD_UPDATES
MAX_BOARD_UPDATES = 1_000


@dataclass(slots=True)
class Context:
    """Per-request state handed to resolvers."""

    store: Store
    paginator: Paginator
    complexity: dict[str, Any]
    version: dict[str, Any]
    account: dict[str, Any] = field(default_factory=dict)
    """``account { ... }``: the store's account as its plan presents it (Executor.account)."""


Resolver = Callable[..., Any]
Info = GraphQLResolveInfo[Context]


def _page(rows: list[Any], limit: int | None, page: int | None) -> list[Any]:
    if not limit or limit < 1:
        return rows
    start = (max(page or 1, 1) - 1) * limit
    return rows[start : start + limit]


def _ids(values: list[Any] | None) -> set[str] | None:
    return None if values is None else {str(v) for v in values}


# ----- Query ----------------------------------------------------------------------------------------------


def q_boards(_: Any, info: Info, **args: Any) -> list[dict[str, Any]]:
    store: Store = info.context.store
    ids = _ids(args.get("ids"))
    workspaces = _ids(args.get("workspace_ids"))
    state = args.get("state") or "active"
    kind = args.get("board_kind")
    rows = []
    for board_id in store.board_ids(include_subitem_boards=True):
        board = store.board(board_id)
        assert board is not None
        if ids is not None and board_id not in ids:
            continue
        if workspaces is not None and board["workspace_id"] not in workspaces:
            continue
        if state != "all" and board["state"] != state:
            continue
        if kind is not None and board["board_kind"] != kind:
            continue
        rows.append(board)
    return _page(rows, args.get("limit"), args.get("page"))


def q_items(_: Any, info: Info, **args: Any) -> list[dict[str, Any]]:
    return items_by_ids(info.context.store, **args)


def items_by_ids(
    store: Store,
    *,
    ids: list[str] | None = None,
    limit: int | None = 25,
    page: int | None = 1,
    newest_first: bool | None = None,
    exclude_nonactive: bool | None = None,
    fields: AbstractSet[str] = ITEM_KEYS,
    view: ValueView | None = None,
) -> list[dict[str, Any]]:
    """Root ``items``: at most 100 ids, ``limit`` (default 25) per page, unknown ids simply absent
    (``fields``, ``view``: what the selection reads of an item and of its column values,
    ``Store.render_item``)."""
    if not ids:
        raise QueryError("items requires the ids argument", "InvalidArgumentException")
    if len(ids) > MAX_ITEMS_IDS:
        raise QueryError(
            f"items accepts at most {MAX_ITEMS_IDS} ids, got {len(ids)}", "InvalidArgumentException"
        )
    if limit is not None and limit > MAX_ITEMS_IDS:
        raise QueryError(f"items limit must be at most {MAX_ITEMS_IDS}", "InvalidArgumentException")
    wanted = sorted({int(i) for i in ids if str(i).isdigit()}, reverse=bool(newest_first))
    rows = []
    for item_id in wanted:
        wanted_fields = fields | {"state"} if exclude_nonactive else fields
        item = store.render_item(item_id, fields=wanted_fields, view=view)
        if item is None or (exclude_nonactive and item["state"] != "active"):
            continue
        rows.append(item)
    return _page(rows, limit if limit is not None else 25, page)


def q_next_items_page(_: Any, info: Info, cursor: str, limit: int = 25) -> dict[str, Any]:
    page: dict[str, Any] = info.context.paginator.next_page(cursor, limit)
    return page


def q_users(_: Any, info: Info, **args: Any) -> list[dict[str, Any]]:
    ids = _ids(args.get("ids"))
    rows = [
        u
        for u in info.context.store.account.users
        if (ids is None or u["id"] in ids) and (args.get("non_active") or not u["is_deleted"])
    ]
    if args.get("newest_first"):
        rows.reverse()
    return _page(rows, args.get("limit"), args.get("page"))


def q_teams(_: Any, info: Info, ids: list[str] | None = None) -> list[dict[str, Any]]:
    wanted = _ids(ids)
    return [t for t in info.context.store.account.teams if wanted is None or t["id"] in wanted]


def q_workspaces(_: Any, info: Info, **args: Any) -> list[dict[str, Any]]:
    ids = _ids(args.get("ids"))
    state = args.get("state") or "active"
    rows = [
        w
        for w in info.context.store.account.workspaces
        if (ids is None or w["id"] in ids)
        and (state == "all" or w["state"] == state)
        and (args.get("kind") is None or w["kind"] == args["kind"])
    ]
    return _page(rows, args.get("limit"), args.get("page"))


def q_tags(_: Any, info: Info, ids: list[str] | None = None) -> list[dict[str, Any]]:
    wanted = _ids(ids)
    return [t for t in info.context.store.account.tags if wanted is None or t["id"] in wanted]


def q_updates(_: Any, info: Info, **args: Any) -> list[dict[str, Any]]:
    store: Store = info.context.store
    ids = _ids(args.get("ids"))
    if ids is None:
        rows = [u for b in store.board_ids() for u in board_updates(store, store.board_obj(b))]
    else:  # each id names its update (assets.update_by_id): no need to generate every board's thousand
        rows = [u for i in ids if (u := _update_named(store, i)) is not None]
    rows.sort(key=lambda u: (u["created_at"], u["id"]), reverse=True)
    return _page(rows, min(args.get("limit") or 25, 100), args.get("page"))


def _update_named(store: Store, update_id: str) -> dict[str, Any] | None:
    """The generated update whose ``id`` is exactly ``update_id`` (canonical digits), else None."""
    if not (update_id.isascii() and update_id.isdigit()):
        return None
    update = update_by_id(store, int(update_id))
    return update if update is not None and update["id"] == update_id else None


def q_me(_: Any, info: Info) -> dict[str, Any]:
    me: dict[str, Any] = info.context.store.account.users[0]
    return me


# ----- Board ----------------------------------------------------------------------------------------------


def _items_page(board_id: Any, group_id: str | None, info: Info, args: dict[str, Any]) -> dict[str, Any]:
    """The first page of a board's (or one group's) chain, or the page after ``cursor``."""
    ctx: Context = info.context
    cursor, params = args.get("cursor"), args.get("query_params")
    if cursor is not None and params is not None:
        raise QueryError("cursor and query_params cannot be used together", "InvalidArgumentException")
    limit = args.get("limit", 25)
    fields = _item_fields_read(info)
    if cursor is not None:
        return ctx.paginator.next_page(cursor, limit, fields=fields)
    obj = ctx.store.board_obj(board_id)
    assert obj is not None
    if group_id is None:
        return ctx.paginator.first_page(obj, limit, params, fields=fields)
    return ctx.paginator.first_page(obj, limit, params, group_id=group_id, fields=fields)


ITEM_LEAVES = frozenset({"id", "name", "state", "created_at", "updated_at", "creator_id"})
"""Item fields read straight from ``Store.render_item``'s keys of the same name (no resolver, no object)."""


def _item_fields_read(info: Info) -> frozenset[str]:
    """The item keys this ``items_page`` field's ``items`` selection reads: those it selects when it selects
    only :data:`ITEM_LEAVES` (and ``__typename``), as a harvest page does; every key whenever unsure
    (fragments, other fields), so the page's items are rendered only as far as they are read."""
    read: set[str] = set()
    for node in info.field_nodes:
        for selection in node.selection_set.selections if node.selection_set else ():
            if not isinstance(selection, FieldNode):
                return ITEM_KEYS
            if selection.name.value != "items" or selection.selection_set is None:
                continue
            for inner in selection.selection_set.selections:
                if not isinstance(inner, FieldNode):
                    return ITEM_KEYS
                name = inner.name.value
                if name not in ITEM_LEAVES and name != "__typename":
                    return ITEM_KEYS
                read.add(name)
    return frozenset(read - {"__typename"})


def b_items_page(board: dict[str, Any], info: Info, **args: Any) -> dict[str, Any]:
    return _items_page(board["id"], None, info, args)


def b_groups(board: dict[str, Any], _: Info, ids: list[str] | None = None) -> list[dict[str, Any]]:
    wanted = _ids(ids)
    # Copies that know their board, for Group.items_page (only selected fields reach the answer).
    return [{**g, BOARD_KEY: board["id"]} for g in board["groups"] if wanted is None or g["id"] in wanted]


def g_items_page(group: dict[str, Any], info: Info, **args: Any) -> dict[str, Any]:
    """``Group.items_page``: the board's chain restricted to this group; continues like a board's."""
    return _items_page(group[BOARD_KEY], str(group["id"]), info, args)


def b_columns(board: dict[str, Any], _: Info, **args: Any) -> list[dict[str, Any]]:
    ids, types = _ids(args.get("ids")), args.get("types")
    return [
        c
        for c in board["columns"]
        if (ids is None or c["id"] in ids) and (types is None or c["type"] in types)
    ]


def b_activity_logs(board: dict[str, Any], info: Info, **args: Any) -> list[dict[str, Any]]:
    rows = info.context.store.activity_logs(board["id"])
    lo = parse_time(args["from"]) * 10_000_000 if args.get("from") else None
    hi = (parse_time(args["to"]) + 1) * 10_000_000 - 1 if args.get("to") else None  # whole second included
    items = _ids(args.get("item_ids"))
    import json  # noqa: PLC0415 - only this resolver decodes log data

    def keep(row: dict[str, Any]) -> bool:
        created = int(row["created_at"])
        if (lo is not None and created < lo) or (hi is not None and created > hi):
            return False
        return items is None or str(json.loads(row["data"]).get("pulse_id")) in items

    return _page([r for r in rows if keep(r)], min(args.get("limit") or 25, 10_000), args.get("page"))


def b_updates(board: dict[str, Any], info: Info, **args: Any) -> list[dict[str, Any]]:
    store: Store = info.context.store
    obj = store.board_obj(board["id"])
    ids = _ids(args.get("ids"))
    limit = min(args.get("limit") or 25, 100)
    if ids is None and limit >= 1 and obj is not None and not obj.is_sub:
        # Only the page asked for: the list is newest first, update k at index count - 1 - k.
        count = min(obj.generated // UPDATES_PER_ITEMS, MAX_BOARD_UPDATES)
        start = (max(args.get("page") or 1, 1) - 1) * limit
        return [
            u
            for k in range(count - 1 - start, max(count - 1 - start - limit, -1), -1)
            if (u := board_update(store, obj, k)) is not None
        ]
    rows = board_updates(store, obj)
    rows = [u for u in rows if ids is None or u["id"] in ids]
    return _page(rows, limit, args.get("page"))


def board_updates(store: Store, board: Board | None) -> list[dict[str, Any]]:
    """Generated updates (comments) of a board, newest first; computed on demand, never stored."""
    if board is None or board.is_sub:
        return []
    count = min(board.generated // UPDATES_PER_ITEMS, MAX_BOARD_UPDATES)
    return [u for k in range(count - 1, -1, -1) if (u := board_update(store, board, k)) is not None]


def board_update(store: Store, board: Board, k: int) -> dict[str, Any] | None:
    """The board's ``k``-th generated update (0 = oldest), or None when it has fewer."""
    if board.is_sub or not 0 <= k < min(board.generated // UPDATES_PER_ITEMS, MAX_BOARD_UPDATES):
        return None
    users = store.account.active_user_ids
    pos = k * UPDATES_PER_ITEMS
    item_id = board.item_base + pos
    created = store.generated_times(board, pos)[0] + 600
    text = f"Status check {k + 1} on {store.item_name(item_id)}"
    return {
        "id": str(300_000_000 + board.index * 1_000_000 + k),
        "body": f"<p>{text}</p>",
        "text_body": text,
        "creator_id": users[mix64(item_id) % len(users)],
        "item_id": str(item_id),
        "created_at": iso(created),
        "updated_at": iso(created),
    }


# ----- Item, User, Team -----------------------------------------------------------------------------------


def i_column_values(item: dict[str, Any], _: Info, **args: Any) -> list[dict[str, Any]]:
    ids, types = _ids(args.get("ids")), args.get("types")
    return [
        v
        for v in item["column_values"]
        if (ids is None or v["id"] in ids) and (types is None or v["type"] in types)
    ]


def i_parent_item(item: dict[str, Any], info: Info) -> dict[str, Any] | None:
    parent = item.get("parent_item")
    return None if parent is None else info.context.store.render_item(parent["id"])


def i_subitems(item: dict[str, Any], info: Info) -> list[dict[str, Any]]:
    return [s for ref in item.get("subitems") or [] if (s := info.context.store.render_item(ref["id"]))]


def u_teams(user: dict[str, Any], info: Info, ids: list[str] | None = None) -> list[dict[str, Any]]:
    wanted = _ids(ids)
    return [
        t
        for t in info.context.store.account.teams
        if t["id"] in user.get("_team_ids", ()) and (wanted is None or t["id"] in wanted)
    ]


def t_users(team: dict[str, Any], _: Info, **args: Any) -> list[dict[str, Any]]:
    wanted = _ids(args.get("ids"))
    return _page(
        [u for u in team["_users"] if wanted is None or u["id"] in wanted],
        args.get("limit"),
        args.get("page"),
    )


def t_owners(team: dict[str, Any], _: Info, ids: list[str] | None = None) -> list[dict[str, Any]]:
    wanted = _ids(ids)
    return [u for u in team["_owners"] if wanted is None or u["id"] in wanted]


RESOLVERS: dict[tuple[str, str], Resolver] = {
    ("Query", "boards"): q_boards,
    ("Query", "items"): q_items,
    ("Query", "next_items_page"): q_next_items_page,
    ("Query", "users"): q_users,
    ("Query", "teams"): q_teams,
    ("Query", "workspaces"): q_workspaces,
    ("Query", "tags"): q_tags,
    ("Query", "updates"): q_updates,
    ("Query", "me"): q_me,
    ("Query", "account"): lambda _, info: info.context.account,
    ("Query", "complexity"): lambda _, info: info.context.complexity,
    ("Query", "version"): lambda _, info: info.context.version,
    ("Board", "items_page"): b_items_page,
    ("Board", "groups"): b_groups,
    ("Board", "columns"): b_columns,
    ("Board", "activity_logs"): b_activity_logs,
    ("Board", "updates"): b_updates,
    ("Group", "items_page"): g_items_page,
    ("Item", "column_values"): i_column_values,
    ("Item", "parent_item"): i_parent_item,
    ("Item", "subitems"): i_subitems,
    ("User", "teams"): u_teams,
    ("Team", "users"): t_users,
    ("Team", "owners"): t_owners,
    **EXTRA_RESOLVERS,  # views, subscribers, replies, assets (extras.py)
}


def field_resolver(source: Any, info: Info, **args: Any) -> Any:
    """Dispatch to ``RESOLVERS`` or read the dict key (graphql-core's default)."""
    resolver = RESOLVERS.get((info.parent_type.name, info.field_name))
    if resolver is None:
        if type(source) is dict:  # default_field_resolver's dict case, without its Mapping ABC check
            value = source.get(info.field_name)
            return value(info, **args) if callable(value) else value
        return default_field_resolver(source, info, **args)
    try:
        return resolver(source, info, **args)
    except QueryError as exc:
        raise GraphQLError(str(exc), extensions={"code": exc.code}) from exc
