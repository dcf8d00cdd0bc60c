"""``expected_postgres_types`` is what the real target-postgres creates for a board stream table.

Runs the tap's board stream against the emulator, pipes its Singer output into the target-postgres that
``meltano install`` put in ``.meltano/`` (skipped when it is not installed) and a throwaway PostgreSQL
(tests/support/postgres.py), then compares ``format_type`` of every column with the helper's answer.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tap_monday_boards.board_streams import BoardItemsStream
from tests.support.insync import InProcessTap, sync
from tests.support.pg_types import expected_postgres_types

pytestmark = pytest.mark.postgres

TARGET = Path(__file__).resolve().parents[1] / ".meltano/loaders/target-postgres/venv/bin/target-postgres"
COLUMN_TYPES = (
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
    "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped"
)


@pytest.mark.skipif(
    not TARGET.exists(), reason=f"target-postgres not installed at {TARGET} (meltano install)"
)
def test_loaded_table_has_the_expected_column_types(emulator_factory: Any, tmp_path: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    from tests.support.postgres import postgres_server  # noqa: PLC0415 - only this test needs a server

    em = emulator_factory(boards=1, items_per_board=100, subitems=False)
    board_id = em.emulator.store.board_ids()[0]
    config = {"api_token": em.token, "api_url": em.url, "board_streams": True, "board_ids": [board_id]}
    tap = InProcessTap(config=config, streams=BoardItemsStream)
    (stream,) = tap.streams.values()
    assert isinstance(stream, BoardItemsStream)
    expected = expected_postgres_types(stream.layout)
    messages = sync(tap)
    records = sum(m["type"] == "RECORD" for m in messages)

    with postgres_server() as pg:
        target_config = tmp_path / "target.json"
        target_config.write_text(
            json.dumps(
                {
                    "host": pg.host,
                    "port": pg.port,
                    "user": pg.user,
                    "password": pg.password,
                    "database": pg.database,
                    "default_target_schema": "staging",
                }
            )
        )
        singer = "".join(json.dumps(m) + "\n" for m in messages).encode()
        done = subprocess.run(
            [str(TARGET), "--config", str(target_config)],
            input=singer,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        with psycopg.connect(pg.url) as conn:
            actual = dict(conn.execute(COLUMN_TYPES, ("staging", stream.name)).fetchall())
            count, with_labels = conn.execute(
                f"SELECT count(*), count(dropdown) FROM staging.{stream.name}"  # stream name: [a-z0-9_]
            ).fetchone()

    assert {k: v for k, v in actual.items() if not k.startswith("_sdc_") or k in expected} == expected
    assert (count, with_labels > 0) == (records, True)
