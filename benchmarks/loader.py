"""The loader alone: one recorded tap output replayed into target-postgres per setting, CPU from the kernel.

Why: in a whole ``meltano run`` the tap, Meltano's pipe, the target and PostgreSQL share two cores, so one
loader setting's effect drowns in the noise. Here the tap's output is recorded once (the real tap, every
stream, against the emulator) and fed to the target from a file, once per variant and alternating between
variants, on a fresh schema of one embedded PostgreSQL: the target's CPU comes from ``wait4`` (exact) and
PostgreSQL's from its processes (benchmarks/accounting.py). docs/benchmarks.md lists what each lever gave.

    python -m benchmarks.loader record /tmp/tap-output.jsonl           # 4 boards x 12,500 items, instant
    python -m benchmarks.loader replay /tmp/tap-output.jsonl --rounds 3 \\
        --variant '{}' --variant '{"validate_records": true}' --variant '{"use_copy": false}'

A variant is a JSON object of target-postgres settings on top of meltano.yml's loader ``config``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.accounting import _server_cpu
from benchmarks.e2e import RAISED_BUDGET, RAISED_RATE
from benchmarks.processes import EmulatorProcess, EmulatorSpec, reap
from benchmarks.tap_runner import EVERY_STREAM, tap_argv

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET = PROJECT_ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "target-postgres"


def record(out: Path, *, boards: int, items: int, seed: int, workdir: Path) -> dict[str, Any]:
    """Run the tap (every stream selected, as ``select: ["*.*"]``) and write its stdout to ``out``."""
    spec = EmulatorSpec(seed=seed, boards=boards, items=items, plan="unlimited", latency="instant")
    with EmulatorProcess(spec, workdir / "emulator") as emulator:
        config = {
            "api_url": emulator.url,
            "api_token": emulator.token,
            "complexity_budget_per_minute": RAISED_BUDGET,
            "requests_per_minute": RAISED_RATE,
        }
        argv = tap_argv(config, workdir, streams={EVERY_STREAM})
        with out.open("wb") as sink, (workdir / "tap.stderr.log").open("wb") as log:
            subprocess.run(argv, stdout=sink, stderr=log, check=True, timeout=1800)
    lines = sum(1 for _ in out.open("rb"))
    return {"file": str(out), "bytes": out.stat().st_size, "lines": lines}


def replay(
    path: Path, variants: Sequence[dict[str, Any]], rounds: int, workdir: Path
) -> list[dict[str, Any]]:
    """Each variant ``rounds`` times (variants alternate), each into its own schema; one result per run."""
    from tests.support.postgres import EmbeddedPostgres  # noqa: PLC0415 - needs the repository checkout

    base = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())["plugins"]["loaders"][0]["config"]
    results: list[dict[str, Any]] = []
    server = EmbeddedPostgres()
    conn = server.start()
    try:
        for run in range(rounds):
            for index, variant in enumerate(variants):
                where = {"host": conn.host, "port": conn.port, "user": conn.user, "database": conn.database}
                config = {**base, **where, "password": conn.password, **variant}
                config["default_target_schema"] = f"replay_{run}_{index}"
                config_path = workdir / f"target-{run}-{index}.json"
                config_path.write_text(json.dumps(config))
                pg_before = _server_cpu(server.postmaster_pid())
                started = time.perf_counter()
                with path.open("rb") as stdin, (workdir / "target.log").open("wb") as log:
                    process = subprocess.Popen(
                        [str(TARGET), "--config", str(config_path)],
                        stdin=stdin,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                    )
                    usage = reap(process)
                results.append(
                    {
                        "variant": variant,
                        "round": run,
                        "returncode": usage.returncode,
                        "wall_s": round(time.perf_counter() - started, 2),
                        "target_cpu_s": round(usage.cpu_s, 2),
                        "postgres_cpu_s": round(_server_cpu(server.postmaster_pid()) - pg_before, 2),
                    }
                )
                print(json.dumps(results[-1]), flush=True)
    finally:
        server.stop()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.loader record|replay``."""
    description = __doc__.split("\n", 1)[0]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loader", description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="record the tap's output of an emulated account")
    rec.add_argument("out", type=Path)
    rec.add_argument("--boards", type=int, default=4)
    rec.add_argument("--items", type=int, default=12_500)
    rec.add_argument("--seed", type=int, default=7)
    rep = sub.add_parser("replay", help="replay a recorded output into target-postgres per variant")
    rep.add_argument("file", type=Path)
    rep.add_argument("--variant", action="append", default=[], help="JSON object of target settings")
    rep.add_argument("--rounds", type=int, default=3)
    for command in (rec, rep):
        command.add_argument("--workdir", type=Path, default=Path("/tmp/tap-monday-loader"))
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.command == "record":
        size = {"boards": args.boards, "items": args.items, "seed": args.seed}
        recorded = record(args.out, workdir=args.workdir, **size)
        print(json.dumps(recorded))
        return 0
    variants = [json.loads(v) for v in args.variant] or [{}]
    results = replay(args.file, variants, args.rounds, args.workdir)
    return 0 if all(r["returncode"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
