"""The small streams: workspaces, users, teams, tags, boards (+ groups, columns), updates, activity logs.

All are ``MondayStream`` subclasses sending one document from queries.py. Boards carry their groups,
columns, owners and subscribers in the same answer, so ``groups``, ``columns`` (and ``board_subscribers``,
detail_streams.py) are children that read what the boards request already fetched (no extra request per
board). ``updates`` and ``board_activity_logs`` are per-board children
that page with ``limit``/``page`` and stop on a short page. Ids are strings everywhere; timestamps are
``date-time``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from singer_sdk import typing as th
from singer_sdk.helpers.types import Context, Record
from typing_extensions import override

from tap_monday_boards import queries, sdkcompat
from tap_monday_boards.assets import asset_refs_for
from tap_monday_boards.client import MondayStream
from tap_monday_boards.engine.boards import BoardCatalog, BoardMeta, missing_boards
from tap_monday_boards.shrink import PagePosition
from tap_monday_boards.sources import engine_source

ID = th.StringType(nullable=False)
STR = th.StringType()
TS = th.DateTimeType()
IDS = th.ArrayType(th.StringType())


def _ids_of(values: Any) -> list[str]:
    """``[{id: 1}, ...]`` (monday's shape for owners, users, teams) -> ``["1", ...]``."""
    return [str(v["id"]) for v in values or [] if isinstance(v, Mapping) and v.get("id") is not None]


def activity_timestamp(created_at: Any) -> str | None:
    """monday's 17-digit activity-log ``created_at`` (100-ns units since the epoch) -> ISO 8601 UTC."""
    if created_at in (None, ""):
        return None
    try:
        ticks = int(str(created_at))
    except ValueError:
        return None
    seconds, rest = divmod(ticks, 10_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=rest // 10)
    return stamp.isoformat()


class WorkspacesStream(MondayStream):
    """Every workspace the token can see (``state: all``)."""

    name = "workspaces"
    primary_keys = ("id",)
    query = queries.WORKSPACES_QUERY
    records_jsonpath = "$.data.workspaces[*]"
    page_size = 100
    schema = th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("name", STR),
        th.Property("kind", STR),
        th.Property("description", STR),
        th.Property("state", STR),
        th.Property("created_at", TS),
        th.Property("is_default_workspace", th.BooleanType()),
    ).to_dict()


class UsersStream(MondayStream):
    """Every user of the account, including deactivated ones (``non_active: true``)."""

    name = "users"
    primary_keys = ("id",)
    query = queries.USERS_QUERY
    records_jsonpath = "$.data.users[*]"
    page_size = 500
    schema = th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("name", STR),
        th.Property("email", STR),
        th.Property("title", STR),
        th.Property("kind", STR),
        th.Property("status", STR),
        th.Property("is_deleted", th.BooleanType()),
        th.Property("created_at", TS),
        th.Property("last_activity", TS),
        th.Property("time_zone_identifier", STR),
        th.Property("team_ids", IDS),
    ).to_dict()

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row["team_ids"] = _ids_of(row.pop("teams", None))
        return row


class TeamsStream(MondayStream):
    """Teams with their member and owner ids (one request; monday does not page teams)."""

    name = "teams"
    primary_keys = ("id",)
    query = queries.TEAMS_QUERY
    records_jsonpath = "$.data.teams[*]"
    schema = th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("name", STR),
        th.Property("picture_url", STR),
        th.Property("is_guest", th.BooleanType()),
        th.Property("created_at", TS),
        th.Property("user_ids", IDS),
        th.Property("owner_ids", IDS),
    ).to_dict()

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row["user_ids"] = _ids_of(row.pop("users", None))
        row["owner_ids"] = _ids_of(row.pop("owners", None))
        return row


class TagsStream(MondayStream):
    """Account-level tags (one request)."""

    name = "tags"
    primary_keys = ("id",)
    query = queries.TAGS_QUERY
    records_jsonpath = "$.data.tags[*]"
    schema = th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("name", STR),
        th.Property("color", STR),
    ).to_dict()


