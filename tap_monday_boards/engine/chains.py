"""One cursor chain of the harvest (a whole board, or one group of it), resumable after cursor expiry.

Why this shape: ids can only be listed through ``items_page`` cursor chains, and a chain
lives 60 minutes from its first page. Each chain is ordered by ``__last_updated__`` ascending and each id
is harvested with its ``updated_at``, so when the cursor expires a fresh chain can start at
``updated_at >= last value seen``: items edited meanwhile move to the end and are seen again, which the
board's id set absorbs. Restarting from scratch would never finish on a board whose harvest outlives the
cursor. A group's chain (``Group.items_page``) continues through ``next_items_page`` exactly like a board's.

A page monday refuses as over its per-query complexity cap is asked again (same cursor, same filter) with a
smaller ``limit`` (shrink.py), said once per board; the smaller page size is kept for the rest of the board.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tap_monday_boards import queries
from tap_monday_boards.engine.critical import CriticalPath
from tap_monday_boards.engine.idset import IdSet
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.errors import (
    CursorExpiredAPIError,
    Decision,
    DecisionKind,
    MondayFatalAPIError,
    QueryTooComplexAPIError,
)
from tap_monday_boards.shrink import over_cap_message, smaller_size

logger = logging.getLogger(__name__)

ORDER_COLUMN = "__last_updated__"
MAX_CURSOR_RESUMES = 1_000
"""Each resume makes progress (it starts at the last value seen), so this only stops a pathological loop."""
HARVEST_PRIORITY = 1


def updated_since_rule(timestamp: str) -> dict[str, Any]:
    """``__last_updated__ >= timestamp`` in the form monday's own Python SDK uses (monday-api-python-sdk,
    ``construct_updated_at_query_params``)."""
    return {
        "column_id": ORDER_COLUMN,
        "compare_value": ["EXACT", timestamp],
        "compare_attribute": "UPDATED_AT",
        "operator": "greater_than_or_equals",
    }


def harvest_query_params(since: str | None) -> dict[str, Any]:
    """Order by last update (resumable); with ``since``, only items updated at or after it."""
    params: dict[str, Any] = {"order_by": [{"column_id": ORDER_COLUMN, "direction": "asc"}]}
    if since:
        params["rules"] = [updated_since_rule(since)]
    return params


@dataclass(slots=True)
class HarvestState:
    """Per-board harvest progress; ``seen`` guarantees no id is handed on twice, whatever the chains."""

    board_id: str
    seen: IdSet = field(default_factory=IdSet)
    """Compact (~8 bytes per id, idset.py): it holds every id of the board until the harvest ends."""
    pages: int = 0
    resumes: int = 0
    duplicates: int = 0
    left: int = 0
    """ids added from the activity log (deleted/archived/moved since ``since``), incremental runs only."""
    page_size: int = 0
    """ids per page; ``harvest_page_size`` until monday refuses a page as too complex, then smaller (for
    every chain of the board)."""
    too_complex: int = 0
    """pages refused as over the per-query complexity cap (each asked again with a smaller limit)."""
    chains: int = 0
    """cursor chains walked: 1 for a board harvested whole; groups + 1 catch-up when partitioned."""
    partitioned: bool = False
    catch_up_since: str | None = None
    """the ``__last_updated__ >=`` filter of the final catch-up chain of a partitioned harvest."""
    done: bool = False


@dataclass(slots=True)
class Chain:
    """One cursor chain: the board (``group_id`` None) or one group, filtered on ``since``."""

    group_id: str | None
    since: str | None
    last_updated_at: str | None = None
    """Where a fresh chain resumes: the largest ``updated_at`` seen in chain order (see ``_take``)."""
    started: datetime | None = None

    def describe(self, board_id: str) -> str:
        return f"board {board_id}" if self.group_id is None else f"board {board_id} group {self.group_id}"


@dataclass(frozen=True, slots=True)
class ChainRunner:
    """What every chain of one engine run shares: the transport, critical path and clock."""

    transport: Transport
    critical: CriticalPath | None = None
    wall_clock: Callable[[], float] = time.time

    async def walk(self, state: HarvestState, chain: Chain, on_ids: Callable[[list[str]], None]) -> None:
        """Walk ``chain`` to its end, resuming after cursor expiry; ``on_ids`` gets each page's new ids.

        Raises:
            MondayFatalAPIError: the board does not exist / is unreadable (monday's code and the board id).
            CursorExpiredAPIError: only after ``MAX_CURSOR_RESUMES`` resumes.
        """
        while True:
            try:
                chain.started = datetime.fromtimestamp(self.wall_clock(), UTC)
                await self._walk_once(state, chain, on_ids)
            except CursorExpiredAPIError:
                state.resumes += 1
                if state.resumes > MAX_CURSOR_RESUMES:
                    raise
                chain.since = later(chain.since, chain.last_updated_at)
                logger.info(
                    "%s: cursor expired after %d ids; resuming from updated_at >= %s",
                    chain.describe(state.board_id),
                    len(state.seen),
                    chain.since,
                )
                continue
            return

    async def first_page_only(
        self, state: HarvestState, chain: Chain, on_ids: Callable[[list[str]], None]
    ) -> bool:
        """The chain's first page; True when the chain has more pages (its cursor is then dropped)."""
        chain.started = datetime.fromtimestamp(self.wall_clock(), UTC)
        return await self._walk_once(state, chain, on_ids, first_only=True)

    async def _walk_once(
        self,
        state: HarvestState,
        chain: Chain,
        on_ids: Callable[[list[str]], None],
        *,
        first_only: bool = False,
    ) -> bool:
        """Pages until the cursor ends (False); with ``first_only`` just one page (True: more follow)."""
        page = await self._first_page(state, chain)
        while True:
            _take(state, chain, page.get("items") or [], on_ids)
            state.pages += 1
            cursor = page.get("cursor")
            if not cursor:
                return False
            if first_only:
                return True
            next_page = functools.partial(_next_page_request, state.board_id, chain, cursor)
            data = await self._send_page(state, next_page)
            page = data.get("next_items_page") or {}

    async def _first_page(self, state: HarvestState, chain: Chain) -> dict[str, Any]:
        board_id = state.board_id
        params = harvest_query_params(chain.since)
        operation = "HarvestFirstPage" if chain.group_id is None else "HarvestGroupFirstPage"
        context = f"{operation} {chain.describe(board_id)}"

        def request_for(limit: int) -> Request:
            if chain.group_id is None:
                query = queries.HARVEST_FIRST_PAGE_QUERY
                variables: dict[str, Any] = {"board_ids": [board_id], "limit": limit, "query_params": params}
            else:
                query = queries.HARVEST_GROUP_FIRST_PAGE_QUERY
                variables = {
                    "board_ids": [board_id],
                    "group_ids": [chain.group_id],
                    "limit": limit,
                    "query_params": params,
                }
            return Request(
                operation,
                query,
                variables,
                kind=operation,
                units=limit,
                priority=HARVEST_PRIORITY,
                context=f"{context} ({limit} per page)",
                stat_key=board_id,
            )

        data = await self._send_page(state, request_for)
        boards = data.get("boards") or []
        if not boards or boards[0] is None:
            message = "board not returned (unknown, deleted or unreadable)"
            raise MondayFatalAPIError(
                Decision(DecisionKind.FATAL, None, "BoardNotFound", None, message, 200), context
            )
        if chain.group_id is None:
            return dict(boards[0].get("items_page") or {})
        groups = [g for g in boards[0].get("groups") or [] if isinstance(g, dict)]
        if not groups:
            # The group was deleted since discovery: its items were deleted or moved, and a move bumps
            # ``updated_at``, so the catch-up chain finds them.
            logger.info("%s: group not returned (deleted since discovery?): skipped", context)
            return {}
        return dict(groups[0].get("items_page") or {})

    async def _send_page(self, state: HarvestState, request_for: Callable[[int], Request]) -> dict[str, Any]:
        """Send one page; while monday refuses it as over the per-query cap, ask again with a smaller limit.

        Re-asking the same cursor (or the same first page) with a smaller limit returns the same next ids, so
        nothing is skipped; ``state.seen`` would absorb a repeat anyway. The board's chains share the page
        size: a chain refused at a size another chain already shrank just asks again at the new size.
        """
        while True:
            size = state.page_size
            request = request_for(size)
            try:
                if self.critical is not None:
                    return await self.critical.send(self.transport, request)
                return await self.transport.send(request)
            except QueryTooComplexAPIError as exc:
                if state.page_size != size:
                    continue
                smaller = smaller_size(size, exc.decision)
                if smaller is None:
                    raise  # one id per page over the cap: the error names the query, its cost and the cap
                log = logger.debug if state.too_complex else logger.warning
                state.too_complex += 1
                log(
                    "%s",
                    over_cap_message(
                        f"board {state.board_id}",
                        f"harvest pages of {size} ids",
                        exc.decision,
                        f"harvesting {smaller} ids per page",
                    ),
                )
                state.page_size = smaller


def _next_page_request(board_id: str, chain: Chain, cursor: str, limit: int) -> Request:
    return Request(
        "HarvestNextPage",
        queries.HARVEST_NEXT_PAGE_QUERY,
        {"cursor": cursor, "limit": limit},
        kind="HarvestNextPage",
        units=limit,
        priority=HARVEST_PRIORITY,
        context=f"HarvestNextPage {chain.describe(board_id)} ({limit} per page)",
        stat_key=board_id,
    )


def later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO timestamps (None counts as "no bound")."""
    if a is None or b is None:
        return a or b
    moment_a, moment_b = parse_time(a), parse_time(b)
    if moment_a is None or moment_b is None:
        return b
    return a if moment_a >= moment_b else b


def _take(
    state: HarvestState, chain: Chain, items: list[dict[str, Any]], on_ids: Callable[[list[str]], None]
) -> None:
    fresh: list[str] = []
    seen = state.seen
    newest: tuple[datetime, str] | None = None
    for item in items:
        item_id = str(item["id"])
        key = int(item_id)
        updated = item.get("updated_at")
        moment = parse_time(updated)
        # An item edited after the chain started shows its new updated_at at its old position; resuming
        # from that value would skip the items in between, so such values are not resume candidates.
        if (
            moment is not None
            and (chain.started is None or moment <= chain.started)
            and (newest is None or moment > newest[0])
        ):
            newest = (moment, str(updated))
        if not seen.add_new(key):
            state.duplicates += 1
            continue
        fresh.append(item_id)
    if newest is not None and (
        chain.last_updated_at is None or newest[0] > (parse_time(chain.last_updated_at) or newest[0])
    ):
        chain.last_updated_at = newest[1]
    if fresh:
        on_ids(fresh)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (``Z`` or offset) -> aware datetime; None when it is not a timestamp."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
