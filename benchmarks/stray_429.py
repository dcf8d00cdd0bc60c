"""``python -m benchmarks.stray_429``: what stray empty-body 429s cost a sync, in wall seconds.

The gateway's throttle answers 429 with no body and no Retry-After. The tap waits 2 s for such an answer,
doubling only while they follow each other (engine/governor.py). This runs the real ``tap-monday-boards``
process (items stream only, default settings) against a ``monday-emulator`` process that answers a share of
requests (default 5 %) with exactly that, and prints per seed: wall time, items (missing / duplicated
against the ground truth), 429s injected, the pauses the tap logged and the longest one. The goal:
2 boards x 2,000 items at 0.1 s latency within 30 s, every item once.

``--tap-setting rate_limit_first_wait_s=60`` (with ``rate_limit_max_wait_s=60``) reproduces the former
policy (60 s per hint-less 429) for comparison.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.processes import EmulatorProcess, EmulatorSpec
from benchmarks.tap_runner import run_tap, tap_config
from benchmarks.truth import check_ids, expected_item_ids

_WAIT = re.compile(r": retrying \(retry_after\) attempt \d+/\d+ in ([\d.]+) s: HTTP 429")


def _setting(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    if not name or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, json.loads(value)


def run_one(args: argparse.Namespace, seed: int, workdir: Path) -> dict[str, Any]:
    """One emulator + one tap run; the numbers of that run."""
    spec = EmulatorSpec(
        seed=seed,
        boards=args.boards,
        items=args.items,
        plan="enterprise",
        latency=args.latency,
        extra_args=("--fault", f"empty_429={args.rate}"),
    )
    expected = expected_item_ids(seed, args.boards, args.items)
    case_dir = workdir / f"seed{seed}"
    with EmulatorProcess(spec, case_dir) as emulator:
        config = tap_config(emulator.url, emulator.token, list(expected), dict(args.tap_setting))
        run = run_tap(config, case_dir, timeout_s=args.timeout)
        metrics = emulator.metrics()
    stderr = (case_dir / "tap.stderr.log").read_text(errors="replace")
    waits = [float(w) for w in _WAIT.findall(stderr)]
    ids = check_ids(expected, run.item_ids)
    return {
        "seed": seed,
        "exit": run.returncode,
        "wall_s": round(run.wall_s, 2),
        **ids,
        "requests": int(metrics.get("requests_total", 0)),
        "empty_429_injected": int(metrics.get("faults_by_kind", {}).get("empty_429", 0)),
        "retries_after_429": len(waits),
        "longest_wait_s": max(waits, default=0.0),
        "total_wait_logged_s": round(sum(waits), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0 when every run met the goal (exit 0, every item once, within the limit)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stray_429", description=(__doc__ or "").split("\n", 1)[0]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--rate", type=float, default=0.05, help="share of answers that are empty 429s")
    parser.add_argument("--boards", type=int, default=2)
    parser.add_argument("--items", type=int, default=2_000, help="items per board")
    parser.add_argument("--latency", default="custom:base=0.1")
    parser.add_argument("--goal-s", type=float, default=30.0, help="wall time a run must stay under")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--tap-setting", type=_setting, action="append", default=[], metavar="NAME=JSON",
        help="extra tap config, e.g. rate_limit_first_wait_s=60 (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(prefix="tap-monday-429-") as tmp:
        for seed in args.seeds:
            row = run_one(args, seed, Path(tmp))
            rows.append(row)
            print(json.dumps(row), flush=True)
    ok = [
        r["exit"] == 0
        and not (r["missing"] or r["duplicates"] or r["unexpected"])
        and r["wall_s"] < args.goal_s
        for r in rows
    ]
    print(
        f"{sum(ok)}/{len(rows)} runs within {args.goal_s:g} s with every item once; wall s: "
        + ", ".join(f"{r['wall_s']:.1f}" for r in rows)
        + f"; empty 429s injected: {sum(r['empty_429_injected'] for r in rows)}"
    )
    if args.json is not None:
        args.json.write_text(json.dumps({"command": sys.argv, "rows": rows}, indent=2) + "\n")
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
