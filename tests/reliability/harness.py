"""Run the real ``tap-monday-boards`` process against an emulator and judge its output against ground truth.

Why a subprocess and not ``tap.sync_all()`` in-process: reliability is about what a user sees - the exit
code, every byte on stdout/stderr, the STATE a scheduler would keep - and about signals delivered to a real
process. The emulator runs in the test process (``running_emulator``) so the test can read its ``Store``
(ground truth) and its request log directly.

Ground truth is ``records.item_record(Store.render_item(id))`` for every active item of every top-level
board (``items`` stream) and of their subitems boards (``subitems`` stream): exactly what a perfect run
must emit, field by field.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monday_emulator.data import Store

from benchmarks.tap_runner import discover, tap_argv
from tap_monday_boards.records import item_record

ENGINE_STREAMS = ("items", "subitems")

FAST_TUNING: dict[str, Any] = {}
"""Engine knobs that are not user settings, for fault runs (EngineSettings.from_config reads them from the
config). Empty: fault runs use the shipped retry and wait policy (an empty-body 429 now pauses 2 s, doubling
only while such answers follow each other, so fault runs take seconds without tuning)."""


_DISCOVERED: dict[str, dict[str, Any]] = {}


def discovered_catalog(workdir: Path) -> dict[str, Any]:
    """The tap's catalog, from one ``--discover`` run per test process.

    The catalog does not depend on the account (schemas are static), so discovery runs against a
    placeholder URL that is never contacted.
    """
    if "base" not in _DISCOVERED:
        workdir.mkdir(parents=True, exist_ok=True)
        config_path = workdir / "discover-config.json"
        config_path.write_text(json.dumps({"api_token": "discover-only", "api_url": "http://127.0.0.1:9/v2"}))
        _DISCOVERED["base"] = discover(config_path, workdir)
    return _DISCOVERED["base"]


def _argv(
    config: Mapping[str, Any], workdir: Path, streams: Sequence[str], state: Mapping[str, Any] | None
) -> list[str]:
    """The tap's command line with its files in ``workdir``; no ``streams``: no catalog (every stream)."""
    if not streams:
        return tap_argv(config, workdir, streams=None, state=state)
    discovered = discovered_catalog(workdir)
    return tap_argv(config, workdir, streams=set(streams), state=state, discovered=discovered)


@dataclass(slots=True)
class TapRun:
    """Everything one tap process wrote, raw and parsed."""

    returncode: int
    stdout: bytes
    stderr: bytes
    wall_s: float
    messages: list[dict[str, Any]] = field(default_factory=list)
    unparsed_tail: bytes = b""
    """A last stdout line that was cut off (a killed process), not JSON."""

    def records(self, stream: str) -> list[dict[str, Any]]:
        """RECORD payloads of ``stream`` in output order."""
        return [m["record"] for m in self.messages if m.get("type") == "RECORD" and m.get("stream") == stream]

    @property
    def states(self) -> list[dict[str, Any]]:
        """Every STATE value in output order."""
        return [m["value"] for m in self.messages if m.get("type") == "STATE"]

    @property
    def last_state(self) -> dict[str, Any] | None:
        """The last STATE the tap emitted (what a runner would keep), or None."""
        states = self.states
        return states[-1] if states else None

    def stderr_text(self) -> str:
        """stderr decoded for assertions and failure messages."""
        return self.stderr.decode("utf-8", errors="replace")


def parse_singer(stdout: bytes) -> tuple[list[dict[str, Any]], bytes]:
    """Complete Singer lines -> messages; a trailing partial line (killed writer) is returned apart."""
    lines = stdout.split(b"\n")
    tail = lines.pop() if lines else b""
    messages = [json.loads(line) for line in lines if line.strip()]
    return messages, tail


