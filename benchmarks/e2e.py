"""End to end: ``meltano --environment=demo run --full-refresh tap-monday-boards target-postgres``.

What a user would run on a fresh clone, with the API out of the way (emulator ``instant``, plan
``unlimited``, the tap's ``complexity_budget_per_minute`` and ``requests_per_minute`` raised through the
environment): every stream of the project's ``meltano.yml`` into a throwaway embedded PostgreSQL. Reported:

* rows of items + subitems per second of the whole ``meltano run`` (start-up, discovery and load included);
* CPU seconds per role (Meltano, tap discovery, tap sync, target, PostgreSQL; benchmarks/accounting.py) and
  how busy the rest of the machine was meanwhile;
* every loaded item and subitem checked against the emulator's ground truth (its ``Store`` rebuilt from the
  seed): each active item once, with its board, group, name, ``updated_at``, parent and every column's text;
* the tap alone on the same emulator, items stream only: records per CPU-second of the tap process.

``python -m benchmarks.e2e --help`` runs it on its own (e.g. ``--target validate_records=true`` to measure one
loader setting); ``make bench`` runs it with the defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.accounting import RunAccounting
from benchmarks.processes import EmulatorProcess, EmulatorSpec
from benchmarks.tap_runner import run_tap, tap_config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_SCHEMA = "staging"
RAISED_BUDGET = 1_000_000_000_000
RAISED_RATE = 1_000_000
MELTANO_TAP = PROJECT_ROOT / ".meltano/extractors/tap-monday-boards/venv/bin/tap-monday-boards"
"""The tap as ``meltano install`` installed it, the process a user's ``meltano run`` starts: its venv holds
the tap's own dependencies only. The project's ``.venv`` also holds the test, benchmark and emulator
packages (numpy among them, which singer-sdk's joblib then imports), ~0.1-0.2 s more start-up per process
that no user pays (docs/benchmarks.md, "The tap alone: in the venv Meltano installs")."""


@dataclass(frozen=True, slots=True)
class E2ESpec:
    """One end-to-end measurement."""

    boards: int = 4
    items: int = 12_500
    latency: str = "instant"
    plan: str = "unlimited"
    seed: int = 7
    target: Mapping[str, str] = field(default_factory=dict)
    """target-postgres settings to override (``TARGET_POSTGRES_<NAME>`` environment variables)."""
    tap: Mapping[str, str] = field(default_factory=dict)
    """tap settings to override (``TAP_MONDAY_BOARDS_<NAME>``) on top of the raised budget and rate."""
    select: tuple[str, ...] = ()
    """Meltano select patterns (``TAP_MONDAY_BOARDS__SELECT``) instead of meltano.yml's ``*.*``."""
    tap_alone: bool = True
    check: bool = True


def _setting_env(prefix: str, settings: Mapping[str, str]) -> dict[str, str]:
    return {f"{prefix}_{name.upper()}": value for name, value in settings.items()}


def pipeline_env(emulator: EmulatorProcess, spec: E2ESpec) -> dict[str, str]:
    """The environment of the measured ``meltano run``: emulator, raised budget and rate, overrides."""
    return {
        "TAP_MONDAY_BOARDS_API_URL": emulator.url,
        "TAP_MONDAY_BOARDS_API_TOKEN": emulator.token,
        "TAP_MONDAY_BOARDS_COMPLEXITY_BUDGET_PER_MINUTE": str(RAISED_BUDGET),
        "TAP_MONDAY_BOARDS_REQUESTS_PER_MINUTE": str(RAISED_RATE),
        **_setting_env("TAP_MONDAY_BOARDS", spec.tap),
        **_setting_env("TARGET_POSTGRES", spec.target),
        **({"TAP_MONDAY_BOARDS__SELECT": json.dumps(list(spec.select))} if spec.select else {}),
    }


def run_e2e(spec: E2ESpec, workdir: Path) -> dict[str, Any]:
    """One measured ``meltano run`` (plus the tap alone); never raises for a failed run."""
    from tests.support.meltano import run_meltano  # noqa: PLC0415 - needs the repository checkout
    from tests.support.postgres import EmbeddedPostgres  # noqa: PLC0415

    workdir.mkdir(parents=True, exist_ok=True)
    if not (PROJECT_ROOT / ".meltano" / "loaders" / "target-postgres" / "venv").exists():
        # First run in a fresh clone: install the plugins (from PyPI) before anything is timed.
        run_meltano(["install"], timeout_s=900, log_path=workdir / "meltano-install.log").check()
    result: dict[str, Any] = {
        "spec": {**asdict(spec), "target": {**spec.target}, "tap": {**spec.tap}, "select": [*spec.select]},
        "items": spec.boards * spec.items,
        "profile": f"{spec.latency}-{spec.plan}",
        "command": "meltano --environment=demo run --full-refresh tap-monday-boards target-postgres",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    emulator_spec = EmulatorSpec(
        seed=spec.seed, boards=spec.boards, items=spec.items, plan=spec.plan, latency=spec.latency
    )
    server = EmbeddedPostgres()
    connection = server.start()
    try:
        with EmulatorProcess(emulator_spec, workdir / "emulator") as emulator:
            emulator_before = emulator.cpu_seconds()
            with RunAccounting(exclude=[emulator.pid], server_pid=server.postmaster_pid()) as accounting:
                run = run_meltano(
                    ["--environment=demo", "run", "--full-refresh", "tap-monday-boards", "target-postgres"],
                    env={**connection.target_env(), **pipeline_env(emulator, spec)},
                    timeout_s=1800,
                    log_path=workdir / "meltano.log",
                )
            result["emulator_cpu_s"] = round(emulator.cpu_seconds() - emulator_before, 2)
            result["wall_s"] = run.elapsed_s
            result["accounting"] = accounting.summary()
            machine = result["accounting"]["machine"]
            machine["others_core_s"] = round(max(0.0, machine["others_core_s"] - result["emulator_cpu_s"]), 1)
            if run.returncode != 0:
                result["error"] = f"meltano exited {run.returncode}: {run.output[-1500:]}"
                return result
            tables = table_counts(connection.url)
            result["tables"] = tables
            rows = tables.get("items", 0) + tables.get("subitems", 0)
            result["rows"] = rows
            result["rows_per_s"] = rows / run.elapsed_s if run.elapsed_s > 0 else 0.0
            if spec.tap_alone:
                result["tap_alone"] = tap_alone(emulator, workdir / "tap-alone", installed_tap())
            if spec.check:
                result["truth"] = check_loaded(connection.url, spec)
        result["error"] = None
        if spec.check and not result["truth"]["ok"]:
            result["error"] = f"loaded rows differ from the ground truth: {result['truth']}"
        return result
    finally:
        server.stop()


def table_counts(url: str) -> dict[str, int]:
    """Rows per table of the target schema."""
    import psycopg  # noqa: PLC0415 - test/bench-only dependency
    from psycopg import sql  # noqa: PLC0415

    with psycopg.connect(url, connect_timeout=10) as db:
        listing = "select table_name from information_schema.tables where table_schema = %s order by 1"
        tables = [row[0] for row in db.execute(listing, (TARGET_SCHEMA,))]
        counts: dict[str, int] = {}
        for table in tables:
            query = sql.SQL("select count(*) from {}").format(sql.Identifier(TARGET_SCHEMA, table))
            row = db.execute(query).fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts


def _as_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def check_loaded(url: str, spec: E2ESpec) -> dict[str, Any]:
    """Items and subitems tables against the ground truth: each active item once, its fields and texts."""
    import psycopg  # noqa: PLC0415 - test/bench-only dependency
    from monday_emulator.data import Store  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    store = Store(seed=spec.seed, boards=spec.boards, items_per_board=spec.items)
    report: dict[str, Any] = {"ok": True}
    columns = "id, board_id, group_id, name, updated_at, parent_item_id, column_values"
    with psycopg.connect(url, connect_timeout=10) as db:
        for stream, subitems in (("items", False), ("subitems", True)):
            truth: dict[str, str] = {}
            for board_id in store.board_ids():
                target = store.subitem_board_id(board_id) if subitems else board_id
                if target is not None:
                    truth.update(dict.fromkeys(store.item_ids(target), target))
            query = sql.SQL(f"select {columns} from {{}}").format(sql.Identifier(TARGET_SCHEMA, stream))
            rows = db.execute(query).fetchall()
            ids = [r[0] for r in rows]
            wrong: list[str] = []
            for item_id, board_id, group_id, name, updated_at, parent_id, values in rows:
                want = store.render_item(item_id) if item_id in truth else None
                if want is None or not _same(want, board_id, group_id, name, updated_at, parent_id, values):
                    wrong.append(item_id)
            missing = len(set(truth) - set(ids))
            entry = {"expected": len(truth), "loaded": len(ids), "duplicates": len(ids) - len(set(ids)),
                     "missing": missing, "wrong": len(wrong), "wrong_sample": wrong[:5]}  # fmt: skip
            report[stream] = entry
            report["ok"] = report["ok"] and not (entry["duplicates"] or missing or wrong)
    return report


def _same(want: dict[str, Any], board_id: str, group_id: str, name: str, updated_at: datetime,
          parent_id: str | None, values: Any) -> bool:  # fmt: skip
    if (board_id, group_id, name) != (want["board"]["id"], want["group"]["id"], want["name"]):
        return False
    if updated_at != _as_utc(want["updated_at"]) or parent_id != (want["parent_item"] or {}).get("id"):
        return False
    if not isinstance(values, dict) or set(values) != {cv["id"] for cv in want["column_values"]}:
        return False
    return all(values[cv["id"]].get("text") == cv["text"] for cv in want["column_values"])


def installed_tap() -> Path | None:
    """:data:`MELTANO_TAP` when ``meltano install`` has made it, else None (the project's venv then)."""
    return MELTANO_TAP if MELTANO_TAP.exists() else None


def _venv_name(executable: Path | None) -> str:
    return "meltano plugin venv" if executable == MELTANO_TAP else str(executable or "project venv")


def tap_alone(emulator: EmulatorProcess, workdir: Path, executable: Path | None = None) -> dict[str, Any]:
    """The tap process alone (items stream only, raised budget and rate): records per CPU-second.

    ``executable``: the tap's console script (the e2e run passes :func:`installed_tap`'s)."""
    config = tap_config(
        emulator.url,
        emulator.token,
        [],
        {"complexity_budget_per_minute": RAISED_BUDGET, "requests_per_minute": RAISED_RATE},
    )
    config.pop("board_ids")  # every board, as in the meltano run
    run = run_tap(config, workdir, executable=None if executable is None else str(executable))
    records = run.records.get("items", 0)
    return {
        "executable": _venv_name(executable),
        "returncode": run.returncode,
        "records": records,
        "wall_s": round(run.wall_s, 2),
        "cpu_s": round(run.cpu_s, 2),
        "records_per_cpu_s": records / run.cpu_s if run.cpu_s > 0 else 0.0,
        "peak_rss_mb": round(run.polled_peak_rss_bytes / 2**20, 1),  # sampled: wait4 counts the fork
        "error": None if run.returncode == 0 else run.stderr_tail[-1500:],
    }


def summary_lines(result: Mapping[str, Any]) -> list[str]:
    """A few human lines for the console."""
    if result.get("wall_s") is None:
        return [f"end-to-end: not measured: {result.get('error')}"]
    acc = result.get("accounting", {})
    lines = [
        f"meltano run: {result['wall_s']:.1f} s, {result.get('rows', 0):,} items+subitems rows, "
        f"{result.get('rows_per_s', 0):,.0f} rows/s; tables {result.get('tables')}",
        f"CPU s by role: {acc.get('cpu_s_by_role')}, emulator {result.get('emulator_cpu_s')}; "
        f"exact children total {acc.get('cpu_s_children_exact')}",
        f"machine: {acc.get('machine')}",
    ]
    if "truth" in result:
        lines.append(f"ground truth: {result['truth']}")
    if "tap_alone" in result:
        alone = result["tap_alone"]
        lines.append(
            f"tap alone (items only): {alone['records']:,} records, {alone['cpu_s']:.2f} CPU s, "
            f"{alone['records_per_cpu_s']:,.0f} records per CPU-second, {alone['wall_s']:.1f} s wall "
            f"({alone.get('executable', 'project venv')})"
        )
    if result.get("error"):
        lines.append(f"ERROR: {result['error']}")
    return lines


def _pairs(values: Sequence[str]) -> dict[str, str]:
    pairs = dict(v.split("=", 1) for v in values)
    return {k.strip(): v.strip() for k, v in pairs.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.e2e``: one measurement, printed and optionally written as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--boards", type=int, default=4)
    parser.add_argument("--items", type=int, default=12_500, help="items per board (default 12,500)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--target", action="append", default=[], metavar="NAME=VALUE",
                        help="target-postgres setting override, e.g. validate_records=true (repeatable)")
    parser.add_argument("--tap", action="append", default=[], metavar="NAME=VALUE",
                        help="tap setting override, e.g. max_concurrency=8 (repeatable)")
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="PATTERN",
        help="Meltano select pattern instead of meltano.yml's *.* (repeatable), e.g. items.*",
    )
    parser.add_argument("--no-tap-alone", action="store_true", help="skip the tap-alone run")
    parser.add_argument("--no-check", action="store_true", help="skip the ground-truth check")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/tap-monday-e2e"))
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)  # fmt: skip
    spec = E2ESpec(
        boards=args.boards,
        items=args.items,
        seed=args.seed,
        target=_pairs(args.target),
        tap=_pairs(args.tap),
        select=tuple(args.select),
        tap_alone=not args.no_tap_alone,
        check=not args.no_check,
    )
    started = time.perf_counter()
    result = run_e2e(spec, args.workdir)
    result["elapsed_s"] = time.perf_counter() - started
    print("\n".join(summary_lines(result)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0 if result.get("error") is None else 1


if __name__ == "__main__":
    sys.exit(main())
