"""Runs harvest + fetch for all boards on the engine's event loop (runtime.py); hands records to the main
thread through one queue per board.

Why this shape: the SDK writes records and state from the thread that
iterates ``get_records`` and is not thread-safe, while the network work wants hundreds of concurrent
requests. So: one loop thread owns every socket; the main thread only drains per-board queues. Phase 2 for a
board starts as soon as one full batch of its ids exists, while its harvest continues; several boards
harvest at once (the boards consumed first start first), and a big board with several groups harvests its
groups at once (harvest.py); ``max_concurrency // 2`` cursor chains walk at a time across all boards.
Memory is bounded by *credits*: a batch is only requested when its records fit in the buffer of the board
being drained or, for every other board, in one shared read-ahead buffer (so a thousand boards cannot each
buffer a full queue, and a board that is not being drained is never held to its own small queue while
another board drains: its whole read-ahead share is fetched at full speed); the main thread gives credits
back as it yields records. The harvest itself never waits for the consumer (ids are tiny, cursors age).

The loop is the sync's shared :class:`~tap_monday_boards.engine.runtime.EngineRuntime` when one is given
(the items and subitems pipelines then run beside the small streams' requests, on one session), else a
private one. Shutdown: ``close()`` (also on ``__exit__``, generator close on ``--test``/record caps, SIGTERM
via ``SystemExit``, errors) cancels every task of this pipeline and waits for them; a private runtime is
also closed (session closed, thread joined).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_monday_boards.engine import handover
from tap_monday_boards.engine.critical import CriticalPath
from tap_monday_boards.engine.fetch import ITEMS_BY_IDS_PRIOR_PER_ID, BoardFetcher
from tap_monday_boards.engine.governor import Governor, get_governor
from tap_monday_boards.engine.harvest import HarvestState, harvest_board
from tap_monday_boards.engine.idset import IdQueue
from tap_monday_boards.engine.mixed import MixedBatches
from tap_monday_boards.engine.probe import ProbedBoard, probe_boards, probe_worth
from tap_monday_boards.engine.progress import BoardStats, log_progress
from tap_monday_boards.engine.runtime import EngineRuntime, Job
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Transport
from tap_monday_boards.wire import RawItem

logger = logging.getLogger(__name__)

_JOIN_TIMEOUT_S = 30.0
READ_AHEAD_FACTOR = 4
"""Boards not being drained share ``READ_AHEAD_FACTOR * record_queue_size`` buffered records in total."""


class _Credits:
    """How many more records of one board may be buffered; async acquire, release from any thread."""

    def __init__(self, capacity: int, on_change: Callable[[], None] | None = None) -> None:
        self.capacity = capacity
        self.available = capacity
        self._changed = asyncio.Event()
        self._on_change = on_change
        """Also told of every release and wake (the mixed-batch pool re-checks what can leave)."""

    async def acquire(self, n: int, bypass: Callable[[], bool] | None = None) -> bool:
        """Take ``n`` credits (True), or return False without taking any once ``bypass()`` is true."""
        # A batch larger than the whole buffer still goes once the buffer is empty (never a deadlock).
        while self.available < min(n, self.capacity):
            if bypass is not None and bypass():
                return False
            self._changed.clear()
            await self._changed.wait()
        if bypass is not None and bypass():
            return False
        self.available -= n
        return True

    def try_acquire(self, n: int) -> bool:
        """Take ``n`` credits now if they are there (same rule as ``acquire``), without waiting."""
        if self.available < min(n, self.capacity):
            return False
        self.available -= n
        return True

    def release(self, n: int) -> None:
        self.available += n
        self._changed.set()
        if self._on_change is not None:
            self._on_change()

    def wake(self) -> None:
        """Let waiters re-check their ``bypass`` (the board being drained changed)."""
        self._changed.set()
        if self._on_change is not None:
            self._on_change()


@dataclass(frozen=True, slots=True)
class _Batch:
    items: list[RawItem]
    own_credit: int
    """credits of the board's own buffer this batch holds (fetched while the board was being drained)."""
    shared_credit: int
    """read-ahead credits this batch holds (fetched while another board was being drained)."""


