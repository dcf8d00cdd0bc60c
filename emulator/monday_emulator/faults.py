"""Seeded fault injection: the failures a tap meets in production, reproducible from a seed.

Each kind has its own rate. The draw for request number ``n`` comes from a generator seeded with
``(seed, n)`` alone, so the same seed and the same request sequence give the same faults whatever else
(latency jitter, other clients) draws random numbers. Faults only change the *response*: the store is never
touched, so a retried request sees the true data.

Gateway-level kinds (5xx, empty 429) answer before the query runs; response-level kinds (connection reset,
truncated JSON, internal error, partial data, field limit, slow answer) run the query and spoil its answer.
"""

from __future__ import annotations

import enum
import random
from collections import Counter
from dataclasses import dataclass, field


class FaultKind(enum.StrEnum):
    """Every fault the emulator can inject."""

    HTTP_500 = "http_500"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    HTTP_504 = "http_504"
    EMPTY_429 = "empty_429"
    CONNECTION_RESET = "connection_reset"
    TRUNCATED_JSON = "truncated_json"
    INTERNAL_ERROR_200 = "internal_error_200"
    PARTIAL_TOO_MANY_REQUESTS = "partial_too_many_requests"
    FIELD_LIMIT_EXCEEDED = "field_limit_exceeded"
    SLOW_RESPONSE = "slow_response"


GATEWAY_FAULTS: frozenset[FaultKind] = frozenset(
    {FaultKind.HTTP_500, FaultKind.HTTP_502, FaultKind.HTTP_503, FaultKind.HTTP_504, FaultKind.EMPTY_429}
)
"""Faults decided before the query runs (nothing is executed or charged to the budget)."""


@dataclass(frozen=True, slots=True)
class ScriptedFault:
    """One planned fault: the ``occurrence``-th request (1-based) named ``operation`` gets ``kind``.

    For tests that need one particular request to fail (e.g. one harvest page that stalls), whatever the
    order in which concurrent requests of other operations arrive.
    """

    operation: str
    occurrence: int
    kind: FaultKind


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Per-kind probabilities (0..1) and the delay of a slow answer."""

    rates: dict[FaultKind, float] = field(default_factory=dict)
    slow_delay_s: float = 75.0
    """How long a ``slow_response`` waits before answering: above a typical client timeout."""
    operations: frozenset[str] | None = None
    """Only requests with these operation names get faults (``None`` = all)."""
    scripted: tuple[ScriptedFault, ...] = ()
    """Planned faults, applied on top of (and before) the random ones."""

    @classmethod
    def mixed(cls, total_rate: float, *, slow_delay_s: float = 75.0,
              kinds: frozenset[FaultKind] | None = None) -> FaultConfig:
        """``--faults RATE``: ``total_rate`` split evenly over ``kinds`` (default all kinds)."""
        if not 0.0 <= total_rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        chosen = sorted(kinds if kinds is not None else set(FaultKind))
        share = total_rate / len(chosen) if chosen else 0.0
        return cls({k: share for k in chosen}, slow_delay_s=slow_delay_s)

    @property
    def total(self) -> float:
        """Probability that a request gets some fault."""
        return sum(self.rates.values())


class FaultInjector:
    """Decides, per request number, which fault (if any) that request gets."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        if config.total > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")
        self.config = config
        self.seed = seed
        # Fixed order (enum definition order) so the mapping from a draw to a kind never changes.
        self._table = [(k, config.rates.get(k, 0.0)) for k in FaultKind if config.rates.get(k, 0.0) > 0]
        self._plan = {(f.operation, f.occurrence): f.kind for f in config.scripted}
        self._seen: Counter[str] = Counter()

    def decide(self, request_number: int, operation: str | None = None) -> FaultKind | None:
        """The fault for the ``request_number``-th request (0-based), or ``None``.

        Scripted faults count the requests of each operation name, so call this once per request.
        """
        if self._plan and operation is not None:
            self._seen[operation] += 1
            planned = self._plan.get((operation, self._seen[operation]))
            if planned is not None:
                return planned
        if not self._table:
            return None
        if self.config.operations is not None and operation not in self.config.operations:
            return None
        draw = random.Random(f"{self.seed}:{request_number}").random()
        acc = 0.0
        for kind, rate in self._table:
            acc += rate
            if draw < acc:
                return kind
        return None


def truncate(body: bytes, rng: random.Random) -> bytes:
    """A prefix of ``body`` that is never valid JSON (cut somewhere in its first three quarters)."""
    if len(body) < 4:
        return body[:1]
    cut = rng.randint(1, max(1, (len(body) * 3) // 4))
    return body[:cut]
