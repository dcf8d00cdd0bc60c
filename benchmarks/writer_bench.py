"""Tap-side emission throughput, in-process: singer-sdk defaults vs the tap's chosen writer/conformance.

The full tap on the ``instant`` emulator mixes HTTP, JSON decoding and emission; this isolates the part the
tap chooses (``message_writer_class`` and the items stream's ``TYPE_CONFORMANCE_LEVEL``) by driving the
SDK's own record path (``Stream._write_record_message``: deselection, conformance, RECORD message, writer,
flush per message) on synthetic wide records made by the tap's own ``records.item_record``. Output goes to
/dev/null through a real file, so every message still costs its write and flush syscalls.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.encoding import SimpleSingerWriter

from benchmarks.synthetic import raw_items
from tap_monday_boards.output import OUTPUT
from tap_monday_boards.records import item_record
from tap_monday_boards.schemas import ITEM_SCHEMA
from tap_monday_boards.tap import TapMondayBoards

_CONFIG = {"api_token": "writer-bench", "api_url": "http://127.0.0.1:9/v2"}


@dataclass(frozen=True, slots=True)
class WriterResult:
    """Messages per second of wall time and of process CPU time for one variant."""

    variant: str
    writer: str
    conformance: str
    records: int
    wall_s: float
    cpu_s: float
    bytes_per_record: float

    @property
    def records_per_cpu_s(self) -> float:
        """Records per second of CPU (what the tap can do on one core)."""
        return self.records / self.cpu_s if self.cpu_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view including the derived rates."""
        return {
            **asdict(self),
            "records_per_cpu_s": self.records_per_cpu_s,
            "records_per_wall_s": self.records / self.wall_s if self.wall_s > 0 else 0.0,
        }


class _FallbackItemsStream(Stream):
    """Stand-in with the tap's item schema, used only until the tap has an ``items`` stream."""

    name = "items"
    schema = ITEM_SCHEMA
    primary_keys = ("id",)

    def get_records(self, context: Any) -> Iterator[dict[str, Any]]:  # pragma: no cover - never synced
        return iter(())


def _items_stream(tap: TapMondayBoards) -> Stream:
    stream = tap.streams.get("items")
    if stream is not None:
        return stream
    fallback = _FallbackItemsStream(tap=tap)
    tap.mapper.register_raw_stream_schema(fallback.name, fallback.schema, list(fallback.primary_keys))
    return fallback


class _CountingSink(io.RawIOBase):
    """/dev/null that counts bytes (so the report can show the message size)."""

    def __init__(self) -> None:
        self.bytes = 0
        self._null = open(os.devnull, "wb", buffering=0)  # noqa: SIM115 - closed in close()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.bytes += len(data)
        return int(self._null.write(data) or 0)

    def close(self) -> None:
        self._null.close()
        super().close()


@contextlib.contextmanager
def _stdout_to_sink() -> Iterator[_CountingSink]:
    sink = _CountingSink()
    buffered = io.BufferedWriter(sink, buffer_size=1 << 16)
    text = io.TextIOWrapper(buffered, encoding="utf-8", write_through=False)
    saved = sys.stdout
    sys.stdout = text
    try:
        yield sink
    finally:
        sys.stdout = saved
        text.close()


def measure_variant(
    variant: str,
    records: list[dict[str, Any]],
    *,
    sdk_defaults: bool,
    level: TypeConformanceLevel | None = None,
) -> WriterResult:
    """Emit ``records`` through the SDK path of a fresh tap, timed.

    ``sdk_defaults`` swaps in the SDK's default writer and ``RECURSIVE``; ``level`` overrides the items
    stream's conformance level (to show what a different choice would give).
    """
    tap = TapMondayBoards(config=_CONFIG, message_writer=SimpleSingerWriter() if sdk_defaults else None)
    stream = _items_stream(tap)
    if sdk_defaults:
        level = TypeConformanceLevel.RECURSIVE
    if level is not None:
        stream.TYPE_CONFORMANCE_LEVEL = level
    level = stream.TYPE_CONFORMANCE_LEVEL
    writer = type(tap.message_writer).__name__
    with _stdout_to_sink() as sink:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for record in records:
            stream._write_record_message(dict(record))
        OUTPUT.flush()  # the tap's queued lines (output.py), then stdout
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        written = sink.bytes
    return WriterResult(
        variant=variant,
        writer=writer,
        conformance=level.name,
        records=len(records),
        wall_s=wall,
        cpu_s=cpu,
        bytes_per_record=written / max(1, len(records)),
    )


def run_writer_bench(count: int, seed: int) -> list[WriterResult]:
    """The variants on the same ``count`` records (seeded): SDK defaults, the tap's choice, and the tap's
    writer with ``ROOT_ONLY`` when the tap chose otherwise (nested ``column_values`` is one JSON column
    anyway, so root-level conformance is all a target needs)."""
    records = [item_record(raw) for raw in raw_items(count, seed)]
    results = [
        measure_variant("sdk-defaults", records, sdk_defaults=True),
        measure_variant("tap-chosen", records, sdk_defaults=False),
    ]
    if results[-1].conformance != TypeConformanceLevel.ROOT_ONLY.name:
        results.append(
            measure_variant(
                "tap-writer-root-only", records, sdk_defaults=False, level=TypeConformanceLevel.ROOT_ONLY
            )
        )
    return results
