"""Shared pytest fixtures: emulators on loopback.

``emulator`` is one small, instant, fault-free account for the whole session (3 boards x 200 items): read-only
tests share it. Tests that change data, count requests, or need limits/faults/latency start their own with
``emulator_factory(**config)``; each is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tap_monday_boards.emulator.testing import RunningEmulator

SMALL_EMULATOR = {"seed": 42, "boards": 3, "items_per_board": 200, "latency": "instant"}


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    """A shared small emulator (seed 42, 3 boards x 200 items, instant, no faults). Do not mutate it."""
    # Imported here so test modules that never start an emulator do not depend on it importing.
    from tap_monday_boards.emulator.server import EmulatorConfig  # noqa: PLC0415
    from tap_monday_boards.emulator.testing import running_emulator  # noqa: PLC0415

    with running_emulator(EmulatorConfig(**SMALL_EMULATOR)) as running:
        yield running


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., RunningEmulator]]:
    """Start custom emulators: ``emulator_factory(plan="trial", faults=..., clock=FakeClock())``.

    Keyword arguments are :class:`EmulatorConfig` fields; unspecified ones default to the small emulator.
    """
    from tap_monday_boards.emulator.server import EmulatorConfig  # noqa: PLC0415
    from tap_monday_boards.emulator.testing import running_emulator  # noqa: PLC0415

    with ExitStack() as stack:

        def start(**overrides: Any) -> RunningEmulator:
            return stack.enter_context(running_emulator(EmulatorConfig(**{**SMALL_EMULATOR, **overrides})))

        yield start
