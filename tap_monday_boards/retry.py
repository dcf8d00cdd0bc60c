"""The one retry policy of both HTTP stacks: how long to wait before retry n, and when to give up.

Why one module: the SDK streams (client.py) and the engine (engine/transport.py) send the same kinds of
request to the same API and classify every answer with the same table (errors.classify); they must also
wait the same way, or a server error costs one stack a second and the other a minute, and a rate limit is
waited out by one and fails the other. Each stack keeps its own loop (the SDK's is synchronous, the engine's
async) and asks :class:`RetryPolicy` for every number.

The order of precedence for one retriable :class:`~tap_monday_boards.errors.Decision`:

1. ``RETRY_AFTER`` (rate limit, budget, concurrency): the wait is the process-wide governor's, not this
   request's: the caller hands the hint (or None) to ``Governor.on_rate_limited``, which pauses every request
   of the process once, and the retry's own ``acquire`` waits for that pause. :meth:`RetryPolicy.wait_s`
   is 0 for it. These retries count apart (``max_rate_limit_retries``): waiting out a limit is expected on
   low plans and must not use up the retries meant for errors.
2. Any other decision with a server hint (``wait_s``, e.g. a partial answer with ``Retry-After``): the hint,
   exactly; jitter would only lengthen what the server asked for.
3. Otherwise (5xx, timeouts, connection errors, partial answers): exponential backoff with *equal jitter*,
   ``step = min(backoff_max_s, backoff_base_s * 2 ** (attempt - 1))``, wait uniform in ``[step / 2, step]``.
   Equal rather than full jitter (uniform in ``[0, step]``): a full-jitter draw can be ~0 s, a hot retry of a
   server that just failed; half the step is always waited, the other half still spreads the tasks that
   failed together. These count against ``max_retries`` (the setting).

Pure: no I/O, never sleeps; the random draws come from an injectable ``random.Random`` (seed it in tests).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tap_monday_boards.errors import Decision, DecisionKind

if TYPE_CHECKING:
    from tap_monday_boards.engine.settings import EngineSettings

MAX_RATE_LIMIT_RETRIES = 30
"""Rate-limit answers in a row one request waits out before failing. Not a setting: rate limits are waited
out rather than counted against ``max_retries`` (they are expected on low plans); this only stops a server
that never lets us through."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait before each retry of one request, and how many retries it gets.

    Built from the settings (:meth:`from_settings`), so ``backoff_base_s``, ``backoff_max_s`` and
    ``max_retries`` have their defaults in one place (engine/settings.py).
    """

    backoff_base_s: float
    """first backoff step, seconds; doubles per attempt."""
    backoff_max_s: float
    """cap on one backoff step, seconds."""
    max_retries: int
    """retries after the first attempt for errors that are not rate limits."""
    max_rate_limit_retries: int = MAX_RATE_LIMIT_RETRIES
    """retries after rate-limit answers (counted apart from ``max_retries``)."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    """the jitter's draws; pass a seeded one for reproducible waits."""

    @classmethod
    def from_settings(cls, settings: EngineSettings, rng: random.Random | None = None) -> RetryPolicy:
        """The policy the settings describe; ``rng`` None: an unseeded generator."""
        return cls(
            backoff_base_s=settings.backoff_base_s,
            backoff_max_s=settings.backoff_max_s,
            max_retries=settings.max_retries,
            rng=rng if rng is not None else random.Random(),
        )

    def backoff_s(self, attempt: int) -> float:
        """Equal-jitter exponential backoff before retry ``attempt`` (1-based): in ``[step / 2, step]``."""
        step = min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, attempt - 1))
        return step / 2 + self.rng.uniform(0.0, step / 2)

    def wait_s(self, decision: Decision, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (1-based, counted per :meth:`limit`) after ``decision``.

        0 for ``RETRY_AFTER``: that wait is the governor's pause (the module docstring says why).
        """
        if decision.kind is DecisionKind.RETRY_AFTER:
            return 0.0
        if decision.wait_s is not None:
            return max(0.0, float(decision.wait_s))
        return self.backoff_s(attempt)

    def limit(self, decision: Decision) -> int:
        """How many retries a request gets for answers of this decision's kind."""
        if decision.kind is DecisionKind.RETRY_AFTER:
            return self.max_rate_limit_retries
        return self.max_retries

    def attempts(self) -> RetryCount:
        """A fresh count for one request (one per request, never shared)."""
        return RetryCount(self)


class RetryCount:
    """The retries one request has had, rate limits apart from the rest.

    ``next(decision)`` is called after each failed attempt: it returns the 1-based number of the retry about
    to happen within the decision's own count, or None when that count is spent (the caller then raises).
    """

    __slots__ = ("_policy", "rate_limited", "transient")

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self.rate_limited = 0
        """rate-limit answers so far."""
        self.transient = 0
        """other failed attempts so far."""

    def next(self, decision: Decision) -> int | None:
        """Count one failed attempt; the retry's number, or None when no retry is left for its kind."""
        if decision.kind is DecisionKind.RETRY_AFTER:
            self.rate_limited += 1
            count = self.rate_limited
        else:
            self.transient += 1
            count = self.transient
        return count if count <= self._policy.limit(decision) else None
