"""EarlyBatches: which ids leave early, each once, and when the byte bound leaves the rest to the sync."""

from __future__ import annotations

from concurrent.futures import Future

from tap_monday_boards import batched
from tap_monday_boards.batched import EarlyBatches, chunks


def _answered(payload: bytes) -> Future[bytes]:
    future: Future[bytes] = Future()
    future.set_result(payload)
    return future


def test_full_batches_leave_once_and_the_partial_one_stays_for_the_sync() -> None:
    early = EarlyBatches(batch_size=3)
    assert early.add(["1", "2"]) == []
    assert early.add(["2", "3", "4", "1"]) == [["1", "2", "3"]], "a repeated id is queued once"
    assert early.add(["5", "6", "7"]) == [["4", "5", "6"]]
    assert early.unsent() == {"7"}
    assert early.sent - early.unsent() == {"1", "2", "3", "4", "5", "6"}


def test_past_the_byte_bound_ids_are_left_to_the_stream_sync() -> None:
    early = EarlyBatches(batch_size=2)
    assert early.add(["1", "2"]) == [["1", "2"]]
    early.held(_answered(b"x" * batched.EARLY_BYTES_MAX))
    assert early.held_bytes == batched.EARLY_BYTES_MAX
    assert early.add(["3", "4", "5"]) == [] and early.stopped
    assert early.sent == {"1", "2"}, "ids after the bound are not counted as sent early"


def test_chunks_keep_order_and_drop_repeats() -> None:
    assert chunks(["3", "1", "3", "2", "1"], 2) == [["3", "1"], ["2"]]
