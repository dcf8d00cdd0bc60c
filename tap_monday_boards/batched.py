"""IdBatchStream: a MondayStream that sends one request per batch of ids it already holds.

Why: under monday's published complexity rule a list of objects nested in a per-parent list costs x1,000
per parent, and a list's bound is the number of ``ids`` when ids are given, else its ``limit``. So the
streams that need such a list (replies, subscribers, asset ids) ask for it by ids, for exactly the parents
emitted in this run, instead of nesting it in a page whose ``limit`` is charged whether or not the page is
full. The SDK drives the batches like pages (governor, retries, error classification and cost accounting
stay MondayStream's); an empty answer does not end the walk, since most batches of updates have no reply.

During a sync the batches go through the sync's engine instead (``request_records``): every batch is known
up front, so up to ``max_concurrency`` of them are in flight at once under the one governor, and their rows
are read back in batch order. One request at a time, 20,000 assets at ~1 s per answer took 200 s; in flight
together they take the budget's and the rate's time.

Ids known before their stream syncs (the asset ids in the file columns of the items being written) need not
wait for it: :meth:`IdBatchStream.send_early` sends each full batch at once, and a partial one when its ids
stop coming (``EARLY_LINGER_S``), at a priority below every other request of the sync, so it only uses slots
the items leave free. The answers wait as compact JSON bytes, at most ``EARLY_BYTES_MAX`` of them; past
that, the ids are asked when the stream syncs, as without it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
import requests
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from tap_monday_boards import sdkcompat
from tap_monday_boards.client import MondayStream
from tap_monday_boards.engine.transport import Request, Transport
from tap_monday_boards.errors import MondayAPIError
from tap_monday_boards.records import WideRecordStreamMixin
from tap_monday_boards.sources import engine_source

if TYPE_CHECKING:  # annotations only: the runtime (engine/runtime.py) is loaded by the sync (prefetch.py)
    from tap_monday_boards.engine.runtime import EngineRuntime, Job


class BatchPaginator(BaseAPIPaginator[int]):
    """Token = index of the next batch; finished after the last one, empty answers included."""

    def __init__(self, batches: int) -> None:
        super().__init__(start_value=0)
        self._batches = batches

    @override
    def get_next(self, response: requests.Response) -> int | None:
        following = self.current_value + 1
        return following if following < self._batches else None

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        return True


EARLY_PRIORITY = -1
"""Governor priority of early batches: below the items' batches (0) and the harvest and lists (1, 2)."""
EARLY_BYTES_MAX = 64 * 1024 * 1024
"""Most bytes of early answers held before their stream syncs (about 180,000 assets)."""
EARLY_LINGER_S = 0.25
"""A partial early batch goes once no new id has come for this long: its producers have paused or ended
(the last items written, the last updates' asset ids answered), and waiting for the stream's own sync
would put one more round trip at the end of the run. A producer that resumes starts new batches (a few
more requests at most; every id is still asked once)."""


class EarlyBatches:
    """Full batches of one stream's ids sent before the stream syncs, their answers kept as JSON bytes.

    Ids may arrive from the main thread (records written) and the engine's (lists fetched, answers read), and
    the stream takes what was sent when it syncs (:meth:`close`): one lock covers queueing, sending (``send``
    only submits a job) and taking, so an id is either in a job the stream reads or left for its own batches,
    never both and never neither.
    """

    def __init__(self, batch_size: int, send: Callable[[list[str]], Job[bytes]]) -> None:
        self.batch_size = batch_size
        self._send = send
        self.pending: list[str] = []
        """Ids waiting for a full batch (a partial one goes after ``EARLY_LINGER_S``, or with the stream's
        own batches)."""
        self.sent: set[str] = set()
        self.jobs: deque[Job[bytes]] = deque()
        self.held_bytes = 0
        """Bytes of answers received and not yet read (updated on the engine's thread)."""
        self.stopped = False
        """Set once ``EARLY_BYTES_MAX`` is reached or the stream took the batches: later ids wait for the
        stream's own sync."""
        self.last_added = 0.0
        """``time.monotonic()`` when an id was last queued."""
        self._lingering = False
        """A linger check is scheduled on the engine loop (one at a time)."""
        self._lock = threading.Lock()

    def add(self, ids: Iterable[str]) -> bool:
        """Queue ``ids`` (each once) and send every full batch; True when the caller should schedule a
        linger check (a partial batch waits and none is scheduled)."""
        with self._lock:
            if self.held_bytes >= EARLY_BYTES_MAX:
                self.stopped = True
            if self.stopped:
                return False
            queued = len(self.pending)
            for one in ids:
                if one not in self.sent:
                    self.sent.add(one)
                    self.pending.append(one)
            if len(self.pending) > queued:  # once per call, not per id (this runs for every record)
                self.last_added = time.monotonic()
            while len(self.pending) >= self.batch_size:
                self._send_now(self.pending[: self.batch_size])
                del self.pending[: self.batch_size]
            if self._lingering or not self.pending:
                return False
            self._lingering = True
            return True

    def linger(self, now: float) -> float | None:
        """The linger check: seconds left to wait, or None once done (the partial batch sent, or nothing
        waiting any more)."""
        with self._lock:
            left = self.last_added + EARLY_LINGER_S - now
            if self.pending and not self.stopped and left > 0:
                return left
            self._lingering = False
            if self.pending and not self.stopped:
                self._send_now(self.pending)
                self.pending = []
            return None

    def close(self) -> tuple[set[str], deque[Job[bytes]]]:
        """For the stream's sync: (ids whose answers the jobs hold, the jobs); nothing is sent after it."""
        with self._lock:
            self.stopped = True
            return self.sent - set(self.pending), self.jobs

    def _send_now(self, batch: list[str]) -> None:
        job = self._send(batch)
        job.add_done_callback(self._held)
        self.jobs.append(job)

    def _held(self, future: Future[bytes]) -> None:
        if not future.cancelled() and future.exception() is None:
            self.held_bytes += len(future.result())


