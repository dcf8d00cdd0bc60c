"""The items engine run directly against the emulator (no SDK, no Singer output), for engine tests.

Why shared: harvest, pipeline, complexity-cap, throttling and critical-path tests all need the same two
things - settings aimed at one emulator with retries that wait milliseconds, and every record of some
boards read through one ``ItemsPipeline`` - and a test that differs in them should say so by an argument.
"""

from __future__ import annotations

from typing import Any

from monday_emulator.testing import RunningEmulator

from tap_monday_boards.engine.governor import Governor
from tap_monday_boards.engine.pipeline import ItemsPipeline
from tap_monday_boards.engine.settings import EngineSettings
from tap_monday_boards.wire import as_dict

Records = dict[str, list[dict[str, Any]]]


def engine_settings(em: RunningEmulator, **overrides: Any) -> EngineSettings:
    """Settings for ``em`` (its URL and token), 8 requests at once and backoffs of 10-50 ms: a retried
    fault costs the test milliseconds, not the shipped seconds. ``overrides`` win."""
    base: dict[str, Any] = {
        "api_token": em.token,
        "api_url": em.url,
        "max_concurrency": 8,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    return EngineSettings(**{**base, **overrides})


def pipeline_records(
    settings: EngineSettings, boards: list[str], *, governor: Governor | None = None, **options: Any
) -> tuple[Records, ItemsPipeline]:
    """Every record of each of ``boards`` (as dicts, board by board) and the closed pipeline (its stats).

    The governor is a private one unless given: the limits a governor learns belong to one emulator, and
    the process-wide one would carry them from test to test. ``options`` go to ``ItemsPipeline``.
    """
    out: Records = {}
    with ItemsPipeline(settings, boards, governor=governor or Governor(settings), **options) as pipeline:
        for board in boards:
            out[board] = [as_dict(item) for item in pipeline.records(board)]
    return out, pipeline
