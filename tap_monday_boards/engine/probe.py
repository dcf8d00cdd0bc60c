"""The first harvest page of many boards at once: for a small board (or a board with few changes since its
bookmark) it is the whole harvest.

Why: each board's ids start with its own ``items_page``; one request per board made an account of many
small boards one harvest request per board, and an incremental run one more per board for the activity log
(engine/activity.py). monday answers several boards' first pages in one document (each board under its own
alias, with its own ``updated_at`` filter: queries.HARVEST_FIRST_PAGES_LIST), and several boards' activity
logs in another. A board whose first page comes back without a cursor is harvested completely; a board with
a cursor has more than one page and walks its own chain (harvest.py) from its start, so its first page is
asked twice: the price of not knowing in advance, paid only by boards whose ``items_count`` (full runs) did
not already say they are big, or that changed more than a page's worth since the last run.

Which boards are probed (:func:`probe_worth`): on a full run, boards whose ``items_count`` fits in one page;
on an incremental run, every board. Requests are packed by boards (``BOARDS_PER_REQUEST``) and, when the
counts are known, by ids (``MAX_IDS_PER_REQUEST``), so an answer stays small enough to come back quickly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_monday_boards import queries
from tap_monday_boards.engine.activity import left_item_ids_of_boards
from tap_monday_boards.engine.boardlists import BoardCall, send_per_board
from tap_monday_boards.engine.chains import HARVEST_PRIORITY, HarvestState, harvest_query_params
from tap_monday_boards.engine.transport import Transport
from tap_monday_boards.errors import Decision, DecisionKind, MondayFatalAPIError

logger = logging.getLogger(__name__)

BOARDS_PER_REQUEST = 100
MAX_IDS_PER_REQUEST = 5_000
"""Expected ids in one probe answer (full runs, from ``items_count``): ~5,000 objects answer in seconds."""
INCREMENTAL_BOARDS_PER_REQUEST = 50
"""Boards per probe on incremental runs, where the number of changed items is unknown."""


@dataclass(slots=True)
class ProbedBoard:
    """One board to probe: its harvest state, filter and where its ids go."""

    state: HarvestState
    since: str | None
    expected: int | None
    on_ids: Callable[[list[str]], None]
    complete: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    """True once the probe was the board's whole harvest; False when the board walks its own chain."""


def probe_worth(since: str | None, expected: int | None, page_size: int) -> bool:
    """Whether one shared first page is likely the board's whole harvest (see the module docstring)."""
    if since:
        return True
    return expected is not None and expected <= page_size


def _groups(boards: Sequence[ProbedBoard]) -> list[list[ProbedBoard]]:
    groups: list[list[ProbedBoard]] = []
    current: list[ProbedBoard] = []
    ids = 0
    for board in boards:
        size = INCREMENTAL_BOARDS_PER_REQUEST if board.since else BOARDS_PER_REQUEST
        expected = board.expected or 0
        if current and (len(current) >= size or ids + expected > MAX_IDS_PER_REQUEST):
            groups.append(current)
            current, ids = [], 0
        current.append(board)
        ids += expected
    if current:
        groups.append(current)
    return groups


async def probe_boards(transport: Transport, boards: Sequence[ProbedBoard], page_size: int) -> None:
    """Probe every board (groups side by side); each board's ``complete`` future gets the outcome.

    A failed request fails the futures of its boards (their harvest raises it), never the others.
    """
    await asyncio.gather(*(_probe_group(transport, group, page_size) for group in _groups(boards)))


async def _probe_group(transport: Transport, group: list[ProbedBoard], page_size: int) -> None:
    try:
        incremental = {b.state.board_id: b.since for b in group if b.since}
        if incremental:
            # Items that left the active list since the bookmark (activity.py), before their first page.
            left = await left_item_ids_of_boards(transport, incremental)
            for board in group:
                _hand_on(board, left.get(board.state.board_id, []), left=True)
        calls = [BoardCall(b.state.board_id, {"query_params": harvest_query_params(b.since)}) for b in group]
        found = await send_per_board(
            transport,
            queries.HARVEST_FIRST_PAGES_LIST,
            {"limit": page_size},
            calls,
            priority=HARVEST_PRIORITY,
            units_per_board=page_size,
        )
    except Exception as exc:
        for board in group:
            if not board.complete.done():
                board.complete.set_exception(exc)
        return
    for board, answer in zip(group, found, strict=True):
        _settle(board, answer)


def _hand_on(board: ProbedBoard, ids: list[str], *, left: bool = False) -> None:
    seen = board.state.seen
    fresh = [i for i in ids if int(i) not in seen]
    board.state.duplicates += len(ids) - len(fresh)
    seen.update(int(i) for i in fresh)
    if left:
        board.state.left += len(fresh)
    if fresh:
        board.on_ids(fresh)


def _settle(board: ProbedBoard, answer: dict[str, Any] | None) -> None:
    board_id = board.state.board_id
    if answer is None:
        message = "board not returned (unknown, deleted or unreadable)"
        decision = Decision(DecisionKind.FATAL, None, "BoardNotFound", None, message, 200)
        board.complete.set_exception(MondayFatalAPIError(decision, f"HarvestFirstPages board {board_id}"))
        return
    page = answer.get("items_page") or {}
    items = [i for i in page.get("items") or [] if isinstance(i, dict)]
    _hand_on(board, [str(i["id"]) for i in items])
    board.state.pages += 1
    more = bool(page.get("cursor"))
    if more:
        logger.info("board %s: more than one page of items; walking its own cursor chain", board_id)
    board.complete.set_result(not more)
