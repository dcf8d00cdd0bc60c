"""`make demo`: bundled emulator -> `meltano run tap-monday-boards target-postgres` -> embedded PostgreSQL.

What it shows: a real Meltano run (environment ``demo`` of meltano.yml) extracting a few boards with 20,000+
items from a local monday.com emulator that behaves like the real API (latency, limits, optional faults),
loaded into PostgreSQL with COPY. A second, small run then turns on ``board_streams`` for the first board
(docs/board_streams.md) and selects only that board's stream, which lands as a typed table
(``staging.board_<name>_<id>``: numbers ``numeric``, dates ``date``, people ``text[]``, ...). It prints rows
per ``staging`` table, items per second, the board table's column types and where the data is, then stops
everything it started. The data directory ``.pgdata/demo`` is kept for a later look.

Run from the project root: ``.venv/bin/python -m demo.run_demo --help``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from monday_emulator.testing import EmulatorProcess
from psycopg import sql

from tap_monday_boards.naming import stream_name
from tests.support.meltano import PROJECT_ROOT, MeltanoResult, run_meltano
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


def first_board(conn: PgConnection) -> tuple[str, str] | None:
    """(id, name) of the first loaded board that is not a subitems board: the one the board stream shows."""
    query = sql.SQL(
        "select id, name from {}.boards where type is distinct from 'sub_items_board' "
        "order by id::numeric limit 1"
    ).format(sql.Identifier(SCHEMA))
    with psycopg.connect(conn.url) as db:
        row = db.execute(query).fetchone()
    return (str(row[0]), str(row[1] or "")) if row else None


def column_types(conn: PgConnection, table: str) -> list[tuple[str, str]]:
    """(column, PostgreSQL type as ``format_type`` prints it) of a staging table, in column order."""
    query = """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped order by a.attnum
    """
    with psycopg.connect(conn.url) as db:
        return [(str(name), str(kind)) for name, kind in db.execute(query, (SCHEMA, table))]


def report_board_table(table: str, rows: int, types: list[tuple[str, str]], elapsed_s: float) -> None:
    """The board stream's table: what a typed staging table looks like."""
    print(f"\nBoard stream table {SCHEMA}.{table}: {rows:,} rows, loaded in {elapsed_s:.1f} s")
    width = max((len(name) for name, _ in types), default=10)
    for name, kind in types:
        print(f"  {name:<{width}}  {kind}")


def report(counts: dict[str, int], elapsed_s: float) -> None:
    """The summary a person reads at the end of the demo: rows per table and throughput."""
    width = max((len(t) for t in counts), default=10)
    print(f"\nRows loaded into schema '{SCHEMA}':")
    for table, rows in counts.items():
        print(f"  {table:<{width}}  {rows:>9,}")
    items = counts.get("items", 0) + counts.get("subitems", 0)
    print(f"\nmeltano run took {elapsed_s:.1f} s (start-up, discovery and loading included)")
    if elapsed_s > 0:
        print(f"items + subitems: {items:,} rows -> {items / elapsed_s:,.0f} items/s end to end")


def report_location(conn: PgConnection, data_dir: Path) -> None:
    """Where the data is and how to look at it again after the demo stopped the server."""
    print(f"\nData: {conn.url}  (schema {SCHEMA})")
    print(f"The server is stopped now; its data is kept in {data_dir}. To look at it again:")
    print(f"  .venv/bin/python -m tests.support.postgres --data-dir {data_dir}")
    print('  then: psql "<the URL it prints>" -c "select count(*) from staging.items"')


def succeeded(result: MeltanoResult, token: str, log: Path) -> bool:
    """True for exit 0; otherwise print the output's tail (token masked) and where the log is."""
    if result.returncode == 0:
        return True
    print(result.output[-4000:].replace(token, "***"), file=sys.stderr)
    print(f"\nmeltano {' '.join(result.args)} failed ({result.returncode}); log: {log}", file=sys.stderr)
    return False


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
        env = {"TAP_MONDAY_BOARDS_API_URL": url, "TAP_MONDAY_BOARDS_API_TOKEN": token, **conn.target_env()}
        result = run_meltano(
            ["--environment=demo", "run", "--full-refresh", "--refresh-catalog", *pipeline],
            env=env,
            log_path=LOG_DIR / "demo-run.log",
            timeout_s=1800,
        )
        elapsed = time.monotonic() - started
        if not succeeded(result, token, LOG_DIR / "demo-run.log"):
            return 1
        board = first_board(conn)
        if board is None:
            print("No board was loaded: nothing for the board stream to show", file=sys.stderr)
            return 1
        table = stream_name(board[1], board[0])
        print(f"Running the board stream {table} (board_streams, board_ids [{board[0]}]) ...", flush=True)
        board_env = {
            **env,
            "TAP_MONDAY_BOARDS_BOARD_STREAMS": "true",
            "TAP_MONDAY_BOARDS_BOARD_IDS": json.dumps([board[0]]),
            # Only this stream: boards, items, ... are already loaded.
            "TAP_MONDAY_BOARDS__SELECT_FILTER": json.dumps([table]),
        }
        board_started = time.monotonic()
        board_result = run_meltano(
            ["--environment=demo", "run", "--full-refresh", "--refresh-catalog", "--state-id-suffix",
             "board-stream", *pipeline],
            env=board_env,
            log_path=LOG_DIR / "demo-board-run.log",
            timeout_s=900,
        )  # fmt: skip
        board_elapsed = time.monotonic() - board_started
        if not succeeded(board_result, token, LOG_DIR / "demo-board-run.log"):
            return 1
        counts = table_counts(conn)
        report({t: n for t, n in counts.items() if t != table}, elapsed)
        report_board_table(table, counts.get(table, 0), column_types(conn, table), board_elapsed)
        report_location(conn, pg.data_dir)
        print(f"Logs: {LOG_DIR}/demo-*.log")
        return 0
    finally:
        emulator.stop()
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    sys.exit(main())
