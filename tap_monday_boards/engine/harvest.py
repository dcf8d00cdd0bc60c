"""Phase 1: the sequential cursor walk that harvests a board's item ids, resumable after cursor expiry.

Why this shape (engine-notes.md): a board's ids can only be listed through one ``items_page`` cursor chain,
which lives 60 minutes from its first page. The chain is ordered by ``__last_updated__`` ascending and each
id is harvested with its ``updated_at``, so when the cursor expires a fresh chain can start at
``updated_at >= last value seen``: items edited meanwhile move to the end and are seen again, which the
per-board id set absorbs. Restarting from scratch would never finish on a board whose harvest outlives the
cursor. The walk never waits for the record consumer: ids are tiny and only fetched records are bounded.

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
from tap_monday_boards.engine.activity import left_item_ids
from tap_monday_boards.engine.idset import IdSet
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.errors import (
    CursorExpiredAPIError,
    Decision,
    DecisionKind,
    FatalAPIError,
    QueryTooComplexAPIError,
)
from tap_monday_boards.shrink import smaller_size

logger = logging.getLogger(__name__)

ORDER_COLUMN = "__last_updated__"
MAX_CURSOR_RESUMES = 1_000
"""Each resume makes progress (it starts at the last value seen), so this only stops a pathological loop."""
HARVEST_PRIORITY = 1


def updated_since_rule(timestamp: str) -> dict[str, Any]:
    """``__last_updated__ >= timestamp`` in the form monday's own SDK uses (monday_api.md §8.1)."""
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
    """Per-board harvest progress; ``seen`` guarantees no id is handed on twice."""

    board_id: str
    seen: IdSet = field(default_factory=IdSet)
    """Compact (~8 bytes per id, idset.py): it holds every id of the board until the harvest ends."""
    last_updated_at: str | None = None
    """Where a fresh chain resumes: the largest ``updated_at`` seen in chain order (see ``_take``)."""
    chain_started: datetime | None = None
    pages: int = 0
    resumes: int = 0
    duplicates: int = 0
    left: int = 0
    """ids added from the activity log (deleted/archived/moved since ``since``), incremental runs only."""
    page_size: int = 0
    """ids per page; ``harvest_page_size`` until monday refuses a page as too complex, then smaller."""
    too_complex: int = 0
    """pages refused as over the per-query complexity cap (each asked again with a smaller limit)."""
    done: bool = False


