"""What the emulator saw: counters for ``GET /metrics`` and a request log tests can assert on.

Tests prove engine behaviour from the server side ("phase 2 started before phase 1 ended", "never more than N
requests in flight"), so every request is recorded with its real start/end times. The Authorization header is
never recorded: only the operation, query text, variables and outcome. Written from the server's loop thread,
read from test threads, hence the lock.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import IO, Any

import msgspec


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the server handled it.

    ``start``/``end`` are ``time.monotonic()`` seconds (real ordering even under a fake clock);
    ``clock_time`` is the emulator clock at arrival (fake in tests).
    """

    seq: int
    start: float
    end: float
    clock_time: float
    operation: str | None
    query: str
    variables: dict[str, Any] | None
    version: str
    status: int
    code: str | None
    cost: int
    fault: str | None
    bytes: int
    outcome: str = "ok"
    """``ok``, ``rejected`` (auth, limits, bad request), ``error`` (executor/validation errors), ``fault``,
    ``timeout`` (HTTP 504 past the latency ceiling)."""


_RECORD_FIELDS = tuple(f.name for f in fields(RequestRecord))
_LINE_ENCODER = msgspec.json.Encoder()


def max_overlap(records: list[RequestRecord]) -> int:
    """Highest number of records whose [start, end) intervals overlap at one instant."""
    events = sorted([(r.start, 1) for r in records] + [(r.end, -1) for r in records],
                    key=lambda e: (e[0], e[1]))
    best = cur = 0
    for _, delta in events:
        cur += delta
        best = max(best, cur)
    return best


class Metrics:
    """Counters and the in-memory request log; optionally mirrors the log as JSON lines to a file."""

    def __init__(self, log_path: str | Path | None = None, *, max_records: int = 200_000) -> None:
        """``max_records`` bounds the in-memory log (oldest dropped first) so long CLI runs stay small;
        the JSONL file, when given, keeps everything."""
        self._lock = threading.Lock()
        self._queries: dict[str, str] = {}
        self._by_operation: Counter[str] = Counter()
        self._rejections: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._status: Counter[int] = Counter()
        self._complexity = 0
        self._bytes = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._seq = 0
        self._log: deque[RequestRecord] = deque(maxlen=max_records)
        self._file: IO[bytes] | None = open(log_path, "ab") if log_path else None  # noqa: SIM115

    def next_seq(self) -> int:
        """Number the next request (0-based): the fault injector's reproducible index."""
        with self._lock:
            seq = self._seq
            self._seq += 1
            return seq

    def started(self) -> float:
        """Count a request as in flight; returns its start time."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        return time.monotonic()

    def finished(self, record: RequestRecord) -> None:
        """Close a request started with :meth:`started` and record it."""
        with self._lock:
            self._in_flight -= 1
            self._by_operation[record.operation or "<anonymous>"] += 1
            self._status[record.status] += 1
            self._complexity += record.cost
            self._bytes += record.bytes
            if record.fault:
                self._faults[record.fault] += 1
            if record.outcome == "rejected":
                self._rejections[str(record.code)] += 1
            elif record.outcome == "error":
                self._errors[str(record.code)] += 1
            # One copy of each distinct query text: a run sends the same few documents thousands of times.
            query = self._queries.setdefault(record.query, record.query)
            self._log.append(record if query is record.query else replace(record, query=query))
            if self._file is not None:
                # the record's fields as asdict() gives them, without its deep copy of the variables (ids
                # lists of every request), encoded by msgspec: the same JSON (UTF-8, not \\u-escaped) for a
                # fraction of the CPU
                line = {name: getattr(record, name) for name in _RECORD_FIELDS}
                self._file.write(_LINE_ENCODER.encode(line) + b"\n")
                self._file.flush()

    @property
    def request_log(self) -> list[RequestRecord]:
        """A copy of the log, in completion order."""
        with self._lock:
            return list(self._log)

    def max_concurrency(self, operation: str | None = None) -> int:
        """Highest overlap seen, over all requests or those of one operation."""
        if operation is None:
            with self._lock:
                return self._max_in_flight
        return max_overlap([r for r in self.request_log if r.operation == operation])

    def snapshot(self) -> dict[str, Any]:
        """Everything ``GET /metrics`` shows."""
        with self._lock:
            return {
                "requests_total": sum(self._by_operation.values()),
                "requests_by_operation": dict(self._by_operation),
                "responses_by_status": {str(k): v for k, v in self._status.items()},
                "complexity_spent": self._complexity,
                "rejections_by_code": dict(self._rejections),
                "errors_by_code": dict(self._errors),
                "faults_by_kind": dict(self._faults),
                "max_concurrency": self._max_in_flight,
                "in_flight": self._in_flight,
                "bytes_served": self._bytes,
            }

    def close(self) -> None:
        """Close the JSONL file, if any."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