@dataclass(slots=True)
class _BoardRun:
    board_id: str
    harvest: HarvestState
    fetcher: BoardFetcher
    credits: _Credits
    out: queue.SimpleQueue[_Batch | handover.Done | handover.Failure]
    stats: BoardStats
    since: str | None
    pending: IdQueue = field(default_factory=IdQueue)
    """Harvested, not yet fetched: ints in arrays (the harvest can run far ahead of a budget-bound fetch)."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    fetch_tasks: set[asyncio.Task[None]] = field(default_factory=set)
    probe: ProbedBoard | None = None
    """Set when the board's first page is asked together with other boards' (probe.py)."""


class ItemsPipeline:
    """``with ItemsPipeline(settings, board_ids) as p: for raw in p.records(board_id): ...``"""

    def __init__(
        self,
        settings: EngineSettings,
        board_ids: list[str],
        *,
        since: Mapping[str, str | None] | None = None,
        column_types: Mapping[str, set[str]] | None = None,
        governor: Governor | None = None,
        expected_items: Mapping[str, int | None] | None = None,
        column_ids: Mapping[str, list[str] | None] | None = None,
        groups: Mapping[str, Sequence[str]] | None = None,
        wall_clock: Callable[[], float] = time.time,
        runtime: EngineRuntime | None = None,
        prepare: Callable[[str, list[RawItem]], None] | None = None,
    ) -> None:
        self.settings = settings
        self._prepare = prepare
        """Called on this thread with each answer's items before they are handed over (prepared.py)."""
        self.board_ids = list(dict.fromkeys(str(b) for b in board_ids))
        self._since = dict(since or {})
        self._column_types = dict(column_types or {})
        self._column_ids = dict(column_ids or {})
        self.governor = governor or get_governor(settings)
        self._runtime = runtime
        self._owns_runtime = runtime is None
        expected = dict(expected_items or {})
        self._expected = expected
        self._groups = {str(b): tuple(g) for b, g in (groups or {}).items()}
        self._wall_clock = wall_clock
        self.critical = CriticalPath(settings.request_timeout)
        """Timeouts and hedges of the harvest pages (shared by every board's chains)."""
        self.stats: dict[str, BoardStats] = {b: BoardStats(b, expected.get(b)) for b in self.board_ids}
        self._queues: dict[str, queue.SimpleQueue[Any]] = {b: queue.SimpleQueue() for b in self.board_ids}
        self._runs: dict[str, _BoardRun] = {}
        self._job: Job[None] | None = None
        self.error: BaseException | None = None
        self._draining: str | None = None  # the board the main thread is consuming (read across threads)
        self._read_ahead: _Credits | None = None
        self._mixed: MixedBatches

    # --- main-thread API -----------------------------------------------------------------------------
    def __enter__(self) -> ItemsPipeline:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Submit the pipeline to its runtime (starting a private one if none was given); never blocks on
        the network, so the loop thread itself may call it."""
        if self._job is not None:
            return
        if self._runtime is None:
            self._runtime = EngineRuntime(self.settings, self.governor)
        self.governor.expect("ItemsByIds", ITEMS_BY_IDS_PRIOR_PER_ID)
        self._runtime.start()
        self._job = self._runtime.submit(self._main())

    def records(
        self, board_id: str, on_wait: Callable[[], None] | None = None
    ) -> Generator[RawItem, None, None]:
        """Raw API items of ``board_id``, each once, on the calling thread; raises the engine's error.

        Items are ``wire.WireItem`` structs (``records.item_record`` takes them; ``wire.item_id`` reads the
        id), or decoded dicts for an answer the structs did not fit. ``on_wait`` is called whenever the
        next batch is not there yet, before waiting for it (the stream flushes its buffered output then).
        """
        stats = self.stats[str(board_id)]
        with contextlib.closing(self._lists(board_id, on_wait)) as lists:
            for items in lists:
                for raw in items:
                    stats.items_emitted += 1
                    yield raw

    def batches(
        self, board_id: str, on_wait: Callable[[], None] | None = None
    ) -> Generator[list[RawItem], None, None]:
        """:meth:`records` as the answers' lists: the same items, in the same order, one list per hand-over.

        Why: the main thread's per-item work outside the record itself (generators, counters, the SDK's
        loop) is paid per list instead (records.py's batch loop). A list's buffer credits are given back
        when the next one is asked for, i.e. after the caller has written the whole list, as :meth:`records`
        gives them back after the list's last item: the read-ahead bound is the same.
        """
        stats = self.stats[str(board_id)]
        with contextlib.closing(self._lists(board_id, on_wait)) as lists:
            for items in lists:
                stats.items_emitted += len(items)
                yield items

    def _lists(
        self, board_id: str, on_wait: Callable[[], None] | None
    ) -> Generator[list[RawItem], None, None]:
        """The board's hand-over lists in order; each list's credits are given back when the caller asks for
        the next one (or closes the generator)."""
        board_id = str(board_id)
        out = self._queues[board_id]
        self._draining = board_id
        self._call_in_loop(self._wake_read_ahead)
        job = self._job
        for entry in handover.entries(
            out,
            stopped=lambda: job is None or (job.done() and out.empty()),
            stopped_message=f"items engine stopped before board {board_id} finished",
            cause=lambda: self.error,
            on_wait=on_wait,
        ):
            try:
                yield entry.items
            finally:
                self._give_back(board_id, entry.own_credit, entry.shared_credit)

    def close(self) -> None:
        """Cancel every task and wait for them; close a private runtime. Idempotent."""
        job, runtime = self._job, self._runtime
        if job is not None and not job.done():
            job.cancel()
            try:
                job.exception(_JOIN_TIMEOUT_S)
            except TimeoutError:
                logger.warning("items engine did not stop within %.0f s", _JOIN_TIMEOUT_S)
            except BaseException:  # noqa: S110 - cancelled: what close() asked for
                pass
        if self._owns_runtime and runtime is not None:
            runtime.close()

    @property
    def running(self) -> bool:
        return self._job is not None and not self._job.done()

    def _give_back(self, board_id: str, own: int, shared: int) -> None:
        run = self._runs.get(board_id)
        if own and run is not None:
            self._call_in_loop(run.credits.release, own)
        if shared and self._read_ahead is not None:
            self._call_in_loop(self._read_ahead.release, shared)

    def _call_in_loop(self, callback: Callable[..., None], *args: Any) -> None:
        if self._runtime is not None:
            self._runtime.call_soon(callback, *args)

    def _is_drained(self, board_id: str) -> bool:
        """The board the main thread drains never waits for read-ahead credits (else: deadlock)."""
        return self._draining == board_id

    def _wake_read_ahead(self) -> None:
        if self._read_ahead is not None:
            self._read_ahead.wake()

    # --- engine thread -------------------------------------------------------------------------------
    async def _main(self) -> None:
        assert self._runtime is not None
        try:
            await self._run_all(self._runtime.transport)
        except asyncio.CancelledError:
            self._fail_all(RuntimeError("items engine was closed"))
            raise
        except BaseException as exc:
            self._fail_all(_first_error(exc))
            raise

    def _fail_all(self, error: BaseException) -> None:
        self.error = error
        for board_id, out in self._queues.items():
            if not self.stats[board_id].done:
                out.put(handover.Failure(error))

    async def _run_all(self, transport: Transport) -> None:
        settings = self.settings
        for board_id in self.board_ids:
            stats = self.stats[board_id]
            stats.started_at = time.monotonic()
            fetcher = BoardFetcher(
                transport,
                settings,
                board_id,
                self._column_types.get(board_id),
                self._column_ids.get(board_id),
            )
            self._runs[board_id] = _BoardRun(
                board_id=board_id,
                harvest=HarvestState(board_id),
                fetcher=fetcher,
                credits=_Credits(settings.record_queue_size),
                out=self._queues[board_id],
                stats=stats,
                since=self._since.get(board_id),
            )
        harvest_slots = asyncio.Semaphore(max(1, settings.max_concurrency // 2))
        fetch_slots = asyncio.Semaphore(settings.max_concurrency)
        async with asyncio.TaskGroup() as group:
            self._mixed = MixedBatches(
                transport,
                settings,
                boards=[b for b, run in self._runs.items() if run.fetcher.column_ids is None],
                column_types={b: self._column_types.get(b) for b in self._runs},
                take_credit=self._take_read_ahead,
                release_credit=self._release_read_ahead,
                is_drained=self._is_drained,
                deliver=self._deliver_mixed,
                slots=fetch_slots,
                spawn=group.create_task,
            )
            self._read_ahead = _Credits(READ_AHEAD_FACTOR * settings.record_queue_size, self._mixed.wake)
            progress = group.create_task(self._progress(transport))
            probes = self._probes()
            if probes:
                group.create_task(probe_boards(transport, probes, settings.harvest_page_size))
            mixed = group.create_task(self._mixed.run())
            boards = [
                group.create_task(self._board(run, transport, group, harvest_slots, fetch_slots))
                for run in self._runs.values()
            ]
            await asyncio.gather(*boards)
            await mixed
            progress.cancel()

    def _probes(self) -> list[ProbedBoard]:
        """Boards whose first page is asked together with others' (probe.py decides which)."""
        probes = []
        for run in self._runs.values():
            expected = None if run.since else self.stats[run.board_id].expected_items
            if probe_worth(run.since, expected, self.settings.harvest_page_size):
                on_ids = functools.partial(self._on_ids, run)
                run.probe = ProbedBoard(run.harvest, run.since, expected, on_ids)
                probes.append(run.probe)
        return probes

    def _on_ids(self, run: _BoardRun, ids: list[str]) -> None:
        run.pending.extend(map(int, ids))
        run.stats.ids_harvested += len(ids)
        run.changed.set()

    async def _board(
        self,
        run: _BoardRun,
        transport: Transport,
        group: asyncio.TaskGroup,
        harvest_slots: asyncio.Semaphore,
        fetch_slots: asyncio.Semaphore,
    ) -> None:
        # In the group: a failed harvest cancels everything at once, even a dispatcher waiting for credits.
        harvest = group.create_task(self._harvest(run, transport, harvest_slots))
        try:
            await self._dispatch(run, group, fetch_slots)
        finally:
            if not harvest.done():
                harvest.cancel()
        await harvest  # re-raises a harvest failure
        if run.fetch_tasks:
            await asyncio.gather(*run.fetch_tasks)
        await self._mixed.settled(run.board_id)
        run.stats.finished_at = time.monotonic()
        self._sync_stats(run, transport)
        log_progress(run.stats, complexity_left=self._complexity_left())
        self._log_cost(run)
        run.out.put(handover.DONE)

    def _log_cost(self, run: _BoardRun) -> None:
        """Once per board: what one item of it cost, from monday's own ``complexity.query`` answers.

        Why: the cost per item depends on the board's columns and decides how many items a minute the
        account's budget allows; the user sizes ``complexity_budget_per_minute`` or the column selection
        with it.
        """
        fetched = run.fetcher.stats
        per_item = fetched.points_per_item
        if per_item is None:
            return
        budget = self.governor.stats().budget_limit
        logger.info(
            "board %s: %.0f complexity points per item (mean of %d priced items; ItemsByIds batches of %d); "
            "a budget of %s points per minute fetches at most ~%s items per minute",
            run.board_id,
            per_item,
            fetched.priced_ids,
            run.fetcher.batch_size,
            f"{budget:,.0f}",
            f"{budget / per_item:,.0f}" if per_item > 0 else "any number of",
        )

    async def _harvest(self, run: _BoardRun, transport: Transport, slots: asyncio.Semaphore) -> None:
        on_ids = functools.partial(self._on_ids, run)
        try:
            if run.probe is not None and await run.probe.complete:
                run.harvest.done = True  # the shared first page was the whole harvest
                return
            await harvest_board(
                transport,
                self.settings,
                run.harvest,
                on_ids,
                since=run.since,
                group_ids=self._groups.get(run.board_id, ()),
                expected_items=None if run.since else self._expected.get(run.board_id),
                wall_clock=self._wall_clock,
                critical=self.critical,
                slots=slots,
            )
        finally:
            run.stats.harvest_done = run.harvest.done
            run.stats.harvest_done_at = time.monotonic()
            run.changed.set()

    async def _dispatch(self, run: _BoardRun, group: asyncio.TaskGroup, slots: asyncio.Semaphore) -> None:
        """Start a fetch whenever a full batch exists (or the harvest ended), within credits and slots."""
        is_drained = functools.partial(self._is_drained, run.board_id)
        while True:
            while len(run.pending) < run.fetcher.batch_size and not run.stats.harvest_done_at:
                run.changed.clear()
                await run.changed.wait()
            if not run.pending:
                self._mixed.close_board(run.board_id)
                return
            last = run.stats.harvest_done_at and len(run.pending) < run.fetcher.batch_size
            if last and run.fetcher.column_ids is None:  # the last, partial batch: with other boards'
                self._mixed.add(run.board_id, run.pending.pop_batch(len(run.pending)))
                return
            n = min(run.fetcher.batch_size, len(run.pending))
            batch = run.pending.pop_batch(n)
            assert self._read_ahead is not None
            # Another board is drained: the shared read-ahead bounds this one. Once it is the drained board
            # (also while waiting here), its own buffer does: the main thread empties that one now.
            shared = n if await self._read_ahead.acquire(n, bypass=is_drained) else 0
            own = 0
            if not shared:
                await run.credits.acquire(n)
                own = n
            await slots.acquire()
            task = group.create_task(self._fetch(run, batch, slots, own, shared))
            run.fetch_tasks.add(task)
            task.add_done_callback(run.fetch_tasks.discard)

    async def _fetch(
        self, run: _BoardRun, batch: list[str], slots: asyncio.Semaphore, own: int, shared: int
    ) -> None:
        try:
            items = await run.fetcher.fetch(batch)
        finally:
            slots.release()
        unused = own + shared - len(items)  # vanished items never reach the queue: their credit goes back
        if unused > 0 and own:
            run.credits.release(unused)
            own -= unused
        elif unused > 0 and self._read_ahead is not None:
            self._read_ahead.release(unused)
            shared -= unused
        if items:
            self._hand_over(run, _Batch(items, own, shared))

    def _hand_over(self, run: _BoardRun, batch: _Batch) -> None:
        """One answer's items into the board's queue, after the stream's ``prepare`` ran on them here."""
        if self._prepare is not None:
            self._prepare(run.board_id, batch.items)
        run.out.put(batch)

    def _take_read_ahead(self, n: int) -> bool:
        return self._read_ahead is not None and self._read_ahead.try_acquire(n)

    def _release_read_ahead(self, n: int) -> None:
        if self._read_ahead is not None:
            self._read_ahead.release(n)

    def _deliver_mixed(self, board_id: str, items: list[RawItem], asked: int, credit: int) -> None:
        """A board's share of a mixed batch: into its queue, counted as its own fetch."""
        run = self._runs[board_id]
        stats = run.fetcher.stats
        stats.requested += asked
        stats.fetched += len(items)
        stats.missing += asked - len(items)
        if items:
            self._hand_over(run, _Batch(items, 0, credit))

    def _sync_stats(self, run: _BoardRun, transport: Transport) -> None:
        stats, fstats = run.stats, run.fetcher.stats
        stats.items_fetched = fstats.fetched
        stats.missing = fstats.missing
        stats.splits = fstats.splits
        stats.batch_size = run.fetcher.batch_size
        stats.pages = run.harvest.pages
        stats.cursor_resumes = run.harvest.resumes
        stats.duplicates = run.harvest.duplicates
        stats.chains = run.harvest.chains
        stats.retries = transport.retries.get(run.board_id, 0)

    def _complexity_left(self) -> float:
        gov = self.governor.stats()
        return max(0.0, gov.budget_limit - gov.used_last_minute - gov.reserved_cost)

    async def _progress(self, transport: Transport) -> None:
        while True:
            await asyncio.sleep(self.settings.progress_interval_s)
            for run in self._runs.values():
                if not run.stats.done and run.stats.started_at:
                    self._sync_stats(run, transport)
                    log_progress(run.stats, complexity_left=self._complexity_left())


def _first_error(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups; cancellations are not errors."""
    if isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]
        return _first_error(inner[0]) if inner else exc
    return exc
