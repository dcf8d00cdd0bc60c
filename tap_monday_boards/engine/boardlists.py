"""Per-board lists (updates, activity logs, first harvest pages) of many boards, several boards per request.

Why: one request per board per list made a 100-board account 300 requests in a row. monday answers one
document with a list under each of several boards (queries.PerBoardList: each board under its own alias,
with its own page and filter), so :func:`send_per_board` asks for up to ``boards_per_request`` boards at once.

Paging stays complete per board: a board whose page came back full (``limit`` rows) needs more pages,
which join the next request with the other boards' pending pages; a short page is the board's last
(monday's ``page``/``limit`` lists carry no total). Page numbers, unlike cursors, can be asked before the
page in front of them is back: a board that keeps coming back full asks 2, then 4, up to ``MAX_WINDOW`` pages
at once (empty pages past its end are cheap and dropped), and its rows are handed on in page order.

:class:`BoardListReader` runs that for one list of every board of the sync and hands each board's rows to
the main thread through its own queue, in the order the SDK drains the boards (the boards stream's order).
Memory is bounded: pages are only requested while fewer than ``read_ahead_rows`` fetched rows wait to be
drained, except for the board being drained (and any before it), which always goes on, so the reader
never waits on itself.

A request that keeps timing out, or is refused as over monday's per-query complexity cap, is split in
halves (fewer boards), as the item batches are made smaller (fetch.py).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_monday_boards.engine import handover
from tap_monday_boards.engine.transport import Request, RequestTimeoutError, Transport
from tap_monday_boards.errors import QueryTooComplexAPIError
from tap_monday_boards.queries import PerBoardList

logger = logging.getLogger(__name__)

TIMEOUTS_BEFORE_SPLIT = 2
MAX_WINDOW = 16
"""Most pages of one board asked in one go (see ``BoardListReader``)."""


@dataclass(frozen=True, slots=True)
class BoardCall:
    """One board's part of a per-board-list request: its id and its own arguments (page, from, ...)."""

    board_id: str
    args: Mapping[str, Any]


async def send_per_board(
    transport: Transport,
    kind: PerBoardList,
    shared: Mapping[str, Any],
    calls: Sequence[BoardCall],
    *,
    priority: int = 1,
    units_per_board: int = 1,
) -> list[dict[str, Any] | None]:
    """One request (more only after repeated timeouts) for every call; the answer of each call, in call
    order: the board's object as monday returned it (``{"id": ..., <field>: [...]}``), or None when monday
    did not return the board. A board may appear in several calls (different pages)."""
    if not calls:
        return []
    boards = ", ".join(dict.fromkeys(c.board_id for c in calls[:5])) + (" ..." if len(calls) > 5 else "")
    request = Request(
        kind.operation,
        kind.document(len(calls)),
        kind.variables(shared, [(c.board_id, c.args) for c in calls]),
        kind=kind.operation,
        units=len(calls) * units_per_board,
        priority=priority,
        context=f"{kind.operation} board{'s' if len(calls) > 1 else ''} {boards}",
        stat_key=calls[0].board_id if len(calls) == 1 else None,
    )
    try:
        data = await transport.send(request, max_timeouts=TIMEOUTS_BEFORE_SPLIT if len(calls) > 1 else None)
    except (RequestTimeoutError, QueryTooComplexAPIError) as exc:
        if len(calls) == 1:
            raise  # one board's list alone: nothing smaller to ask (the error names query, cost and cap)
        half = len(calls) // 2
        why = "keeps timing out" if isinstance(exc, RequestTimeoutError) else "is over the per-query cap"
        logger.warning("%s: a request for %d boards %s; asking in halves", kind.operation, len(calls), why)
        first = await send_per_board(
            transport, kind, shared, calls[:half], priority=priority, units_per_board=units_per_board
        )
        second = await send_per_board(
            transport, kind, shared, calls[half:], priority=priority, units_per_board=units_per_board
        )
        return [*first, *second]
    found: list[dict[str, Any] | None] = []
    for n in range(len(calls)):
        answer = data.get(f"b{n}") or []
        found.append(answer[0] if answer and isinstance(answer[0], dict) else None)
    return found


def list_rows(board: Mapping[str, Any] | None, field: str) -> list[dict[str, Any]]:
    """The rows of ``field`` in one board's answer (none when the board was not returned)."""
    return [r for r in (board or {}).get(field) or [] if isinstance(r, dict)]


