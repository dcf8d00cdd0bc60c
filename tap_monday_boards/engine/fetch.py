"""Phase 2: full items for batches of harvested ids, with a completeness check and split-on-timeout.

Why: ``items(ids:)`` returns at most ``limit`` items (default 25), so ``limit`` is always the number of ids;
its answer is unordered and silently omits ids deleted or made unreadable since the harvest, so every batch
is compared with what was asked and the difference is counted and logged, never dropped silently. A batch
that keeps timing out is too heavy for the server: it is split in halves, and the smaller size is kept for
the rest of that board (engine-notes.md "Batches").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tap_monday_boards import queries
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Request, RequestTimeoutError, Transport

logger = logging.getLogger(__name__)

TIMEOUTS_BEFORE_SPLIT = 2


@dataclass(slots=True)
class FetchStats:
    """Per-board counters of phase 2."""

    requested: int = 0
    fetched: int = 0
    missing: int = 0
    unexpected: int = 0
    splits: int = 0


class BoardFetcher:
    """Fetches batches of one board; owns that board's (possibly reduced) batch size."""

    def __init__(
        self,
        transport: Transport,
        settings: EngineSettings,
        board_id: str,
        column_types: Iterable[str] | None = None,
        column_ids: list[str] | None = None,
    ) -> None:
        self.transport = transport
        self.board_id = board_id
        self.batch_size = settings.batch_size
        # Selection-aware: typed fragments only for the board's column types and, when the stream extracts
        # only some columns, ``column_values(ids:)`` so unselected columns cost nothing.
        self.column_ids = column_ids
        self.query = queries.items_by_ids_query(column_types, with_column_ids=column_ids is not None)
        self.kind = f"ItemsByIds:{board_id}"  # cost per id depends on the board's columns
        self.stats = FetchStats()

    async def fetch(self, ids: list[str]) -> list[dict[str, Any]]:
        """Every item of ``ids`` that still exists, each once; splits the request on repeated timeouts."""
        self.stats.requested += len(ids)
        items = await self._fetch(ids)
        return self._check(ids, items)

    async def _fetch(self, ids: list[str]) -> list[dict[str, Any]]:
        if len(ids) > self.batch_size:  # the board's size shrank after a split: honour it for queued batches
            head, tail = ids[: self.batch_size], ids[self.batch_size :]
            return [*(await self._fetch(head)), *(await self._fetch(tail))]
        variables: dict[str, Any] = {"ids": ids, "limit": len(ids)}
        if self.column_ids is not None:
            variables["column_ids"] = self.column_ids
        request = Request(
            "ItemsByIds",
            self.query,
            variables,
            kind=self.kind,
            units=len(ids),
            context=f"ItemsByIds board {self.board_id} ({len(ids)} ids)",
            stat_key=self.board_id,
        )
        try:
            data = await self.transport.send(
                request, max_timeouts=TIMEOUTS_BEFORE_SPLIT if len(ids) > 1 else None
            )
        except RequestTimeoutError:
            half = len(ids) // 2
            self.batch_size = max(1, min(self.batch_size, half))
            self.stats.splits += 1
            logger.warning(
                "board %s: a batch of %d ids keeps timing out; splitting, batch size now %d",
                self.board_id,
                len(ids),
                self.batch_size,
            )
            return [*(await self._fetch(ids[:half])), *(await self._fetch(ids[half:]))]
        return [item for item in data.get("items") or [] if item is not None]

    def _check(self, ids: list[str], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        wanted = set(ids)
        result: list[dict[str, Any]] = []
        for item in items:
            item_id = str(item.get("id"))
            if item_id in wanted:
                wanted.discard(item_id)  # a repeated id in one answer is kept once
                result.append(item)
            else:
                self.stats.unexpected += 1
        self.stats.fetched += len(result)
        if wanted:
            self.stats.missing += len(wanted)
            sample = ", ".join(sorted(wanted)[:5])
            logger.info(
                "board %s: %d item(s) vanished between harvest and fetch (deleted or unreadable), e.g. %s",
                self.board_id,
                len(wanted),
                sample,
            )
        return result
