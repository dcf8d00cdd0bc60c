"""The Singer SDK's standard tap tests, run against the local monday.com emulator over loopback HTTP.

``get_tap_test_class`` needs its config when the module is imported, before fixtures exist, so the class gets
a dict that the module fixture below fills in place (the SDK's runner keeps the same dict object) once the
emulator is up. The emulator is this module's own (not the shared read-only one) because it archives and
deletes a few items, so that ``board_activity_logs`` has records to test too.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_monday_boards.tap import GC_YOUNG_THRESHOLD, TapMondayBoards

try:
    from monday_emulator.server import EmulatorConfig
    from monday_emulator.testing import running_emulator
except ImportError:  # pragma: no cover - the emulator package is part of this repo; guard for partial trees
    running_emulator = None  # type: ignore[assignment]

# Placeholder values satisfy validation while the classes are built at import; replaced before any sync.
CONFIG: dict[str, Any] = {"api_token": "set-by-fixture", "api_url": "http://127.0.0.1:9/v2"}

TestTapMondayBoards = get_tap_test_class(
    tap_class=TapMondayBoards,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=40),
)


@pytest.fixture(scope="module", autouse=True)
def emulator_config() -> Iterator[dict[str, Any]]:
    """Start a small emulator, create some activity, and point CONFIG at it for this module's tests."""
    if running_emulator is None:
        pytest.skip("emulator package (monday_emulator.testing) not available")
    with running_emulator(EmulatorConfig(seed=5, boards=2, items_per_board=30)) as emu:
        store = emu.emulator.store
        for board_id in store.board_ids():
            active = store.item_ids(board_id)
            store.archive_item(active[0])
            store.delete_item(active[1])
        CONFIG.update({"api_token": emu.token, "api_url": emu.url})
        yield CONFIG


def test_the_cli_sync_gives_the_garbage_collector_back() -> None:
    """``invoke`` tunes the collector for the sync (tap.py) and restores it, also when the run ends early."""
    before = (gc.get_threshold(), gc.get_freeze_count())
    seen: list[tuple[tuple[int, int, int], int]] = []
    original = TapMondayBoards.sync_all

    def spy(self: TapMondayBoards) -> None:
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        raise RuntimeError("stop here")

    TapMondayBoards.sync_all = spy  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="stop here"):
            TapMondayBoards.invoke(config=_ConfigInput(config={"api_token": "t"}))
    finally:
        TapMondayBoards.sync_all = original  # type: ignore[method-assign]
    assert seen and seen[0][0][0] == GC_YOUNG_THRESHOLD and seen[0][1] > before[1]
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


@pytest.mark.parametrize("argv0", ["/venv/bin/tap-monday-boards", "python"])
def test_only_the_console_script_imports_with_the_collector_paused_and_invoke_resumes_it(argv0: str) -> None:
    """The console script's process imports the tap with the cyclic collector off (``__init__``) and its
    ``invoke`` turns it on before the sync; any other importer keeps its collector untouched."""
    code = (
        "import sys; sys.argv[0] = sys.argv[1]\n"
        "import gc, tap_monday_boards.tap as tap\n"
        "from singer_sdk.plugin_base import _ConfigInput\n"
        "print(gc.isenabled(), tap.tap_monday_boards.IMPORTS_WITHOUT_GC)\n"
        "tap.TapMondayBoards.sync_all = lambda self: print(gc.isenabled(), gc.get_threshold()[0])\n"
        "tap.TapMondayBoards.invoke(config=_ConfigInput(config={'api_token': 't'}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", code, argv0], capture_output=True, text=True, check=True, timeout=60, env=env
    )
    imported, synced = done.stdout.splitlines()[-2:]
    cli = argv0.endswith("tap-monday-boards")
    assert imported == f"{not cli} {cli}"
    assert synced == f"True {GC_YOUNG_THRESHOLD}"
