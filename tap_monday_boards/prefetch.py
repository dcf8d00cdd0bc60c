"""Prefetch: the sync's engine (runtime + AccountSync) as the SDK streams see it.

Why here: the engine (engine/account.py) knows nothing of the SDK; this module reads the catalog, the state
and the config once, when the first stream starts syncing, turns them into an
:class:`~tap_monday_boards.engine.account.AccountPlan` (which streams are selected, each board's activity-log
and items bookmark, page sizes) and starts it. Each stream then asks :meth:`Prefetch.records` (the small
streams, through ``MondayStream.request_records``) or :meth:`Prefetch.pipeline` (items, subitems) for what
the engine fetched; a stream it does not serve gets None and sends its own requests as before.

The bookmarks are read without writing (sources.read_bookmark).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from singer_sdk import Stream, Tap

from tap_monday_boards import queries
from tap_monday_boards.assets import AssetsStream
from tap_monday_boards.client import MondayStream
from tap_monday_boards.detail_streams import BoardViewsStream
from tap_monday_boards.engine import boards as engine_boards
from tap_monday_boards.engine.account import (
    LISTING_PRIORITY,
    AccountPlan,
    AccountSync,
    ChildList,
    PipelineSpec,
    RootList,
)
from tap_monday_boards.engine.boards import BoardCatalog, BoardListing, BoardMeta
from tap_monday_boards.engine.pipeline import ItemsPipeline
from tap_monday_boards.engine.runtime import EngineRuntime
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.items_stream import ItemsStream, SubitemsStream, _EngineStream
from tap_monday_boards.sources import read_bookmark
from tap_monday_boards.streams import (
    BoardActivityLogsStream,
    BoardsStream,
    TagsStream,
    TeamsStream,
    UpdatesStream,
    UsersStream,
    WorkspacesStream,
    _BoardDetailStream,
)

ROOT_LISTS: dict[type[Stream], tuple[str, str]] = {
    WorkspacesStream: ("Workspaces", "workspaces"),
    UsersStream: ("Users", "users"),
    TeamsStream: ("Teams", "teams"),
    TagsStream: ("Tags", "tags"),
}
"""Account-level streams: (operation, field of ``data``)."""
UPDATES_BOARDS_PER_REQUEST = 100
"""Boards per updates request: at most 100 x 100 updates (~10,000 objects) in one answer."""
VIEWS_BOARDS_PER_REQUEST = 50
"""Boards per views request: each board's views cost 7,021 points (an unbounded list, x1,000)."""
ACTIVITY_BOARDS_PER_REQUEST = 20
"""Boards per activity-log request: at most 20 x 500 entries (~10,000 objects) in one answer, which a
slow account still answers well within monday's 60 s; a request that times out anyway is split."""


def _syncs(stream: Stream) -> bool:
    return bool(stream.selected or stream.has_selected_descendents)


def _of_type(tap: Tap, kind: type[Stream]) -> Stream | None:
    return next((s for s in tap.streams.values() if type(s) is kind or isinstance(s, kind)), None)


