"""End to end: emulator (5,000+ items, 2% faults) -> the real `meltano run tap-monday-boards target-postgres`.

What a user gets is what this checks, against the emulator's ground truth (its ``Store``): every active item
and subitem exactly once with the right values, every board, group and column, the rows of assets,
board_views, board_subscribers and (turned on here) update_replies and item_subscribers, no duplicate keys,
column types a warehouse can use (ids text, timestamps timestamp, numbers numeric, ``column_values`` one
``jsonb``), and the API token nowhere in the run's output. Meltano runs with the ``demo`` environment of
meltano.yml, the plugins installed from PyPI, and Meltano Hub unreachable.

Board streams: a second, small ``meltano run`` turns on ``board_streams`` for one board and
selects only that board's stream (``TAP_MONDAY_BOARDS__SELECT_FILTER``), into its own schema. Its table must
have exactly the column types ``pg_types.expected_postgres_types`` promises (``format_type``), one row
per active item of the board, and typed values equal to the emulator's rendered column values.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from monday_emulator.faults import FaultConfig, FaultKind
from monday_emulator.server import EmulatorConfig
from monday_emulator.testing import RunningEmulator, running_emulator
from psycopg import sql

from tap_monday_boards.board_layout import BoardColumn, BoardLayout, build_layout
from tap_monday_boards.tap import TapMondayBoards
from tests.support import extras_truth
from tests.support.meltano import PROJECT_ROOT, MeltanoResult, run_meltano
from tests.support.pg_types import expected_postgres_types
from tests.support.postgres import PgConnection, postgres_server
from tests.support.truth import expected_property

pytestmark = [pytest.mark.postgres, pytest.mark.meltano, pytest.mark.timeout(600)]

BOARDS = 2
ITEMS_PER_BOARD = 2_600  # 5,200 items (+ ~10% subitems) over two boards
FAULT_RATE = 0.02
# Faults are drawn per request number from the seed; with seed 18 requests 4, 12, 19, 30 and 36 fail (503,
# partial data, FIELD_LIMIT_EXCEEDED, truncated JSON, connection reset), so every run meets some.
SEED = 18
ENGINE_OPERATIONS = {
    "HarvestFirstPage", "HarvestFirstPages", "HarvestGroupFirstPage", "HarvestNextPage", "ItemsByIds",
}  # fmt: skip
"""Every request of the items engine (harvest chains, one per board or per group, and the detail batches)."""
OPT_IN = {"TAP_MONDAY_BOARDS_ITEM_SUBSCRIBERS": "true", "TAP_MONDAY_BOARDS_UPDATE_REPLIES": "true"}
"""Opt-in streams the main run turns on, so that they are loaded too."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """One finished pipeline run: where the rows are and what the emulator served."""

    conn: PgConnection
    schema: str
    run: MeltanoResult
    emulator: RunningEmulator
    token: str

    def query(self, statement: str | sql.Composed, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.conn.url) as db:
            return db.execute(statement, params).fetchall()

    def table(self, name: str) -> sql.Composable:
        return sql.Identifier(self.schema, name)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Emulator + PostgreSQL + one `meltano run`, shared by the assertions below (it is the slow part)."""
    token = f"e2e-{secrets.token_hex(12)}"
    schema = f"e2e_{secrets.token_hex(4)}"  # never `staging` of a server given by TAP_MONDAY_TEST_PG_URL
    logs = tmp_path_factory.mktemp("meltano")
    # Every fault kind but the bare 429: with no Retry-After the tap rightly waits a full minute for it, which
    # would only make this test slow (the engine's own tests cover it). Slow answers outlast the 2 s timeout.
    kinds = frozenset(FaultKind) - {FaultKind.EMPTY_429}
    faults = FaultConfig.mixed(FAULT_RATE, slow_delay_s=4.0, kinds=kinds)
    config = EmulatorConfig(seed=SEED, boards=BOARDS, items_per_board=ITEMS_PER_BOARD, latency="instant",
                            faults=faults, token=token)
    run_meltano(["install"], log_path=logs / "install.log", timeout_s=900).check()
    with running_emulator(config) as emulator, postgres_server() as conn:
        run = _pipeline(conn, schema, emulator, token, logs / "run.log", OPT_IN)
        try:
            yield Loaded(conn, schema, run, emulator, token)
        finally:
            with psycopg.connect(conn.url, autocommit=True) as db:
                for name in (schema, _board_schema(schema)):
                    db.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))


