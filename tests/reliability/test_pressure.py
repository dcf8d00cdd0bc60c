"""Limits under pressure: the standard plan (40 concurrent, 1,000 requests/min) with the trial complexity
budget (1,000,000 per minute) - the tap completes exactly, budget rejections stay a small fraction of its
requests, and rejections never come in bursts (a retry storm would show as many rejections in one second).

One ``items(ids:)`` batch of 100 full items costs ~73,000 complexity points, so the trial budget allows ~13
batches a minute: the 20,000-item board takes ~15 minutes and is marked slow. Any run that must wait for the
budget takes at least the tap's 60-second window, so the fast variant is a full-concurrency burst that fits
one window and must meet no rejection at all. A 0.3 s answer time makes requests overlap (``instant``
answers are served one at a time).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from monday_emulator import limits as emulator_limits
from monday_emulator.metrics import RequestRecord
from monday_emulator.testing import RunningEmulator

from tests.reliability.harness import ENGINE_STREAMS, FAST_TUNING, expected_records, run_tap, verdicts

Factory = Callable[..., RunningEmulator]
TOKEN = "pressure-token-0c44"
TRIAL_BUDGET = 1_000_000
SMALL_BUDGET = 500_000
"""An account budget below one run's cost (the board listing ~400,000 points, 3,000 items at ~120 each) but
above its dearest request (the listing), so the server must refuse and the run can still finish."""
LATENCY = "custom:base=0.3"
BUDGET_CODES = frozenset({"COMPLEXITY_BUDGET_EXHAUSTED", "ComplexityException"})


@dataclass(frozen=True, slots=True)
class Pressure:
    """What the request log says about one run under limits."""

    requests: int
    rejections: Counter[str]
    budget_rejections: int
    max_rejections_per_second: int
    max_concurrency: int
    spent: int
    """Complexity points charged for the answered requests."""

    @property
    def budget_rejection_share(self) -> float:
        """Budget rejections / all requests."""
        return self.budget_rejections / self.requests if self.requests else 0.0


def pressure(log: Sequence[RequestRecord]) -> Pressure:
    """Rejections by code, the densest one-second window of rejections, the peak overlap of requests."""
    rejected = sorted(r.start for r in log if r.outcome == "rejected")
    densest, j = 0, 0
    for i, start in enumerate(rejected):
        while rejected[j] < start - 1.0:
            j += 1
        densest = max(densest, i - j + 1)
    events = sorted([(r.start, 1) for r in log] + [(r.end, -1) for r in log], key=lambda e: (e[0], e[1]))
    overlap = peak = 0
    for _, delta in events:
        overlap += delta
        peak = max(peak, overlap)
    codes = Counter(str(r.code) for r in log if r.outcome == "rejected")
    return Pressure(
        requests=len(log),
        rejections=codes,
        budget_rejections=sum(n for c, n in codes.items() if c in BUDGET_CODES),
        max_rejections_per_second=densest,
        max_concurrency=peak,
        spent=sum(r.cost or 0 for r in log if r.outcome == "ok"),
    )


def _run(em: RunningEmulator, workdir: Path, **config: Any) -> tuple[Pressure, Any]:
    truth = expected_records(em.emulator.store)
    run = run_tap(
        {"api_url": em.url, "api_token": TOKEN, **FAST_TUNING, **config},
        workdir, streams=("items",), timeout_s=1800,
    )
    assert run.returncode == 0, run.stderr_text()[-3000:]
    result = verdicts({s: run.records(s) for s in ENGINE_STREAMS}, {"items": truth["items"]})
    assert all(v.ok for v in result), [v.describe() for v in result]
    return pressure(em.emulator.request_log), run


def test_a_burst_that_fits_the_budget_meets_no_rejection(emulator_factory: Factory, tmp_path: Path) -> None:
    """Fast variant: 1,200 items (~880,000 points) at 40 requests in flight against the standard plan with
    the trial budget: the whole board fits one budget window, and nothing may be refused on the way."""
    em = emulator_factory(
        boards=1, items_per_board=1200, subitems=False, plan="standard", token=TOKEN, latency=LATENCY,
        limit_overrides={"complexity_per_minute": TRIAL_BUDGET, "daily_calls": None},
    )
    seen, run = _run(
        em, tmp_path, max_concurrency=40, requests_per_minute=1000, complexity_budget_per_minute=TRIAL_BUDGET
    )
    assert seen.rejections == Counter(), seen
    assert 1 < seen.max_concurrency <= 40, seen
    assert ": retrying (" not in run.stderr_text()


@pytest.mark.slow
def test_server_budget_smaller_than_configured(monkeypatch: pytest.MonkeyPatch, emulator_factory: Factory,
                                               tmp_path: Path) -> None:
    """The tap believes the default 10 M budget; the account has 500,000 points (in a 6-second window, the
    emulator's module constant patched for this test), less than the run costs (``SMALL_BUDGET``): the
    answers' ``complexity { after }`` (or the server's first refusals) teach the governor, which then waits
    instead of hammering - a handful of rejections at most, never a burst. (The governor keeps monday's
    60-second window, so it waits longer than this patched server needs.)"""
    monkeypatch.setattr(emulator_limits, "WINDOW_S", 6.0)
    em = emulator_factory(
        boards=1, items_per_board=3000, subitems=False, plan="standard", token=TOKEN,
        limit_overrides={"complexity_per_minute": SMALL_BUDGET, "daily_calls": None},
    )
    seen, run = _run(em, tmp_path, max_concurrency=40, requests_per_minute=1000)
    print(f"pressure misconfigured: {seen}, wall {run.wall_s:.1f} s")
    assert seen.spent > SMALL_BUDGET, f"no pressure at all: {seen}"
    assert seen.budget_rejection_share < 0.25, seen
    assert seen.max_rejections_per_second <= 10, seen


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_standard_plan_trial_budget_20000_items(emulator_factory: Factory, tmp_path: Path) -> None:
    """The tap configured for the account (40 concurrent, 1,000/min, 1 M budget) on a 20,000-item board."""
    em = emulator_factory(
        boards=1, items_per_board=20_000, subitems=False, plan="standard", token=TOKEN, latency=LATENCY,
        limit_overrides={"complexity_per_minute": TRIAL_BUDGET, "daily_calls": None},
    )
    seen, run = _run(
        em, tmp_path, max_concurrency=40, requests_per_minute=1000, complexity_budget_per_minute=TRIAL_BUDGET
    )
    print(f"pressure 20k: {seen}, wall {run.wall_s:.0f} s")  # recorded in docs/reliability.md
    assert seen.budget_rejection_share < 0.05, seen
    assert seen.max_rejections_per_second <= 3, seen
    assert seen.max_concurrency <= 40
