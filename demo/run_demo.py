"""`make demo`: bundled emulator -> `meltano run tap-monday-boards target-postgres` -> embedded PostgreSQL.

What it shows: a real Meltano run (environment ``demo`` of meltano.yml) extracting a few boards with 20,000+
items from a local monday.com emulator that behaves like the real API (latency, limits, optional faults),
loaded into PostgreSQL with COPY. It prints rows per ``staging`` table, items per second and where the data
is, then stops everything it started. The data directory ``.pgdata/demo`` is kept for a later look.

Run from the project root: ``.venv/bin/python -m demo.run_demo --help``.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support.emulator import EmulatorProcess
from tests.support.meltano import PROJECT_ROOT, run_meltano
from tests.support.postgres import DataDirUnreachableError, EmbeddedPostgres, PgConnection

SCHEMA = "staging"
LOG_DIR = PROJECT_ROOT / ".meltano" / "logs"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Demo knobs; the defaults finish in a few minutes on 2 cores."""
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--boards", type=int, default=4, help="boards in the emulated account (default 4)")
    parser.add_argument("--items", type=int, default=5000, help="items per board (default 5,000 -> 20,000)")
    parser.add_argument(
        "--latency",
        default="production",
        help="emulator latency preset: production (monday-like, default) or instant",
    )
    parser.add_argument("--faults", type=float, default=0.0, help="share of answers that fail (e.g. 0.02)")
    parser.add_argument("--plan", default="enterprise", help="emulated plan: enterprise/pro/standard/trial")
    parser.add_argument("--seed", type=int, default=42, help="data and fault seed (default 42)")
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / ".pgdata" / "demo",
                        help="PostgreSQL data directory, kept after the demo (default .pgdata/demo)")
    return parser.parse_args(argv)


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start on ``data_dir``; as root, in a checkout the server's user cannot reach, use the temp dir."""
    server = EmbeddedPostgres(data_dir)
    try:
        server.start()
    except DataDirUnreachableError as exc:
        fallback = Path(tempfile.gettempdir()) / "tap-monday-boards-demo" / "pgdata"
        fallback.parent.mkdir(exist_ok=True)
        fallback.parent.chmod(0o755)
        print(f"{exc}\n-> using {fallback} instead", flush=True)
        server = EmbeddedPostgres(fallback)
        server.start()
    return server


def reset_schema(conn: PgConnection) -> None:
    """Start from an empty staging schema so the counts below are this run's, not an earlier demo's."""
    with psycopg.connect(conn.url, autocommit=True) as db:
        db.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(SCHEMA)))


def table_counts(conn: PgConnection) -> dict[str, int]:
    """Rows per table in the staging schema."""
    with psycopg.connect(conn.url) as db:
        listing = "select table_name from information_schema.tables where table_schema = %s order by 1"
        tables = [row[0] for row in db.execute(listing, (SCHEMA,))]
        counts: dict[str, int] = {}
        for table in tables:
            query = sql.SQL("select count(*) from {}.{}").format(
                sql.Identifier(SCHEMA), sql.Identifier(table)
            )
            row = db.execute(query).fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts


def report(counts: dict[str, int], elapsed_s: float, conn: PgConnection, data_dir: Path) -> None:
    """The summary a person reads at the end of the demo."""
    width = max((len(t) for t in counts), default=10)
    print(f"\nRows loaded into schema '{SCHEMA}':")
    for table, rows in counts.items():
        print(f"  {table:<{width}}  {rows:>9,}")
    items = counts.get("items", 0) + counts.get("subitems", 0)
    print(f"\nmeltano run took {elapsed_s:.1f} s (start-up, discovery and loading included)")
    if elapsed_s > 0:
        print(f"items + subitems: {items:,} rows -> {items / elapsed_s:,.0f} items/s end to end")
    print(f"\nData: {conn.url}  (schema {SCHEMA})")
    print(f"The server is stopped now; its data is kept in {data_dir}. To look at it again:")
    print(f"  .venv/bin/python -m tests.support.postgres --data-dir {data_dir}")
    print('  then: psql "<the URL it prints>" -c "select count(*) from staging.items"')


def main(argv: list[str] | None = None) -> int:
    """Start both servers, run the pipeline, report, and stop both servers whatever happens."""
    args = parse_args(argv)
    token = secrets.token_urlsafe(24)  # a fresh token per demo; never printed
    pg: EmbeddedPostgres | None = None
    emulator_args = ["--seed", str(args.seed), "--boards", str(args.boards), "--items", str(args.items)]
    emulator_args += ["--plan", args.plan, "--latency", args.latency, "--faults", str(args.faults)]
    emulator = EmulatorProcess(
        emulator_args,
        token=token,
        log_path=LOG_DIR / "demo-emulator.log",
    )
    try:
        print("Installing the Meltano plugins (first time only takes a while)...", flush=True)
        run_meltano(["install"], log_path=LOG_DIR / "demo-install.log").check()
        pg = start_postgres(args.data_dir)
        conn = pg.connection
        assert conn is not None
        print(f"PostgreSQL {conn.url} (data {pg.data_dir})", flush=True)
        reset_schema(conn)
        url = emulator.start()
        print(
            f"Emulator {url}: {args.boards} boards x {args.items:,} items, latency {args.latency}, "
            f"faults {args.faults:g}, plan {args.plan}",
            flush=True,
        )
        print("Running: meltano --environment=demo run tap-monday-boards target-postgres ...", flush=True)
        started = time.monotonic()
        pipeline = ["tap-monday-boards", "target-postgres"]
        result = run_meltano(
            ["--environment=demo", "run", "--full-refresh", "--refresh-catalog", *pipeline],
            env={"TAP_MONDAY_BOARDS_API_URL": url, "TAP_MONDAY_BOARDS_API_TOKEN": token, **conn.target_env()},
            log_path=LOG_DIR / "demo-run.log",
            timeout_s=1800,
        )
        elapsed = time.monotonic() - started
        if result.returncode != 0:
            print(result.output[-4000:].replace(token, "***"), file=sys.stderr)
            log = LOG_DIR / "demo-run.log"
            print(f"\nmeltano run failed ({result.returncode}); log: {log}", file=sys.stderr)
            return 1
        report(table_counts(conn), elapsed, conn, pg.data_dir)
        print(f"Logs: {LOG_DIR}/demo-*.log")
        return 0
    finally:
        emulator.stop()
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    sys.exit(main())