def build_plan(tap: Tap) -> AccountPlan:
    """What this sync reads, from the tap's catalog (selection), state (bookmarks) and config."""
    config = tap.config
    roots = tuple(
        RootList(stream.name, operation, stream.query, field, stream.page_size)
        for kind, (operation, field) in ROOT_LISTS.items()
        if isinstance(stream := _of_type(tap, kind), MondayStream) and stream.selected
    )
    boards = _of_type(tap, BoardsStream)
    boards_sync = boards is not None and _syncs(boards)
    details = boards is not None and (
        boards.selected or any(c.selected for c in boards.child_streams if isinstance(c, _BoardDetailStream))
    )
    items = _of_type(tap, ItemsStream)
    subitems = _of_type(tap, SubitemsStream)
    items_sync = items is not None and _syncs(items)
    subitems_sync = subitems is not None and _syncs(subitems) and config.get("include_subitems") is not False
    children: list[ChildList] = []
    updates = _of_type(tap, UpdatesStream)
    if boards_sync and updates is not None and updates.selected:
        assets = _of_type(tap, AssetsStream)
        early = assets.updates_fetched if isinstance(assets, AssetsStream) and assets.selected else None
        children.append(
            ChildList(
                updates.name,
                queries.BOARD_UPDATES_LIST,
                int(getattr(updates, "page_size", 100) or 100),
                UPDATES_BOARDS_PER_REQUEST,
                # the asset ids of the updates are asked as the updates arrive, not once they are written
                on_rows=early,
            )
        )
    views = _of_type(tap, BoardViewsStream)
    if boards_sync and views is not None and views.selected:
        children.append(ChildList(views.name, queries.BOARD_VIEWS_LIST, None, VIEWS_BOARDS_PER_REQUEST))
    logs = _of_type(tap, BoardActivityLogsStream)
    if boards_sync and isinstance(logs, BoardActivityLogsStream) and logs.selected:
        children.append(
            ChildList(
                logs.name,
                queries.BOARD_ACTIVITY_LOGS_LIST,
                int(logs.page_size or 500),
                ACTIVITY_BOARDS_PER_REQUEST,
                args=functools.partial(_activity_args, logs),
            )
        )
    listing = BoardListing(
        board_ids=tuple(str(b) for b in config.get("board_ids") or ()),
        workspace_ids=tuple(str(w) for w in config.get("workspace_ids") or ()),
        state="all" if config.get("include_archived") else "active",
        priority=LISTING_PRIORITY,
    )
    if details:  # the boards stream's variant holds the engine's fields too: one listing for both
        page_size = int(getattr(boards, "page_size", None) or engine_boards.PAGE_SIZE)
        listing = replace(listing, operation="Boards", query=queries.BOARDS_QUERY, page_size=page_size)
    return AccountPlan(
        root_lists=roots,
        boards=listing if details or boards_sync or items_sync or subitems_sync else None,
        skip_unreadable=bool(config.get("skip_unreadable_boards")),
        child_lists=tuple(children),
        items=(
            PipelineSpec(items.name, items.since_for, items.batch_preparer())
            if items_sync and isinstance(items, _EngineStream)
            else None
        ),
        subitems=(
            PipelineSpec(subitems.name, subitems.since_for, subitems.batch_preparer())
            if subitems_sync and isinstance(subitems, SubitemsStream)
            else None
        ),
    )


def _activity_args(stream: BoardActivityLogsStream, board_id: str) -> dict[str, Any]:
    return {"from": stream.from_for(_start(stream, board_id))}


def _start(stream: BoardActivityLogsStream, board_id: str) -> datetime | None:
    """``get_starting_timestamp`` without writing state: the later of the bookmark and ``start_date``."""
    if stream.replication_method != "INCREMENTAL":
        return None
    values = [v for v in (read_bookmark(stream, board_id), stream.config.get("start_date")) if v]
    moments = [m for m in (_parse(v) for v in values) if m is not None]
    return max(moments) if moments else None


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Prefetch:
    """One sync's engine: created by the tap when the first stream syncs, closed when the sync ends."""

    def __init__(self, tap: Tap) -> None:
        self.runtime = EngineRuntime(EngineSettings.from_config(tap.config))
        self.account = AccountSync(self.runtime, build_plan(tap))

    def start(self) -> None:
        self.account.start()

    def close(self) -> None:
        """Stop everything still running: the account's work, the pipelines, the loop thread."""
        try:
            self.account.close()
        finally:
            self.runtime.close()

    def records(self, stream: Stream, context: Mapping[str, Any] | None) -> Iterator[dict[str, Any]] | None:
        """The raw records of ``stream`` (as its ``parse_response`` would yield them), or None when the
        engine does not fetch this stream (the stream then sends its own requests)."""
        account = self.account
        if account.serves_root(stream.name):
            return self._lazy(lambda: account.root_rows(stream.name))
        if isinstance(stream, BoardsStream) and account.lists_boards:
            return account.board_rows()
        if account.serves_child(stream.name) and context and context.get("board_id") is not None:
            return account.child_rows(stream.name, str(context["board_id"]))
        return None

    def pipeline(self, stream: _EngineStream) -> tuple[list[BoardMeta], ItemsPipeline] | None:
        """The boards and the already started pipeline of ``items``/``subitems`` (None: not prefetched)."""
        if not self.account.serves_pipeline(stream.name):
            return None
        return self.account.pipeline(stream.name)

    def board_catalog(self) -> BoardCatalog | None:
        """The run's board catalog, listed once by the engine (None when the run lists no boards)."""
        return self.account.board_catalog()

    @staticmethod
    def _lazy(rows: Any) -> Iterator[dict[str, Any]]:
        yield from rows()