async def read_all_pages(
    transport: Transport,
    kind: PerBoardList,
    calls: Sequence[BoardCall],
    *,
    limit: int,
    boards_per_request: int,
    max_pages: int | None = None,
    priority: int = 1,
) -> dict[str, list[dict[str, Any]]]:
    """Every page of ``kind``'s list of each board (up to ``max_pages``), collected: board id -> rows.

    Round after round: the boards still on a full page ask their next page together, several per request.
    A board monday does not return has no rows.
    """
    rows: dict[str, list[dict[str, Any]]] = {c.board_id: [] for c in calls}
    todo = [BoardCall(c.board_id, {**c.args, "page": 1}) for c in calls]
    while todo:
        chunks = [todo[i : i + boards_per_request] for i in range(0, len(todo), boards_per_request)]
        answers = await asyncio.gather(
            *(send_per_board(transport, kind, {"limit": limit}, chunk, priority=priority) for chunk in chunks)
        )
        following = []
        for chunk, found in zip(chunks, answers, strict=True):
            for call, answer in zip(chunk, found, strict=True):
                page = list_rows(answer, kind.field)
                rows[call.board_id].extend(page)
                number = int(call.args["page"])
                if len(page) >= limit and (max_pages is None or number < max_pages):
                    following.append(BoardCall(call.board_id, {**call.args, "page": number + 1}))
        todo = following
    return rows




@dataclass(slots=True)
class _Board:
    board_id: str
    index: int
    args: dict[str, Any]
    out: queue.SimpleQueue[list[dict[str, Any]] | handover.Done | handover.Failure] = field(
        default_factory=queue.SimpleQueue
    )
    rows: int = 0
    asked: int = 0
    """Highest page requested so far."""
    window: int = 1
    """Pages asked at once the next time the highest page comes back full (doubles up to MAX_WINDOW)."""
    delivered: int = 0
    """Pages handed to the queue, in page order."""
    held: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """Pages that came back before a page in front of them."""
    last: int | None = None
    """The short page that ends the list, once seen."""
    failed: bool = False


