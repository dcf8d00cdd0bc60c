"""``board_subscribers``, ``board_views`` and ``update_replies``: children of ``boards`` and ``updates``.

Costs under monday's published rule (a list inside each parent counts x1,000; a list's bound is its number
of ``ids``, else its ``limit``), measured in tests/test_extra_streams.py and listed in docs/architecture.md:

* ``board_subscribers`` reads ``owners``/``subscribers`` of the boards answer: no request of its own;
  ``subscribers { id }`` adds 1,010 points per board to the boards page.
* ``board_views``: one ``boards(ids: [board]) { views {...} }`` per board, 7,021 points. Nested in the
  boards page it would add 7,010 points per board of the page's ``limit`` whether or not the account has
  that many boards.
* ``update_replies``: one ``updates(ids:, limit:) { id item_id replies {...} }`` per 100 emitted updates:
  10 + 6,012 points per update (601,210 for 100). Nested in the updates page (``limit: 100``) replies would
  cost 601,000 points per page however few updates the board has (a board with 5 updates: 30,070 by ids,
  601,721 nested), so asking by ids is never dearer and usually far cheaper.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from singer_sdk import Stream
from singer_sdk import typing as th
from singer_sdk.helpers.types import Context, Record
from typing_extensions import override

from tap_monday_boards import queries, sdkcompat
from tap_monday_boards.batched import IdBatchStream
from tap_monday_boards.client import MondayStream
from tap_monday_boards.shrink import PagePosition
from tap_monday_boards.streams import ID, STR, TS, BoardsStream, UpdatesStream, _BoardDetailStream


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


class _ChildRows(Stream):
    """What ``board_views`` and ``update_replies`` share: rows keyed by their own ``id``, one state for the
    stream (not one per parent: the rows have no replication key, and a partition per board or update
    would only grow the STATE), and ids written as strings (monday's ids outgrow JSON's safe integers).

    ``optional_ids`` are id fields that may be null; ``board_of`` says a row's board.
    """

    state_partitioning_keys: ClassVar[list[str]] = []
    primary_keys = ("id",)
    optional_ids: ClassVar[tuple[str, ...]] = ()

    def board_of(self, row: Record, context: Context | None) -> Any:
        """The row's board: the parent's (the context's ``board_id``)."""
        return (context or {})["board_id"]

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Ids as strings, the row's board added."""
        row["id"] = str(row["id"])
        row["board_id"] = _str_or_none(self.board_of(row, context))
        for key in self.optional_ids:
            row[key] = _str_or_none(row.get(key))
        return row


class BoardSubscribersStream(_BoardDetailStream):
    """One row per board and subscribed user; ``role`` is ``owner`` for the board's owners."""

    name = "board_subscribers"
    detail_key = "subscribers"
    primary_keys = ("board_id", "user_id")
    schema = th.PropertiesList(
        th.Property("board_id", ID, required=True),
        th.Property("user_id", ID, required=True),
        th.Property("role", th.StringType(allowed_values=["owner", "subscriber"])),
    ).to_dict()


class BoardViewsStream(_ChildRows, MondayStream):
    """Views of each board (kanban, calendar, form...), one request per board."""

    name = "board_views"
    parent_stream_type = BoardsStream
    optional_ids = ("source_view_id",)
    query = queries.BOARD_VIEWS_QUERY
    records_jsonpath = "$.data.boards[*].views[*]"
    schema = th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("board_id", STR),
        th.Property("name", STR),
        th.Property("type", STR),
        th.Property("settings_str", STR),
        th.Property("view_specific_data_str", STR),
        th.Property("source_view_id", STR),
        th.Property("access_level", STR),
    ).to_dict()

    @override
    def query_variables(
        self, context: Context | None, next_page_token: PagePosition | None
    ) -> dict[str, Any]:
        return {"board_ids": [str((context or {})["board_id"])]}

    @override
    def parse_body(self, body: Any) -> Iterable[dict]:
        yield from (row for row in super().parse_body(body) if isinstance(row, dict))


class UpdateRepliesStream(_ChildRows, IdBatchStream):
    """Replies to the updates emitted in this run, asked by update ids (100 per request, across boards)."""

    name = "update_replies"
    parent_stream_type = UpdatesStream
    optional_ids = ("creator_id",)
    query = queries.UPDATE_REPLIES_QUERY
    records_jsonpath = "$.data.updates[*]"
    schema = th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("update_id", STR),
        th.Property("item_id", STR),
        th.Property("board_id", STR),
        th.Property("creator_id", STR),
        th.Property("body", STR),
        th.Property("text_body", STR),
        th.Property("created_at", TS),
        th.Property("updated_at", TS),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._boards_of: dict[str, str] = {}
        """Board of each update id of the batch being synced (a batch mixes boards)."""

    @override
    def take_ids(self, context: Context | None) -> list[str]:
        parent = sdkcompat.tap_of(self).streams["updates"]
        assert isinstance(parent, UpdatesStream)
        taken, parent.reply_update_ids = parent.reply_update_ids, []
        self._boards_of = {i: parent.update_boards.pop(i) for i in taken if i in parent.update_boards}
        return taken

    @override
    def parse_body(self, body: Any) -> Iterable[dict]:
        for update in super().parse_body(body):
            if not isinstance(update, Mapping):
                continue
            for reply in update.get("replies") or []:
                if isinstance(reply, Mapping):
                    item_id = _str_or_none(update.get("item_id"))
                    yield {**reply, "update_id": str(update["id"]), "item_id": item_id}

    @override
    def board_of(self, row: Record, context: Context | None) -> Any:
        """The board of the row's update (a batch mixes boards), else the context's."""
        return self._boards_of.get(str(row.get("update_id"))) or (context or {}).get("board_id")


STREAM_CLASSES: tuple[type[MondayStream], ...] = (
    BoardSubscribersStream,
    BoardViewsStream,
    UpdateRepliesStream,
)
"""Discovered right after streams.STREAM_CLASSES (their parents)."""
