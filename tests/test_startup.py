"""The tap's start-up: ``--discover`` and ``--about`` load no sync-only module, and their output is the tap's.

Why: Meltano runs a forced ``tap-monday-boards --discover`` before every ``meltano run``, on the pipeline's
critical path, and ``--about`` serves ``meltano``'s plugin commands. Neither sends a request, so neither needs
aiohttp (~80 ms of CPU to import) or the items engine (prefetch.py -> engine/account.py, pipeline.py,
runtime.py and what they import): those are imported when a sync starts its engine (docs/benchmarks.md, "The
tap's start-up"). The imports are read from the real console script's ``-X importtime`` report, so a new
module-level import that pulls them back in fails here. Moving imports must not change what the CLI prints:
the catalog is compared byte for byte with the one the fully imported tap builds in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tap_monday_boards.tap import TapMondayBoards

CLI = Path(sys.executable).parent / "tap-monday-boards"
CONFIG = {"api_token": "startup-test-token", "api_url": "http://127.0.0.1:9/v2"}  # a closed port: no request
SYNC_ONLY = (
    "aiohttp",
    "tap_monday_boards.prefetch",
    "tap_monday_boards.engine.account",
    "tap_monday_boards.engine.pipeline",
    "tap_monday_boards.engine.runtime",
    "tap_monday_boards.engine.harvest",
    "tap_monday_boards.engine.fetch",
)


def _run_cli(args: list[str], tmp_path: Path) -> tuple[str, set[str]]:
    """The console script's stdout and every module it imported (``PYTHONPROFILEIMPORTTIME``'s report)."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_MONDAY_BOARDS_")}
    env["PYTHONPROFILEIMPORTTIME"] = "1"
    done = subprocess.run(
        [str(CLI), "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "tap_monday_boards.tap" in imported  # the report was read
    return done.stdout, imported


@pytest.mark.skipif(not CLI.exists(), reason="the console script is installed by `make venv`")
@pytest.mark.parametrize("args", [["--discover"], ["--about", "--format=json"]], ids=["discover", "about"])
def test_discover_and_about_import_no_sync_only_module(args: list[str], tmp_path: Path) -> None:
    _, imported = _run_cli(args, tmp_path)
    loaded = sorted(name for name in imported if name.split(".")[0] == "aiohttp" or name in SYNC_ONLY)
    assert loaded == []


@pytest.mark.skipif(not CLI.exists(), reason="the console script is installed by `make venv`")
def test_the_cli_catalog_is_the_fully_imported_taps_byte_for_byte(tmp_path: Path) -> None:
    import tap_monday_boards.prefetch  # noqa: F401, PLC0415 - every module loaded, as during a sync

    stdout, _ = _run_cli(["--discover"], tmp_path)
    tap = TapMondayBoards(config=dict(CONFIG), parse_env_config=False)
    assert stdout == tap.catalog_json_text + "\n"
    streams = {entry["tap_stream_id"]: entry["schema"] for entry in json.loads(stdout)["streams"]}
    assert streams == {name: stream.schema for name, stream in tap.streams.items()}
    assert {"items", "subitems", "boards", "assets"} <= set(streams)
