"""The board catalog: every board a run reads, fetched once, as one model, with one missing-board rule.

Why one catalog: the boards stream (and its children groups, columns, board_subscribers), the items and
subitems engine and board streams' discovery all need boards. Each used to send its own listing, parse it
into its own shape and word a missing board its own way. Here:

* one document (``queries.board_catalog_query``: core fields + the fragment of the run's richest need);
* one paging loop (:func:`list_boards`: configured ids in chunks of a page, the first chunk alone so the
  governor learns the cost, the rest side by side; without ids, page after page until a short page);
* one model (:class:`BoardMeta` rows, gathered in a :class:`BoardCatalog`);
* one missing-board rule (:func:`missing_boards`: the board id, monday's code and the settings
  ``board_ids`` / ``skip_unreadable_boards`` named, one wording whether it fails or warns).

During a sync the whole-account engine (engine/account.py) lists the boards once and the SDK streams read
that listing (prefetch.py, sources.py); outside a sync, :func:`fetch_catalog` reads it once on a short loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_monday_boards import queries
from tap_monday_boards.board_layout import BoardColumn
from tap_monday_boards.column_values import dropdown_labels
from tap_monday_boards.engine.governor import Governor, get_governor
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.errors import Decision, DecisionKind, error_for

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
"""Boards per page of the engine's and board streams' variants (the boards stream's own is 50)."""
SUBITEMS_BOARD_TYPE = "sub_items_board"
MISSING_BOARD_CODE = "InvalidBoardIdException"
"""monday's code for a board id it does not know or the token cannot read; named in the missing-board rule
(a ``boards(ids:)`` answer just leaves such a board out, without an error)."""


@dataclass(frozen=True, slots=True)
class BoardMeta:
    """One board of the catalog: what every reader needs of it (fields a variant did not ask are empty)."""

    board_id: str
    name: str
    board_type: str | None
    state: str | None
    items_count: int | None
    column_types: frozenset[str]
    subitem_board_ids: tuple[str, ...]
    dropdown_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Dropdown column id -> option id -> label (from ``settings_str``): typed values name options with it."""
    group_ids: tuple[str, ...] = ()
    """The board's (visible) groups: the partitioned harvest walks one cursor chain per group."""
    columns: tuple[BoardColumn, ...] = ()
    """Id, title and type of each column (board streams name their properties from the titles)."""
    group_rows: tuple[Mapping[str, Any], ...] = ()
    """The groups as answered (the ``groups`` stream's records)."""
    column_rows: tuple[Mapping[str, Any], ...] = ()
    """The columns as answered (the ``columns`` stream's records)."""
    subscribers: tuple[Mapping[str, str], ...] = ()
    """``{user_id, role}`` from ``owners`` + ``subscribers``, owners first (``board_subscribers``)."""

    @property
    def is_subitems_board(self) -> bool:
        return self.board_type == SUBITEMS_BOARD_TYPE


def _ids_of(values: Any) -> list[str]:
    """``[{id: 1}, ...]`` -> ``["1", ...]``."""
    return [str(v["id"]) for v in values or [] if isinstance(v, Mapping) and v.get("id") is not None]


def _subitem_boards(columns: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    found: list[str] = []
    for column in columns:
        if column.get("type") != "subtasks":
            continue
        try:
            settings = json.loads(column.get("settings_str") or "{}")
        except ValueError:
            continue
        ids = settings.get("boardIds") if isinstance(settings, dict) else None
        found.extend(str(i) for i in ids or [] if str(i) not in found)
    return tuple(found)


def board_meta(raw: Mapping[str, Any]) -> BoardMeta:
    """A ``BoardMeta`` from a ``boards`` answer row, whichever variant of the catalog document asked it."""
    columns = [c for c in raw.get("columns") or [] if isinstance(c, dict)]
    groups = [g for g in raw.get("groups") or [] if isinstance(g, dict)]
    owners = _ids_of(raw.get("owners"))
    return BoardMeta(
        board_id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        board_type=raw.get("type"),
        state=raw.get("state"),
        items_count=raw.get("items_count"),
        column_types=frozenset(str(c.get("type")) for c in columns if c.get("type")),
        subitem_board_ids=_subitem_boards(columns),
        dropdown_labels={
            str(c["id"]): dropdown_labels(c.get("settings_str"))
            for c in columns
            if c.get("type") == "dropdown" and c.get("id") is not None
        },
        group_ids=tuple(str(g["id"]) for g in groups if g.get("id") is not None),
        columns=tuple(
            BoardColumn(str(c["id"]), str(c.get("title") or ""), str(c.get("type") or ""))
            for c in columns
            if c.get("id") is not None
        ),
        group_rows=tuple(groups),
        column_rows=tuple(columns),
        subscribers=tuple(
            {"user_id": user, "role": "owner" if user in owners else "subscriber"}
            for user in dict.fromkeys([*owners, *_ids_of(raw.get("subscribers"))])
        ),
    )


# --- the missing-board rule ------------------------------------------------------------------------------


def missing_board_decision(board_id: str) -> Decision:
    """A configured board the catalog did not return, as the error every reader raises (one wording)."""
    message = (
        f"board {board_id} was not returned: it does not exist, was deleted, is archived (without "
        "include_archived) or this token cannot read it; remove it from board_ids, or set "
        "skip_unreadable_boards to skip it"
    )
    return Decision(DecisionKind.FATAL, None, MISSING_BOARD_CODE, None, message, 200)


def missing_boards(
    wanted: Iterable[str], found: Iterable[str], *, skip_unreadable: bool, where: str = "boards"
) -> list[str]:
    """The wanted boards not found: one WARNING each when ``skip_unreadable`` (returned, to be skipped).

    Raises:
        MondayAPIError: (fatal) the first missing board, when ``skip_unreadable`` is false.
    """
    present = set(found)
    missing = [b for b in dict.fromkeys(str(w) for w in wanted) if b not in present]
    for board_id in missing:
        decision = missing_board_decision(board_id)
        if not skip_unreadable:
            raise error_for(decision, f"{where}: board {board_id}")
        logger.warning("%s: %s (%s): skipped", where, decision.message.split(";")[0], MISSING_BOARD_CODE)
    return missing


# --- the catalog -----------------------------------------------------------------------------------------


class BoardCatalog:
    """The boards of one run: the listing's rows (deleted boards left out) and the subitems boards they name.

    Rows are added as the listing's pages arrive (engine loop) and read by the streams (main thread); a
    board is added before any reader can hear of it, so no lock is needed.
    """

    def __init__(self, board_ids: Sequence[str] = (), *, skip_unreadable: bool = False) -> None:
        self.board_ids = tuple(str(b) for b in board_ids)
        self.skip_unreadable = skip_unreadable
        self._listed: dict[str, BoardMeta] = {}
        self._others: dict[str, BoardMeta] = {}
        self._checked: list[BoardMeta] | None = None
        """``listed()`` once the rule was applied (so a skipped board is warned about once per run)."""

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Listing rows (a page): each becomes a ``BoardMeta``."""
        for row in rows:
            if row.get("state") != "deleted":
                meta = board_meta(row)
                self._listed[meta.board_id] = meta
                self._checked = None

    def add_boards(self, metas: Iterable[BoardMeta]) -> None:
        """Boards read besides the listing (subitems boards that ``board_ids`` does not list)."""
        for meta in metas:
            self._others.setdefault(meta.board_id, meta)

    def get(self, board_id: str) -> BoardMeta | None:
        return self._listed.get(str(board_id)) or self._others.get(str(board_id))

    def listed(self, where: str = "boards") -> list[BoardMeta]:
        """The listing's boards, configured ones in ``board_ids`` order, after the missing-board rule."""
        if self._checked is not None:
            return list(self._checked)
        metas = list(self._listed.values())
        if self.board_ids:
            order = {b: i for i, b in enumerate(self.board_ids)}
            metas.sort(key=lambda m: order.get(m.board_id, len(order)))
            missing_boards(self.board_ids, self._listed, skip_unreadable=self.skip_unreadable, where=where)
        self._checked = metas
        return list(metas)

    def item_boards(self) -> list[BoardMeta]:
        """The boards whose items the ``items`` stream extracts (subitems boards excluded)."""
        return [m for m in self.listed("items") if not m.is_subitems_board]

    def wanted_subitem_boards(self) -> list[str]:
        """Ids of the subitems boards the item boards name, each once, in order."""
        return list(dict.fromkeys(b for m in self.item_boards() for b in m.subitem_board_ids))

    def subitem_boards(self) -> list[BoardMeta]:
        """The subitems boards found (one without access is skipped with the rule's warning)."""
        wanted = self.wanted_subitem_boards()
        found = {b: meta for b in wanted if (meta := self.get(b)) is not None}
        missing_boards(wanted, found, skip_unreadable=True, where="subitems")
        return [found[b] for b in wanted if b in found]


# --- the one paging loop ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardListing:
    """One catalog listing: which variant of the document, the filters and the page size."""

    operation: str = "BoardsMeta"
    query: str = queries.BOARDS_META_QUERY
    board_ids: tuple[str, ...] = ()
    workspace_ids: tuple[str, ...] = ()
    state: str = "active"
    page_size: int = PAGE_SIZE
    priority: int = 0


async def list_boards(
    transport: Transport,
    listing: BoardListing,
    on_page: Callable[[list[dict[str, Any]]], None],
) -> None:
    """Every page of ``listing``, handed to ``on_page`` in order (module docstring: the one paging loop).

    With ids, a chunk of ``page_size`` ids is complete in one page (the ids bound the answer): the first
    chunk goes alone, so the governor learns the listing's cost before the others go side by side.
    """
    size = listing.page_size
    ids = listing.board_ids
    if ids:
        chunks = [list(ids[i : i + size]) for i in range(0, len(ids), size)]
        on_page(await _page(transport, listing, chunks[0], 1))
        rest = [asyncio.create_task(_page(transport, listing, chunk, 1)) for chunk in chunks[1:]]
        try:
            for task in rest:  # handed on in order
                on_page(await task)
        finally:
            for task in rest:
                task.cancel()
        return
    page = 1
    while True:
        rows = await _page(transport, listing, None, page)
        on_page(rows)
        if len(rows) < size:
            return
        page += 1


async def _page(
    transport: Transport, listing: BoardListing, ids: Sequence[str] | None, page: int
) -> list[dict[str, Any]]:
    variables = {
        "ids": list(ids) if ids else None,
        "workspace_ids": list(listing.workspace_ids) or None,
        # With ids, the ids bound the answer: a limit of their count returns the same boards, and monday
        # charges a page by its limit (nested lists x limit), so a listing of 3 boards costs 3/100 of a page.
        "limit": len(ids) if ids else listing.page_size,
        "page": page,
        "state": listing.state,
    }
    data = await transport.send(
        Request(
            listing.operation,
            listing.query,
            variables,
            kind=listing.operation,
            units=len(ids) if ids else listing.page_size,
            priority=listing.priority,
            context=f"{listing.operation} page {page}" + (f" ({len(ids)} ids)" if ids else ""),
        )
    )
    return [b for b in data.get("boards") or [] if isinstance(b, dict)]


async def fetch_rows(transport: Transport, listing: BoardListing) -> list[dict[str, Any]]:
    """Every row of ``listing`` (the one paging loop, collected)."""
    rows: list[dict[str, Any]] = []
    await list_boards(transport, listing, rows.extend)
    return rows


def fetch_catalog(
    settings: EngineSettings,
    listing: BoardListing,
    *,
    skip_unreadable: bool = False,
    governor: Governor | None = None,
) -> BoardCatalog:
    """The catalog outside a sync (discovery, a stream run on its own): one listing on a private loop."""

    async def run() -> BoardCatalog:
        catalog = BoardCatalog(listing.board_ids, skip_unreadable=skip_unreadable)
        async with Transport(settings, governor or get_governor(settings)) as transport:
            catalog.add_rows(await fetch_rows(transport, listing))
        return catalog

    return asyncio.run(run())


def fetch_subitem_boards(
    settings: EngineSettings,
    catalog: BoardCatalog,
    listing: BoardListing,
    *,
    governor: Governor | None = None,
) -> None:
    """Outside a sync: the subitems boards the catalog's item boards name and it lacks (no request when it
    holds them all), read once, when the ``subitems`` stream first needs them."""
    if all(catalog.get(b) is not None for b in catalog.wanted_subitem_boards()):
        return

    async def run() -> None:
        async with Transport(settings, governor or get_governor(settings)) as transport:
            await add_subitem_boards(transport, catalog, listing, chunk=PAGE_SIZE)

    asyncio.run(run())


async def add_subitem_boards(
    transport: Transport, catalog: BoardCatalog, listing: BoardListing, *, chunk: int
) -> None:
    """Reads the subitems boards the catalog's item boards name and it does not hold yet (engine variant,
    ``chunk`` ids per request); raises the missing-board rule's error for a configured board first."""
    wanted = [b for b in catalog.wanted_subitem_boards() if catalog.get(b) is None]
    if not wanted:
        return
    rows = await fetch_rows(
        transport,
        BoardListing(
            operation="BoardsMeta",
            query=queries.BOARDS_META_QUERY,
            board_ids=tuple(wanted),
            state=listing.state,
            page_size=chunk,
            priority=listing.priority,
        ),
    )
    catalog.add_boards(board_meta(r) for r in rows if r.get("state") != "deleted")

