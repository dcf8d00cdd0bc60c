"""Time sources for the emulator.

Everything time-dependent in the emulator (cursor lifetimes, ``updated_at`` of changed items, activity-log
timestamps, budget windows) reads an injected :class:`Clock`, so tests can move time forward with
:class:`FakeClock` instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current time as epoch seconds (float)."""

    def now(self) -> float:
        """Current time, seconds since the Unix epoch."""
        ...


class SystemClock:
    """The real wall clock, for the emulator run as a server."""

    def now(self) -> float:
        """Wall-clock epoch seconds."""
        return time.time()


class FakeClock:
    """A clock that only moves when told to, so tests control time without sleeping.

    Thread-safe because the emulator server reads it from its own thread while a test advances it.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        # Default start 2026-01-01T00:00:00Z: a fixed instant keeps generated data reproducible.
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The fake current time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("FakeClock cannot go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        """Jump to an absolute time (must not be earlier than now)."""
        with self._lock:
            if when < self._now:
                raise ValueError("FakeClock cannot go backwards")
            self._now = float(when)
