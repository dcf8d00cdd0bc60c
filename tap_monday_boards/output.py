"""The tap's stdout: whole Singer lines, written in large pieces, never cut by a signal handler's STATE.

Why large pieces: the SDK writes and flushes stdout once per message. Under ``PYTHONUNBUFFERED=1`` (set by
many container images, and on the machines this project is measured on) every such write is a system call
that also wakes the reader (Meltano, a target) for ~3 KB; at one per item that was 5-15 % of the tap's CPU
(0.5 s of system time and ~30,000 involuntary context switches per 49,000 items, docs/benchmarks.md). Here
RECORD lines wait in one buffer and go out ~256 KB at a time; every other message (SCHEMA, STATE,
ACTIVATE_VERSION) first writes what waits, then itself, then flushes, so the order on stdout is the order
the messages were made in and a STATE never precedes the records it covers. The items streams also flush
before they wait for the engine, so a target never waits for records the tap already has.

Why "never cut": a ``write`` blocked on a full pipe returns early when a signal arrives, having written part
of its data. The SIGTERM/SIGINT handler writes the state (tap.py); run at that moment, it would put its
STATE in the middle of a RECORD line. While a write is in progress the handler is deferred
(:meth:`LineOutput.defer`): the write finishes, whole lines, then the handler runs.

Only the main thread writes (the engine thread never touches stdout), so there is no lock.
"""

from __future__ import annotations

import select
import sys
from collections.abc import Callable

PENDING_LIMIT = 1 << 18
"""RECORD bytes kept before they are written (~85 items): large enough that a write costs nothing per
record, small enough that a target is never kept waiting for long."""


class LineOutput:
    """The one writer of the tap's stdout (module docstring)."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._writing = False
        self._deferred: list[Callable[[], None]] = []

    @property
    def waiting(self) -> int:
        """How many bytes wait to be written."""
        return len(self._pending)

    @property
    def writing(self) -> bool:
        """True while bytes are being handed to stdout (a signal handler must :meth:`defer` then)."""
        return self._writing

    def add(self, lines: bytes | bytearray) -> None:
        """Queue whole lines; they are written once :data:`PENDING_LIMIT` bytes wait, or at :meth:`flush`."""
        self._pending += lines
        if len(self._pending) >= PENDING_LIMIT:
            self.flush()

    def write_line(self, line: bytes | bytearray) -> None:
        """Write what waits, then ``line``, now (a message that must not wait: SCHEMA, STATE...)."""
        self._pending += line
        self.flush()

    def flush(self) -> None:
        """Write every waiting line, all of it, and flush stdout; then run any deferred signal handler.

        ``writing`` is set before the waiting lines are taken: a handler that ran between the two would
        write its STATE ahead of records that the state already counts.
        """
        self._writing = True
        try:
            if self._pending:
                data, self._pending = self._pending, bytearray()
                _write_all(data)
            sys.stdout.flush()
        finally:
            self._writing = False
        while self._deferred:
            self._deferred.pop(0)()

    def defer(self, handler: Callable[[], None]) -> None:
        """Run ``handler`` as soon as the write in progress has finished (a signal arrived during it)."""
        self._deferred.append(handler)


def _write_all(data: bytearray) -> None:
    """``data`` to stdout's binary layer, looping over partial writes (an unbuffered stdout's raw ``write``
    returns early when a signal interrupts it, and writes nothing into a full non-blocking pipe)."""
    out = sys.stdout.buffer
    view = memoryview(data)
    while view:
        written = out.write(view)
        if not written:  # a non-blocking pipe that is full: wait until it takes more
            select.select((), (out,), ())
            continue
        view = view[written:]


OUTPUT = LineOutput()
"""The process's one :class:`LineOutput`."""
