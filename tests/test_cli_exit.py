"""The console script ends its process without the interpreter's teardown (cli.py) and loses nothing by it.

Each case runs a real Python process twice where it matters: once ending with ``sys.exit`` (what the
interpreter does) and once with ``cli.exit_now``; the exit status, stdout and stderr must be the same.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tap_monday_boards import cli

ROOT = Path(__file__).parents[1]
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, "PYTHONPATH": str(ROOT)}
"""(stdout buffered, as for a pipe by default: what is pending at exit must still be written)"""

FAST_EXIT = "from tap_monday_boards.cli import exit_now; exit_now"
PROLOGUE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('exit handler ran'))\n"
    "sys.stdout.write('pending output without a newline')\n"  # buffered: a pipe is not a terminal
)


def _python(*args: str, closed: int | None = None) -> subprocess.CompletedProcess[str]:
    """``python *args``; ``closed``: a standard descriptor closed before the interpreter starts (then its
    ``sys.stdout`` or ``sys.stderr`` is None)."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        preexec_fn=None if closed is None else functools.partial(os.close, closed),
        text=True,
        env=ENV,
        timeout=120,  # (the tap's --about imports the SDK)
        check=False,
    )


@pytest.mark.parametrize("code", ["None", "0", "3", "143", "300", "-1", "True", "'a message'"])
def test_exit_now_ends_the_process_as_sys_exit_does(code: str) -> None:
    interpreter = _python("-c", f"{PROLOGUE}sys.exit({code})\n")
    fast = _python("-c", f"{PROLOGUE}{FAST_EXIT}({code})\n")
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        interpreter.returncode,
        interpreter.stdout,
        interpreter.stderr,
    )
    assert fast.stdout == "pending output without a newlineexit handler ran\n"


@pytest.mark.parametrize("closed", [1, 2], ids=["stdout", "stderr"])
@pytest.mark.parametrize("code", ["0", "'a message'"])
def test_exit_now_with_a_standard_stream_closed_from_the_start(closed: int, code: str) -> None:
    program = (
        "import sys\n"
        "print('to stdout')\n"
        "sys.stderr and print('to stderr', file=sys.stderr)\n"
        f"{{end}}({code})\n"
    )
    interpreter = _python("-c", program.format(end="sys.exit"), closed=closed)
    fast = _python("-c", program.format(end=FAST_EXIT), closed=closed)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        interpreter.returncode,
        interpreter.stdout,
        interpreter.stderr,
    )


def test_exit_now_waits_for_a_running_non_daemon_thread() -> None:
    """The thread ends only after the process has reached ``exit_now`` (it reads stdin until the test closes
    it, after the process said so): ended at once, the process would lose the thread's line."""
    code = (
        "import sys, threading\n"
        "from tap_monday_boards.cli import exit_now\n"
        "def tail():\n"
        "    sys.stdin.read()\n"
        "    print('thread finished', flush=True)\n"
        "threading.Thread(target=tail).start()\n"
        "print('exiting', flush=True)\n"
        "exit_now(4)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    ) as process:
        assert process.stdout is not None and process.stdin is not None
        assert process.stdout.readline() == "exiting\n"
        process.stdin.close()
        assert process.stdout.read() == "thread finished\n"
        assert process.wait(timeout=60) == 4


def test_threads_running_names_live_non_daemon_threads_only() -> None:
    release = threading.Event()
    worker = threading.Thread(target=release.wait, name="worker")
    helper = threading.Thread(target=release.wait, name="helper", daemon=True)
    worker.start()
    helper.start()
    try:
        assert worker in cli.threads_running()
        assert helper not in cli.threads_running()
        assert threading.current_thread() not in cli.threads_running()
    finally:
        release.set()
        worker.join(timeout=60)
        helper.join(timeout=60)
    assert worker not in cli.threads_running()


def test_a_broken_stdout_gives_the_interpreters_status() -> None:
    """No reader of stdout is left: the interpreter exits 120 after its failed flush; so does ``exit_now``."""
    code = (
        "import os, sys\n"
        "read_end, write_end = os.pipe()\n"
        "os.dup2(write_end, 1)\n"
        "os.close(read_end)\n"  # no reader left: the buffered text cannot be written (broken pipe)
        "sys.stdout.write('lost')\n"
        "{end}\n"
    )
    interpreter = _python("-c", code.format(end="sys.exit(0)"))
    fast = _python("-c", code.format(end=f"{FAST_EXIT}(0)"))
    assert interpreter.returncode == fast.returncode == cli.STDOUT_LOST
    assert "stdout could not be flushed" in fast.stderr


def test_python_dash_m_runs_the_console_scripts_main() -> None:
    """``python -m tap_monday_boards`` is the console script: ``--about`` prints all of it and exits 0."""
    done = _python("-m", "tap_monday_boards", "--about", "--format=json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["name"] == "tap-monday-boards"


def test_the_console_script_is_clis_main() -> None:
    (script,) = entry_points(group="console_scripts", name="tap-monday-boards")
    assert script.value == "tap_monday_boards.cli:main"
