"""AccountSync: every stream's requests of one sync, on the engine loop, from the moment the sync starts.

Why: the SDK syncs streams one after the other and asks for a stream's data only when it reaches it; the
small streams then went one request at a time (boards, then per board its updates and activity log) while
the items engine waited for its turn. Here the whole sync is planned up front (:class:`AccountPlan`, built
from the catalog by the tap) and started at once under the one governor:

* the account lists (workspaces, users, teams, tags), each paged until a short page;
* the board catalog (engine/boards.py: one document, one paging loop, one model, one missing-board rule),
  its rows handed to the boards stream in order while later pages still load. It also gives the items
  engine its boards (column types, subitems boards, groups), so a run lists its boards once;
* per board, each selected child list (updates, activity logs) through a
  :class:`~tap_monday_boards.engine.boardlists.BoardListReader`: several boards per request;
* the items and subitems pipelines, started as soon as their boards are known.

The SDK still writes every record on the main thread, in its own stream order; it reads what this class
fetched (``root_rows``, ``board_rows``, ``child_rows``, ``pipeline``), waiting only for what is not there
yet. Errors stay with the data they concern: a failed list raises when its stream reads it, with monday's
answer, and does not stop the other lists.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_monday_boards.engine import handover
from tap_monday_boards.engine.boardlists import BoardListReader
from tap_monday_boards.engine.boards import (
    BoardCatalog,
    BoardListing,
    BoardMeta,
    add_subitem_boards,
    list_boards,
)
from tap_monday_boards.engine.pipeline import ItemsPipeline
from tap_monday_boards.engine.plan_limits import apply_plan_limits
from tap_monday_boards.engine.runtime import EngineRuntime, Job
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.errors import QueryTooComplexAPIError
from tap_monday_boards.queries import PerBoardList
from tap_monday_boards.shrink import PagePosition, over_cap_message
from tap_monday_boards.wire import RawItem

logger = logging.getLogger(__name__)

LISTING_PRIORITY = 2
"""Everything else depends on the boards listing: it goes before the lists, harvest pages and batches."""
LIST_PRIORITY = 1
"""The account and per-board lists are drained first by the SDK: ahead of item batches, like the harvest."""
META_CHUNK = 100
READ_AHEAD_ROWS = 20_000
"""Per-board list rows fetched but not yet written, per list (memory bound; the drained board goes on)."""


@dataclass(frozen=True, slots=True)
class RootList:
    """An account-level list: ``data[field]``, paged with ``limit``/``page`` when ``page_size`` is set."""

    name: str
    operation: str
    query: str
    field: str
    page_size: int | None = None


@dataclass(frozen=True, slots=True)
class ChildList:
    """A list under each board (``updates``, ``activity_logs``), read for every listed board."""

    name: str
    kind: PerBoardList
    limit: int | None
    """Rows per page; None for a list without pages."""
    boards_per_request: int
    args: Callable[[str], Mapping[str, Any]] = lambda board_id: {}
    """Per-board arguments besides the page, e.g. ``{"from": ...}`` from that board's bookmark."""
    on_rows: Callable[[str, list[dict[str, Any]]], None] | None = None
    """Told (on the engine's thread) each board's rows as they arrive, before the stream writes them."""


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """An items pipeline to start once its boards are known (``items`` or ``subitems``)."""

    name: str
    since: Callable[[str], str | None]
    """board id -> the ``updated_at`` lower bound of an incremental run (None: every item)."""
    preparer: Callable[[list[BoardMeta]], Callable[[str, list[RawItem]], None]] | None = None
    """The pipeline's boards -> what it calls on each answer's items before handing them over (the
    stream's: tap_monday_boards/prepared.py)."""


@dataclass(frozen=True, slots=True)
class AccountPlan:
    """What one sync reads (built by the tap from its catalog, state and config)."""

    root_lists: tuple[RootList, ...] = ()
    boards: BoardListing | None = None
    """The catalog's listing: the BOARDS_QUERY variant when the boards stream (or a stream reading its
    answer) is selected, else the cheaper BOARDS_META_QUERY when only the items engine needs boards; None:
    no listing at all."""
    skip_unreadable: bool = False
    child_lists: tuple[ChildList, ...] = ()
    items: PipelineSpec | None = None
    subitems: PipelineSpec | None = None


@dataclass(slots=True)
class _Listing:
    pages: queue.SimpleQueue[list[dict[str, Any]] | handover.Done | handover.Failure] = field(
        default_factory=queue.SimpleQueue
    )


