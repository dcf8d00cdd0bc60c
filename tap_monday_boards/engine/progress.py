"""Per-board counters and the periodic INFO progress line.

Why a fixed interval and not per request: a large board makes tens of thousands of requests; one line
every few seconds per active board tells the operator the rate, the ETA and whether the budget binds.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

logger = logging.getLogger("tap_monday_boards.engine.progress")


@dataclass(slots=True)
class BoardStats:
    """What happened to one board (read by the stream for its summary and by tests)."""

    board_id: str
    expected_items: int | None = None
    """``items_count`` from the board (full syncs only): gives an ETA while the harvest still runs."""
    ids_harvested: int = 0
    duplicates: int = 0
    pages: int = 0
    chains: int = 0
    """harvest cursor chains: 1, or one per group + the catch-up when the harvest was partitioned."""
    cursor_resumes: int = 0
    harvest_done: bool = False
    harvest_done_at: float | None = None
    items_fetched: int = 0
    items_emitted: int = 0
    missing: int = 0
    retries: int = 0
    splits: int = 0
    batch_size: int = 0
    started_at: float = 0.0
    finished_at: float | None = None

    @property
    def done(self) -> bool:
        return self.finished_at is not None


def _eta(stats: BoardStats, rate: float) -> str:
    if stats.harvest_done:
        total = stats.ids_harvested
    elif stats.expected_items:
        total = max(stats.expected_items, stats.ids_harvested)
    else:
        return "unknown (harvest running)"
    left = total - stats.items_fetched - stats.missing
    if left <= 0:
        return "0 s"
    if rate <= 0:
        return "unknown"
    return f"{math.ceil(left / rate)} s"


def log_progress(stats: BoardStats, *, complexity_left: float, now: float | None = None) -> None:
    """One INFO line: ids harvested, items fetched, items/s, ETA, complexity left, retries."""
    now = time.monotonic() if now is None else now
    elapsed = max(1e-9, now - stats.started_at)
    rate = stats.items_fetched / elapsed
    logger.info(
        "board %s: %d ids harvested%s, %d items fetched, %.0f items/s, ETA %s, complexity left %.0f, "
        "retries %d, cursor resumes %d, missing %d",
        stats.board_id,
        stats.ids_harvested,
        " (done)" if stats.harvest_done else "",
        stats.items_fetched,
        rate,
        _eta(stats, rate),
        complexity_left,
        stats.retries,
        stats.cursor_resumes,
        stats.missing,
    )