class BoardListReader:
    """Reads ``kind``'s list of every added board; ``rows(board_id)`` yields them on the main thread.

    ``limit`` None: the list has no pages (``views``): one answer per board is all of it.

    Loop side: :meth:`add_boards` (in drain order, any number of times), then :meth:`no_more_boards`;
    :meth:`run` is the coroutine that sends the requests. Main thread: :meth:`rows` (from construction on).
    """

    def __init__(
        self,
        kind: PerBoardList,
        *,
        limit: int | None,
        boards_per_request: int,
        read_ahead_rows: int,
        priority: int = 1,
        max_in_flight: int = 4,
        call_soon: Any = None,
        on_rows: Callable[[str, list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.transport: Transport | None = None
        self.kind = kind
        self.limit = limit
        self.boards_per_request = max(1, boards_per_request)
        self.read_ahead_rows = read_ahead_rows
        self.priority = priority
        self.max_in_flight = max(1, max_in_flight)
        self._call_soon = call_soon
        """``runtime.call_soon``: how the main thread hands credits back to the loop."""
        self._on_rows = on_rows
        """Told each board's rows in order as they are handed on (e.g. to ask what they point to early)."""
        self._boards: dict[str, _Board] = {}
        self._lock = threading.Lock()
        self._pending: list[tuple[int, int, str]] = []  # heap of (drain index, page, board id)
        self._changed: asyncio.Event | None = None
        self._complete = threading.Event()
        """Set once every board has been added: an unknown board is then an error, not a wait."""
        self._buffered = 0
        self._draining = -1
        self._in_flight = 0
        self.requests = 0
        self.error: BaseException | None = None

    # --- loop side ----------------------------------------------------------------------------------
    def add_boards(self, boards: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Queue the first page of each board (``(board id, its arguments)``), in drain order."""
        for board_id, args in boards:
            self._ask(self._board(str(board_id), dict(args)), 1)
        self._wake()

    def no_more_boards(self) -> None:
        self._complete.set()
        self._wake()

    def fail(self, error: BaseException) -> None:
        """Every board not finished gets ``error`` (the listing that feeds this reader failed)."""
        self.error = error
        for board in list(self._boards.values()):
            board.out.put(handover.Failure(error))
        self._complete.set()
        self._pending.clear()
        self._wake()

    async def run(self, transport: Transport) -> None:
        """Send the pending pages until every added board is complete."""
        self.transport = transport
        self._changed = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                calls = self._take()
                if calls:
                    self._in_flight += 1
                    task = asyncio.get_running_loop().create_task(self._send(calls))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    continue
                if self._complete.is_set() and not self._pending and not self._in_flight:
                    return
                self._changed.clear()
                await self._changed.wait()
        finally:
            for task in tasks:
                task.cancel()

    def _take(self) -> list[BoardCall]:
        """The next request's calls: pages in drain order, within the read-ahead (see module docstring)."""
        if self._in_flight >= self.max_in_flight:
            return []
        calls: list[BoardCall] = []
        while self._pending and len(calls) < self.boards_per_request:
            index, page, board_id = self._pending[0]
            if index > self._draining and self._buffered >= self.read_ahead_rows:
                break
            heapq.heappop(self._pending)
            board = self._boards[board_id]
            calls.append(BoardCall(board_id, {**board.args, "page": page}))
        return calls

    async def _send(self, calls: list[BoardCall]) -> None:
        assert self.transport is not None
        try:
            self.requests += 1
            shared = {} if self.limit is None else {"limit": self.limit}
            found = await send_per_board(self.transport, self.kind, shared, calls, priority=self.priority)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the boards of this request fail; the others go on
            for call in calls:
                board = self._boards[call.board_id]
                if not board.failed:
                    board.failed = True
                    board.out.put(handover.Failure(exc))
            return
        finally:
            self._in_flight -= 1
            self._wake()
        for call, answer in zip(calls, found, strict=True):
            rows = list_rows(answer, self.kind.field)
            self._page(self._boards[call.board_id], int(call.args["page"]), rows)

    def _page(self, board: _Board, page: int, rows: list[dict[str, Any]]) -> None:
        """One page of a board came back: hand on what is now in order; ask more if it was full."""
        if board.failed or (board.last is not None and page > board.last):
            return  # after the end (a speculative page) or after a failure: nothing to hand on
        if self.limit is None or len(rows) < self.limit:  # a short page, or a list without pages
            board.last = page
        elif page == board.asked:
            # The highest page asked came back full: the list is longer, ask the next pages together.
            # Doubling keeps the wasted (empty) pages below the useful ones while a long list takes
            # log2 of its pages in round trips instead of one round trip per page.
            board.window = min(MAX_WINDOW, board.window * 2)
            self._ask(board, board.window)
        board.held[page] = rows
        while board.delivered + 1 in board.held:
            board.delivered += 1
            ready = board.held.pop(board.delivered)
            if ready:
                self._buffered += len(ready)
                board.rows += len(ready)
                if self._on_rows is not None:
                    self._tell(board.board_id, ready)
                board.out.put(ready)
            if board.delivered == board.last:
                board.held.clear()
                board.out.put(handover.DONE)
                return

    def _tell(self, board_id: str, rows: list[dict[str, Any]]) -> None:
        """``on_rows``, which only asks for things early: its failure must not stop this list."""
        assert self._on_rows is not None
        try:
            self._on_rows(board_id, rows)
        except Exception:  # logged; the rows still reach their stream
            operation = self.kind.operation
            logger.warning("%s: the hook on board %s's rows failed", operation, board_id, exc_info=True)

    def _ask(self, board: _Board, pages: int) -> None:
        for page in range(board.asked + 1, board.asked + 1 + pages):
            heapq.heappush(self._pending, (board.index, page, board.board_id))
        board.asked += pages

    def _release(self, rows: int, draining: int) -> None:
        self._buffered -= rows
        self._draining = max(self._draining, draining)
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def _board(self, board_id: str, args: dict[str, Any] | None = None) -> _Board:
        with self._lock:
            board = self._boards.get(board_id)
            if board is None:
                board = _Board(board_id, len(self._boards), args or {})
                self._boards[board_id] = board
            elif args is not None:
                board.args = args
            return board

    # --- main thread --------------------------------------------------------------------------------
    def rows(self, board_id: str, alive: Any = None) -> Iterator[dict[str, Any]]:
        """Every row of ``board_id``'s list, page by page; raises the error of its request.

        ``alive()`` (optional) is polled while waiting: False means the loop is gone and nothing more comes.
        """
        board_id = str(board_id)
        with self._lock:
            known = self._boards.get(board_id)
        if known is None:
            if self._complete.is_set():
                raise RuntimeError(f"{self.kind.operation}: board {board_id} was never listed")
            known = self._board(board_id)
        self._hand_back(0, known.index)
        for entry in handover.entries(
            known.out,
            stopped=lambda: alive is not None and not alive(),
            stopped_message=f"{self.kind.operation}: the engine stopped before board {board_id} was read",
            cause=lambda: self.error,
        ):
            try:
                yield from entry
            finally:
                self._hand_back(len(entry), known.index)

    def _hand_back(self, rows: int, index: int) -> None:
        if self._call_soon is not None:
            self._call_soon(self._release, rows, index)
