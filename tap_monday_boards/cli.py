"""The ``tap-monday-boards`` command: the SDK's CLI, then the process ends without the interpreter's teardown.

Why: when the CLI returns, everything the tap has to say is on stdout and stderr. What CPython still does at
exit is clear every module and free every object the run left (the SDK, aiohttp, the sync's caches): work no
one sees, 0.06-0.10 s of CPU per run, ~4 % of the tap process of a 49,000-item sync (docs/benchmarks.md,
"Seventh round"). So :func:`main` ends the process itself (:func:`exit_now`): the exit handlers run (logging's
flush, weakref finalizers, a coverage tool's report), stdout and stderr are flushed, and the exit status is
the one ``sys.exit`` gives. It exits the normal way while a non-daemon thread still runs (the interpreter
would wait for it), and an exception other than ``SystemExit`` propagates as usual (traceback, status 1).
In-process callers (``CliRunner``, tests) call ``TapMondayBoards.cli`` and never get here.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

from tap_monday_boards import CLI_NAME

STDOUT_LOST = 120
"""CPython's exit status when stdout cannot be flushed at exit (``Py_FinalizeEx``)."""


def main() -> NoReturn:
    """The console script (pyproject.toml's ``[project.scripts]``) and ``python -m tap_monday_boards``."""
    from tap_monday_boards.tap import TapMondayBoards  # noqa: PLC0415 - the CLI's import, collector paused

    try:
        TapMondayBoards.cli()
    except SystemExit as stop:
        exit_now(stop.code)
    exit_now(0)


def threads_running() -> list[threading.Thread]:
    """Non-daemon threads other than the caller's that are still alive: the interpreter would join them."""
    current = threading.current_thread()
    return [t for t in threading.enumerate() if t is not current and not t.daemon and t.is_alive()]


def exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` ends a process with: 0 for None, an int as it is, 1 for anything else
    (whose text the interpreter writes to stderr; :func:`exit_now` does too)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def exit_now(code: object) -> NoReturn:
    """End the process as ``sys.exit(code)`` would, without the interpreter's teardown (module docstring)."""
    if threads_running():
        raise SystemExit(code)
    status = exit_status(code)
    if code is not None and not isinstance(code, int) and sys.stderr is not None:
        print(code, file=sys.stderr)
    atexit._run_exitfuncs()  # what the interpreter runs first at exit: logging.shutdown among them
    try:
        if sys.stdout is not None:  # (None: descriptor 1 was closed when the process started)
            sys.stdout.flush()
    except (OSError, ValueError) as error:  # a reader gone (broken pipe) or stdout closed
        if sys.stderr is not None:
            print(f"{CLI_NAME}: stdout could not be flushed at exit: {error}", file=sys.stderr)
        status = status or STDOUT_LOST
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):  # nowhere left to report it
            sys.stderr.flush()
    os._exit(status & 0xFF)
