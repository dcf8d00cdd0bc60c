"""End to end: ``meltano run tap-monday-boards target-postgres`` into a throwaway embedded PostgreSQL.

Reuses the project's own Meltano project (meltano.yml) and test support (tests/support: the embedded
server and the isolated Meltano runner), so the number is what a user running the demo would see. Only the
items stream is selected (``TAP_MONDAY_BOARDS__SELECT``), so records/s is comparable with the tap runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.processes import EmulatorProcess, EmulatorSpec
from benchmarks.truth import expected_item_ids

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TARGET_SCHEMA = "staging"
PLAN_CONCURRENCY = {"enterprise": 64, "pro": 64, "standard": 32}
"""The e2e run uses a tuned but not extreme concurrency (the demo's spirit), within each plan's cap."""


def _count_rows(url: str, table: str) -> int:
    import psycopg  # noqa: PLC0415 - test/bench-only dependency

    with psycopg.connect(url, connect_timeout=10) as db:
        row = db.execute(f'select count(*), count(distinct id) from {TARGET_SCHEMA}."{table}"').fetchone()
    assert row is not None
    total, distinct = int(row[0]), int(row[1])
    if total != distinct:
        raise AssertionError(f"{total - distinct} duplicated ids in {TARGET_SCHEMA}.{table}")
    return total


def run_e2e(items: int, latency: str, plan: str, seed: int, workdir: Path) -> dict[str, Any]:
    """One ``meltano run`` of a board of ``items``; returns wall time, records/s and rows loaded."""
    from tests.support.meltano import run_meltano  # noqa: PLC0415 - needs the repository checkout
    from tests.support.postgres import EmbeddedPostgres  # noqa: PLC0415

    if not (PROJECT_ROOT / ".meltano" / "loaders" / "target-postgres" / "venv").exists():
        # First run in a fresh clone: install the plugins (from PyPI) before anything is timed.
        run_meltano(["install"], timeout_s=900, log_path=workdir / "meltano-install.log").check()
    expected = expected_item_ids(seed, 1, items)
    boards = list(expected)
    spec = EmulatorSpec(seed=seed, boards=1, items=items, plan=plan, latency=latency)
    result: dict[str, Any] = {"items": items, "profile": f"{latency}-{plan}", "latency": latency}
    server = EmbeddedPostgres()
    connection = server.start()
    try:
        with EmulatorProcess(spec, workdir / "e2e") as emulator:
            env = {
                **connection.target_env(),
                "TAP_MONDAY_BOARDS_API_URL": emulator.url,
                "TAP_MONDAY_BOARDS_API_TOKEN": emulator.token,
                "TAP_MONDAY_BOARDS_BOARD_IDS": json.dumps(boards),
                "TAP_MONDAY_BOARDS__SELECT": json.dumps(["items.*"]),
                "TAP_MONDAY_BOARDS_MAX_CONCURRENCY": str(PLAN_CONCURRENCY.get(plan, 16)),
            }
            run = run_meltano(
                ["--environment=demo", "run", "--full-refresh", "tap-monday-boards", "target-postgres"],
                env=env,
                timeout_s=900,
                log_path=workdir / "e2e" / "meltano.log",
            )
        result["wall_s"] = run.elapsed_s
        if run.returncode != 0:
            result["error"] = f"meltano exited {run.returncode}: {run.output[-1500:]}"
            return result
        rows = _count_rows(connection.url, "items")
        result["rows_loaded"] = rows
        result["missing"] = max(0, sum(len(v) for v in expected.values()) - rows)
        result["records_per_s"] = rows / run.elapsed_s if run.elapsed_s > 0 else 0.0
        result["error"] = None
        return result
    finally:
        server.stop()

