"""Detail batches that mix boards: the last, partial batch of each board, pooled with other boards'.

Why: a board's ids are fetched in ``items(ids:)`` batches of ``batch_size`` (100); its last batch is
usually partial, and a board of 10 items is nothing but that. A thousand such boards were a thousand
requests of ten ids. ``items(ids:)`` does not care which board an id belongs to, so the remainders of boards
whose harvest is over go into one pool and leave in full batches; each answer is split back to the boards
the ids were harvested from (their queues, their stats, their completeness check).

When a partial batch leaves: as soon as a board in it is the one the main thread is draining (someone is
waiting for it), or once no board can add to the pool any more; otherwise it waits to be filled. Memory: a
batch takes the shared read-ahead credits of the pipeline without waiting for them (it is formed again when
they come back), except a batch holding the drained board, which needs none (the pipeline's rule: the
drained board never waits on credits, so it cannot wait on itself).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from tap_monday_boards.engine.fetch import BoardFetcher
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Transport
from tap_monday_boards.wire import RawItem

logger = logging.getLogger(__name__)

Deliver = Callable[[str, list[RawItem], int, int], None]
"""``deliver(board_id, items, asked, credit)``: the board's share of an answer and the credits it holds."""


@dataclass(slots=True)
class _Part:
    board_id: str
    ids: list[str]


class MixedBatches:
    """The pool of remainders (see the module docstring). Runs on the pipeline's loop."""

    def __init__(
        self,
        transport: Transport,
        settings: EngineSettings,
        *,
        boards: Iterable[str],
        column_types: dict[str, set[str] | None],
        take_credit: Callable[[int], bool],
        release_credit: Callable[[int], None],
        is_drained: Callable[[str], bool],
        deliver: Deliver,
        slots: asyncio.Semaphore,
        spawn: Callable[[Coroutine[Any, Any, None]], Any],
    ) -> None:
        self.transport = transport
        self.settings = settings
        self.batch_size = settings.batch_size
        self._column_types = column_types
        self._take_credit = take_credit
        self._release_credit = release_credit
        self._is_drained = is_drained
        self._deliver = deliver
        self._slots = slots
        self._spawn = spawn
        self._open = set(boards)
        """Boards that may still add a remainder."""
        self._pool: dict[str, list[str]] = {}
        self._unsettled: dict[str, int] = {}
        """ids of each board in the pool or in flight."""
        self._settled: dict[str, asyncio.Event] = {}
        self._changed = asyncio.Event()
        self.requests = 0

    # --- called by the pipeline ---------------------------------------------------------------------
    def add(self, board_id: str, ids: list[str]) -> None:
        """The board's remainder (fewer ids than a batch, its harvest over)."""
        if ids:
            self._pool.setdefault(board_id, []).extend(ids)
            self._unsettled[board_id] = self._unsettled.get(board_id, 0) + len(ids)
        self.close_board(board_id)

    def close_board(self, board_id: str) -> None:
        """The board adds nothing more (its remainder is in, or it had none)."""
        self._open.discard(board_id)
        self.wake()

    async def settled(self, board_id: str) -> None:
        """Wait until every id the board put in the pool has been fetched and delivered."""
        if self._unsettled.get(board_id):
            await self._settled.setdefault(board_id, asyncio.Event()).wait()

    def wake(self) -> None:
        """Re-check what can leave (a board added, credits came back, the drained board changed)."""
        self._changed.set()

    async def run(self) -> None:
        """Send batches until no board can add more and the pool is empty."""
        while True:
            if not self._open and not self._pool:
                return
            if not self._ready():
                self._changed.clear()
                await self._changed.wait()
                continue
            await self._slots.acquire()
            batch = self._form()
            if batch is None:  # things changed while waiting for the slot
                self._slots.release()
                self._changed.clear()
                await self._changed.wait()
                continue
            parts, credit = batch
            self._spawn(self._fetch(parts, credit))

    # --- internals ----------------------------------------------------------------------------------
    def _ready(self) -> bool:
        total = sum(len(ids) for ids in self._pool.values())
        if not total:
            return False
        return total >= self.batch_size or not self._open or any(self._is_drained(b) for b in self._pool)

    def _form(self) -> tuple[list[_Part], int] | None:
        """The next batch (drained board first, then in arrival order) and its credits, or None."""
        if not self._ready():
            return None
        order = sorted(self._pool, key=lambda b: not self._is_drained(b))
        parts: list[_Part] = []
        room = self.batch_size
        for board_id in order:
            if room <= 0:
                break
            ids = self._pool[board_id][:room]
            parts.append(_Part(board_id, ids))
            room -= len(ids)
        n = self.batch_size - room
        drained = any(self._is_drained(p.board_id) for p in parts)
        credit = 0 if drained else n
        if credit and not self._take_credit(credit):
            return None  # formed again when credits come back
        for part in parts:
            rest = self._pool[part.board_id][len(part.ids) :]
            if rest:
                self._pool[part.board_id] = rest
            else:
                del self._pool[part.board_id]
        return parts, credit

    async def _fetch(self, parts: list[_Part], credit: int) -> None:
        boards = [p.board_id for p in parts]
        # the union of the boards' column types; unknown for any board: every known type (as alone)
        known = [self._column_types.get(b) for b in boards]
        types = None if any(t is None for t in known) else set().union(*(t for t in known if t is not None))
        label = ", ".join(boards[:3]) + (f" and {len(boards) - 3} more" if len(boards) > 3 else "")
        if len(boards) > 1:
            label += " (mixed batch)"
        fetcher = BoardFetcher(self.transport, self.settings, label, types)
        fetcher.kind = "ItemsByIds:mixed"
        ids = [i for p in parts for i in p.ids]
        try:
            self.requests += 1
            items = await fetcher.fetch(ids)
        finally:
            self._slots.release()
        owner = {i: p.board_id for p in parts for i in p.ids}
        shares: dict[str, list[RawItem]] = {b: [] for b in boards}
        for item in items:
            shares[owner[str(item.get("id"))]].append(item)
        for part in parts:
            share = shares[part.board_id]
            part_credit = len(part.ids) if credit else 0
            if part_credit > len(share):  # vanished items never reach a queue: their credit goes back
                self._release_credit(part_credit - len(share))
                part_credit = len(share)
            self._deliver(part.board_id, share, len(part.ids), part_credit)
            self._unsettled[part.board_id] -= len(part.ids)
            if not self._unsettled[part.board_id]:
                self._settled.setdefault(part.board_id, asyncio.Event()).set()
        self.wake()
