"""Strategies (c) and (d): the real ``tap-monday-boards`` process, its stdout read by a counting reader.

The reader decodes each Singer line just far enough to count RECORD messages per stream and collect item
ids (msgspec skips the rest of a wide record without building it), so the harness's own CPU stays small
next to the tap's. CPU and peak RSS come from the kernel (``wait4``) plus a psutil poller.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.processes import PeakRssPoller, console_script, reap

ITEMS_STREAM = "items"
EVERY_STREAM = "*"
"""In ``streams``: select every stream the tap discovers (what a user's ``select: ["*.*"]`` does)."""


class _Record(msgspec.Struct):
    id: str | int | None = None


class _Message(msgspec.Struct):
    type: str
    stream: str | None = None
    record: _Record | None = None
    value: msgspec.Raw = msgspec.Raw(b"null")
    """A STATE message's state, kept undecoded (only the last one is read)."""


_DECODER = msgspec.json.Decoder(_Message)


@dataclass(slots=True)
class TapRun:
    """What one tap process did, seen from outside."""

    returncode: int
    wall_s: float
    cpu_s: float
    max_rss_bytes: int
    polled_peak_rss_bytes: int
    messages: Counter[str] = field(default_factory=Counter)
    records: Counter[str] = field(default_factory=Counter)
    item_ids: list[str] = field(default_factory=list)
    first_record_s: float | None = None
    stderr_tail: str = ""
    final_state: dict[str, Any] | None = None
    """The last STATE message's value: the next incremental run starts from it."""


def tap_config(
    url: str, token: str, board_ids: Sequence[str], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The tap's config for a benchmark: the emulator as endpoint, the boards under test."""
    config: dict[str, Any] = {"api_url": url, "api_token": token, "board_ids": list(board_ids)}
    config.update(overrides or {})
    return config


def select_only(catalog: dict[str, Any], streams: set[str]) -> dict[str, Any]:
    """Mark ``streams`` selected and every other stream deselected (stream-level metadata);
    ``EVERY_STREAM`` in ``streams`` selects them all."""
    for entry in catalog["streams"]:
        name = entry.get("tap_stream_id") or entry.get("stream")
        selected = EVERY_STREAM in streams or name in streams
        metadata = entry.setdefault("metadata", [])
        root = next((m for m in metadata if not m.get("breadcrumb")), None)
        if root is None:
            root = {"breadcrumb": [], "metadata": {}}
            metadata.append(root)
        root["metadata"]["selected"] = selected
    return catalog


def discover(config_path: Path, workdir: Path, executable: str | None = None) -> dict[str, Any]:
    """Run ``--discover`` once (with ``executable``, else the project venv's console script) and return the
    catalog."""
    completed = subprocess.run(
        [executable or console_script("tap-monday-boards"), "--config", str(config_path), "--discover"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        tail = completed.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"tap --discover failed ({completed.returncode}): {tail}")
    catalog = json.loads(completed.stdout)
    (workdir / "catalog.discovered.json").write_bytes(completed.stdout)
    return dict(catalog)


def tap_argv(
    config: Mapping[str, Any],
    workdir: Path,
    *,
    streams: Collection[str] | None,
    state: Mapping[str, Any] | None = None,
    discovered: Mapping[str, Any] | None = None,
    executable: str | None = None,
) -> list[str]:
    """The command line of one tap run, with its files written into ``workdir``: ``config.json``,
    ``catalog.json`` with only ``streams`` selected (None: no catalog, the tap's default of every stream)
    and, when given, ``state.json``.

    The catalog is selected from ``discovered`` when given (a caller that runs many taps discovers once),
    else from one ``--discover`` with this config. One builder for the benchmarks and the reliability
    tests, so both run the tap exactly as a scheduler does. ``executable``: the tap's console script to run
    (default: the one next to this interpreter, the project's venv).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(dict(config)))
    argv = [executable or console_script("tap-monday-boards"), "--config", str(config_path)]
    if streams is not None:
        if discovered is not None:
            base = copy.deepcopy(dict(discovered))
        else:
            base = discover(config_path, workdir, executable)
        catalog_path = workdir / "catalog.json"
        catalog_path.write_text(json.dumps(select_only(base, set(streams))))
        argv += ["--catalog", str(catalog_path)]
    if state is not None:
        state_path = workdir / "state.json"
        state_path.write_text(json.dumps(dict(state)))
        argv += ["--state", str(state_path)]
    return argv


def run_tap(
    config: Mapping[str, Any],
    workdir: Path,
    *,
    streams: set[str] | None = None,
    state: Mapping[str, Any] | None = None,
    timeout_s: float = 3600,
    executable: str | None = None,
) -> TapRun:
    """Run the tap to completion with only ``streams`` selected (default: items) and count what it writes.

    ``state`` is passed with ``--state`` (an incremental run continuing from a previous one); ``executable``
    as in :func:`tap_argv`.
    """
    argv = tap_argv(config, workdir, streams=streams or {ITEMS_STREAM}, state=state, executable=executable)
    stderr_path = workdir / "tap.stderr.log"
    with stderr_path.open("wb") as stderr_file:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr_file, bufsize=1 << 20)
        poller = PeakRssPoller(process.pid)
        poller.start()
        messages: Counter[str] = Counter()
        records: Counter[str] = Counter()
        item_ids: list[str] = []
        first_record: float | None = None
        last_state = msgspec.Raw(b"null")
        assert process.stdout is not None
        deadline = started + timeout_s
        for line in process.stdout:
            message = _DECODER.decode(line)
            messages[message.type] += 1
            if message.type == "STATE":
                last_state = message.value
            if message.type == "RECORD" and message.stream is not None:
                records[message.stream] += 1
                if first_record is None:
                    first_record = time.perf_counter() - started
                if message.stream == ITEMS_STREAM and message.record is not None:
                    item_ids.append(str(message.record.id))
            if time.perf_counter() > deadline:
                process.kill()
                break
        process.stdout.close()
        usage = reap(process)
        wall = time.perf_counter() - started
        peak = poller.stop()
    tail = stderr_path.read_text(errors="replace")[-3000:]
    return TapRun(
        returncode=usage.returncode,
        wall_s=wall,
        cpu_s=usage.cpu_s,
        max_rss_bytes=usage.max_rss_bytes,
        polled_peak_rss_bytes=peak,
        messages=messages,
        records=records,
        item_ids=item_ids,
        first_record_s=first_record,
        stderr_tail=tail if usage.returncode != 0 else "",
        final_state=msgspec.json.decode(last_state),
    )