class BoardsStream(MondayStream):
    """Boards filtered by ``board_ids`` / ``workspace_ids``; parent of groups, columns, updates, logs.

    A configured board that does not come back (deleted, or the token cannot read it) fails the sync, or is
    skipped with one warning when ``skip_unreadable_boards`` is true: the board catalog's missing-board rule
    (engine/boards.py), the same wording as for the items engine and board streams.

    Each board's groups, columns and subscribers go to the run's :class:`BoardCatalog` (the engine's during
    a sync, where the listing put them; else this stream's own), read by the children.
    """

    name = "boards"
    primary_keys = ("id",)
    query = queries.BOARDS_QUERY
    records_jsonpath = "$.data.boards[*]"
    page_size = 50
    """monday charges a page by its ``limit``: each board costs ~18,000 points (owners, subscribers, tags,
    groups, columns are lists inside each board, x1,000), so 50 boards are 903,160 points, within even a
    trial account's 1,000,000-point minute (tests/test_extra_streams.py)."""
    schema = th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("name", STR),
        th.Property("description", STR),
        th.Property("state", STR),
        th.Property("board_kind", STR),
        th.Property("type", STR),
        th.Property("workspace_id", STR),
        th.Property("board_folder_id", STR),
        th.Property("permissions", STR),
        th.Property("url", STR),
        th.Property("created_at", TS),
        th.Property("updated_at", TS),
        th.Property("items_count", th.IntegerType()),
        th.Property("owner_ids", IDS),
        th.Property("tag_ids", IDS),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._own_catalog = BoardCatalog()
        """The boards this stream fetched itself (no engine listing): same model, same rule."""
        self.skipped_board_ids: list[str] = []

    @property
    def catalog(self) -> BoardCatalog:
        """The run's board catalog: the engine's when it lists the boards, else this stream's own."""
        source = engine_source(sdkcompat.tap_of(self))
        catalog = None if source is None else source.board_catalog()
        return self._own_catalog if catalog is None else catalog

    def board(self, board_id: str) -> BoardMeta | None:
        """One emitted board as the catalog holds it (its groups, columns, subscribers)."""
        return self.catalog.get(board_id)

    @override
    def query_variables(
        self, context: Context | None, next_page_token: PagePosition | None
    ) -> dict[str, Any]:
        variables = super().query_variables(context, next_page_token)
        variables["ids"] = list(self.config.get("board_ids") or []) or None
        variables["workspace_ids"] = list(self.config.get("workspace_ids") or []) or None
        variables["state"] = "all" if self.config.get("include_archived") else "active"
        return variables

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        wanted = [str(b) for b in self.config.get("board_ids") or []]
        seen: set[str] = set()
        for record in super().get_records(context):
            seen.add(str(record["id"]))
            yield record
        for child in self.child_streams:  # children that batch across boards hand on their last batch
            if isinstance(child, UpdatesStream):
                child.flush_replies()
        # the rule raises MondayFatalAPIError, which the SDK treats as its own FatalAPIError
        self.skipped_board_ids = missing_boards(
            wanted,
            seen,
            skip_unreadable=bool(self.config.get("skip_unreadable_boards")),
            where="stream boards",
        )

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        catalog = self.catalog
        if catalog is self._own_catalog:  # the engine's catalog holds its listing's rows already
            catalog.add_rows([row])
        for key in ("groups", "columns", "subscribers"):  # the children's, from the catalog
            row.pop(key, None)
        row["owner_ids"] = _ids_of(row.pop("owners", None))
        row["tag_ids"] = _ids_of(row.pop("tags", None))
        for key in ("workspace_id", "board_folder_id"):
            row[key] = None if row.get(key) is None else str(row[key])
        return row

    @override
    def get_child_context(self, record: Record, context: Context | None) -> Context:
        return {"board_id": str(record["id"])}


