"""The tap's stdout writer (output.py): whole lines, in order, written in large pieces, and a signal handler
that arrives in the middle of a write never puts its line inside another line."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tap_monday_boards.output import PENDING_LIMIT, LineOutput


class _Counting(io.RawIOBase):
    """A raw binary stdout that records each ``write`` call."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.calls.append(bytes(data))
        return len(data)


class _Unbuffered:
    """A ``sys.stdout`` whose binary layer is the raw file itself, as under ``PYTHONUNBUFFERED``."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self.buffer = raw

    def flush(self) -> None:
        self.buffer.flush()


@contextmanager
def _stdout(raw: io.RawIOBase) -> Iterator[None]:
    saved = sys.stdout
    sys.stdout = _Unbuffered(raw)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = saved


def _line(n: int, size: int = 3000) -> bytes:
    return b'{"n":%d,"pad":"%s"}\n' % (n, b"x" * size)


def test_records_wait_until_the_limit_or_a_message_and_keep_their_order() -> None:
    raw = _Counting()
    output = LineOutput()
    with _stdout(raw):
        output.add(_line(0))
        output.add(_line(1))
        assert raw.calls == []  # below the limit: nothing written yet
        output.write_line(b'{"type":"STATE"}\n')
        assert b"".join(raw.calls) == _line(0) + _line(1) + b'{"type":"STATE"}\n'
        assert len(raw.calls) == 1  # the records and the message in one write

        raw.calls.clear()
        lines = [_line(n) for n in range(2 * PENDING_LIMIT // len(_line(0)) + 1)]
        for line in lines:
            output.add(line)
        assert 1 <= len(raw.calls) <= 2  # written as the limit filled, not once per line
        output.flush()
        assert b"".join(raw.calls) == b"".join(lines)


def test_partial_writes_into_a_real_non_blocking_pipe_lose_nothing() -> None:
    """A non-blocking pipe takes what fits (a partial write) and refuses the rest until it is read."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    received = bytearray()

    def reader() -> None:
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                received.extend(chunk)

    thread = threading.Thread(target=reader)
    thread.start()
    lines = [_line(n, 1000 + n % 500) for n in range(1500)]  # ~2 MB against a 64 KB pipe
    output = LineOutput()
    raw = os.fdopen(write_fd, "wb", buffering=0)
    with _stdout(raw):
        for line in lines:
            output.add(line)
        output.flush()
    raw.close()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert bytes(received) == b"".join(lines)


class _Exit(Exception):
    """What the tap's handler does after its STATE: ``sys.exit``."""


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_a_signal_during_a_blocked_write_waits_for_the_write_to_finish() -> None:
    """The main thread blocks writing 256 KB into a 64 KB pipe; the reader signals it after its first read,
    so the signal interrupts that write part-way (``write`` returns early). The handler's line (the tap's
    SIGTERM handler writes a STATE, then exits) must come after whole record lines, never inside one."""
    read_fd, write_fd = os.pipe()
    main = threading.get_ident()
    received = bytearray()
    output = LineOutput()

    def handler(signum: int, frame: Any) -> None:
        if output.writing:
            output.defer(lambda: handler(signum, frame))
            return
        output.write_line(b'{"type":"STATE"}\n')
        raise _Exit

    def reader() -> None:
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            received.extend(pipe.read(4096))
            signal.pthread_kill(main, signal.SIGUSR1)  # the writer is blocked: its 256 KB cannot fit yet
            while chunk := pipe.read(1 << 16):
                received.extend(chunk)

    saved = signal.signal(signal.SIGUSR1, handler)
    lines = [_line(n) for n in range(500)]  # 1.5 MB
    thread = threading.Thread(target=reader)
    try:
        raw = os.fdopen(write_fd, "wb", buffering=0)
        with _stdout(raw), pytest.raises(_Exit):
            thread.start()
            for line in lines:
                output.add(line)
            output.flush()
        raw.close()
        thread.join(timeout=60)
    finally:
        signal.signal(signal.SIGUSR1, saved)
    assert not thread.is_alive()
    state = b'{"type":"STATE"}\n'
    assert received.endswith(state)
    written = bytes(received[: -len(state)])
    count = written.count(b"\n")
    assert count >= PENDING_LIMIT // len(_line(0))  # the whole first piece went out before the STATE
    assert written == b"".join(lines[:count])  # whole lines, in order, nothing inside them