async def harvest_board(
    transport: Transport,
    settings: EngineSettings,
    state: HarvestState,
    on_ids: Callable[[list[str]], None],
    *,
    since: str | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> None:
    """Walk every page of ``state.board_id``; ``on_ids`` gets each page's new ids (never a repeat).

    Raises:
        FatalAPIError: the board does not exist / is unreadable (with monday's code and the board id).
        CursorExpiredAPIError: only after ``MAX_CURSOR_RESUMES`` resumes.
    """
    board_id = state.board_id
    if not state.page_size:
        state.page_size = settings.harvest_page_size
    if since:
        # Incremental: items that left the active list since the bookmark are invisible to items_page
        # (activity.py); they are handed on first so phase 2 re-reads them with their new state.
        left = [i for i in await left_item_ids(transport, board_id, since) if int(i) not in state.seen]
        state.seen.update(int(i) for i in left)
        state.left = len(left)
        if left:
            on_ids(left)
    resume_from = since
    while True:
        try:
            state.chain_started = datetime.fromtimestamp(wall_clock(), UTC)
            await _walk_chain(transport, state, on_ids, resume_from)
        except CursorExpiredAPIError:
            state.resumes += 1
            if state.resumes > MAX_CURSOR_RESUMES:
                raise
            resume_from = _later(since, state.last_updated_at)
            logger.info(
                "board %s: cursor expired after %d ids; resuming from updated_at >= %s",
                board_id,
                len(state.seen),
                resume_from,
            )
            continue
        state.done = True
        return


def _later(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    moment_a, moment_b = _parse(a), _parse(b)
    if moment_a is None or moment_b is None:
        return b
    return a if moment_a >= moment_b else b


async def _walk_chain(
    transport: Transport,
    state: HarvestState,
    on_ids: Callable[[list[str]], None],
    since: str | None,
) -> None:
    board_id = state.board_id
    context = f"HarvestFirstPage board {board_id}"
    data = await _send_page(
        transport,
        state,
        lambda limit: Request(
            "HarvestFirstPage",
            queries.HARVEST_FIRST_PAGE_QUERY,
            {"board_ids": [board_id], "limit": limit, "query_params": harvest_query_params(since)},
            kind="HarvestFirstPage",
            units=limit,
            priority=HARVEST_PRIORITY,
            context=f"{context} ({limit} per page)",
            stat_key=board_id,
        ),
    )
    boards = data.get("boards") or []
    if not boards or boards[0] is None:
        message = "board not returned (unknown, deleted or unreadable)"
        raise FatalAPIError(Decision(DecisionKind.FATAL, None, "BoardNotFound", None, message, 200), context)
    page = boards[0].get("items_page") or {}
    while True:
        _take(state, page.get("items") or [], on_ids)
        state.pages += 1
        cursor = page.get("cursor")
        if not cursor:
            return
        data = await _send_page(transport, state, functools.partial(_next_page_request, board_id, cursor))
        page = data.get("next_items_page") or {}


def _next_page_request(board_id: str, cursor: str, limit: int) -> Request:
    return Request(
        "HarvestNextPage",
        queries.HARVEST_NEXT_PAGE_QUERY,
        {"cursor": cursor, "limit": limit},
        kind="HarvestNextPage",
        units=limit,
        priority=HARVEST_PRIORITY,
        context=f"HarvestNextPage board {board_id} ({limit} per page)",
        stat_key=board_id,
    )


async def _send_page(
    transport: Transport, state: HarvestState, request_for: Callable[[int], Request]
) -> dict[str, Any]:
    """Send one page; while monday refuses it as over the per-query cap, ask again with a smaller limit.

    Re-asking the same cursor (or the same first page) with a smaller limit returns the same next ids, so
    nothing is skipped; ``state.seen`` would absorb a repeat anyway.
    """
    while True:
        try:
            return await transport.send(request_for(state.page_size))
        except QueryTooComplexAPIError as exc:
            smaller = smaller_size(state.page_size, exc.decision)
            if smaller is None:
                raise  # one id per page over the cap: the error names the query, its cost and the cap
            decision = exc.decision
            log = logger.debug if state.too_complex else logger.warning
            state.too_complex += 1
            log(
                "board %s: harvest pages of %d ids cost %s points, over monday's per-query complexity cap%s; "
                "harvesting %d ids per page",
                state.board_id,
                state.page_size,
                f"{decision.complexity:,}" if decision.complexity is not None else "more",
                f" of {decision.max_complexity:,}" if decision.max_complexity is not None else "",
                smaller,
            )
            state.page_size = smaller


def _take(state: HarvestState, items: list[dict[str, Any]], on_ids: Callable[[list[str]], None]) -> None:
    fresh: list[str] = []
    seen = state.seen
    newest: tuple[datetime, str] | None = None
    for item in items:
        item_id = str(item["id"])
        key = int(item_id)
        updated = item.get("updated_at")
        moment = _parse(updated)
        # An item edited after the chain started shows its new updated_at at its old position; resuming
        # from that value would skip the items in between, so such values are not resume candidates.
        if (
            moment is not None
            and (state.chain_started is None or moment <= state.chain_started)
            and (newest is None or moment > newest[0])
        ):
            newest = (moment, str(updated))
        if key in seen:
            state.duplicates += 1
            continue
        seen.add(key)
        fresh.append(item_id)
    if newest is not None and (
        state.last_updated_at is None or newest[0] > (_parse(state.last_updated_at) or newest[0])
    ):
        state.last_updated_at = newest[1]
    if fresh:
        on_ids(fresh)


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