class _BoardDetailStream(MondayStream):
    """Children that re-emit what the boards request fetched (groups, columns): no request of their own."""

    parent_stream_type = BoardsStream
    state_partitioning_keys: ClassVar[list[str]] = []
    primary_keys = ("board_id", "id")
    detail_key: ClassVar[str]
    """The ``BoardMeta`` field holding its rows: ``group_rows``, ``column_rows`` or ``subscribers``."""
    query = queries.BOARDS_QUERY  # unused: the parent's answer is re-read

    def _parent(self) -> BoardsStream:
        parent = sdkcompat.tap_of(self).streams["boards"]
        assert isinstance(parent, BoardsStream)
        return parent

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        board_id = str((context or {})["board_id"])
        board = self._parent().board(board_id)
        if board is None:
            return
        for raw in self.rows_of(board):
            yield {"board_id": board_id, **self.shape(raw)}

    def rows_of(self, board: BoardMeta) -> Sequence[Mapping[str, Any]]:
        """This stream's rows of one board in the catalog (``detail_key``: groups, columns, subscribers)."""
        rows: Sequence[Mapping[str, Any]] = getattr(board, self.detail_key)
        return rows

    def shape(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The record for one raw group/column (without ``board_id``)."""
        return dict(raw)


class GroupsStream(_BoardDetailStream):
    """Groups of each board; key ``(board_id, id)`` since group ids repeat across boards."""

    name = "groups"
    detail_key = "group_rows"
    schema = th.PropertiesList(
        th.Property("board_id", ID, required=True),
        th.Property("id", ID, required=True),
        th.Property("title", STR),
        th.Property("color", STR),
        th.Property("position", STR),
        th.Property("archived", th.BooleanType()),
        th.Property("deleted", th.BooleanType()),
    ).to_dict()


class ColumnsStream(_BoardDetailStream):
    """Columns of each board; ``settings`` is ``settings_str`` decoded (null when it is not JSON)."""

    name = "columns"
    detail_key = "column_rows"
    schema = th.PropertiesList(
        th.Property("board_id", ID, required=True),
        th.Property("id", ID, required=True),
        th.Property("title", STR),
        th.Property("type", STR),
        th.Property("description", STR),
        th.Property("width", th.IntegerType()),
        th.Property("archived", th.BooleanType()),
        th.Property("settings_str", STR),
        # Column settings differ per column type (labels, formulas, linked boards...): kept as one object.
        th.Property("settings", th.ObjectType()),
    ).to_dict()

    @override
    def shape(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        record = dict(raw)
        try:
            settings = json.loads(raw.get("settings_str") or "null")
        except ValueError:
            settings = None
        record["settings"] = settings if isinstance(settings, dict) else None
        return record


class _PerBoardPagedStream(MondayStream):
    """A per-board list under ``boards(ids: [$board]) { <field>(limit, page) }``."""

    parent_stream_type = BoardsStream
    board_field: ClassVar[str]

    @property
    @override
    def records_jsonpath(self) -> str:
        return f"$.data.boards[*].{self.board_field}[*]"

    @override
    def query_variables(
        self, context: Context | None, next_page_token: PagePosition | None
    ) -> dict[str, Any]:
        variables = super().query_variables(context, next_page_token)
        variables["board_ids"] = [str((context or {})["board_id"])]
        return variables

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        # The SDK copies only *state-partition* keys into records; updates keep no per-board state.
        row["board_id"] = str((context or {})["board_id"])
        return row


REPLY_BATCH_UPDATES = 100
"""Updates whose replies are asked in one ``updates(ids:)`` request (monday's maximum per page)."""


class UpdatesStream(_PerBoardPagedStream):
    """Updates (comments) of each board, newest first, 100 per page (monday's maximum since 2025-01).

    Parent of ``update_replies``: when it is selected, the ids of emitted updates are handed to it per 100,
    whatever their boards (one request per 100 updates, not one per board), and the rest after the last
    board (``flush_replies``, called by the boards stream); ``update_boards`` names each id's board
    (detail_streams.py says why replies are not nested in this page). When ``assets`` is selected, every
    emitted update id goes to its ``AssetRefs`` (assets.py).
    """

    name = "updates"
    primary_keys = ("id",)
    query = queries.BOARD_UPDATES_QUERY
    board_field = "updates"
    page_size = 100
    state_partitioning_keys: ClassVar[list[str]] = []
    schema = th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("board_id", STR),
        th.Property("item_id", STR),
        th.Property("creator_id", STR),
        th.Property("body", STR),
        th.Property("text_body", STR),
        th.Property("created_at", TS),
        th.Property("updated_at", TS),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reply_update_ids: list[str] = []
        """Ids of emitted updates waiting for the ``update_replies`` child; it takes them at its next sync."""
        self.update_boards: dict[str, str] = {}
        """Board of each id in ``reply_update_ids`` (a batch mixes boards)."""

    def _replies_selected(self) -> bool:
        return any(child.selected for child in self.child_streams)

    @override
    def generate_child_contexts(self, record: Record, context: Context | None) -> Iterable[Context | None]:
        refs = asset_refs_for(self)
        if refs is not None:
            refs.add_update(str(record["id"]))
        if not self._replies_selected():
            return
        self.reply_update_ids.append(str(record["id"]))
        self.update_boards[str(record["id"])] = str(record["board_id"])
        if len(self.reply_update_ids) >= REPLY_BATCH_UPDATES:
            yield {"board_id": str(record["board_id"])}

    def flush_replies(self) -> None:
        """The last, partial batch of update ids (after the last board)."""
        if self.reply_update_ids:
            last = self.update_boards.get(self.reply_update_ids[-1])
            sdkcompat.sync_children(self, {"board_id": last})


class BoardActivityLogsStream(_PerBoardPagedStream):
    """Activity logs of each board (reverse chronological), incremental on ``created_at_ts`` per board.

    ``created_at`` stays monday's 17-digit string; ``created_at_ts`` is it as a date-time. ``item_id`` is
    ``data.pulse_id`` when the event concerns an item (deletes and archives show up here first).
    """

    name = "board_activity_logs"
    primary_keys = ("id",)
    query = queries.BOARD_ACTIVITY_LOGS_QUERY
    board_field = "activity_logs"
    page_size = 500
    replication_key = "created_at_ts"
    is_sorted = False
    schema = th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("board_id", STR),
        th.Property("event", STR),
        th.Property("entity", STR),
        th.Property("data", STR),
        th.Property("item_id", STR),
        th.Property("user_id", STR),
        th.Property("account_id", STR),
        th.Property("created_at", STR),
        th.Property("created_at_ts", TS),
    ).to_dict()

    @override
    def query_variables(
        self, context: Context | None, next_page_token: PagePosition | None
    ) -> dict[str, Any]:
        variables = super().query_variables(context, next_page_token)
        since = self.from_for(self.get_starting_timestamp(context))
        if since is not None:
            variables["from"] = since
        return variables

    def from_for(self, start: datetime | None) -> str | None:
        """The ``from`` of a board's request: its starting timestamp minus the look-back window."""
        if start is None:
            return None
        lookback = timedelta(minutes=int(self.config.get("lookback_window_minutes", 5)))
        return (start - lookback).astimezone(UTC).isoformat().replace("+00:00", "Z")

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        row["created_at_ts"] = activity_timestamp(row.get("created_at"))
        row["created_at"] = None if row.get("created_at") is None else str(row["created_at"])
        for key in ("user_id", "account_id"):
            row[key] = None if row.get(key) is None else str(row[key])
        data = row.get("data")
        try:
            parsed = json.loads(data) if isinstance(data, str) else None
        except ValueError:
            parsed = None
        pulse = parsed.get("pulse_id") if isinstance(parsed, dict) else None
        row["item_id"] = None if pulse is None else str(pulse)
        return row


STREAM_CLASSES: tuple[type[MondayStream], ...] = (
    WorkspacesStream,
    UsersStream,
    TeamsStream,
    TagsStream,
    BoardsStream,
    GroupsStream,
    ColumnsStream,
    UpdatesStream,
    BoardActivityLogsStream,
)
"""The small streams, in discovery order (parents before children)."""
