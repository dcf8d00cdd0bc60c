"""Phase 2: full items for batches of harvested ids, with a completeness check and split-on-timeout.

Why: ``items(ids:)`` returns at most ``limit`` items (default 25), so ``limit`` is always the number of ids;
its answer is unordered and silently omits ids deleted or made unreadable since the harvest, so every batch
is compared with what was asked and the difference is counted and logged, never dropped silently. A batch
that keeps timing out is too heavy for the server: it is split in halves, and the smaller size is kept for
the rest of that board. A batch monday refuses as over its per-query complexity cap is split the same way
(to the size shrink.py derives from the refusal's cost and cap), said once per board; a single id over the
cap fails with the query, its cost and the cap named.

The answers' real ``complexity.query`` is summed per board, so the board's cost per item can be reported
(``FetchStats.points_per_item``): the number a user needs to size the budget for that board.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tap_monday_boards import queries, wire
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.engine.transport import Request, RequestTimeoutError, Transport
from tap_monday_boards.errors import QueryTooComplexAPIError
from tap_monday_boards.shrink import over_cap_message, smaller_size

logger = logging.getLogger(__name__)

TIMEOUTS_BEFORE_SPLIT = 2
ITEMS_BY_IDS_PRIOR_PER_ID = 200
"""Complexity points per id the governor assumes for ``ItemsByIds`` before the first answer says: the
document with every typed fragment costs 120 per id under monday's published rule (192 under the older
heuristic), so the first batches of a sync go together instead of behind a probe."""


@dataclass(slots=True)
class FetchStats:
    """Per-board counters of phase 2."""

    requested: int = 0
    fetched: int = 0
    missing: int = 0
    unexpected: int = 0
    splits: int = 0
    too_complex: int = 0
    """batches refused as over the per-query complexity cap (each was sent again in smaller batches)."""
    points: float = 0.0
    """complexity points of the answered batches (their ``complexity.query``)."""
    priced_ids: int = 0
    """ids of the batches whose answer carried ``complexity.query``."""

    @property
    def points_per_item(self) -> float | None:
        """Mean complexity points per requested id; None before the first priced answer."""
        return self.points / self.priced_ids if self.priced_ids else None


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
        self._told_too_complex = False

    async def fetch(self, ids: list[str]) -> list[wire.RawItem]:
        """Every item of ``ids`` that still exists, each once; splits the request on repeated timeouts."""
        self.stats.requested += len(ids)
        items = await self._fetch(ids)
        return self._check(ids, items)

    async def _fetch(self, ids: list[str]) -> list[wire.RawItem]:
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
            decode=wire.decode_answer,  # items as structs: no dict per value, nothing for the GC to track
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
        except QueryTooComplexAPIError as exc:
            smaller = smaller_size(len(ids), exc.decision)
            if smaller is None:
                raise  # one id over the cap: the error names the query, its cost and the cap
            self._too_complex(len(ids), smaller, exc)
            return await self._fetch(ids)  # honours the smaller batch size
        self._price(data, len(ids))
        return [item for item in data.get("items") or [] if item is not None]

    def _too_complex(self, size: int, smaller: int, exc: QueryTooComplexAPIError) -> None:
        """Keep the smaller batch size for this board; say so once (concurrent refusals are one event)."""
        self.stats.too_complex += 1
        self.batch_size = max(1, min(self.batch_size, smaller))
        if self._told_too_complex:
            return
        self._told_too_complex = True
        logger.warning(
            "%s",
            over_cap_message(
                f"board {self.board_id}",
                f"ItemsByIds batches of {size} ids",
                exc.decision,
                f"fetching this board in batches of {self.batch_size} ids",
            ),
        )

    def _price(self, data: dict[str, Any], ids: int) -> None:
        complexity = data.get("complexity")
        cost = complexity.get("query") if isinstance(complexity, dict) else None
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            self.stats.points += float(cost)
            self.stats.priced_ids += ids

    def _check(self, ids: list[str], items: list[wire.RawItem]) -> list[wire.RawItem]:
        wanted = set(ids)
        result: list[wire.RawItem] = []
        for item in items:
            item_id = wire.item_id(item)
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
