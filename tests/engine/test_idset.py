"""IdSet / IdQueue: same answers as a plain set / deque, at a fraction of the memory."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable

import pytest
from monday_emulator.testing import RunningEmulator

from tap_monday_boards.engine import idset
from tap_monday_boards.engine.governor import Governor
from tap_monday_boards.engine.harvest import HarvestState, harvest_board
from tap_monday_boards.engine.idset import IdQueue, IdSet
from tap_monday_boards.engine.transport import Transport
from tests.support.engine import engine_settings

MAX_ID = (1 << 63) - 1


@pytest.mark.parametrize(
    ("inserts", "present", "absent"),
    [
        ([], [], [0, 1, MAX_ID]),
        ([0], [0], [1, MAX_ID]),
        ([MAX_ID], [MAX_ID], [0, MAX_ID - 1]),
        ([5, 3, 5, 3, 9], [3, 5, 9], [4, 6, 10, 2]),
        (list(range(10_000, 0, -1)), [1, 5_000, 10_000], [0, 10_001]),
    ],
    ids=["empty", "zero", "max-int64", "repeats", "descending-past-merge"],
)
def test_membership_table(inserts: list[int], present: list[int], absent: list[int]) -> None:
    ids = IdSet(inserts)
    assert len(ids) == len(set(inserts))
    assert [k in ids for k in present] == [True] * len(present)
    assert [k in ids for k in absent] == [False] * len(absent)
    assert list(ids) == sorted(set(inserts))


@pytest.mark.parametrize("bad", [-1, 1 << 63])
def test_out_of_range_ids_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        IdSet().add(bad)


def test_non_int_keys_are_never_members() -> None:
    ids = IdSet([7])
    assert "7" not in ids
    assert None not in ids


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_property_against_a_plain_set(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interleaved adds and lookups, with small thresholds so many merges happen along the way."""
    monkeypatch.setattr(idset, "MIN_RECENT", 17)
    monkeypatch.setattr(idset, "MAX_RECENT", 64)
    monkeypatch.setattr(idset, "MOVE_SLICE", 5)  # long runs of old ids move in several slices
    rng = random.Random(seed)
    compact, plain = IdSet(), set[int]()
    universe = 5_000  # small, so repeats and hits are frequent
    for _ in range(20_000):
        key = rng.randrange(universe)
        roll = rng.random()
        if roll < 0.3:
            compact.add(key)
            plain.add(key)
        elif roll < 0.6:  # add_new: one look-up, and whether the key was new
            assert compact.add_new(key) == (key not in plain), key
            plain.add(key)
        else:
            assert (key in compact) == (key in plain), key
        assert len(compact) == len(plain)
    assert list(compact) == sorted(plain)
    # Large ids near the int64 limit behave the same.
    big = [MAX_ID - rng.randrange(1_000) for _ in range(500)]
    compact.update(big)
    plain.update(big)
    assert list(compact) == sorted(plain)


@pytest.mark.parametrize("order", ["ascending", "descending", "interleaved"])
def test_merges_keep_order_whatever_the_insert_order(order: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Descending inserts make every merge move the whole array (sliced); ascending moves nothing."""
    monkeypatch.setattr(idset, "MIN_RECENT", 10)
    monkeypatch.setattr(idset, "MAX_RECENT", 10)
    monkeypatch.setattr(idset, "MOVE_SLICE", 3)
    keys = {
        "ascending": list(range(1_000)),
        "descending": list(range(999, -1, -1)),
        "interleaved": [k for pair in zip(range(0, 1_000, 2), range(999, 0, -2), strict=True) for k in pair],
    }[order]
    ids = IdSet()
    for count, key in enumerate(keys, 1):
        ids.add(key)
        if count % 97 == 0:
            assert list(ids) == sorted(keys[:count])
    assert list(ids) == list(range(1_000))
    assert ids.nbytes == 8 * 1_000


def test_compact_part_costs_eight_bytes_per_id() -> None:
    rng = random.Random(7)
    ids = IdSet(rng.randrange(1 << 40) for _ in range(200_000))
    list(ids)  # merges the recent set
    assert len(ids) > 199_000
    assert ids.nbytes <= 10 * len(ids)


def test_recent_part_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idset, "MAX_RECENT", 100)
    ids = IdSet()
    for key in range(50_000):
        ids.add(key)
        assert len(ids._recent) < 100
    assert len(ids) == 50_000


@pytest.mark.parametrize("seed", [11, 12])
def test_queue_is_fifo_like_a_deque(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idset, "CHUNK", 7)  # many chunk boundaries
    rng = random.Random(seed)
    compact, plain = IdQueue(), deque[str]()
    next_id = 0
    for _ in range(3_000):
        if rng.random() < 0.55:
            new = list(range(next_id, next_id + rng.randrange(0, 30)))
            next_id += len(new)
            compact.extend(new)
            plain.extend(str(k) for k in new)
        else:
            n = rng.randrange(1, 40)
            expected = [plain.popleft() for _ in range(min(n, len(plain)))]
            assert compact.pop_batch(n) == expected
        assert len(compact) == len(plain)
        assert bool(compact) == bool(plain)
    assert compact.pop_batch(next_id + 1) == list(plain)
    assert len(compact) == 0


def test_queue_drops_consumed_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idset, "CHUNK", 10)
    queue = IdQueue(range(1_000))
    assert len(queue._chunks) == 100
    assert queue.pop_batch(995) == [str(k) for k in range(995)]
    assert len(queue._chunks) == 1
    assert queue.pop_batch(100) == ["995", "996", "997", "998", "999"]
    assert not queue._chunks


def test_harvest_hands_on_each_id_once_across_resumes_and_edits(
    emulator_factory: Callable[..., RunningEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real harvest over loopback, with thresholds small enough that ids pass through the sorted array:
    the cursor expires repeatedly and items edited mid-harvest come round again; none is handed on twice."""
    monkeypatch.setattr(idset, "MIN_RECENT", 64)
    monkeypatch.setattr(idset, "MAX_RECENT", 128)
    em = emulator_factory(boards=1, items_per_board=2_000, latency="custom:base=0.01", cursor_ttl_s=0.05)
    store = em.emulator.store
    board = str(store.board_ids()[0])
    settings = engine_settings(em, max_concurrency=2, harvest_page_size=100)
    handed: list[str] = []
    rng = random.Random(5)

    def on_ids(ids: list[str]) -> None:
        handed.extend(ids)
        for item_id in rng.sample(handed, k=min(3, len(handed))):  # edited -> moves to the end of the order
            store.rename_item(item_id, f"edited {rng.random()}")

    state = HarvestState(board)

    async def run() -> None:
        async with Transport(settings, Governor(settings)) as transport:
            await harvest_board(transport, settings, state, on_ids)

    asyncio.run(run())
    assert sorted(handed, key=int) == sorted((str(i) for i in store.item_ids(board)), key=int)
    assert len(handed) == len(set(handed)) == len(state.seen)
    assert state.resumes >= 2
    assert state.duplicates > 0
    assert state.seen.nbytes >= 8 * (len(handed) - 128)