def run_tap(
    config: Mapping[str, Any],
    workdir: Path,
    *,
    streams: Sequence[str] = ENGINE_STREAMS,
    state: Mapping[str, Any] | None = None,
    timeout_s: float = 120.0,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> TapRun:
    """Run the tap to completion (or ``timeout_s``) and capture every byte it writes."""
    argv = [*_argv(config, workdir, streams, state), *extra_args]
    started = time.monotonic()
    done = subprocess.run(
        argv, capture_output=True, check=False, timeout=timeout_s, env={**_env(), **(env or {})}, cwd=cwd
    )
    wall = time.monotonic() - started
    (workdir / "tap.stderr.log").write_bytes(done.stderr)  # kept for failure analysis (token-checked too)
    messages, tail = parse_singer(done.stdout) if done.returncode == 0 else _lenient(done.stdout)
    return TapRun(done.returncode, done.stdout, done.stderr, wall, messages, tail)


def _lenient(stdout: bytes) -> tuple[list[dict[str, Any]], bytes]:
    """Parse what a failed run wrote; a failed run may still have written complete lines."""
    try:
        return parse_singer(stdout)
    except json.JSONDecodeError:
        return [], stdout[-200:]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TAP_MONDAY_BOARDS_API_TOKEN", None)  # the config file is the only source of the token
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_tap(
    config: Mapping[str, Any],
    workdir: Path,
    *,
    streams: Sequence[str] = ENGINE_STREAMS,
    state: Mapping[str, Any] | None = None,
) -> subprocess.Popen[bytes]:
    """Start the tap in its own session with stdout piped and stderr to ``workdir/stderr.log``."""
    argv = _argv(config, workdir, streams, state)
    stderr = (workdir / "stderr.log").open("wb")
    try:
        return subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=_env(),
        )
    finally:
        stderr.close()


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the tap's own process group (its id is the tap's pid), reap it, close its pipe."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.stdout is not None:
            process.stdout.close()


# --- ground truth ---------------------------------------------------------------------------------------


def top_level_boards(store: Store) -> list[str]:
    """The item boards (subitems boards are not listed by ``Store.board_ids()``)."""
    return [str(b) for b in store.board_ids()]


