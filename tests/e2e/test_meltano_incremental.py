"""End to end, three real `meltano run`s into PostgreSQL: first load, incremental deletions, full refresh.

1. first run (no state): every active item and subitem loads;
2. the emulator archives, deletes and changes some items (and deletes subitems); an incremental run with the
   saved state marks the deleted rows (``_sdc_deleted_at`` set, ``state = 'deleted'``; target-postgres 0.8.1
   only soft-deletes on RECORDs, see docs/incremental.md), keeps archived rows with ``state = 'archived'`` and
   updates the changed ones;
3. ``--full-refresh`` with ``emit_activate_version_messages`` and target ``hard_delete: true``: the tables
   hold exactly the emulator's active items again (deleted and archived rows are gone).
Row counts and values are checked against the emulator's ground truth (its ``Store``) after each run.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from monday_emulator.server import EmulatorConfig
from monday_emulator.testing import RunningEmulator, running_emulator
from psycopg import sql

from tests.e2e.test_meltano_postgres import _ground_truth_items
from tests.support.meltano import PROJECT_ROOT, MeltanoResult, run_meltano
from tests.support.postgres import PgConnection, postgres_server

pytestmark = [pytest.mark.postgres, pytest.mark.meltano, pytest.mark.timeout(300)]

BOARDS = 2
ITEMS_PER_BOARD = 400


@dataclass(slots=True)
class Project:
    """The emulator, the database and how to run the pipeline against them."""

    emulator: RunningEmulator
    conn: PgConnection
    schema: str
    token: str
    logs: Path

    def run(self, name: str, *args: str, **env: str) -> MeltanoResult:
        base = {
            "TAP_MONDAY_BOARDS_API_URL": self.emulator.url,
            "TAP_MONDAY_BOARDS_API_TOKEN": self.token,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": self.schema,
            **self.conn.target_env(),
        }
        result = run_meltano(
            ["--environment=demo", "run", *args, "--state-id-suffix", self.schema,
             "tap-monday-boards", "target-postgres"],
            env={**base, **env}, log_path=self.logs / f"{name}.log", timeout_s=240,
        ).check()  # fmt: skip
        assert self.token not in result.output
        return result

    def rows(self, table: str) -> dict[str, tuple[Any, ...]]:
        """id -> (state, name, _sdc_deleted_at, updated_at) of every row of ``table``."""
        query = sql.SQL("select id, state, name, _sdc_deleted_at, updated_at from {}").format(
            sql.Identifier(self.schema, table)
        )
        with psycopg.connect(self.conn.url) as db:
            found = db.execute(query).fetchall()
        by_id = {r[0]: r[1:] for r in found}
        assert len(by_id) == len(found), f"duplicate ids in {table}"
        return by_id


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    token = f"e2e-inc-{secrets.token_hex(12)}"
    schema = f"e2e_inc_{secrets.token_hex(4)}"
    logs = tmp_path_factory.mktemp("meltano-incremental")
    installed = PROJECT_ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "target-postgres"
    if not installed.exists():
        run_meltano(["install"], log_path=logs / "install.log", timeout_s=900).check()
    config = EmulatorConfig(
        seed=29, boards=BOARDS, items_per_board=ITEMS_PER_BOARD, latency="instant", token=token
    )
    with running_emulator(config) as emulator, postgres_server() as conn:
        try:
            yield Project(emulator, conn, schema, token, logs)
        finally:
            with psycopg.connect(conn.url, autocommit=True) as db:
                db.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))


def _active_truth(emulator: RunningEmulator, *, subitems: bool) -> dict[str, dict[str, Any]]:
    return _ground_truth_items(emulator, subitems=subitems)


def test_incremental_deletions_then_full_refresh_hard_delete(project: Project) -> None:
    store = project.emulator.emulator.store
    project.run("first", TAP_MONDAY_BOARDS_EMIT_ACTIVATE_VERSION_MESSAGES="true")
    for table, is_sub in (("items", False), ("subitems", True)):
        truth = _active_truth(project.emulator, subitems=is_sub)
        assert set(project.rows(table)) == set(truth), table

    board_a, board_b = store.board_ids()
    active_a, active_b = store.item_ids(board_a), store.item_ids(board_b)
    deleted = [*active_a[:4], *active_b[:3]]
    archived = [*active_a[10:13], *active_b[10:12]]
    changed = [*active_a[20:23], *active_b[20:22]]
    for item_id in deleted:
        store.delete_item(item_id)
    for item_id in archived:
        store.archive_item(item_id)
    for item_id in changed:
        store.rename_item(item_id, f"changed {item_id}")
    sub_board = store.subitem_board_id(board_a)
    assert sub_board
    deleted_subs = store.item_ids(sub_board)[:2]
    for sub_id in deleted_subs:
        store.delete_item(sub_id)

    project.run("incremental")  # saved state: incremental; soft delete (meltano.yml hard_delete: false)
    items = project.rows("items")
    truth = _active_truth(project.emulator, subitems=False)
    assert set(items) == set(truth) | set(deleted) | set(archived), "no row lost, none invented"
    for item_id in deleted:
        state, _, deleted_at, _ = items[item_id]
        assert state == "deleted" and deleted_at is not None, item_id
    for item_id in archived:
        assert items[item_id][0] == "archived" and items[item_id][2] is None, item_id
    for item_id in changed:
        assert items[item_id][1] == f"changed {item_id}", item_id
    live = {i for i, (state, _, deleted_at, _) in items.items() if deleted_at is None and state == "active"}
    assert live == set(truth), "active, not deleted rows == the emulator's active items"
    subitems = project.rows("subitems")
    for sub_id in deleted_subs:
        assert subitems[sub_id][0] == "deleted" and subitems[sub_id][2] is not None

    project.run(
        "full-refresh", "--full-refresh",
        TAP_MONDAY_BOARDS_EMIT_ACTIVATE_VERSION_MESSAGES="true", TARGET_POSTGRES_HARD_DELETE="true",
    )  # fmt: skip
    for table, subitems_flag in (("items", False), ("subitems", True)):
        truth = _active_truth(project.emulator, subitems=subitems_flag)
        rows = project.rows(table)
        assert set(rows) == set(truth), f"{table}: hard delete after ACTIVATE_VERSION left other rows"
        assert all(r[2] is None and r[0] == "active" for r in rows.values()), table
        for item_id, want in truth.items():
            assert rows[item_id][1] == want["name"], item_id
