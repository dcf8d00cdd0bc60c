"""Fixtures shared by the engine tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from monday_emulator.clock import FakeClock


@pytest.fixture
def fast_clock() -> Iterator[FakeClock]:
    """Emulator time running 100x faster than real time, shared by the emulator and the governor.

    monday's windows are 60 s; waiting them out for real would make these tests minutes long. The ticker
    simulates time (it waits for nothing); every wait of the engine is still computed from this clock.
    """
    clock = FakeClock()
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.01):
            clock.advance(1.0)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    yield clock
    stop.set()
    ticker.join()
