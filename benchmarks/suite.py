"""The benchmark matrix per mode, and running it into one results dict.

Modes:
* ``smoke``: a tiny board on ``instant`` through every strategy; seconds; what the CI test runs.
* ``quick`` (``make bench``): 1,000 and 10,000 items on production/enterprise, 10,000 on
  production/standard and on instant, one 2% fault run (10,000 on production/enterprise), one board of
  20,000 items in 10 groups at ~1 s per answer (every stream vs the bare single-chain harvest), the
  in-process writer benchmark and the Meltano end-to-end run (benchmarks/e2e.py: 4 boards x 12,500 items
  on ``instant``/``unlimited``, then the tap alone on the same emulator).
* ``full`` (``make bench-full``): quick plus 100,000 items (production/enterprise and instant), and one
  board of 100,000 items in 10 groups and in 1 group, every stream, against the bare single chain.
* ``account`` (``make bench-account``, ~1.5 hours, mostly waiting): whole-account syncs at ~0.6 s per
  answer (``p50-enterprise``), the core streams (account.CORE_STREAMS) and every stream: 100 boards x 100
  items (also incremental, after 5 changed items per board), 2 x 5,000 and 1,000 boards x 10 items, each
  against the bare id harvest and the naive loader of the core streams (benchmarks/account.py has the bound
  T* of a whole sync).

Runs that are mostly waiting (the naive client at 10,000 items: minutes with one request in flight; the
fault run on production latency, which may wait out a hint-less 429 for 60 s) each get a background lane
beside the foreground runs, against their own emulator process, so quick mode fits in five minutes. The
CPU-heavy runs (``instant``, the writer benchmark, the end-to-end load) stay in the foreground, one at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.e2e import E2ESpec
from benchmarks.harness import DEFAULT_GROUPS, PROFILES, STRATEGIES, Case, run_case

SEED = 7
FAULT_RATE = 0.02

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Plan:
    """What one mode runs."""

    foreground: tuple[Case, ...]
    background: tuple[Case, ...] = ()
    writer_records: int = 0
    e2e: E2ESpec | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _cases(
    profile: str,
    items: int,
    strategies: tuple[str, ...],
    faults: float = 0.0,
    *,
    boards: int = 1,
    cost_model: str = "documented",
    groups: int = DEFAULT_GROUPS,
    every_stream: bool = False,
) -> list[Case]:
    return [
        Case(
            s,
            PROFILES[profile],
            items,
            faults=faults,
            seed=SEED,
            boards=boards,
            cost_model=cost_model,
            groups=groups,
            every_stream=every_stream,
        )
        for s in strategies
    ]


def build_plan(
    mode: str, *, smoke_items: int = 300, only: tuple[str, ...] = (), writer: bool = True
) -> Plan:
    """The matrix of ``mode`` (smoke, quick or full), optionally cut to cases whose label contains one of
    ``only`` (then without the writer and end-to-end parts, which have no label)."""
    plan = _full_plan(mode, smoke_items)
    if only:
        def keep(cases: tuple[Case, ...]) -> tuple[Case, ...]:
            return tuple(c for c in cases if any(text in c.label for text in only))

        return Plan(keep(plan.foreground), keep(plan.background))
    return plan if writer else replace(plan, writer_records=0)


ACCOUNT_SHAPES = ((100, 100), (2, 5_000), (1_000, 10))
"""(boards, items per board) of the whole-account cases: many small boards, two big ones, very many tiny."""


def _account_plan() -> Plan:
    foreground: list[Case] = []
    background: list[Case] = []
    for boards, items in ACCOUNT_SHAPES:
        foreground += _cases("p50-enterprise", items, ("harvest", "tap_core", "tap_all"), boards=boards)
        if boards == 100:
            incremental = ("tap_core_incremental", "tap_all_incremental")
            foreground += _cases("p50-enterprise", items, incremental, boards=boards)
        # One request at a time: minutes of waiting, beside the foreground runs.
        background += _cases("p50-enterprise", items, ("naive_all",), boards=boards)
    return Plan(tuple(foreground), tuple(background))


def _full_plan(mode: str, smoke_items: int) -> Plan:
    tap = ("tap_default", "tap_tuned")
    if mode == "account":
        return _account_plan()
    if mode == "smoke":
        return Plan(tuple(_cases("instant", smoke_items, STRATEGIES)), writer_records=300)
    foreground = [
        *_cases("production-enterprise", 1_000, STRATEGIES),
        *_cases("production-enterprise", 10_000, ("two_phase", *tap)),
        *_cases("production-standard", 10_000, tap),
        *_cases("instant", 10_000, STRATEGIES),
        # The same cells priced by the emulator's first (heuristic) model, for the figures under both models.
        *_cases("production-enterprise", 10_000, tap, cost_model="heuristic"),
        # A slow account where the cursor chain binds: the tap against the bare id harvest, same boards.
        *_cases("slow-enterprise", 5_000, ("harvest", "tap_default"), boards=2),
        # One big board in 10 groups: a whole sync (every stream) against the bare single-chain harvest
        # (in a background lane: one request at a time, all waiting).
        *_cases("slow-enterprise", 20_000, ("tap_default",), groups=10, every_stream=True),
    ]
    background = [
        *_cases("slow-enterprise", 20_000, ("harvest",), groups=10),
        *_cases("production-enterprise", 10_000, ("naive",)),
        *_cases("production-enterprise", 10_000, ("tap_tuned",), faults=FAULT_RATE),
        # Only stalls (slow answers, 20 s): a stalled harvest page must cost seconds, not request_timeout.
        Case("tap_tuned", PROFILES["production-enterprise"], 10_000, faults=FAULT_RATE, seed=SEED,
             fault_kinds=("slow_response",)),
    ]
    if mode == "full":
        foreground += [
            *_cases("production-standard", 10_000, ("two_phase",)),
            *_cases("production-enterprise", 100_000, ("two_phase", *tap)),
            *_cases("instant", 100_000, tap),
            # Partitioned (10 groups) and single-chain (1 group) harvest of the same 100,000 ids, whole sync.
            *_cases("slow-enterprise", 20_000, ("tap_default",), groups=10),
            *_cases("production-enterprise", 100_000, ("harvest",), groups=10),
            *_cases("production-enterprise", 100_000, ("tap_default",), groups=10, every_stream=True),
            *_cases("production-enterprise", 100_000, ("tap_default",), groups=1, every_stream=True),
        ]
    elif mode != "quick":
        raise ValueError(f"unknown mode {mode!r}: smoke, quick, full or account")
    return Plan(tuple(foreground), tuple(background), writer_records=5_000, e2e=E2ESpec(seed=SEED))


def _run_lane(cases: tuple[Case, ...], workdir: Path, sink: list[dict[str, Any]], progress: Progress) -> None:
    for case in cases:
        progress(f"start {case.label}")
        result = run_case(case, workdir)
        sink.append(result)
        progress(_summary(result))


def _summary(result: dict[str, Any]) -> str:
    status = "ok" if result["ok"] else f"FAILED ({result.get('error') or result['ids']})"
    return (
        f"done  {result['label']}: {result['wall_s']:.1f} s, {result['items_per_s']:.0f} items/s, "
        f"T*/wall {result['efficiency'] or 0:.2f}, missing {result['ids']['missing']}: {status}"
    )


def run_plan(plan: Plan, workdir: Path, *, e2e: bool = True, progress: Progress = print) -> dict[str, Any]:
    """Run every part of ``plan``; returns the results dict (environment is added by the caller)."""
    started = time.perf_counter()
    background: list[dict[str, Any]] = []
    lanes = [
        threading.Thread(
            target=_run_lane, args=((case,), workdir / f"background-{n}", background, progress), daemon=True
        )
        for n, case in enumerate(plan.background)
    ]
    for lane in lanes:
        lane.start()
    foreground: list[dict[str, Any]] = []
    _run_lane(plan.foreground, workdir, foreground, progress)

    results: dict[str, Any] = {"writer": [], "e2e": None}
    if plan.writer_records:
        from benchmarks.writer_bench import run_writer_bench  # noqa: PLC0415 - imports the tap

        progress(f"start writer benchmark ({plan.writer_records:,} records per variant)")
        results["writer"] = [r.as_dict() for r in run_writer_bench(plan.writer_records, SEED)]
        progress("done  writer benchmark")
    if e2e and plan.e2e is not None:
        from benchmarks.e2e import run_e2e, summary_lines  # noqa: PLC0415 - needs tests/support

        items = plan.e2e.boards * plan.e2e.items
        progress(f"start end-to-end meltano run ({plan.e2e.boards} x {plan.e2e.items:,} = {items:,} items)")
        try:
            results["e2e"] = run_e2e(plan.e2e, workdir / "e2e")
        except Exception as exc:  # a missing target or database is a reported gap, not a crash
            results["e2e"] = {"items": items, "error": f"{type(exc).__name__}: {exc}"}
        progress("done  end-to-end: " + "; ".join(summary_lines(results["e2e"])))
    for lane in lanes:
        lane.join()
    order = {case.label: index for index, case in enumerate((*plan.foreground, *plan.background))}
    results["runs"] = sorted(foreground + background, key=lambda r: _sort_key(r, order))
    results["elapsed_s"] = time.perf_counter() - started
    return results


def _sort_key(
    result: dict[str, Any], order: dict[str, int]
) -> tuple[str, int, int, bool, int, float, int]:
    profiles = list(PROFILES)
    strategy = STRATEGIES.index(result["strategy"]) if result["strategy"] in STRATEGIES else -1
    return (
        str(profiles.index(result["profile"])),
        result["items"],
        result.get("boards", 1),
        result.get("cost_model") != "documented",
        strategy,
        result.get("faults", 0.0),
        order.get(result["label"], 0),
    )