async def _send_compact(transport: Transport, request: Request) -> bytes:
    """The answer's ``data`` as JSON bytes: a third of the memory of the decoded rows while it waits."""
    return msgspec.json.encode(await transport.send(request))


def chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    """``ids`` in order, de-duplicated, cut into lists of at most ``size``."""
    unique = list(dict.fromkeys(ids))
    return [unique[start : start + size] for start in range(0, len(unique), size)]


class IdBatchStream(WideRecordStreamMixin, MondayStream):
    """Subclasses say which ids to ask for (:meth:`take_ids`); the document takes ``$ids`` (+ ``$limit``).

    Emitted like the item records (``records.WideRecordStreamMixin``): these streams write their rows in
    bursts of tens of thousands (every asset of a run) after their answers arrived, often at the end of the
    run, so the SDK's per-record path (a deselection walk and a flushed ``write`` per record: ~75 us of the
    ~0.8 s that 10,000 assets took) was what the run waited for. Their records are flat, so root-only
    conformance is the SDK's full conformance.
    """

    batch_size: ClassVar[int] = 100
    """Ids per request: monday's ``items(ids:)`` and ``updates`` accept at most 100."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batches: list[list[str]] = []
        self._early: dict[str, EarlyBatches] = {}
        """Ids sent early, by kind (a stream with several phases asks for several kinds of ids)."""
        self._early_jobs: deque[Job[bytes]] = deque()
        """The early answers the current sync reads first (taken from ``_early`` when it starts)."""

    def take_ids(self, context: Context | None) -> Sequence[str]:
        """The ids to request in this sync (hand-over from the stream that emitted their parents)."""
        raise NotImplementedError

    def batch_limit(self, kind: str | None = None) -> int:
        """Ids per request for ids of ``kind`` (None: the current sync's, :meth:`early_kind`)."""
        return self.batch_size

    def batch_document(self, ids: list[str], kind: str | None = None) -> str:
        """The document for one batch of ids of ``kind`` (None: the current sync's)."""
        return str(self.query)

    def early_kind(self) -> str:
        """The kind of ids the current sync asks for (:meth:`send_early`'s ``kind``); a stream with several
        phases answers per phase, and builds its requests per kind (``batch_*``, ``request_kind``)."""
        return ""

    def request_kind(self, kind: str | None = None) -> tuple[str, str]:
        """(operation name, governor class) of the requests for ids of ``kind`` (None: the current sync's)."""
        return self.operation_name, self.governor_kind

    def send_early(self, ids: Iterable[str], kind: str = "") -> None:
        """Ids of ``kind`` this stream will ask for when it syncs: each full batch goes now (see the module).

        Thread-safe: the engine's thread may call it for ids it has just fetched (prefetch.py)."""
        runtime = self._running_engine()
        if runtime is None:
            return
        early = self._early.get(kind)
        if early is None:  # once per kind (this runs for every record naming ids)
            send = functools.partial(self._send_early_batch, runtime, kind)
            early = self._early.setdefault(kind, EarlyBatches(self.batch_limit(kind), send))
        if early.add(ids):
            runtime.call_soon(self._linger, runtime, early)

    @staticmethod
    def _linger(runtime: EngineRuntime, early: EarlyBatches) -> None:
        """On the engine loop: send the partial batch once its ids stop coming (``EARLY_LINGER_S``)."""
        left = early.linger(time.monotonic())
        if left is not None:
            runtime.loop.call_later(left, IdBatchStream._linger, runtime, early)

    def _send_early_batch(self, runtime: EngineRuntime, kind: str, batch: list[str]) -> Job[bytes]:
        request = self._request_for(batch, "early batch", priority=EARLY_PRIORITY, kind=kind)
        job = runtime.submit(_send_compact(runtime.transport, request))
        job.add_done_callback(lambda future: self._early_answered(kind, future))
        return job

    def _early_answered(self, kind: str, future: Future[bytes]) -> None:
        """An early batch's answer arrived (engine thread; nothing may block): a stream whose answers name
        more ids to send early (assets: the asset ids of updates) sends them from here. Default: nothing."""

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        for rows in self._row_lists(context):
            yield from rows

    @override
    def record_batches(self, context: Mapping[str, Any] | None) -> Iterable[Iterable[dict[str, Any]]]:
        """:meth:`get_records`' rows, one list per answer: the batch loop of records.py writes them (when
        ``post_process`` is the SDK's; a stream that overrides it keeps the SDK's loop)."""
        return self._row_lists(context)

    def _row_lists(self, context: Context | None) -> Iterator[list[dict[str, Any]]]:
        """The rows of this sync's ids: one list per answer from the engine, one row per list from the SDK's
        page loop outside a sync."""
        ids = self.take_ids(context)
        early = self._early.pop(self.early_kind(), None)
        self._early_jobs = deque()
        if early is not None:
            answered, self._early_jobs = early.close()
            ids = [i for i in ids if i not in answered]
        self._batches = chunks(ids, self.batch_limit())
        if not self._batches and not self._early_jobs:  # no ids, no request (a paginator sends a first one)
            return
        yield from self._answers(context)

    @override
    def get_new_paginator(self) -> BaseAPIPaginator | None:
        return BatchPaginator(len(self._batches))

    def batch_variables(self, ids: list[str], kind: str | None = None) -> dict[str, Any]:
        """Variables for one batch: ``limit`` = number of ids, or root ``items``/``updates`` stop at 25."""
        return {"ids": ids, "limit": len(ids)}

    @override
    def prepare_request_payload(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        # the token is BatchPaginator's batch index, not the page streams' PagePosition
        ids = self._batches[int(next_page_token or 0)]
        return {"query": self.batch_document(ids), "variables": self.batch_variables(ids)}

    @override
    def request_records(self, context: Context | None) -> Iterable[dict]:
        """The batches through the sync's engine, many in flight; outside a sync, the SDK's page loop."""
        for rows in self._answers(context):
            yield from rows

    def _answers(self, context: Context | None) -> Iterator[list[dict[str, Any]]]:
        """The prepared batches' rows, a list per answer from the sync's engine; outside a sync, the SDK's
        page loop, a row per list."""
        runtime = self._running_engine()
        if runtime is None:
            yield from ([row] for row in super().request_records(context))
            return
        self._current_context = context
        try:
            yield from self._engine_answers(runtime)
        except MondayAPIError as exc:
            raise self._sdk_error(exc) from exc

    def _running_engine(self) -> EngineRuntime | None:
        """The sync's engine runtime while it runs; None outside a sync."""
        source = engine_source(sdkcompat.tap_of(self))
        runtime = None if source is None else source.runtime
        return runtime if runtime is not None and runtime.running else None

    def _engine_answers(self, runtime: EngineRuntime) -> Iterator[list[dict[str, Any]]]:
        """Rows of every batch in order, a list per answer, with at most ``max_concurrency`` answers in
        flight or waiting."""
        window = max(1, runtime.settings.max_concurrency)
        early = self._early_jobs
        jobs: deque[Job[dict[str, Any]]] = deque()
        submitted = 0
        total = len(self._batches)
        try:
            while submitted < total or jobs or early:
                while submitted < total and len(jobs) < window:
                    request = self._request_for(self._batches[submitted], f"batch {submitted + 1} of {total}")
                    jobs.append(runtime.submit(runtime.transport.send(request)))
                    submitted += 1
                # early answers were sent first, so they are read first (their ids are not in the batches)
                job = early[0] if early else jobs[0]
                if not job.done():
                    self.flush_output()  # the target gets what is written before this waits
                data = msgspec.json.decode(early.popleft().result()) if early else jobs.popleft().result()
                yield list(self.parse_body({"data": data}))
        finally:
            for job in jobs:  # an error or a closed generator: nothing keeps running for this stream
                job.cancel()
            for early_job in early:
                early_job.cancel()

    def _request_for(
        self, ids: list[str], which: str, *, priority: int = 0, kind: str | None = None
    ) -> Request:
        """One batch as an engine request (same document, variables and governor class as the SDK's)."""
        operation, governor_kind = self.request_kind(kind)
        return Request(
            operation,
            self.batch_document(ids, kind),
            self.batch_variables(ids, kind),
            kind=governor_kind,
            units=len(ids),
            priority=priority,
            context=f"query {operation}, {which}",
        )
