"""How a stream finds the sync's engine (prefetch.py) without importing it (the tap owns it).

A stream asks :func:`engine_source` for the tap's current source; outside a sync (discovery, tests that call
a stream directly) there is none and the stream fetches on its own, as it always could.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from singer_sdk import Stream

    from tap_monday_boards.engine.boards import BoardCatalog, BoardMeta
    from tap_monday_boards.engine.pipeline import ItemsPipeline
    from tap_monday_boards.engine.runtime import EngineRuntime


class EngineSource(Protocol):
    """What the streams read from the sync's engine."""

    runtime: EngineRuntime

    def records(self, stream: Stream, context: Mapping[str, Any] | None) -> Iterator[dict[str, Any]] | None:
        """Raw records of a small stream, or None when the engine does not fetch it."""
        ...

    def pipeline(self, stream: Any) -> tuple[list[BoardMeta], ItemsPipeline] | None:
        """The boards and started pipeline of ``items``/``subitems``, or None when not prefetched."""
        ...

    def board_catalog(self) -> BoardCatalog | None:
        """The run's board catalog (engine/boards.py), or None when the engine does not list boards."""
        ...


def engine_source(tap: Any) -> EngineSource | None:
    """The tap's engine during a sync (started on first use), else None."""
    getter = getattr(tap, "engine_source", None)
    return getter() if callable(getter) else None


_OWN_CATALOGS: weakref.WeakKeyDictionary[Any, BoardCatalog] = weakref.WeakKeyDictionary()


def board_catalog(tap: Any, fetch: Callable[[], BoardCatalog]) -> BoardCatalog:
    """The run's board catalog: the engine's during a sync, else ``fetch()`` once per tap (so ``items`` and
    ``subitems`` run outside a sync share one listing instead of each listing the boards again)."""
    source = engine_source(tap)
    catalog = None if source is None else source.board_catalog()
    if catalog is not None:
        return catalog
    catalog = _OWN_CATALOGS.get(tap)
    if catalog is None:
        catalog = _OWN_CATALOGS[tap] = fetch()
    return catalog


def read_bookmark(stream: Stream, board_id: str) -> Any:
    """The stream's ``replication_key_value`` for one board partition, read without writing state.

    (``get_context_state`` would create the partition's entry; an early read, before the SDK syncs that
    partition, must not add empty entries to the STATE messages.)
    """
    partitions = (stream.tap_state.get("bookmarks", {}).get(stream.name) or {}).get("partitions") or []
    for partition in partitions:
        if isinstance(partition, Mapping) and partition.get("context") == {"board_id": str(board_id)}:
            return partition.get("replication_key_value")
    return None
