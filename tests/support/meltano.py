"""Run the real Meltano CLI on this project, the way a user would, from tests and the demo.

Why a helper: every call must be isolated from the caller's environment (no inherited
``TAP_MONDAY_BOARDS_*`` or ``TARGET_POSTGRES_*`` setting, no usage statistics), must prove the project never
needs Meltano Hub (the Hub URL points at a closed loopback port), must not deadlock on a chatty child (output
goes to a file, not a pipe) and must leave no process behind on a timeout (the child gets its own process
group, ended by its id). Calls on one project directory take turns, across processes: see
:func:`_project_turn`.
"""

from __future__ import annotations

import compileall
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A closed loopback port: any attempt to reach Meltano Hub fails at once instead of silently succeeding.
UNREACHABLE_HUB_URL = "http://127.0.0.1:9/"
_OWN_PREFIXES = ("TAP_MONDAY_BOARDS_", "TARGET_POSTGRES_", "MELTANO_")


@dataclass(frozen=True, slots=True)
class MeltanoResult:
    """Exit code, wall time and the combined output of one CLI call."""

    args: tuple[str, ...]
    returncode: int
    elapsed_s: float
    output: str

    def check(self) -> MeltanoResult:
        """Raise with the output's tail when the call failed (pytest shows it)."""
        if self.returncode != 0:
            raise AssertionError(
                f"meltano {' '.join(self.args)} exited {self.returncode}:\n{self.output[-6000:]}"
            )
        return self


def meltano_executable() -> str:
    """The ``meltano`` next to the running interpreter (the project venv), else the one on PATH."""
    candidate = Path(sys.executable).parent / "meltano"
    return str(candidate) if candidate.exists() else "meltano"


def meltano_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for one Meltano call: inherited plugin settings dropped, ``extra`` applied."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    env.update(
        {
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_HUB_URL": UNREACHABLE_HUB_URL,
            "MELTANO_CLI_LOG_LEVEL": "info",
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
            # `meltano install` builds plugin venvs with uv, which compiles no bytecode by default: every tap
            # and target process then compiled the SDK, SQLAlchemy, ... from source (with
            # PYTHONDONTWRITEBYTECODE set, on every start): ~0.5 s of CPU per process (docs/benchmarks.md).
            "UV_COMPILE_BYTECODE": "1",
        }
    )
    env.update(extra or {})
    return env


def compile_tap_bytecode(project_root: Path = PROJECT_ROOT) -> None:
    """Write the bytecode of the tap's sources (``__pycache__``, gitignored), where stale or missing.

    Why: the project's tap is installed editable (``pip_url: -e .``), so its plugin venv runs this checkout's
    sources, which uv's ``UV_COMPILE_BYTECODE`` does not reach (site-packages only), and with
    ``PYTHONDONTWRITEBYTECODE`` set no process ever writes them: each tap process of a ``meltano run`` (the
    forced ``--discover`` and the sync) compiled the package from source, ~0.1 s of CPU, which a user's
    wheel install never pays (docs/benchmarks.md, "The tap's start-up"). ``make venv`` does the same.
    """
    compileall.compile_dir(project_root / "tap_monday_boards", quiet=1)


def run_meltano(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 600.0,
    log_path: Path | None = None,
    project_root: Path = PROJECT_ROOT,
) -> MeltanoResult:
    """Run ``meltano <args>`` in ``project_root``; on timeout end its whole process group and report it."""
    log_path = log_path or (project_root / ".meltano" / "logs" / "last-cli-call.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        _project_turn(project_root, timeout_s),
        log_path.open("w+", encoding="utf-8", errors="replace") as log,
    ):
        compile_tap_bytecode(project_root)
        started = time.monotonic()  # after the turn: waiting for another call is not this call's time
        proc = subprocess.Popen(
            [meltano_executable(), *args],
            cwd=project_root,
            env=meltano_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            returncode = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _end_group(proc)
            returncode = -1
            log.write(f"\n[tests.support.meltano] timed out after {timeout_s:.0f} s; process group ended\n")
        else:
            _end_group(proc)  # a plugin that outlived meltano (should not happen) goes too
        log.seek(0)
        output = log.read()
    return MeltanoResult(tuple(args), returncode, time.monotonic() - started, output)


@contextmanager
def _project_turn(project_root: Path, timeout_s: float) -> Iterator[None]:
    """Hold the project's Meltano lock (an exclusive ``flock``) for one call.

    Why: every Meltano call in a project writes the same files. ``.meltano/run/tap-monday-boards/`` gets this
    call's ``tap.config.json`` (api_url, token) and the discovered catalog ``tap.properties.json`` (written
    with ``open("wb")`` while the tap prints it, then read back), and ``meltano install`` rebuilds the plugin
    venvs. Two calls at once (two test sessions, a test and the demo) mix them: one run saw a catalog made of
    two interleaved discoveries and failed with "Invalid catalog". The lock is released by the OS if this
    process dies.

    Raises:
        TimeoutError: another call held the project for ``timeout_s``.
    """
    lock_path = project_root / ".meltano" / "tests-cli.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    message = f"another Meltano call held {project_root} for {timeout_s:g} s"
                    raise TimeoutError(message) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM then SIGKILL to the child's own process group (id = its pid), polling with a deadline."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _group_alive(proc.pid):
            break
        os.killpg(proc.pid, sig)
        deadline = time.monotonic() + 10
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            proc.poll()  # reap the leader as soon as it exits
            time.sleep(0.05)
    proc.wait(timeout=10)
