"""The ceiling T*: the best wall time the emulator's limits allow for one board.

    T* = max( pages * L_p + L_b,                  the longest cursor chain, then the last batch
              total_cost / B * 60 s,              complexity budget per minute
              requests / R * 60 s,                request rate per minute
              batches / K * L_b )                 K batches in flight at a time

Pure arithmetic; the harness fills the inputs from the emulator's own settings (latency model, plan limits,
static cost estimate), so the ceiling moves when the emulator does. Each strategy's efficiency is reported
as T*/wall: 1.0 means the run reached the ceiling. The budget and rate terms ignore the head start a fresh
sliding window gives (a full minute's budget is spendable at once), so a run well under a minute of budget
can exceed 1.0; ``strict_s`` is the true lower bound with that head start, reported alongside.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CeilingInputs:
    """Everything T* depends on, in the emulator's units."""

    items: int
    page_size: int
    batch_size: int
    page_latency_s: float
    batch_latency_s: float
    harvest_cost_per_page: int
    fetch_cost_per_batch: int
    budget_per_minute: int
    requests_per_minute: int
    concurrency: int
    boards: int = 1
    """Boards the items are spread over evenly: one cursor chain each, walked side by side."""
    chain_items: int | None = None
    """Items of the longest cursor chain when a board's harvest is partitioned (its biggest group);
    None: one chain per board."""
    catch_up_pages: int = 0
    """Pages walked after the longest chain (the partitioned harvest's catch-up chain)."""

    @property
    def chain_pages(self) -> int:
        """Pages of the longest chain (one board's, or its biggest group's plus the catch-up): an empty
        board still costs one page."""
        items = self.items / max(1, self.boards) if self.chain_items is None else self.chain_items
        return max(1, math.ceil(items / self.page_size)) + self.catch_up_pages

    @property
    def pages(self) -> int:
        """Harvest pages of every chain together (partitioned: about one page per 500 ids plus the
        catch-ups; the cost and rate terms barely notice the difference)."""
        if self.chain_items is not None:
            return max(1, math.ceil(self.items / self.page_size)) + self.catch_up_pages * max(1, self.boards)
        return self.chain_pages * max(1, self.boards)

    @property
    def batches(self) -> int:
        """Fetch batches of ``batch_size`` ids."""
        return math.ceil(self.items / self.batch_size)


@dataclass(frozen=True, slots=True)
class Ceiling:
    """T* and each of its terms, so the report can name the binding one."""

    chain_s: float
    budget_s: float
    rate_s: float
    concurrency_s: float
    burst_budget_s: float
    burst_rate_s: float
    total_cost: int
    requests: int

    @property
    def t_star_s(self) -> float:
        """The ceiling: the largest term."""
        return max(self.chain_s, self.budget_s, self.rate_s, self.concurrency_s)

    @property
    def strict_s(self) -> float:
        """A true lower bound: like T* but with the budget and rate terms a fresh window allows."""
        return max(self.chain_s, self.burst_budget_s, self.burst_rate_s, self.concurrency_s)

    @property
    def binding(self) -> str:
        """Name of the term that sets T*."""
        terms = {
            "chain": self.chain_s,
            "budget": self.budget_s,
            "rate": self.rate_s,
            "concurrency": self.concurrency_s,
        }
        return max(terms, key=lambda name: terms[name])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view including the derived fields."""
        return {**asdict(self), "t_star_s": self.t_star_s, "strict_s": self.strict_s, "binding": self.binding}


def ceiling(inputs: CeilingInputs) -> Ceiling:
    """Compute T* for one board under the given limits."""
    batches = inputs.batches
    total_cost = inputs.pages * inputs.harvest_cost_per_page + batches * inputs.fetch_cost_per_batch
    requests = inputs.pages + batches
    chain = inputs.chain_pages * inputs.page_latency_s + (inputs.batch_latency_s if batches else 0.0)
    budget = total_cost / inputs.budget_per_minute * 60.0
    rate = requests / inputs.requests_per_minute * 60.0
    concurrency = batches / inputs.concurrency * inputs.batch_latency_s
    # A fresh sliding window lets a full minute's budget go at once; every further full budget needs
    # another minute. This is a true lower bound, unlike ``budget``.
    burst = max(0, math.ceil(total_cost / inputs.budget_per_minute) - 1) * 60.0
    burst_rate = max(0, math.ceil(requests / inputs.requests_per_minute) - 1) * 60.0
    return Ceiling(
        chain_s=chain,
        budget_s=budget,
        rate_s=rate,
        concurrency_s=concurrency,
        burst_budget_s=burst,
        burst_rate_s=burst_rate,
        total_cost=total_cost,
        requests=requests,
    )


def efficiency(t_star_s: float, wall_s: float) -> float:
    """T*/wall (1.0 = at the ceiling); 0 when the run did not finish."""
    return t_star_s / wall_s if wall_s > 0 else 0.0
