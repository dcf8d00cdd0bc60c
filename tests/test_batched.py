"""EarlyBatches: which ids leave early, each once, when a partial batch leaves, and what the stream's own
sync is left with (the byte bound, ids that come after it took the batches)."""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any, cast

import pytest

from tap_monday_boards import batched
from tap_monday_boards.batched import EarlyBatches, chunks
from tap_monday_boards.engine.runtime import Job


class _Sent:
    """The ``send`` of an EarlyBatches: records each batch; its job is answered at once with ``payload``."""

    def __init__(self, payload: bytes = b"{}") -> None:
        self.batches: list[list[str]] = []
        self.payload = payload

    def __call__(self, batch: list[str]) -> Job[bytes]:
        self.batches.append(list(batch))
        future: Future[bytes] = Future()
        future.set_result(self.payload)
        return cast("Job[bytes]", _DoneJob(future))


class _DoneJob:
    def __init__(self, future: Future[bytes]) -> None:
        self.future = future

    def add_done_callback(self, callback: Any) -> None:
        callback(self.future)


def test_full_batches_leave_once_and_the_partial_one_waits() -> None:
    sent = _Sent()
    early = EarlyBatches(3, sent)
    assert early.add(["1", "2"]) is True, "a partial batch waits: schedule one linger check"
    assert early.add(["2", "3", "4", "1"]) is False, "a check is already scheduled"
    assert sent.batches == [["1", "2", "3"]], "a repeated id is queued once"
    early.add(["5", "6", "7"])
    assert sent.batches == [["1", "2", "3"], ["4", "5", "6"]]
    answered, jobs = early.close()
    assert answered == {"1", "2", "3", "4", "5", "6"} and len(jobs) == 2  # "7" is the stream's to ask


def test_a_partial_batch_leaves_once_its_ids_stop_coming() -> None:
    sent = _Sent()
    early = EarlyBatches(3, sent)
    assert early.add(["1", "2"])
    now = early.last_added
    left = early.linger(now + batched.EARLY_LINGER_S / 2)
    assert left == pytest.approx(batched.EARLY_LINGER_S / 2), "ids came recently: wait the rest"
    assert sent.batches == []
    assert early.linger(now + batched.EARLY_LINGER_S) is None
    assert sent.batches == [["1", "2"]], "quiet for the linger time: the partial batch goes"
    assert early.add(["3"]), "a new partial batch: a new check"
    answered, _ = early.close()
    assert answered == {"1", "2"}


def test_nothing_leaves_after_the_stream_took_the_batches() -> None:
    """The stream reads the jobs it took; an id arriving later (from the engine's thread) is its own to ask,
    so no answer can be read twice or left unread."""
    sent = _Sent()
    early = EarlyBatches(2, sent)
    early.add(["1"])
    answered, jobs = early.close()
    assert answered == set() and not jobs
    assert early.add(["2", "3", "4"]) is False
    assert early.linger(time.monotonic() + 60) is None
    assert sent.batches == [] and not jobs


def test_past_the_byte_bound_ids_are_left_to_the_stream_sync() -> None:
    sent = _Sent(b"x" * batched.EARLY_BYTES_MAX)
    early = EarlyBatches(2, sent)
    early.add(["1", "2"])
    assert early.held_bytes == batched.EARLY_BYTES_MAX
    assert early.add(["3", "4", "5"]) is False and early.stopped
    assert early.sent == {"1", "2"}, "ids after the bound are not counted as sent early"
    assert sent.batches == [["1", "2"]]


def test_chunks_keep_order_and_drop_repeats() -> None:
    assert chunks(["3", "1", "3", "2", "1"], 2) == [["3", "1"], ["2"]]