class AccountSync:
    """Starts every planned request on ``runtime``; the SDK streams read the results (module docstring)."""

    def __init__(self, runtime: EngineRuntime, plan: AccountPlan) -> None:
        self.runtime = runtime
        self.plan = plan
        self._roots: dict[str, concurrent.futures.Future[list[dict[str, Any]]]] = {
            r.name: concurrent.futures.Future() for r in plan.root_lists
        }
        self._listing = _Listing()
        self.catalog = BoardCatalog(
            plan.boards.board_ids if plan.boards is not None else (), skip_unreadable=plan.skip_unreadable
        )
        """The run's board catalog, filled as the listing's pages arrive (read by every board reader)."""
        self._readers: dict[str, BoardListReader] = {
            child.name: BoardListReader(
                child.kind,
                limit=child.limit,
                boards_per_request=child.boards_per_request,
                read_ahead_rows=READ_AHEAD_ROWS,
                priority=LIST_PRIORITY,
                call_soon=runtime.call_soon,
                on_rows=child.on_rows,
            )
            for child in plan.child_lists
        }
        self._pipelines: dict[str, concurrent.futures.Future[tuple[list[BoardMeta], ItemsPipeline]]] = {
            spec.name: concurrent.futures.Future() for spec in (plan.items, plan.subitems) if spec is not None
        }
        self._job: Job[None] | None = None
        self._limits: asyncio.Task[None] | None = None
        self._opened: asyncio.Event
        """Set by the sync's first successful answer; the account lists wait for it (see ``_run``)."""

    # --- main thread --------------------------------------------------------------------------------
    def start(self) -> None:
        self.runtime.start()
        self._job = self.runtime.submit(self._run())

    def close(self) -> None:
        """Stop fetching: cancel what runs and close the pipelines (the runtime is closed by its owner)."""
        if self._job is not None and not self._job.done():
            self._job.cancel()
            with contextlib.suppress(BaseException):  # cancelled or failed: either way it is over
                self._job.exception(30.0)
        for future in self._pipelines.values():
            if future.done() and future.exception() is None:
                future.result()[1].close()

    @property
    def alive(self) -> bool:
        return self._job is not None and not self._job.done()

    def serves_root(self, name: str) -> bool:
        return name in self._roots

    def serves_child(self, name: str) -> bool:
        return any(c.name == name for c in self.plan.child_lists)

    @property
    def lists_boards(self) -> bool:
        return self.plan.boards is not None

    def serves_pipeline(self, name: str) -> bool:
        return name in self._pipelines

    def root_rows(self, name: str) -> list[dict[str, Any]]:
        """Every row of an account list; raises the error of its request."""
        return self._wait(self._roots[name])

    def board_rows(self) -> Iterator[dict[str, Any]]:
        """The listed boards, in listing order, as each page arrives; raises the listing's error."""
        job = self._job
        for page in handover.entries(
            self._listing.pages,
            stopped=lambda: job is None or job.done(),
            stopped_message="the engine stopped before the boards listing was read",
            cause=lambda: None if job is None else job.exception(),
            shared=True,  # every stream reading the listing sees its end (or its error)
        ):
            yield from page

    def board_catalog(self) -> BoardCatalog | None:
        """The run's board catalog (None without a listing). A board is in it before ``board_rows`` yields
        it; the whole listing once ``board_rows`` ended or ``pipeline`` answered."""
        return self.catalog if self.lists_boards else None

    def child_rows(self, name: str, board_id: str) -> Iterator[dict[str, Any]]:
        """One board's rows of a child list (updates, activity logs)."""
        return self._readers[name].rows(board_id, alive=lambda: self.alive)

    def pipeline(self, name: str) -> tuple[list[BoardMeta], ItemsPipeline]:
        """The boards and the started pipeline of ``items`` / ``subitems``; raises the listing's error."""
        return self._wait(self._pipelines[name])

    def _wait(self, future: concurrent.futures.Future[Any]) -> Any:
        while True:
            try:
                return future.result(timeout=handover.POLL_S)
            except concurrent.futures.TimeoutError:
                self._check_alive("a list")

    def _check_alive(self, what: str) -> None:
        if self._job is None or self._job.done():
            error = None if self._job is None else self._job.exception()
            raise RuntimeError(f"the engine stopped before {what} was read") from error

    # --- loop ---------------------------------------------------------------------------------------
    async def _run(self) -> None:
        transport = self.runtime.transport
        plan = self.plan
        # The first request goes alone: if the token is wrong, that one 401 ends the sync, instead of one
        # per list. The listing is that request (everything waits for it anyway); without one, the first
        # account list.
        self._opened = asyncio.Event()
        roots = list(plan.root_lists)
        if plan.boards is None and roots:
            first = roots.pop(0)
            tasks = [asyncio.create_task(self._root(transport, first, opens=True))]
        else:
            tasks = []
        # The plan's limits (when the user set none) matter for a sync with items, the one that sends
        # hundreds of requests at once: asked beside the first request, they are known by the time the
        # pipelines start (``_start_pipelines`` waits for them), a round trip before the first batch.
        if plan.items is not None or plan.subitems is not None:
            self._limits = asyncio.create_task(apply_plan_limits(self.runtime, transport))
            tasks.append(self._limits)
        tasks += [asyncio.create_task(self._root(transport, r)) for r in roots]
        tasks += [asyncio.create_task(r.run(transport)) for r in self._readers.values()]
        tasks.append(asyncio.create_task(self._boards(transport)))
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for task in tasks:
                task.cancel()
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                logger.debug("account sync task ended with %r", result)

    async def _root(self, transport: Transport, spec: RootList, *, opens: bool = False) -> None:
        future = self._roots[spec.name]
        try:
            if not opens:
                await self._opened.wait()
            rows = await self._root_rows(transport, spec)
        except BaseException as exc:
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        future.set_result(rows)

    async def _root_rows(self, transport: Transport, spec: RootList) -> list[dict[str, Any]]:
        """Every page until a short one; a page refused as over the per-query cap is asked again with a
        smaller ``limit`` from the same row (shrink.py, as the SDK streams do), said once per list."""
        rows: list[dict[str, Any]] = []
        position = None if spec.page_size is None else PagePosition(0, spec.page_size)
        told = False
        while True:
            variables = {} if position is None else {"limit": position.limit, "page": position.page}
            try:
                data = await transport.send(
                    Request(
                        spec.operation,
                        spec.query,
                        variables,
                        kind=spec.operation,
                        priority=LIST_PRIORITY,
                        context=f"query {spec.operation}",
                    )
                )
            except QueryTooComplexAPIError as exc:
                smaller = None if position is None else position.smaller(exc.decision)
                if position is None or smaller is None:
                    rows_note = "" if position is None else f" with {position.limit} row(s) per page"
                    raise QueryTooComplexAPIError(exc.decision, f"query {spec.operation}{rows_note}") from exc
                _say_smaller(spec, position.limit, smaller.limit, exc, loud=not told)
                told, position = True, smaller
                continue
            self._opened.set()
            found = [r for r in data.get(spec.field) or [] if isinstance(r, dict)]
            rows.extend(found)
            if position is None or len(found) < position.limit:
                return rows
            position = position.next()

    async def _boards(self, transport: Transport) -> None:
        """The listing, then (once complete) the pipelines; a failure reaches whoever waits for it."""
        try:
            if self.plan.boards is not None:
                await list_boards(transport, self.plan.boards, self._emit)
        except BaseException as exc:
            error = _as_error(exc, "the boards listing was cancelled")
            self._listing.pages.put(handover.Failure(error))
            for reader in self._readers.values():
                reader.fail(error)
            self._fail_pipelines(error)
            raise
        self._listing.pages.put(handover.DONE)
        for reader in self._readers.values():
            reader.no_more_boards()
        try:
            await self._start_pipelines(transport)
        except BaseException as exc:
            self._fail_pipelines(_as_error(exc, "the items engine was cancelled"))
            raise

    def _fail_pipelines(self, error: BaseException) -> None:
        for future in self._pipelines.values():
            if not future.done():
                future.set_exception(error)

    def _emit(self, rows: list[dict[str, Any]]) -> None:
        """One listing page: into the catalog, to the per-board lists and to the boards stream, in order."""
        self._opened.set()
        self.catalog.add_rows(rows)
        for child in self.plan.child_lists:
            self._readers[child.name].add_boards([(str(r["id"]), child.args(str(r["id"]))) for r in rows])
        if rows:
            self._listing.pages.put(rows)

    # --- items engine ---------------------------------------------------------------------------------
    async def _start_pipelines(self, transport: Transport) -> None:
        plan = self.plan
        if plan.items is None and plan.subitems is None:
            return
        if self._limits is not None:
            await self._limits  # the pipelines size their slots by the limits in force
        catalog = self.catalog
        if plan.items is not None:
            self._start_pipeline(plan.items, catalog.item_boards())
        if plan.subitems is not None:
            assert plan.boards is not None
            await add_subitem_boards(transport, catalog, plan.boards, chunk=META_CHUNK)
            self._start_pipeline(plan.subitems, catalog.subitem_boards())

    def _start_pipeline(self, spec: PipelineSpec, boards: list[BoardMeta]) -> None:
        future = self._pipelines[spec.name]
        ids = [m.board_id for m in boards]
        since = {b: spec.since(b) for b in ids}
        for board_id, value in since.items():
            if value:
                logger.info("%s: board %s: extracting items updated since %s", spec.name, board_id, value)
        pipeline = ItemsPipeline(
            self.runtime.settings,
            ids,
            since=since,
            column_types={m.board_id: set(m.column_types) for m in boards},
            expected_items={m.board_id: m.items_count for m in boards if not since[m.board_id]},
            groups={m.board_id: m.group_ids for m in boards},
            runtime=self.runtime,
            governor=self.runtime.governor,
            prepare=None if spec.preparer is None else spec.preparer(boards),
        )
        pipeline.start()
        future.set_result((boards, pipeline))


def _say_smaller(
    spec: RootList, refused: int, smaller: int, exc: QueryTooComplexAPIError, *, loud: bool
) -> None:
    """The SDK streams' line for the same event (shrink.over_cap_message), once per list at WARNING."""
    (logger.warning if loud else logger.debug)(
        "%s",
        over_cap_message(
            f"stream {spec.name}",
            f"query {spec.operation} with {refused} rows per page",
            exc.decision,
            f"asking for the same rows {smaller} per page from now on",
        ),
    )


def _as_error(exc: BaseException, cancelled: str) -> BaseException:
    """What waiting readers get: the error itself, or a plain error for a cancellation."""
    return exc if isinstance(exc, Exception) else RuntimeError(cancelled)
