"""Load Singer output into PostgreSQL with the real target-postgres (the loader meltano.yml pins).

The target runs as a plain process fed from a pipe - the same bytes Meltano would hand it - so a test can
stop and restart the tap between loads. It is the executable ``meltano install`` placed in
``.meltano/loaders/target-postgres``; tests skip with that instruction when it is absent.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.meltano import PROJECT_ROOT
from tests.support.postgres import PgConnection

TARGET = PROJECT_ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "target-postgres"


def target_postgres() -> Path:
    """The installed target, or skip the test with how to install it."""
    if not TARGET.exists():
        pytest.skip(f"target-postgres not installed ({TARGET}): run `.venv/bin/meltano install` first")
    return TARGET


def target_config(conn: PgConnection, schema: str, workdir: Path) -> Path:
    """The target's config: this server, one schema, upsert by primary key, no NUL pass (as meltano.yml)."""
    config: dict[str, Any] = {
        "host": conn.host, "port": conn.port, "user": conn.user, "password": conn.password,
        "database": conn.database, "default_target_schema": schema, "load_method": "upsert",
        "add_record_metadata": True, "hard_delete": False, "sanitize_null_text_characters": False,
        "validate_records": True,
    }
    path = workdir / "target-config.json"
    path.write_text(json.dumps(config))
    return path


def load(singer_output: bytes, conn: PgConnection, schema: str, workdir: Path) -> bytes:
    """Feed complete Singer lines to target-postgres; returns the STATE lines it emitted (its stdout)."""
    workdir.mkdir(parents=True, exist_ok=True)
    complete = singer_output[: singer_output.rfind(b"\n") + 1]
    done = subprocess.run(
        [str(target_postgres()), "--config", str(target_config(conn, schema, workdir))],
        input=complete, capture_output=True, check=False, timeout=600,
    )
    (workdir / "target.stderr.log").write_bytes(done.stderr)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return done.stdout
