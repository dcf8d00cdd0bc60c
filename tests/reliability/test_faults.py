"""Fault matrix, fast subset: the real tap process against seeded emulator faults ends complete and exact.

Each case starts an emulator that injects one fault kind (or all of them mixed), runs ``tap-monday-boards``
as a subprocess to completion and compares every emitted record, field by field, with the emulator's ground
truth. The full matrix (every kind alone and mixed, 5 % and 20 %, three seeds) is ``make chaos``
(benchmarks/chaos.py); this subset keeps one seed per kind so CI stays well under a minute.

``field_limit_exceeded`` tells the client to wait 15 s (the emulator's fixed ``retry_in_seconds``), which the
tap correctly honours; its case is therefore marked slow and also runs in the full matrix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tap_monday_boards.emulator.faults import FaultKind
from tests.reliability.harness import CaseResult, FaultCase, run_fault_case

FAST_KINDS = [k for k in FaultKind if k is not FaultKind.FIELD_LIMIT_EXCEEDED]
ALL_KINDS = tuple(str(k) for k in FaultKind)
MIXED_FAST = tuple(str(k) for k in FAST_KINDS)


def _assert_exact(result: CaseResult) -> None:
    details = "; ".join(v.describe() for v in result.verdicts)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr_tail}"
    assert not result.token_leaked
    assert result.items_lost == 0, details
    assert result.items_checked > 0


@pytest.mark.parametrize("kind", FAST_KINDS, ids=str)
def test_each_fault_kind_alone_at_20_percent(kind: FaultKind, tmp_path: Path) -> None:
    """Every kind the emulator can inject is met at least once and the load is still exact."""
    result = run_fault_case(FaultCase(str(kind), (str(kind),), 0.20, seed=1), tmp_path)
    _assert_exact(result)
    assert result.faults.get(str(kind), 0) >= 1, f"seed 1 injected no {kind}: {result.faults}"
    assert result.retries >= 1, "a fault was injected but the tap logged no retry"


@pytest.mark.parametrize("rate", [0.05, 0.20])
def test_mixed_faults(rate: float, tmp_path: Path) -> None:
    """All fast kinds mixed; seed 3 at 20 % injects several different kinds in one run."""
    result = run_fault_case(FaultCase("mixed", MIXED_FAST, rate, seed=3), tmp_path, items_per_board=400)
    _assert_exact(result)
    if rate >= 0.2:
        assert len(result.faults) >= 2, f"expected several kinds in one run, got {result.faults}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_field_limit_and_every_kind_mixed(seed: int, tmp_path: Path) -> None:
    """Field-limit answers (15 s each) are waited out; all kinds mixed still load exactly."""
    alone = run_fault_case(FaultCase("field_limit", ("field_limit_exceeded",), 0.10, seed), tmp_path / "a")
    _assert_exact(alone)
    mixed = run_fault_case(FaultCase("mixed", ALL_KINDS, 0.20, seed), tmp_path / "b")
    _assert_exact(mixed)
