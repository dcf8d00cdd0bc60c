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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import requests
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from tap_monday_boards.client import MondayStream
from tap_monday_boards.engine.runtime import EngineRuntime, Job
from tap_monday_boards.engine.transport import Request
from tap_monday_boards.errors import MondayAPIError
from tap_monday_boards.sources import engine_source


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


def chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    """``ids`` in order, de-duplicated, cut into lists of at most ``size``."""
    unique = list(dict.fromkeys(ids))
    return [unique[start : start + size] for start in range(0, len(unique), size)]


class IdBatchStream(MondayStream):
    """Subclasses say which ids to ask for (:meth:`take_ids`); the document takes ``$ids`` (+ ``$limit``)."""

    batch_size: ClassVar[int] = 100
    """Ids per request: monday's ``items(ids:)`` and ``updates`` accept at most 100."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batches: list[list[str]] = []

    def take_ids(self, context: Context | None) -> Sequence[str]:
        """The ids to request in this sync (hand-over from the stream that emitted their parents)."""
        raise NotImplementedError

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        self._batches = chunks(self.take_ids(context), self.batch_size)
        if self._batches:  # no ids, no request (a paginator always sends a first one)
            yield from super().get_records(context)

    @override
    def get_new_paginator(self) -> BaseAPIPaginator | None:
        return BatchPaginator(len(self._batches))

    def batch_variables(self, ids: list[str]) -> dict[str, Any]:
        """Variables for one batch: ``limit`` = number of ids, or root ``items``/``updates`` stop at 25."""
        return {"ids": ids, "limit": len(ids)}

    @override
    def query_variables(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        # the token is BatchPaginator's batch index, not the page streams' PagePosition
        return self.batch_variables(self._batches[int(next_page_token or 0)])

    @override
    def request_records(self, context: Context | None) -> Iterable[dict]:
        """The batches through the sync's engine, many in flight; outside a sync, the SDK's page loop."""
        source = engine_source(self._tap)
        runtime = None if source is None else source.runtime
        if runtime is None or not runtime.running:
            yield from super().request_records(context)
            return
        self._current_context = context
        try:
            yield from self._engine_batches(runtime)
        except MondayAPIError as exc:
            raise self._sdk_error(exc) from exc

    def _engine_batches(self, runtime: EngineRuntime) -> Iterator[dict]:
        """Rows of every batch in order, with at most ``max_concurrency`` answers in flight or waiting."""
        window = max(1, runtime.settings.max_concurrency)
        jobs: deque[Job[dict[str, Any]]] = deque()
        submitted = 0
        try:
            while submitted < len(self._batches) or jobs:
                while submitted < len(self._batches) and len(jobs) < window:
                    jobs.append(runtime.submit(runtime.transport.send(self._batch_request(submitted))))
                    submitted += 1
                yield from self.parse_body({"data": jobs.popleft().result()})
        finally:
            for job in jobs:  # an error or a closed generator: nothing keeps running for this stream
                job.cancel()

    def _batch_request(self, index: int) -> Request:
        """Batch ``index`` as an engine request (same document, variables and governor class as the SDK's)."""
        ids = self._batches[index]
        return Request(
            self.operation_name,
            str(self.query),
            self.batch_variables(ids),
            kind=self.governor_kind,
            units=len(ids),
            context=f"query {self.operation_name}, batch {index + 1} of {len(self._batches)}",
        )
