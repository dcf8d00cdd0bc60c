"""Compact containers for a board's item ids: a set for the harvest's de-duplication and a FIFO for ids
waiting to be fetched.

Why: a Python ``set[int]`` costs ~60-90 bytes per id and a deque of ``str`` ~60 bytes, so a
board of a million items grew the tap's peak RSS by ~100 MB. Here ids live as machine integers in
``array('q')`` (8 bytes each); only a bounded number of recent ids are Python objects at any time. monday's
item ids are non-negative and below 2**63, so a signed 64-bit slot holds every one.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator

MIN_RECENT = 4_096
"""The recent set is merged into the sorted array once it holds this many ids (or 1/16 of the array)."""
MAX_RECENT = 16_384
"""Upper bound on the recent set, so the Python-object part stays a few MB however large the board."""
MOVE_SLICE = 65_536
"""Largest slice moved at once by a merge (bounds the merge's temporary memory at 512 KB)."""
CHUNK = 4_096
"""ids per FIFO chunk: small enough that a drained head chunk frees little slack, large enough to be cheap."""


class IdSet:
    """A set of non-negative int ids at ~8 bytes per id: a sorted ``array('q')`` plus a small recent ``set``.

    Inserts go to the recent set (O(1)); when it reaches its threshold it is merged into the sorted array in
    place (C-speed slice moves, never a second copy of the array nor a list of all ids, so the peak stays at
    ~8 bytes per id). The threshold grows with the array (1/16 of it, capped), which keeps the merge work
    small for ordinary boards while the Python-object part stays a few MB.
    """

    __slots__ = ("_limit", "_recent", "_sorted")

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._sorted: array[int] = array("q")
        self._recent: set[int] = set()
        self._limit = self._threshold()
        """:meth:`_threshold` for the array as it is (it changes only when a merge grows the array)."""
        self.update(ids)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int):
            return False
        if key in self._recent:
            return True
        arr = self._sorted
        pos = bisect_left(arr, key)
        return pos < len(arr) and arr[pos] == key

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def __iter__(self) -> Iterator[int]:
        """All ids in ascending order (merges first, so the order is cheap to produce)."""
        self._merge()
        return iter(self._sorted)

    def add(self, key: int) -> None:
        self.add_new(key)

    def add_new(self, key: int) -> bool:
        """Add ``key``; whether it was not there yet (``in`` then ``add`` in one look-up: the harvest asks
        both for every id it reads)."""
        if key < 0 or key >= 1 << 63:
            raise ValueError(f"id out of range for IdSet: {key}")
        recent = self._recent
        if key in recent:
            return False
        arr = self._sorted
        if arr and key <= arr[-1]:  # (above the array's largest id it cannot be there: no search)
            pos = bisect_left(arr, key)
            if arr[pos] == key:
                return False
        recent.add(key)
        if len(recent) >= self._limit:
            self._merge()
        return True

    def update(self, keys: Iterable[int]) -> None:
        for key in keys:
            self.add(key)

    @property
    def nbytes(self) -> int:
        """Bytes held in the compact part (for tests and diagnostics)."""
        return self._sorted.buffer_info()[1] * self._sorted.itemsize

    def _threshold(self) -> int:
        return min(MAX_RECENT, max(MIN_RECENT, len(self._sorted) // 16))

    def _merge(self) -> None:
        """Merge the recent ids into the sorted array in place, from the back.

        The array grows by the number of new ids (a realloc, not a second copy of the set), then each run of
        old ids moves right by the number of new ids below it, in slices of at most ``MOVE_SLICE`` so the
        temporary copy a slice move makes stays small even when every new id sorts before every old one.
        """
        if not self._recent:
            return
        fresh = sorted(self._recent)
        arr = self._sorted
        above = bisect_left(fresh, arr[-1]) if arr else 0  # fresh[above:] sort after every old id
        tail = fresh[above:]
        fresh = fresh[:above]
        if fresh:
            self._insert(fresh)
        arr.extend(tail)  # (ids read in ascending order, the usual case, only take this C-speed path)
        self._recent = set()
        self._limit = self._threshold()

    def _insert(self, fresh: list[int]) -> None:
        """Insert the sorted ids ``fresh`` (each below the array's largest) in place, from the back."""
        arr = self._sorted
        arr.frombytes(bytes(arr.itemsize * len(fresh)))
        end = len(arr) - len(fresh)  # old ids in arr[:end] have not moved yet
        for index in range(len(fresh) - 1, -1, -1):
            key = fresh[index]
            pos = bisect_left(arr, key, 0, end)
            _shift_right(arr, pos, end, index + 1)
            arr[pos + index] = key
            end = pos


def _shift_right(arr: array[int], start: int, end: int, by: int) -> None:
    """Move ``arr[start:end]`` right by ``by``, highest slice first (so nothing is overwritten)."""
    hi = end
    while hi > start:
        lo = max(start, hi - MOVE_SLICE)
        arr[lo + by : hi + by] = arr[lo:hi]
        hi = lo


class IdQueue:
    """FIFO of int ids in ``array('q')`` chunks; ``pop_batch`` makes ``str`` ids only when a batch is built.

    Replaces a ``deque[str]`` (~60 bytes per id) with ~8 bytes per id; a head chunk is dropped as soon as it
    is consumed, so memory follows the number of ids waiting, not the number ever queued.
    """

    __slots__ = ("_chunks", "_head", "_len")

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._chunks: deque[array[int]] = deque()
        self._head = 0
        """index of the next id in ``_chunks[0]``."""
        self._len = 0
        self.extend(ids)

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def extend(self, ids: Iterable[int]) -> None:
        keys = array("q", ids)  # (C-speed: the harvest hands over a page of ids at a time)
        chunks = self._chunks
        start, total = 0, len(keys)
        while start < total:
            if not chunks or len(chunks[-1]) >= CHUNK:
                chunks.append(array("q"))
            last = chunks[-1]
            end = min(total, start + CHUNK - len(last))
            last.extend(keys[start:end])
            start = end
        self._len += total

    def pop_batch(self, n: int) -> list[str]:
        """Remove and return up to ``n`` ids from the front, oldest first, as strings (the API's ID type)."""
        out: list[str] = []
        chunks = self._chunks
        while len(out) < n and chunks:
            head = chunks[0]
            take = min(n - len(out), len(head) - self._head)
            out.extend(str(key) for key in head[self._head : self._head + take])
            self._head += take
            if self._head >= len(head):
                chunks.popleft()
                self._head = 0
        self._len -= len(out)
        return out
