"""``python -m benchmarks [--full | --smoke]``: run the matrix, write JSON + Markdown + PNG results.

Scratch data (emulator logs, request logs, catalogs) goes to a temporary directory unless ``--workdir``
keeps it; only the results land in ``--out`` (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import environment, write_results
from benchmarks.suite import build_plan, run_plan

ROOT = Path(__file__).resolve().parents[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0 when every run returned every item exactly once."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n", 1)[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="add the 100,000-item cases (tens of minutes)")
    mode.add_argument("--smoke", action="store_true", help="a tiny board on instant (seconds)")
    mode.add_argument(
        "--account", action="store_true", help="whole-account syncs, every stream selected (~1 hour)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="results directory")
    parser.add_argument("--stem", help="results file name without extension (default: latest-<mode>)")
    parser.add_argument("--workdir", type=Path, help="keep scratch files here instead of a temp dir")
    parser.add_argument("--no-e2e", action="store_true", help="skip the meltano + PostgreSQL run")
    parser.add_argument("--no-writer", action="store_true", help="skip the in-process writer benchmark")
    parser.add_argument(
        "--only", action="append", default=[], metavar="TEXT",
        help="run only the cases whose label contains TEXT (repeatable), e.g. --only 100000-tap_tuned",
    )
    args = parser.parse_args(argv)

    mode_name = "full" if args.full else "smoke" if args.smoke else "account" if args.account else "quick"
    plan = build_plan(mode_name, only=tuple(args.only), writer=not args.no_writer)
    command = "python -m benchmarks " + shlex.join(list(argv if argv is not None else sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="tap-monday-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        results = run_plan(plan, workdir, e2e=not args.no_e2e, progress=lambda m: print(m, flush=True))
    results.update({"mode": mode_name, "command": command.strip(), "environment": environment(ROOT)})
    paths = write_results(results, args.out, args.stem or f"latest-{mode_name}")
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    failed = [r["label"] for r in results["runs"] if not r["ok"]]
    if failed:
        print(f"runs with errors or missing/duplicated items: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
