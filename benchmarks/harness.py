"""One measurement: start a fresh emulator process, run one strategy against it, collect every number.

A fresh emulator per measurement (same seed, so the same data) gives every strategy the same untouched
complexity budget and rate window, and lets its CPU be read from that process alone.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monday_emulator.cost import DEFAULT_COST_MODEL
from monday_emulator.limits import PLANS

from benchmarks.account import (
    CORE_STREAMS,
    account_ceiling,
    account_shape,
    apply_changes,
    changed_item_ids,
    item_bookmarks,
    lookback_item_ids,
    wait_for_full_budget,
)
from benchmarks.baselines import StrategyResult, run_harvest, run_naive, run_naive_all, run_two_phase
from benchmarks.ceiling import ceiling, efficiency
from benchmarks.processes import EmulatorProcess, EmulatorSpec
from benchmarks.tap_runner import EVERY_STREAM, TapRun, run_tap, tap_config
from benchmarks.truth import ceiling_inputs, check_ids, expected_item_ids, longest_chain, price_list

STRATEGIES = ("naive", "two_phase", "tap_default", "tap_tuned")
"""(a) naive sequential, (b) strict two-phase, (c) the tap with defaults, (d) the tap tuned for the plan."""

DEFAULT_GROUPS = 4
"""Groups per board of a generated board unless a case says otherwise (the emulator's default)."""

ACCOUNT_STRATEGIES = ("naive_all", "tap_core", "tap_core_incremental", "tap_all", "tap_all_incremental")
"""Whole-account syncs: the naive loader of the core streams, the tap with defaults on the core streams
(account.CORE_STREAMS) and on every stream, each also as the incremental run after
``BENCH_CHANGES_PER_BOARD`` changed items per board (account.py)."""

BASELINES = ("naive", "two_phase", "harvest", "naive_all")
"""Strategies run by the in-process clients of benchmarks/baselines.py; ``harvest`` is the bare id harvest
(one chain per board, no detail fetch): the reference for runs bound by the cursor chain."""


@dataclass(frozen=True, slots=True)
class Profile:
    """An emulator profile: latency preset and plan."""

    name: str
    latency: str
    plan: str


PROFILES: dict[str, Profile] = {
    "production-enterprise": Profile("production-enterprise", "production", "enterprise"),
    "production-standard": Profile("production-standard", "production", "standard"),
    # No latency and no limits: what is left is the tap's own CPU (and the emulator's, measured apart).
    "instant": Profile("instant", "instant", "unlimited"),
    # Every answer ~1.0 s (+-20 %), whatever its size: a slow account where the chain binds.
    "slow-enterprise": Profile("slow-enterprise", "custom:base=1.0,per_object=0,jitter=0.2", "enterprise"),
    # Every answer ~0.6 s (+-20 %): the median of recorded real monday answers, for whole-account syncs.
    "p50-enterprise": Profile("p50-enterprise", "custom:base=0.6,per_object=0,jitter=0.2", "enterprise"),
}

UNLIMITED_TAP_SETTINGS: dict[str, Any] = {
    "max_concurrency": 16,
    "requests_per_minute": 1_000_000,
    "complexity_budget_per_minute": 1_000_000_000,
}
"""(d) on a plan without limits: enough in flight to keep two cores busy, and no self-imposed pacing."""


@dataclass(frozen=True, slots=True)
class Case:
    """One cell of the matrix."""

    strategy: str
    profile: Profile
    items: int
    faults: float = 0.0
    seed: int = 7
    boards: int = 1
    cost_model: str = DEFAULT_COST_MODEL
    """How the emulator prices queries (``documented``: monday's published figures; ``heuristic``)."""
    fault_kinds: tuple[str, ...] = ()
    """With ``faults``: only these fault kinds (``--fault KIND=RATE`` each); empty = every kind mixed."""
    groups: int = DEFAULT_GROUPS
    """Groups per board: the partitioned harvest walks one chain per group (1 = a single chain)."""
    every_stream: bool = False
    """The tap with every stream selected (a whole sync), not only ``items``."""

    @property
    def label(self) -> str:
        """Stable name for directories and tables."""
        fault = f"-faults{self.faults:g}" if self.faults else ""
        kinds = "-" + "+".join(self.fault_kinds) if self.fault_kinds else ""
        model = "" if self.cost_model == DEFAULT_COST_MODEL else f"-{self.cost_model}"
        boards = f"{self.boards}x" if self.boards > 1 else ""
        groups = "" if self.groups == DEFAULT_GROUPS else f"-g{self.groups}"
        streams = "-all" if self.every_stream else ""
        cell = f"{self.profile.name}-{boards}{self.items}{groups}"
        return f"{cell}-{self.strategy}{streams}{fault}{kinds}{model}"


def tuned_settings(plan: str) -> dict[str, Any]:
    """Strategy (d): the tap's knobs set to what the plan allows (from the emulator's plan table)."""
    limits = PLANS[plan]
    if limits.concurrency is None:
        return dict(UNLIMITED_TAP_SETTINGS)
    settings: dict[str, Any] = {}
    if limits.concurrency:
        settings["max_concurrency"] = limits.concurrency
    if limits.requests_per_minute:
        settings["requests_per_minute"] = limits.requests_per_minute
    if limits.complexity_per_minute:
        settings["complexity_budget_per_minute"] = limits.complexity_per_minute
    return settings


@dataclass(slots=True)
class _Outcome:
    wall_s: float
    ids: list[str]
    client: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    expected: dict[str, list[str]] | None = None
    """What the run must emit when it is not every active item (an incremental run)."""
    metrics_before: dict[str, Any] | None = None
    """The emulator's metrics before the measured run, when an unmeasured run came first."""


def _run_baseline(case: Case, emulator: EmulatorProcess, boards: list[str]) -> _Outcome:
    plan = PLANS[case.profile.plan]
    started = time.perf_counter()
    result: StrategyResult
    if case.strategy == "naive":
        result = asyncio.run(run_naive(emulator.url, emulator.token, boards))
    elif case.strategy == "harvest":
        result = asyncio.run(run_harvest(emulator.url, emulator.token, boards))
    elif case.strategy == "naive_all":
        result = asyncio.run(run_naive_all(emulator.url, emulator.token, boards))
    else:
        result = asyncio.run(
            run_two_phase(emulator.url, emulator.token, boards, concurrency=plan.concurrency or 100)
        )
    wall = time.perf_counter() - started
    ids = [i for board in boards for i in result.item_ids.get(board, [])]
    return _Outcome(wall, ids, result.client, {"phase_seconds": result.phase_seconds})


def _tap_extra(run: TapRun, overrides: dict[str, Any]) -> dict[str, Any]:
    return {
        "tap_settings": overrides,
        "tap_cpu_s": run.cpu_s,
        "tap_cpu_s_per_1000_items": run.cpu_s / max(1, len(run.item_ids)) * 1000,
        "tap_peak_rss_mb": run.max_rss_bytes / 2**20,
        "tap_polled_peak_rss_mb": run.polled_peak_rss_bytes / 2**20,
        "tap_messages": dict(run.messages),
        "tap_records_by_stream": dict(run.records),
        "tap_returncode": run.returncode,
        "first_record_s": run.first_record_s,
    }


def _tap_error(run: TapRun) -> str | None:
    return None if run.returncode == 0 else f"tap exited {run.returncode}: {run.stderr_tail[-1500:]}"


def _run_tap(case: Case, emulator: EmulatorProcess, boards: list[str], workdir: Path) -> _Outcome:
    overrides = tuned_settings(case.profile.plan) if case.strategy == "tap_tuned" else {}
    if case.faults:
        # The emulator's slow_response fault waits 20 s; a 10 s timeout makes it a quick retry.
        overrides["request_timeout"] = 10
    config = tap_config(emulator.url, emulator.token, boards, overrides)
    if case.strategy.endswith("_incremental"):
        return _run_tap_incremental(case, emulator, config, workdir)
    streams = _account_streams(case.strategy) or ({EVERY_STREAM} if case.every_stream else None)
    run = run_tap(config, workdir, streams=streams)
    return _Outcome(run.wall_s, run.item_ids, {}, _tap_extra(run, overrides), _tap_error(run))


def _account_streams(strategy: str) -> set[str] | None:
    """The streams a whole-account strategy selects (None: not one)."""
    if strategy.startswith("tap_core"):
        return set(CORE_STREAMS)
    if strategy.startswith("tap_all"):
        return {EVERY_STREAM}
    return None


def _run_tap_incremental(
    case: Case, emulator: EmulatorProcess, config: dict[str, Any], workdir: Path
) -> _Outcome:
    """A full run (not timed), ``BENCH_CHANGES_PER_BOARD`` renamed items per board, then the timed run.

    The timed run must emit exactly the changed items plus the unchanged ones inside the look-back window
    of each board's bookmark.
    """
    streams = _account_streams(case.strategy)
    first = run_tap(config, workdir / "first-run", streams=streams)
    if first.returncode != 0:
        return _Outcome(0.0, [], error=f"first run: {_tap_error(first)}")
    changed = changed_item_ids(case.seed, case.boards, case.items)
    apply_changes(emulator.base, emulator.token, changed)
    budget = PLANS[case.profile.plan].complexity_per_minute
    waited = wait_for_full_budget(emulator.url, emulator.token, budget) if budget else 0.0
    before = emulator.metrics()
    run = run_tap(config, workdir, streams=streams, state=first.final_state)
    bookmarks = item_bookmarks(first.final_state)
    expected = sorted(set(changed) | lookback_item_ids(case.seed, case.boards, case.items, bookmarks))
    extra = {**_tap_extra(run, {}), "first_run_wall_s": first.wall_s, "changed_items": len(changed),
             "expected_items": len(expected), "budget_wait_s": waited}
    error = _tap_error(run)
    return _Outcome(run.wall_s, run.item_ids, {}, extra, error, {"all": expected}, before)


def _metrics_delta(after: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """The measured run's share of the emulator's counters (after minus what an earlier run left)."""
    if before is None:
        return after
    delta = dict(after)
    for key in ("requests_by_operation", "rejections_by_code", "faults_by_kind", "errors_by_code"):
        old = before.get(key, {})
        delta[key] = {k: v - old.get(k, 0) for k, v in after.get(key, {}).items() if v - old.get(k, 0)}
    for key in ("requests_total", "complexity_spent"):
        delta[key] = after.get(key, 0) - before.get(key, 0)
    return delta


def phase_timeline(request_log: Path) -> dict[str, float | None]:
    """When the phases ran, from the emulator's JSONL request log (server clock, seconds from the first
    request): ``overlap_s`` > 0 means batches were fetched while the harvest was still walking (pipelined)."""
    harvest: list[tuple[float, float]] = []
    batches: list[tuple[float, float]] = []
    first = None
    if request_log.exists():
        with request_log.open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                first = row["start"] if first is None else min(first, row["start"])
                operation = row.get("operation") or ""
                if operation.startswith(("Harvest", "Naive")):
                    harvest.append((row["start"], row["end"]))
                elif operation.startswith("ItemsByIds"):
                    batches.append((row["start"], row["end"]))
    if first is None:
        return {"harvest_end_s": None, "first_batch_s": None, "overlap_s": None, "last_end_s": None}
    harvest_end = max((end for _, end in harvest), default=None)
    first_batch = min((start for start, _ in batches), default=None)
    last_end = max(end for _, end in harvest + batches) if harvest or batches else None
    return {
        "harvest_end_s": None if harvest_end is None else harvest_end - first,
        "first_batch_s": None if first_batch is None else first_batch - first,
        "overlap_s": None if harvest_end is None or first_batch is None else harvest_end - first_batch,
        "last_end_s": None if last_end is None else last_end - first,
    }


def _ratio(bound_s: float, outcome: _Outcome) -> float | None:
    """bound/wall, or None when the run failed or the bound is ~0 (``instant``: no latency, no limits)."""
    if outcome.error is not None or bound_s < 0.01:
        return None
    return efficiency(bound_s, outcome.wall_s)


def _retries(client: dict[str, Any], metrics: dict[str, Any]) -> int:
    """Retried requests: the client's own count, else every answer the server refused or broke."""
    if client:
        return int(client.get("retries", 0))
    refused = sum(metrics.get("rejections_by_code", {}).values())
    broken = sum(metrics.get("faults_by_kind", {}).values())
    status = metrics.get("responses_by_status", {})
    timeouts = int(status.get("504", 0)) if not broken else 0
    return int(refused + broken + timeouts)


def run_case(case: Case, workdir: Path) -> dict[str, Any]:
    """Measure ``case``; never raises for a failed strategy (the error goes into the result)."""
    spec = EmulatorSpec(
        seed=case.seed,
        boards=case.boards,
        items=case.items,
        plan=case.profile.plan,
        latency=case.profile.latency,
        faults=case.faults,
        fault_kinds=case.fault_kinds,
        cost_model=case.cost_model,
        groups=case.groups,
        extra_args=("--admin",) if case.strategy.endswith("_incremental") else (),
    )
    expected = expected_item_ids(case.seed, case.boards, case.items)
    boards = list(expected)
    case_dir = workdir / case.label
    with EmulatorProcess(spec, case_dir) as emulator:
        cpu_before = emulator.cpu_seconds()
        try:
            if case.strategy in BASELINES:
                outcome = _run_baseline(case, emulator, boards)
            else:
                outcome = _run_tap(case, emulator, boards, case_dir)
        except Exception as exc:
            outcome = _Outcome(0.0, [], error=f"{type(exc).__name__}: {exc}")
        emulator_cpu = emulator.cpu_seconds() - cpu_before
        metrics = _metrics_delta(emulator.metrics(), outcome.metrics_before)

    timeline = phase_timeline(emulator.request_log)
    prices = price_list(case.seed, case.profile.latency, cost_model=case.cost_model)
    # The ceiling counts the items a run must return (active ones), not the board's generated total.
    active = sum(len(v) for v in expected.values())
    single = ceiling(ceiling_inputs(prices, case.profile.plan, active, boards=len(expected)))
    chain = longest_chain(case.seed, case.boards, case.items, case.groups)
    # T* with the longest chain the tap walks after partitioning; ``single`` is today's one chain per board.
    bound = ceiling(ceiling_inputs(prices, case.profile.plan, active, boards=len(expected), chain=chain))
    if outcome.expected is not None:
        expected = outcome.expected
    if case.strategy in ACCOUNT_STRATEGIES:
        changed = sum(len(v) for v in expected.values()) if outcome.expected is not None else None
        bound = account_ceiling(
            account_shape(case.seed, case.boards, case.items),
            case.profile.latency,
            case.profile.plan,
            seed=case.seed,
            cost_model=case.cost_model,
            changed_items=changed,
            every_stream=case.strategy.startswith("tap_all"),
        )
    ids = check_ids(expected, outcome.ids)
    items_done = ids["seen"] - ids["duplicates"]
    return {
        "label": case.label,
        "strategy": case.strategy,
        "profile": case.profile.name,
        "latency": case.profile.latency,
        "plan": case.profile.plan,
        "items": case.items,
        "boards": len(boards),
        "faults": case.faults,
        "fault_kinds": list(case.fault_kinds),
        "cost_model": case.cost_model,
        "seed": case.seed,
        # An incremental run must emit exactly what changed (plus the look-back): nothing else either.
        "ok": outcome.error is None
        and ids["missing"] == 0
        and ids["duplicates"] == 0
        and (outcome.expected is None or ids["unexpected"] == 0),
        "error": outcome.error,
        "wall_s": outcome.wall_s,
        "items_per_s": items_done / outcome.wall_s if outcome.wall_s > 0 else 0.0,
        "ids": ids,
        "server": {
            "requests_by_kind": metrics.get("requests_by_operation", {}),
            "requests_total": metrics.get("requests_total", 0),
            "complexity_spent": metrics.get("complexity_spent", 0),
            "rejections_by_code": metrics.get("rejections_by_code", {}),
            "rejections_total": sum(metrics.get("rejections_by_code", {}).values()),
            "faults_by_kind": metrics.get("faults_by_kind", {}),
            "errors_by_code": metrics.get("errors_by_code", {}),
            "max_concurrency": metrics.get("max_concurrency"),
        },
        "client": outcome.client,
        "timeline": timeline,
        "emulator_cpu_s": emulator_cpu,
        "ceiling": bound.as_dict(),
        "ceiling_single_chain": single.as_dict(),
        "groups": case.groups,
        "every_stream": case.every_stream,
        "prices": {
            "page_latency_s": prices.page_latency_s,
            "batch_latency_s": prices.batch_latency_s,
            "harvest_cost_first": prices.harvest_cost_first,
            "harvest_cost_next": prices.harvest_cost_next,
            "batch_cost": prices.batch_cost,
        },
        "points_per_item": metrics.get("complexity_spent", 0) / items_done if items_done else None,
        "efficiency": _ratio(bound.t_star_s, outcome),
        "efficiency_strict": _ratio(bound.strict_s, outcome),
        "retries": _retries(outcome.client, metrics),
        **outcome.extra,
    }
