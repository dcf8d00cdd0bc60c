"""A local monday.com API (``POST /v2``) for tests, demos and benchmarks; runtime code never imports it.

Start one in-process with :func:`monday_emulator.testing.running_emulator`, or as a server with the
``monday-emulator`` console script. See docs/emulator.md. Names below are loaded lazily so that importing a
submodule (``clock``, ``data``) never drags in the HTTP server.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Emulator": "monday_emulator.server",
    "EmulatorConfig": "monday_emulator.server",
    "RunningEmulator": "monday_emulator.testing",
    "running_emulator": "monday_emulator.testing",
    "FaultConfig": "monday_emulator.faults",
    "FaultKind": "monday_emulator.faults",
    "LatencyModel": "monday_emulator.latency",
    "PlanLimits": "monday_emulator.limits",
}

__all__ = [  # noqa: RUF022 - grouped by module like _EXPORTS
    "Emulator", "EmulatorConfig", "RunningEmulator", "running_emulator", "FaultConfig", "FaultKind",
    "LatencyModel", "PlanLimits",
]


def __getattr__(name: str) -> Any:
    """Import the public names on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