def _pipeline(
    conn: PgConnection,
    schema: str,
    emulator: RunningEmulator,
    token: str,
    log_path: Path,
    extra_env: Mapping[str, str] | None = None,
) -> MeltanoResult:
    """One full-refresh `meltano run` from the emulator into ``schema`` (the schema is its state id too)."""
    env = {
        "TAP_MONDAY_BOARDS_API_URL": emulator.url,
        "TAP_MONDAY_BOARDS_API_TOKEN": token,
        "TAP_MONDAY_BOARDS_REQUEST_TIMEOUT": "2",
        "TAP_MONDAY_BOARDS_MAX_RETRIES": "10",
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        **conn.target_env(),
        **(extra_env or {}),
    }
    return run_meltano(
        ["--environment=demo", "run", "--full-refresh", "--refresh-catalog", "--state-id-suffix", schema,
         "tap-monday-boards", "target-postgres"],
        env=env, log_path=log_path, timeout_s=480,
    )  # fmt: skip


def _board_schema(schema: str) -> str:
    return f"{schema}_board"


@dataclass(frozen=True, slots=True)
class BoardLoaded:
    """The board-stream run: its result, the layout the tap must have used, and where the table is."""

    loaded: Loaded
    board_id: str
    layout: BoardLayout

    @property
    def table(self) -> sql.Composable:
        return sql.Identifier(self.loaded.schema, self.layout.stream_name)


@pytest.fixture(scope="module")
def board_loaded(loaded: Loaded, tmp_path_factory: pytest.TempPathFactory) -> BoardLoaded:
    """Second, small run: ``board_streams`` on for the first board, only its stream selected, own schema.

    The layout comes from ``build_layout`` over the emulator's own column list (it is pure, so the tap's
    discovery must arrive at the same names): the test does not ask the tap what it is supposed to check.
    """
    store = loaded.emulator.emulator.store
    board_id = store.board_ids()[0]
    info = store.board(board_id)
    assert info is not None
    columns = [BoardColumn(c["id"], c["title"], c["type"]) for c in info["columns"]]
    layout = build_layout(board_id, info["name"], columns)
    schema = _board_schema(loaded.schema)
    extra = {
        "TAP_MONDAY_BOARDS_BOARD_STREAMS": "true",
        "TAP_MONDAY_BOARDS_BOARD_IDS": json.dumps([board_id]),
        "TAP_MONDAY_BOARDS__SELECT_FILTER": json.dumps([layout.stream_name]),
    }
    log_path = tmp_path_factory.mktemp("meltano-board") / "run.log"
    run = _pipeline(loaded.conn, schema, loaded.emulator, loaded.token, log_path, extra)
    return BoardLoaded(Loaded(loaded.conn, schema, run, loaded.emulator, loaded.token), board_id, layout)


def _ground_truth_items(emulator: RunningEmulator, *, subitems: bool) -> dict[str, dict[str, Any]]:
    """Every active item (or subitem) the emulator holds, rendered exactly as `items(ids:)` returns it."""
    store = emulator.emulator.store
    truth: dict[str, dict[str, Any]] = {}
    for board_id in store.board_ids():
        target = store.subitem_board_id(board_id) if subitems else board_id
        board = store.board_obj(target) if target else None
        if board is None:
            continue
        for pos in store.iter_positions(board, 0, board.positions):
            if store.state_of(board, pos) == "active":
                item = store.render_item(board.item_base + pos)
                assert item is not None
                truth[item["id"]] = item
    return truth


def _as_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def test_the_run_succeeds_despite_faults_and_never_prints_the_token(loaded: Loaded) -> None:
    assert loaded.run.returncode == 0, loaded.run.output[-6000:]
    log = loaded.emulator.emulator.metrics.request_log
    faulted = [r for r in log if r.fault]
    assert len(faulted) >= 3, "too few faults were injected: the run proved little"
    assert any(r.operation in ENGINE_OPERATIONS for r in faulted), "no fault hit the items engine"
    assert loaded.token not in loaded.run.output