def expected_records(
    store: Store, boards: Sequence[str] | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """stream -> item id -> the exact record a perfect run emits (active items only, the default)."""
    boards = list(boards) if boards is not None else top_level_boards(store)
    truth: dict[str, dict[str, dict[str, Any]]] = {"items": {}, "subitems": {}}
    for board in boards:
        for item_id in store.item_ids(board):
            truth["items"][str(item_id)] = item_record(_rendered(store, item_id))
        sub_board = store.subitem_board_id(board)
        if sub_board:
            for item_id in store.item_ids(str(sub_board)):
                truth["subitems"][str(item_id)] = item_record(_rendered(store, item_id))
    return truth


def _rendered(store: Store, item_id: int | str) -> dict[str, Any]:
    raw = store.render_item(item_id)
    assert raw is not None, f"ground truth has no item {item_id}"
    return raw


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one stream's records compare with the truth."""

    stream: str
    expected: int
    emitted: int
    missing: list[str]
    duplicates: list[str]
    unexpected: list[str]
    different: list[str]

    @property
    def ok(self) -> bool:
        """No item lost, doubled, invented or changed."""
        return not (self.missing or self.duplicates or self.unexpected or self.different)

    def describe(self) -> str:
        """One line for assertion messages (ids truncated)."""
        return (
            f"{self.stream}: expected {self.expected}, emitted {self.emitted}, missing {len(self.missing)} "
            f"{self.missing[:5]}, duplicates {len(self.duplicates)} {self.duplicates[:5]}, unexpected "
            f"{len(self.unexpected)} {self.unexpected[:5]}, "
            f"different {len(self.different)} {self.different[:5]}"
        )


def compare(
    stream: str, records: Sequence[Mapping[str, Any]], truth: Mapping[str, Mapping[str, Any]]
) -> Verdict:
    """Field-by-field comparison of emitted records with the truth, keyed by id."""
    seen: dict[str, Mapping[str, Any]] = {}
    duplicates: list[str] = []
    for record in records:
        key = str(record["id"])
        if key in seen:
            duplicates.append(key)
        seen[key] = record
    missing = sorted(set(truth) - set(seen))
    unexpected = sorted(set(seen) - set(truth))
    different = sorted(k for k in set(seen) & set(truth) if _normal(seen[k]) != _normal(truth[k]))
    return Verdict(stream, len(truth), len(records), missing, duplicates, unexpected, different)


def _normal(record: Mapping[str, Any]) -> Any:
    """JSON round trip: the truth is built in memory, the emitted record went through JSON."""
    return json.loads(json.dumps(record, sort_keys=True, default=str))


def verdicts(
    run_records: Mapping[str, Sequence[Mapping[str, Any]]], truth: Mapping[str, Any]
) -> list[Verdict]:
    """One verdict per stream of the truth."""
    return [compare(stream, run_records.get(stream, []), truth[stream]) for stream in truth]


def first_difference(record: Mapping[str, Any], truth: Mapping[str, Any]) -> str:
    """The first differing field, for a readable assertion message."""
    a, b = _normal(record), _normal(truth)
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            return f"{key}: emitted {str(a.get(key))[:200]!r} vs truth {str(b.get(key))[:200]!r}"
    return "no difference"


# --- fault cases (shared by tests/reliability/test_faults.py and benchmarks/chaos.py) ---------------------

SLOW_DELAY_S = 3.0
"""A ``slow_response`` fault answers after this long: above the tap's request timeout in fault runs (1 s)."""


@dataclass(frozen=True, slots=True)
class FaultCase:
    """One cell of the fault matrix: which kinds, at what total rate, with which seed."""

    label: str
    kinds: tuple[str, ...]
    rate: float
    seed: int

    def fault_config(self) -> Any:
        """The emulator's ``FaultConfig``: one kind at ``rate``, or ``rate`` split evenly over several."""
        from monday_emulator.faults import FaultConfig, FaultKind  # noqa: PLC0415

        kinds = frozenset(FaultKind(k) for k in self.kinds)
        return FaultConfig.mixed(self.rate, slow_delay_s=SLOW_DELAY_S, kinds=kinds)


@dataclass(slots=True)
class CaseResult:
    """What one fault run did and how its output compares with the truth."""

    case: FaultCase
    returncode: int
    wall_s: float
    requests: int
    faults: dict[str, int]
    retries: int
    verdicts: list[Verdict]
    token_leaked: bool
    stderr_tail: str

    @property
    def items_checked(self) -> int:
        """Records compared with the truth (all engine streams)."""
        return sum(v.expected for v in self.verdicts)

    @property
    def items_lost(self) -> int:
        """Missing, duplicated, invented or changed records: must be 0."""
        return sum(
            len(v.missing) + len(v.duplicates) + len(v.unexpected) + len(v.different) for v in self.verdicts
        )

    @property
    def ok(self) -> bool:
        """Exit 0, nothing lost, token nowhere."""
        return self.returncode == 0 and self.items_lost == 0 and not self.token_leaked

    def row(self) -> dict[str, Any]:
        """One line of the chaos summary."""
        return {
            "case": self.case.label,
            "kinds": list(self.case.kinds),
            "rate": self.case.rate,
            "seed": self.case.seed,
            "exit": self.returncode,
            "wall_s": round(self.wall_s, 2),
            "requests": self.requests,
            "faults_injected": sum(self.faults.values()),
            "retries": self.retries,
            "items_checked": self.items_checked,
            "items_lost": self.items_lost,
            "token_leaked": self.token_leaked,
            "ok": self.ok,
        }


FAULT_TOKEN = "chaos-token-7f3a9c1e"


def run_fault_case(
    case: FaultCase,
    workdir: Path,
    *,
    boards: int = 2,
    items_per_board: int = 300,
    max_concurrency: int = 8,
    harvest_page_size: int = 100,
) -> CaseResult:
    """Start an emulator with the case's faults, run the tap to completion, compare with the truth."""
    from monday_emulator.server import EmulatorConfig  # noqa: PLC0415
    from monday_emulator.testing import running_emulator  # noqa: PLC0415

    config = EmulatorConfig(
        seed=case.seed,
        boards=boards,
        items_per_board=items_per_board,
        faults=case.fault_config(),
        token=FAULT_TOKEN,
        shutdown_timeout_s=0.2,
    )
    with running_emulator(config) as emu:
        truth = expected_records(emu.emulator.store)
        run = run_tap(
            {
                "api_url": emu.url,
                "api_token": emu.token,
                "max_concurrency": max_concurrency,
                "request_timeout": 1,
                "harvest_page_size": harvest_page_size,
                "max_retries": 10,
                **FAST_TUNING,
            },
            workdir,
            timeout_s=600,
        )
        snapshot = emu.emulator.metrics.snapshot()
    leaked = FAULT_TOKEN.encode() in run.stdout + run.stderr
    return CaseResult(
        case=case,
        returncode=run.returncode,
        wall_s=run.wall_s,
        requests=int(snapshot["requests_total"]),
        faults={str(k): int(v) for k, v in snapshot["faults_by_kind"].items()},
        retries=run.stderr_text().count(": retrying ("),
        verdicts=verdicts({s: run.records(s) for s in ENGINE_STREAMS}, truth),
        token_leaked=leaked,
        stderr_tail=run.stderr_text()[-3000:].replace(FAULT_TOKEN, "***"),
    )
