"""CPU seconds per role of a ``meltano run`` (tap, target, Meltano, PostgreSQL) and how busy the machine was.

Why polling: Meltano starts the tap and the target itself, so their exact ``wait4`` accounting goes to
Meltano, not to us. A daemon thread samples every descendant of this process (and the PostgreSQL server's
processes, which are not our children) every ``interval_s`` and keeps each process's last CPU reading; a
process's last ``interval_s`` before it exits is the only part that can be missed. The exact total of all our
descendants that exited (``RUSAGE_CHILDREN``) and of the server (its own time plus its reaped backends') is
reported next to the split, so the reader can see how much the sampling missed.

Machine load: the whole machine's busy CPU (``/proc/stat`` through psutil) over the same interval, so a
number measured on a shared machine says how much of the machine the others were using meanwhile.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

Classifier = Callable[[list[str]], str]


def meltano_role(cmdline: list[str]) -> str:
    """Role of one process of a ``meltano run`` from its command line."""
    program = next((Path(arg).name for arg in cmdline[:2] if not Path(arg).name.startswith("python")), "")
    if program == "tap-monday-boards":
        return "tap discovery" if "--discover" in cmdline else "tap"
    if program in {"target-postgres", "meltano"}:
        return "target" if program == "target-postgres" else "meltano"
    return "other"


@dataclass(slots=True)
class _Seen:
    role: str
    cpu_s: float = 0.0
    started: float = 0.0
    last_seen: float = 0.0


def _cpu(times: Any) -> float:
    return float(times.user + times.system)


def _server_cpu(pid: int | None) -> float:
    """A server's CPU so far: itself, its reaped children and its live children."""
    if pid is None:
        return 0.0
    try:
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        total = _cpu(times) + float(times.children_user + times.children_system)
        for child in proc.children(recursive=True):
            try:
                total += _cpu(child.cpu_times())
            except psutil.Error:
                continue
        return total
    except psutil.Error:
        return 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_busy() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine so far, idle CPU seconds so far)."""
    times = psutil.cpu_times()
    idle = float(times.idle + getattr(times, "iowait", 0.0))
    return float(sum(times)) - idle, idle


@dataclass(slots=True)
class RunAccounting:
    """Samples the descendants of this process (minus ``exclude``) and a server's processes while it runs.

    Use as a context manager around the measured call; read :meth:`summary` afterwards.
    """

    exclude: Iterable[int] = ()
    server_pid: int | None = None
    classify: Classifier = meltano_role
    interval_s: float = 0.05
    _seen: dict[int, _Seen] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _start: dict[str, float] = field(default_factory=dict)
    _end: dict[str, float] = field(default_factory=dict)
    _busy: list[tuple[float, float]] = field(default_factory=list)
    """(time, machine busy CPU seconds) at every sample, to measure the load from the first process on."""

    def __enter__(self) -> RunAccounting:
        self._start = self._snapshot()
        self._thread = threading.Thread(target=self._run, name="cpu-accounting", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self._end = self._snapshot()

    def _snapshot(self) -> dict[str, float]:
        busy, idle = _machine_busy()
        return {
            "wall": time.perf_counter(),
            "children": _children_cpu(),
            "server": _server_cpu(self.server_pid),
            "machine_busy": busy,
            "machine_idle": idle,
            "load1": os.getloadavg()[0],
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def _sample(self) -> None:
        excluded = set(self.exclude)
        now = time.perf_counter()
        self._busy.append((now, _machine_busy()[0]))
        for proc in psutil.Process().children(recursive=True):
            if proc.pid in excluded:
                continue
            try:
                with proc.oneshot():
                    cpu = _cpu(proc.cpu_times())
                    seen = self._seen.get(proc.pid)
                    if seen is None:
                        seen = self._seen[proc.pid] = _Seen(self.classify(proc.cmdline()), started=now)
                    elif seen.role == "other":  # first seen between fork and exec: look again
                        seen.role = self.classify(proc.cmdline())
            except psutil.Error:
                continue
            seen.cpu_s = max(seen.cpu_s, cpu)
            seen.last_seen = now

    def summary(self) -> dict[str, Any]:
        """CPU seconds per role, the exact totals, the phases seen and the machine's load."""
        start, end = dict(self._start), self._end
        first = min((s.started for s in self._seen.values()), default=start["wall"])
        # measure from the first process on (a caller may wait for a lock before it starts anything)
        start["wall"], start["machine_busy"] = next(
            ((t, busy) for t, busy in self._busy if t >= first), (start["wall"], start["machine_busy"])
        )
        wall = end["wall"] - start["wall"]
        roles: dict[str, float] = {}
        for seen in self._seen.values():
            roles[seen.role] = roles.get(seen.role, 0.0) + seen.cpu_s
        server = end["server"] - start["server"]
        children = end["children"] - start["children"]
        busy = end["machine_busy"] - start["machine_busy"]
        measured = children + server
        cores = psutil.cpu_count() or 1
        phases = {
            role: (
                min(s.started for s in self._seen.values() if s.role == role) - start["wall"],
                max(s.last_seen for s in self._seen.values() if s.role == role) - start["wall"],
            )
            for role in roles
        }
        return {
            "wall_s": wall,
            "cpu_s_by_role": {
                **{k: round(v, 2) for k, v in sorted(roles.items())},
                "postgresql": round(server, 2),
            },
            "cpu_s_children_exact": round(children, 2),
            "cpu_s_sampled_children": round(sum(roles.values()), 2),
            "phases_s": {k: (round(a, 2), round(b, 2)) for k, (a, b) in phases.items()},
            "machine": {
                "cores": cores,
                "busy_core_s": round(busy, 1),
                "busy_share": round(busy / (wall * cores), 2) if wall > 0 else None,
                "others_core_s": round(max(0.0, busy - measured), 1),
                "load1_start": round(start["load1"], 2),
                "load1_end": round(end["load1"], 2),
            },
        }