@pytest.mark.parametrize("stream", ["items", "subitems"])
def test_every_active_item_arrives_once_with_its_values(loaded: Loaded, stream: str) -> None:
    truth = _ground_truth_items(loaded.emulator, subitems=stream == "subitems")
    assert len(truth) >= (5_000 if stream == "items" else 1)
    columns = "id, board_id, group_id, name, updated_at, parent_item_id, column_values"
    rows = loaded.query(sql.SQL(f"select {columns} from {{}}").format(loaded.table(stream)))
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    missing, unexpected = set(truth) - set(ids), set(ids) - set(truth)
    assert not missing and not unexpected, f"missing {len(missing)}, unexpected {len(unexpected)}"
    for item_id, board_id, group_id, name, updated_at, parent_id, values in rows:
        want = truth[item_id]
        assert (board_id, group_id, name) == (want["board"]["id"], want["group"]["id"], want["name"])
        assert updated_at == _as_utc(want["updated_at"]), item_id
        assert parent_id == (want["parent_item"] or {}).get("id"), item_id
        assert isinstance(values, dict), "column_values must load as one jsonb object"
        assert set(values) == {cv["id"] for cv in want["column_values"]}, item_id
        for cv in want["column_values"]:
            assert values[cv["id"]]["text"] == cv["text"], (item_id, cv["id"])


def test_boards_groups_and_columns_match_the_account(loaded: Loaded) -> None:
    store = loaded.emulator.emulator.store
    board_rows = loaded.query(sql.SQL("select id, name, items_count from {}").format(loaded.table("boards")))
    boards = {r[0]: r for r in board_rows}
    assert len(boards) == len(board_rows)
    assert set(store.board_ids()) <= set(boards)
    expected_groups: set[tuple[str, str]] = set()
    expected_columns: set[tuple[str, str]] = set()
    for board_id in boards:
        info = store.board(board_id)
        assert info is not None, f"unknown board {board_id} loaded"
        assert boards[board_id][1:] == (info["name"], info["items_count"]), board_id
        expected_groups |= {(board_id, g["id"]) for g in info["groups"]}
        expected_columns |= {(board_id, c["id"]) for c in info["columns"]}
    for table, expected in (("groups", expected_groups), ("columns", expected_columns)):
        rows = loaded.query(sql.SQL("select board_id, id from {}").format(loaded.table(table)))
        assert len(rows) == len(set(rows)), f"duplicate keys in {table}"
        assert set(rows) == expected, table


