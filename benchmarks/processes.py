"""Child processes of a benchmark: the emulator (CLI) and resource accounting for any child.

Why separate processes: the brief asks for the tap's CPU and memory apart from the emulator's, and on a
2-core machine an in-process emulator would steal the event loop of the client under test. CPU and peak
RSS of a finished child come from ``wait4`` (kernel accounting, exact); a psutil poller adds a sampled
peak RSS while it runs, which is what a person watching ``top`` would see.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from monday_emulator import testing

BENCH_TOKEN = "bench-token-not-secret"


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

    def argv(self, request_log: Path | None) -> list[str]:
        """The ``monday-emulator`` arguments (port and token are :class:`EmulatorProcess`'s)."""
        argv = [
            "--seed", str(self.seed),
            "--boards", str(self.boards),
            "--items", str(self.items),
            "--plan", self.plan,
            "--latency", self.latency,
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


class EmulatorProcess(testing.EmulatorProcess):
    """``monday-emulator`` for one measurement, from an :class:`EmulatorSpec`; a context manager.

    The repository's one process helper (``monday_emulator.testing.EmulatorProcess``) plus what a
    measurement reads: the JSONL request log and the emulator's own CPU time. An account of 1,000 boards
    takes a minute to generate on a busy 2-core machine, hence the generous start-up deadline.
    """

    def __init__(self, spec: EmulatorSpec, workdir: Path, *, startup_timeout_s: float = 300.0) -> None:
        self.spec = spec
        self.workdir = workdir
        self.request_log = workdir / "emulator-requests.jsonl"
        super().__init__(
            spec.argv(self.request_log),
            token=BENCH_TOKEN,
            log_path=workdir / "emulator.log",
            start_timeout_s=startup_timeout_s,
        )

    def cpu_seconds(self) -> float:
        """User+system CPU the emulator process has used so far."""
        assert self.pid is not None, "the emulator is not running"
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)
