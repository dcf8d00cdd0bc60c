"""Phase 1: a board's item ids, by one cursor chain or, for a big board, one chain per group at once.

Why partitions: a chain is sequential (each page waits for the previous cursor), so one chain harvests
about one page of 500 ids per round trip whatever the budget allows; a board of 100,000 items is 200 round
trips. A board's groups can be listed separately (``Group.items_page``), so a board with several groups
and more than ``PARTITION_MIN_PAGES`` pages of items is harvested by one chain per group, all at once
(each under a harvest slot and the one governor, ahead of the detail batches), each resumable after
cursor expiry (chains.py). Then one **catch-up** chain over the whole board, filtered on
``__last_updated__ >=`` the harvest's start minus the look-back window, picks up what the group chains
could not see: items created, or moved from a group whose chain had not reached them into one whose chain
had passed, while the harvest ran (both bump ``updated_at``). The look-back also covers a difference
between our clock and monday's of up to that window. Every id is handed on once (``HarvestState.seen``).

When to split: full runs know the board's ``items_count`` (BoardsMeta), so a board that fits in fewer
pages keeps its single chain and pays no extra request. Incremental runs do not know how many items
changed: they ask the whole board's first page (as before), and only when it has a next cursor do they
continue with the group chains (the since-filter combined with each group) and the catch-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tap_monday_boards.engine.activity import left_item_ids
from tap_monday_boards.engine.chains import Chain, ChainRunner, HarvestState, later
from tap_monday_boards.engine.critical import CriticalPath
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Transport

__all__ = ["PARTITION_MIN_PAGES", "HarvestState", "harvest_board"]

logger = logging.getLogger(__name__)

PARTITION_MIN_PAGES = 3
"""Split only boards whose single chain needs at least this many pages: with two pages, group chains plus
the catch-up take as many round trips as the chain itself."""


async def harvest_board(
    transport: Transport,
    settings: EngineSettings,
    state: HarvestState,
    on_ids: Callable[[list[str]], None],
    *,
    since: str | None = None,
    group_ids: Sequence[str] = (),
    expected_items: int | None = None,
    wall_clock: Callable[[], float] = time.time,
    critical: CriticalPath | None = None,
    slots: asyncio.Semaphore | None = None,
) -> None:
    """Harvest every id of ``state.board_id``; ``on_ids`` gets each page's new ids (never a repeat).

    ``group_ids`` (from BoardsMeta) enables the partitioned harvest; ``expected_items`` (full runs) decides
    it without a probe; ``slots`` bounds the chains in flight across boards; ``critical`` times out and
    hedges slow pages (critical.py).

    Raises:
        MondayFatalAPIError: the board does not exist / is unreadable (with monday's code and the board id).
        CursorExpiredAPIError: only after ``MAX_CURSOR_RESUMES`` resumes of one chain.
    """
    board_id = state.board_id
    if not state.page_size:
        state.page_size = settings.harvest_page_size
    runner = ChainRunner(transport, critical, wall_clock)
    if since:
        # Incremental: items that left the active list since the bookmark are invisible to items_page
        # (activity.py); they are handed on first so phase 2 re-reads them with their new state.
        async with _slot(slots):
            found = await left_item_ids(transport, board_id, since)
        left = [i for i in found if int(i) not in state.seen]
        state.seen.update(int(i) for i in left)
        state.left = len(left)
        if left:
            on_ids(left)
    groups = list(dict.fromkeys(str(g) for g in group_ids))
    partition = functools.partial(
        _partitioned,
        runner,
        state,
        on_ids,
        groups=groups,
        since=since,
        catch_up_since=later(since, _iso(wall_clock() - settings.lookback_window_s)),
        slots=slots,
    )
    whole = Chain(None, since)
    if len(groups) < 2:
        await _walk(runner, state, whole, on_ids, slots)
    elif since is None and expected_items is not None:
        if math.ceil(expected_items / settings.harvest_page_size) < PARTITION_MIN_PAGES:
            await _walk(runner, state, whole, on_ids, slots)
        else:
            await partition()
    else:
        state.chains += 1
        async with _slot(slots):
            more = await runner.first_page_only(state, whole, on_ids)
        if more:
            await partition()
    state.done = True


async def _partitioned(
    runner: ChainRunner,
    state: HarvestState,
    on_ids: Callable[[list[str]], None],
    *,
    groups: list[str],
    since: str | None,
    catch_up_since: str | None,
    slots: asyncio.Semaphore | None,
) -> None:
    state.partitioned = True
    state.catch_up_since = catch_up_since
    logger.info(
        "board %s: harvesting %d groups in parallel, then items updated since %s",
        state.board_id,
        len(groups),
        state.catch_up_since,
    )
    chains = [Chain(group_id, since) for group_id in groups]
    try:
        async with asyncio.TaskGroup() as group:
            for chain in chains:
                group.create_task(_walk(runner, state, chain, on_ids, slots))
    except BaseExceptionGroup as failed:
        raise _first_error(failed) from None
    await _walk(runner, state, Chain(None, state.catch_up_since), on_ids, slots)


async def _walk(
    runner: ChainRunner,
    state: HarvestState,
    chain: Chain,
    on_ids: Callable[[list[str]], None],
    slots: asyncio.Semaphore | None,
) -> None:
    state.chains += 1
    async with _slot(slots):
        await runner.walk(state, chain, on_ids)


def _slot(slots: asyncio.Semaphore | None) -> Any:
    return slots if slots is not None else contextlib.nullcontext()


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    """The first real error of a chain (cancellations of the sibling chains are not errors)."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_error(error)
        if not isinstance(error, asyncio.CancelledError):
            return error
    return group
