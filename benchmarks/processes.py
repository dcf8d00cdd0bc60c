"""Child processes of a benchmark: the emulator (CLI) and resource accounting for any child.

Why separate processes: the brief asks for the tap's CPU and memory apart from the emulator's, and on a
2-core machine an in-process emulator would steal the event loop of the client under test. CPU and peak
RSS of a finished child come from ``wait4`` (kernel accounting, exact); a psutil poller adds a sampled
peak RSS while it runs, which is what a person watching ``top`` would see.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

BENCH_TOKEN = "bench-token-not-secret"


def free_port() -> int:
    """A loopback port that was free a moment ago (the emulator binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def console_script(name: str) -> str:
    """Path of a console script installed next to the running interpreter (the project's venv)."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


@dataclass(frozen=True, slots=True)
class EmulatorSpec:
    """How to start one emulator: the CLI flags, nothing else."""

    seed: int
    boards: int
    items: int
    plan: str
    latency: str
    faults: float = 0.0
    fault_kinds: tuple[str, ...] = ()
    """With ``faults``: only these kinds share the rate; empty = every kind mixed."""
    cost_model: str = "documented"
    groups: int = 4
    """Groups per board (the emulator's default is 4); the partitioned harvest walks one chain per group."""
    slow_delay_s: float = 20.0
    """A slow_response fault waits this long: above the tap's benchmark request timeout (10 s)."""
    extra_args: tuple[str, ...] = ()

    def argv(self, port: int, token: str, request_log: Path | None) -> list[str]:
        """The ``monday-emulator`` command line."""
        argv = [
            console_script("monday-emulator"),
            "--port", str(port),
            "--seed", str(self.seed),
            "--boards", str(self.boards),
            "--items", str(self.items),
            "--plan", self.plan,
            "--latency", self.latency,
            "--token", token,
            "--cost-model", self.cost_model,
            "--groups", str(self.groups),
        ]
        if self.faults and self.fault_kinds:
            rate = self.faults / len(self.fault_kinds)
            for kind in self.fault_kinds:
                argv += ["--fault", f"{kind}={rate}"]
            argv += ["--slow-delay", str(self.slow_delay_s)]
        elif self.faults:
            argv += ["--faults", str(self.faults), "--slow-delay", str(self.slow_delay_s)]
        if request_log is not None:
            argv += ["--log-requests", str(request_log)]
        return argv + list(self.extra_args)


@dataclass(slots=True)
class PeakRssPoller:
    """Samples a process's RSS every ``interval_s`` on a daemon thread until stopped."""

    pid: int
    interval_s: float = 0.02
    peak_bytes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin sampling."""
        self._thread = threading.Thread(target=self._run, name="rss-poller", daemon=True)
        self._thread.start()

    def stop(self) -> int:
        """Stop sampling; return the peak in bytes."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak_bytes

    def _run(self) -> None:
        try:
            process = psutil.Process(self.pid)
            while not self._stop.is_set():
                self.peak_bytes = max(self.peak_bytes, process.memory_info().rss)
                self._stop.wait(self.interval_s)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return


@dataclass(frozen=True, slots=True)
class ChildUsage:
    """Kernel accounting of a finished child."""

    returncode: int
    cpu_s: float
    max_rss_bytes: int


def reap(process: subprocess.Popen[bytes]) -> ChildUsage:
    """Wait for ``process`` with ``wait4`` so its exact CPU time and peak RSS are known."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return ChildUsage(
        returncode=process.returncode,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports KiB
    )


class EmulatorProcess:
    """``monday-emulator`` on a loopback port, for one measurement; a context manager.

    Readiness is polled on ``GET /metrics`` with a deadline (never a fixed sleep).
    """

    def __init__(self, spec: EmulatorSpec, workdir: Path, *, startup_timeout_s: float = 60.0) -> None:
        self.spec = spec
        self.workdir = workdir
        self.token = BENCH_TOKEN
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/v2"
        self.request_log = workdir / "emulator-requests.jsonl"
        self._startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    def __enter__(self) -> EmulatorProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log_file = (self.workdir / "emulator.log").open("wb")
        self._process = subprocess.Popen(
            self.spec.argv(self.port, self.token, self.request_log),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def pid(self) -> int:
        """The emulator's process id."""
        assert self._process is not None
        return self._process.pid

    def cpu_seconds(self) -> float:
        """User+system CPU the emulator process has used so far."""
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def metrics(self) -> dict[str, Any]:
        """The emulator's ``GET /metrics`` JSON."""
        with urllib.request.urlopen(f"{self.base}/metrics", timeout=10) as response:
            return dict(json.loads(response.read()))

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._startup_timeout_s
        while True:
            if self._process.poll() is not None:
                log = (self.workdir / "emulator.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"emulator exited with {self._process.returncode}: {log}")
            try:
                self.metrics()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError("emulator did not become ready in time") from None
                time.sleep(0.05)  # polling interval with a deadline, not a wait for an event
