"""STATE messages whose volume stays proportional to the sync, not to boards x partitions.

Why: the SDK writes the whole tap state after every partition (each board of ``items``, ``subitems`` and
``board_activity_logs``), and the state holds one entry per board of each: with 1,000 boards that is ~3,000
messages of up to ~450 KB each, over a gigabyte for the target to parse, and the SDK's writer deep-copies and
re-serialises each one (most of the tap's CPU in a profile of 300 boards). Here a message is written at most
as often as its own size allows at ``STATE_BYTES_PER_S`` (a 5 KB state: every 5 ms, so small syncs see
every state; a 450 KB one: about two a second), the newest state is always written at the end of the sync
(:meth:`ThrottledStateWriter.flush`: normal end, error, SIGTERM), and an unchanged state is never repeated
(compared as bytes, not deep copies).

Safe because a STATE only ever describes records already written (the SDK updates the state after each
record): writing fewer of them only means a killed run restarts from a slightly older state and emits some
records again, which targets upsert by key (the at-least-once contract in docs/incremental.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
from singer_sdk.helpers.types import TapState
from singer_sdk.singerlib.encoding.simple import StateMessage

from tap_monday_boards import sdkcompat

STATE_BYTES_PER_S = 1_000_000
"""At most this many bytes of STATE per second of sync, on average (never delaying the final state)."""


class ThrottledStateWriter(sdkcompat.StateWriter):
    """The SDK's state writer, paced by state size and flushed at the end (module docstring)."""

    def __init__(
        self,
        message_writer: Any,
        *,
        bytes_per_s: float = STATE_BYTES_PER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(message_writer)
        self._bytes_per_s = bytes_per_s
        self._clock = clock
        self._last: bytes | None = None
        self._next_at = 0.0
        self._pending: TapState | None = None
        self.written = 0

    def write_state(self, state: TapState) -> None:
        """Write ``state`` now, or keep it to write later if the last state was written too recently."""
        if self._clock() < self._next_at:
            self._pending = state
            return
        self._emit(state)

    def flush(self) -> None:
        """Write the newest kept state, if any (at the end of a sync, on errors and signals)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._emit(pending)

    def _emit(self, state: TapState) -> None:
        self._pending = None
        encoded = msgspec.json.encode(state, enc_hook=str)
        if encoded == self._last:
            return
        sdkcompat.message_writer_of(self).write_message(StateMessage(value=state))
        self._last = encoded
        self.written += 1
        self._next_at = self._clock() + len(encoded) / self._bytes_per_s
