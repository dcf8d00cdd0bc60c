"""How much smaller a document must be after monday refused it as over the per-query complexity cap.

Why one rule for all: monday prices a query before running it, by the *potential* size of the answer, and
refuses any single query above its cap (5,000,000 points; "Query has complexity of N, which exceeds max
complexity of M"). The same document is refused every time, so retrying it is useless; what shrinks the
price of every document the tap sends is the number of rows it may return: ids of an ``items(ids:)`` batch,
the ``limit`` of a harvest page, the ``limit`` of a ``page``/``limit`` list. The engine's batches and pages
and the SDK streams' pages all ask :func:`smaller_size` (and :class:`PagePosition` for page-numbered
lists), so they shrink the same way.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap_monday_boards.errors import Decision

FIT_MARGIN = 0.9
"""A document's cost is a fixed part plus a part per row, so a size in proportion to cap/cost lands just above
the cap; aiming at 90 % of it lands below."""


def smaller_size(size: int, decision: Decision | None = None) -> int | None:
    """The next size to try after ``size`` rows were refused, or None when ``size`` is already 1.

    At most half of ``size``; smaller still when the refusal names the cost and the cap (one more refusal
    instead of several halvings).
    """
    if size <= 1:
        return None
    target = size // 2
    cost = decision.complexity if decision is not None else None
    cap = decision.max_complexity if decision is not None else None
    if cost and cap and cost > cap:
        target = min(target, int(size * cap / cost * FIT_MARGIN))
    return max(1, target)


def over_cap_message(subject: str, refused: str, decision: Decision, now: str) -> str:
    """The one log line for a document monday refused as over the per-query cap, and what happens next.

    ``subject`` names the board or stream, ``refused`` the document and its size ("harvest pages of 500
    ids"), ``now`` the new size ("harvesting 250 ids per page").
    """
    cost = f"{decision.complexity:,}" if decision.complexity is not None else "more"
    cap = f" of {decision.max_complexity:,}" if decision.max_complexity is not None else ""
    return f"{subject}: {refused}: {cost} points, over monday's per-query complexity cap{cap}; {now}"


@dataclass(frozen=True, slots=True)
class PagePosition:
    """Where a ``page``/``limit`` walk stands: rows already read and the page size.

    monday's page-numbered lists (``boards``, ``users``, ``updates``, ``activity_logs``, ...) can only start
    at a multiple of ``limit`` (``page`` is 1-based). A smaller limit must therefore divide ``offset`` so the
    next page starts exactly after the last row read: nothing is skipped and nothing read twice.
    """

    offset: int
    limit: int

    @property
    def page(self) -> int:
        """The 1-based page number that starts at ``offset``."""
        return self.offset // self.limit + 1

    def next(self) -> PagePosition:
        """The position after this (full) page."""
        return PagePosition(self.offset + self.limit, self.limit)

    def smaller(self, decision: Decision | None = None) -> PagePosition | None:
        """The same position with a smaller limit that divides ``offset``; None when ``limit`` is 1."""
        target = smaller_size(self.limit, decision)
        if target is None:
            return None
        limit = next(d for d in range(target, 0, -1) if self.offset % d == 0)
        return PagePosition(self.offset, limit)
