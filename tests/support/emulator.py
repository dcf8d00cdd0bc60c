"""The ``monday-emulator`` console script as a child process (the demo's emulator, as a user would run it).

Why a process and not ``emulator.testing.running_emulator``: the demo should exercise the installed CLI and
keep the emulator's CPU off the process that reports; tests that need the ground truth (the ``Store``) use the
in-process fixture instead. The child gets its own session so that stopping it ends everything it started.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.support.postgres import free_port

_URL = re.compile(r"https?://[\w.\-]+:\d+/v2")


class EmulatorStartError(RuntimeError):
    """The emulator exited or printed no URL in time; the message carries its output."""


def emulator_executable() -> str:
    """``monday-emulator`` from the running interpreter's venv, else from PATH."""
    candidate = Path(sys.executable).parent / "monday-emulator"
    return str(candidate) if candidate.exists() else "monday-emulator"


class EmulatorProcess:
    """``start()`` runs ``monday-emulator --port <free> --token <token> <args>``, returns its ``/v2`` URL."""

    def __init__(
        self, args: Sequence[str], *, token: str, log_path: Path, start_timeout_s: float = 120.0
    ) -> None:
        self._args = list(args)
        self._token = token
        self._log_path = log_path
        self._timeout = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self.url: str | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self) -> str:
        """Start and wait (polling with a deadline) until the emulator prints the URL it serves."""
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        port = free_port()
        with self._log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [emulator_executable(), "--port", str(port), "--token", self._token, *self._args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            text = self._log_path.read_text(errors="replace")
            found = _URL.search(text)
            if found:
                self.url = found.group(0)
                return self.url
            if self._proc.poll() is not None:
                break
            time.sleep(0.1)
        output = self._log_path.read_text(errors="replace").replace(self._token, "***")
        self.stop()
        raise EmulatorStartError(f"monday-emulator did not report its URL:\n{output[-3000:]}")

    def stop(self) -> None:
        """SIGTERM to its process group (id = its pid), SIGKILL after 10 s; always reaps it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                continue
        proc.wait(timeout=10)
