"""One board's results handed from the engine's loop to the main thread, through a queue per board.

Why one module: the items pipeline (batches of items) and the per-board lists (pages of updates, activity
logs) hand over the same way: the loop puts entries, then :data:`DONE`, or a :class:`Failure` with the
error of the request that failed; the main thread (the SDK's, which writes the records) takes them in
order, and must not wait forever when the loop is gone.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

POLL_S = 0.2
"""How often a waiting main thread checks that the engine is still running."""


class Done:
    """End of one board's entries."""


DONE = Done()


@dataclass(frozen=True, slots=True)
class Failure:
    """The board failed: its reader raises ``error`` (after every entry handed on before it)."""

    error: BaseException


def entries(
    out: queue.SimpleQueue[T | Done | Failure],
    *,
    stopped: Callable[[], bool],
    stopped_message: str,
    cause: Callable[[], BaseException | None],
    on_wait: Callable[[], None] | None = None,
    shared: bool = False,
) -> Iterator[T]:
    """The entries of ``out`` in order until :data:`DONE`; raises a :class:`Failure`'s error.

    ``stopped()`` is polled while waiting: true means nothing more will come, and a RuntimeError naming
    ``stopped_message`` is raised (from ``cause()``, the engine's error if it has one). ``on_wait`` is
    called whenever the next entry is not there yet, before waiting for it. ``shared``: the queue has
    several readers one after the other (the boards listing): the end or the failure is put back for the
    next one.
    """
    while True:
        try:
            if on_wait is not None and out.empty():
                on_wait()
            entry = out.get(timeout=POLL_S)
        except queue.Empty:
            if stopped():
                raise RuntimeError(stopped_message) from cause()
            continue
        if isinstance(entry, Done | Failure) and shared:
            out.put(entry)
        if isinstance(entry, Done):
            return
        if isinstance(entry, Failure):
            raise entry.error
        yield entry