def test_the_new_streams_load_exactly_the_ground_truth(loaded: Loaded) -> None:
    store = loaded.emulator.emulator.store
    items = extras_truth.active_item_ids(store)
    emitted = [*items, *extras_truth.active_item_ids(store, subitems=True)]
    expected = {
        "board_subscribers": (("board_id", "user_id", "role"), extras_truth.board_subscribers(store)),
        "board_views": (("id", "board_id", "name", "source_view_id"), extras_truth.board_views(store)),
        "update_replies": (("id", "update_id", "item_id", "text_body"), extras_truth.update_replies(store)),
        "item_subscribers": (("item_id", "user_id", "board_id"), extras_truth.item_subscribers(store, items)),
        "assets": (("id", "item_id", "update_id", "name", "file_size", "uploaded_by_id"),
                   extras_truth.assets(store, emitted)),
    }  # fmt: skip
    for table, (columns, rows) in expected.items():
        assert rows, f"no ground truth for {table}: the check would prove nothing"
        select = sql.SQL("select {} from {}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns), loaded.table(table))
        loaded_rows = loaded.query(select)
        assert len(loaded_rows) == len(rows), (table, len(loaded_rows), len(rows))
        want = [tuple(r[c] for c in columns) for r in rows]
        assert sorted(loaded_rows, key=repr) == sorted(want, key=repr), table
    (stamp,) = loaded.query(sql.SQL("select min(created_at) from {}").format(loaded.table("assets")))[0]
    assert isinstance(stamp, datetime), "assets.created_at loads as a timestamp"


def _catalog_streams() -> dict[str, dict[str, Any]]:
    """Stream name -> (key properties, JSON schema) from the tap's own discovery (no network needed)."""
    tap = TapMondayBoards(config={"api_token": "unused", "api_url": "http://127.0.0.1:9/v2",
                                  "item_subscribers": True, "update_replies": True},
                          validate_config=True, setup_mapper=False)
    return {s.name: {"keys": list(s.primary_keys or ()), "schema": s.schema} for s in tap.streams.values()}


def _expected_pg_type(prop: dict[str, Any]) -> set[str]:
    types = set(prop.get("type", [])) if isinstance(prop.get("type"), list) else {prop.get("type")}
    types.discard("null")
    if types == {"string"}:
        return {"timestamp without time zone"} if prop.get("format") == "date-time" else (
            {"date"} if prop.get("format") == "date" else {"text"})
    if types == {"integer"}:
        return {"bigint", "integer", "smallint"}
    if types == {"number"}:
        return {"numeric"}
    if types == {"boolean"}:
        return {"boolean"}
    if types == {"object"}:
        return {"jsonb"}
    if types == {"array"}:
        return {"ARRAY", "jsonb"}
    return {"jsonb", "text"}  # unions (anyOf / several types) load as JSON or text


def test_column_types_follow_the_schemas(loaded: Loaded) -> None:
    rows = loaded.query(
        "select table_name, column_name, data_type, udt_name from information_schema.columns "
        "where table_schema = %s",
        (loaded.schema,),
    )
    columns = {(t, c): (d, u) for t, c, d, u in rows}
    loaded_tables = {t for t, _ in columns}
    catalog = _catalog_streams()
    assert {"items", "subitems", "boards", "groups", "columns"} <= loaded_tables
    for stream in loaded_tables:
        for name, prop in catalog[stream]["schema"]["properties"].items():
            data_type = columns[(stream, name)][0]
            assert data_type in _expected_pg_type(prop), (stream, name, data_type)
            if name == "id" or name.endswith("_id"):
                assert data_type == "text", f"{stream}.{name} is an id: {data_type}"
        assert ("_sdc_extracted_at" in {c for t, c in columns if t == stream}), stream
    assert columns[("items", "column_values")] == ("jsonb", "jsonb"), "column_values: jsonb, not jsonb[]"
    assert columns[("items", "updated_at")][0] == "timestamp without time zone"


def test_primary_keys_have_no_duplicates(loaded: Loaded) -> None:
    catalog = _catalog_streams()
    tables = {r[0] for r in loaded.query(
        "select table_name from information_schema.tables where table_schema = %s", (loaded.schema,))}
    assert tables, "nothing was loaded"
    for table in tables:
        keys = catalog[table]["keys"]
        assert keys, f"stream {table} has no primary key"
        key_sql = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
        (dupes,) = loaded.query(sql.SQL(
            "select count(*) from (select {k} from {t} group by {k} having count(*) > 1) d"
        ).format(k=key_sql, t=loaded.table(table)))
        assert dupes == (0,), f"{table} has duplicate keys"
        (nulls,) = loaded.query(sql.SQL("select count(*) from {t} where {cond}").format(
            t=loaded.table(table),
            cond=sql.SQL(" or ").join(sql.SQL("{} is null").format(sql.Identifier(k)) for k in keys),
        ))
        assert nulls == (0,), f"{table} has null keys"


def test_state_holds_a_bookmark_per_board(loaded: Loaded, tmp_path: Path) -> None:
    state_id = f"demo:tap-monday-boards-to-target-postgres:{loaded.schema}"
    result = run_meltano(["--environment=demo", "state", "get", state_id], log_path=tmp_path / "state.log",
                         timeout_s=120).check()
    state = json.loads(result.output[result.output.index("{"):])
    items_state = state["singer_state"]["bookmarks"]["items"]
    boards = {p["context"]["board_id"] for p in items_state.get("partitions", [])}
    assert boards == set(loaded.emulator.emulator.store.board_ids()), items_state
    assert loaded.token not in result.output
    assert PROJECT_ROOT.joinpath(".meltano", "meltano.db").exists(), "state lives in the systemdb backend"


# --- board streams ----------------------------------------------------------------------

_FORMAT_TYPES = """
    select a.attname, format_type(a.atttypid, a.atttypmod)
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped
"""


def test_the_board_stream_run_loads_only_that_board_stream(board_loaded: BoardLoaded) -> None:
    run = board_loaded.loaded.run
    assert run.returncode == 0, run.output[-6000:]
    assert board_loaded.loaded.token not in run.output
    listing = "select table_name from information_schema.tables where table_schema = %s"
    tables = {r[0] for r in board_loaded.loaded.query(listing, (board_loaded.loaded.schema,))}
    assert tables == {board_loaded.layout.stream_name}, "the select filter should leave only the board stream"


def test_board_stream_column_types_are_the_promised_ones(board_loaded: BoardLoaded) -> None:
    expected = expected_postgres_types(board_loaded.layout)
    by_kind = set(expected.values())
    # The board has every generated column type, so each mapping below is really exercised.
    assert {"numeric", "date", "boolean", "text[]", "bigint", "jsonb"} <= by_kind, by_kind
    where = (board_loaded.loaded.schema, board_loaded.layout.stream_name)
    actual = dict(board_loaded.loaded.query(_FORMAT_TYPES, where))
    assert actual, "the board stream's table was not created"
    wrong = {n: (actual.get(n), t) for n, t in expected.items() if actual.get(n) != t}
    assert not wrong, f"(loaded, expected) per property: {wrong}"
    extra = set(actual) - set(expected)
    assert extra and all(n.startswith("_sdc_") for n in extra), extra  # only target-postgres metadata on top


def test_board_stream_has_one_row_per_active_item(board_loaded: BoardLoaded) -> None:
    active = board_loaded.loaded.emulator.emulator.store.item_ids(board_loaded.board_id)
    assert len(active) >= 2_000
    rows = board_loaded.loaded.query(sql.SQL("select id, board_id from {}").format(board_loaded.table))
    assert len(rows) == len(active)
    assert sorted(r[0] for r in rows) == sorted(active)
    assert {r[1] for r in rows} == {board_loaded.board_id}


def _typed_truth(column_type: str, field: str, raw: Mapping[str, Any]) -> Any:
    """The value psycopg should read back: the board stream's value (tests/support/truth.py) as
    PostgreSQL returns its type - numeric as Decimal, date as a date."""
    value = expected_property(column_type, field, raw)
    if column_type in {"numbers", "location"}:
        return None if value is None else Decimal(str(value))
    if column_type in {"date", "timeline"}:
        return None if not value else date.fromisoformat(value[:10])
    return value


TYPED_CHECKS = ("numbers", "date", "timeline", "checkbox", "location", "dropdown", "people", "tags", "rating",
                "status")


def test_board_stream_typed_values_match_the_emulator(board_loaded: BoardLoaded) -> None:
    store = board_loaded.loaded.emulator.emulator.store
    checked = [(c, name, field) for c in board_loaded.layout.columns if c.column_type in TYPED_CHECKS
               for name, field in c.properties if not (c.column_type == "location" and field == "address")]
    assert {c.column_type for c, _, _ in checked} == set(TYPED_CHECKS)
    select = sql.SQL("select id, {} from {}").format(
        sql.SQL(", ").join(sql.Identifier(name) for _, name, _ in checked), board_loaded.table)
    rows = board_loaded.loaded.query(select)
    assert rows
    non_null: dict[str, int] = {}
    for item_id, *values in rows:
        truth = store.render_item(item_id)
        assert truth is not None
        rendered = {v["id"]: v for v in truth["column_values"]}
        for (column, name, field), value in zip(checked, values, strict=True):
            want = _typed_truth(column.column_type, field, rendered[column.column_id])
            if isinstance(want, Decimal) and isinstance(value, Decimal):
                assert value.compare(want) == 0, (item_id, name, value, want)
            else:
                assert value == want, (item_id, name, value, want)
            non_null[name] = non_null.get(name, 0) + (value not in (None, []))
    empty = sorted(n for n, count in non_null.items() if count == 0 and not n.endswith("_team_ids"))
    assert not empty, f"never a value in {empty}: the comparison would prove nothing for them"
