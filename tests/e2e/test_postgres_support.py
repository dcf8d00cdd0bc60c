"""The embedded PostgreSQL helper: reachable over TCP on a free port, and it leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.support import postgres
from tests.support.postgres import EmbeddedPostgres, PgConnection

pytestmark = pytest.mark.postgres


def test_server_serves_tcp_and_stops_without_leftovers() -> None:
    server = EmbeddedPostgres()
    conn = server.start()
    try:
        pid = server.postmaster_pid()
        data_dir = server.data_dir
        assert pid is not None and psutil.pid_exists(pid)
        assert conn.host == "127.0.0.1"
        with psycopg.connect(conn.url, connect_timeout=5) as db:
            row = db.execute("select current_setting('port')::int, current_setting('fsync')").fetchone()
        assert row == (conn.port, "off")
    finally:
        server.stop()
    assert server.postmaster_pid() is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not data_dir.exists(), "temporary data must be removed"
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", conn.port)) != 0, "port still accepts connections"


def test_given_data_dir_is_kept_and_reused() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp).chmod(0o755)  # the server may run as another user (root -> embedded_postgres)
        _kept_and_reused(Path(tmp) / "pg")


def _kept_and_reused(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as first, psycopg.connect(first.url, autocommit=True) as db:
        db.execute("create table kept (n int); insert into kept values (42)")
    assert (data_dir / "PG_VERSION").exists()
    with EmbeddedPostgres(data_dir) as second, psycopg.connect(second.url) as db:
        assert db.execute("select n from kept").fetchall() == [(42,)]


def test_start_retries_when_the_chosen_port_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        offered: list[int] = []
        real_free_port = postgres.free_port

        def first_taken_then_free(host: str = "127.0.0.1") -> int:
            offered.append(taken if not offered else real_free_port(host))
            return offered[-1]

        monkeypatch.setattr(postgres, "free_port", first_taken_then_free)
        with EmbeddedPostgres() as conn:
            assert offered[0] == taken and len(offered) == 2
            assert conn.port == offered[1]
            with psycopg.connect(conn.url) as db:
                assert db.execute("select 1").fetchone() == (1,)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another system user")
def test_untraversable_data_dir_fails_early_with_a_clear_message(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    with pytest.raises(postgres.DataDirUnreachableError, match="not traversable"):
        EmbeddedPostgres(tmp_path / "pg").start()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another system user")
def test_binaries_below_a_private_directory_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "site-packages"  # like a CI clone's venv under `mktemp -d` (mode 0700)
    site = postgres.bin_dir().parents[2]
    shutil.copytree(site / "embedded_postgres", private / "embedded_postgres", symlinks=True,
                    ignore=shutil.ignore_patterns("include", "__pycache__"))
    shutil.copytree(site / "embedded_postgres.libs", private / "embedded_postgres.libs")
    tmp_path.chmod(0o700)
    private_bin = private / "embedded_postgres" / "pginstall" / "bin"
    monkeypatch.setattr(postgres, "bin_dir", lambda: private_bin)
    assert postgres.usable_bin_dir(postgres.SYSTEM_USER) != private_bin
    with EmbeddedPostgres() as conn, psycopg.connect(conn.url) as db:
        assert db.execute("select 1").fetchone() == (1,)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p%40ss@db.example:6543/wh", PgConnection("db.example", 6543, "u", "wh", "p@ss")),
        ("postgres://u@localhost/wh", PgConnection("localhost", 5432, "u", "wh", "")),
    ],
)
def test_connection_url_round_trip(url: str, expected: PgConnection) -> None:
    parsed = PgConnection.from_url(url)
    assert parsed == expected
    assert PgConnection.from_url(parsed.url) == expected
    assert parsed.target_env()["TARGET_POSTGRES_PORT"] == str(expected.port)


def test_bad_url_names_the_variable() -> None:
    with pytest.raises(ValueError, match=postgres.PG_URL_ENV):
        PgConnection.from_url("mysql://x@y/z")
