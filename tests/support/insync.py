"""In-process syncs of the engine streams against the emulator, for tests that read the Singer output."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from contextlib import redirect_stdout
from typing import Any

from singer_sdk import Stream

from tap_monday_boards.items_stream import ItemsStream, SubitemsStream
from tap_monday_boards.tap import TapMondayBoards

Messages = list[dict[str, Any]]


class EngineStreamsTap(TapMondayBoards):
    """Only the engine streams (the small streams have their own tests)."""

    def discover_streams(self) -> Sequence[Stream]:
        return [ItemsStream(tap=self), SubitemsStream(tap=self)]


def truth(store: Any, item_id: str) -> dict[str, Any]:
    """The emulator's ground truth for one item (it must exist)."""
    item = store.render_item(item_id)
    assert item is not None, item_id
    return dict(item)


def request_variables(request: Any) -> dict[str, Any]:
    """The GraphQL variables of one logged emulator request."""
    return dict(request.variables or {})


def run_in_process(tap: TapMondayBoards, token: str) -> tuple[Messages, BaseException | None]:
    """Sync ``tap`` capturing its Singer output; an error is returned with what was written before it.

    Also asserts that ``token`` appears nowhere in the output.
    """
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    error: BaseException | None = None
    with redirect_stdout(buffer):
        try:
            tap.sync_all()
        except Exception as exc:  # failure tests want the messages written before the error
            error = exc
        buffer.flush()
    raw = buffer.buffer.getvalue().decode()  # type: ignore[attr-defined,unused-ignore]
    assert token not in raw
    return [json.loads(line) for line in raw.splitlines() if line.strip()], error


def records(messages: Messages, stream: str) -> list[dict[str, Any]]:
    """The RECORD payloads of ``stream``, in output order."""
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def states(messages: Messages) -> list[dict[str, Any]]:
    """Every STATE value, in output order."""
    return [m["value"] for m in messages if m["type"] == "STATE"]


HARVEST_FIRST_PAGES = ("HarvestFirstPage", "HarvestFirstPages")
"""A board's first harvest page: alone, or with other boards' in one request."""
ACTIVITY_LOGS = ("BoardActivityLogs", "BoardActivityLogsBatch")
"""A board's activity-log page: alone, or with other boards' in one request."""
_PER_BOARD = re.compile(r"^(page|from|query_params)(\d+)$")
_BOARD = re.compile(r"^b\d+$")


def board_calls(requests: Sequence[Any], operations: Sequence[str]) -> list[dict[str, Any]]:
    """Each board's part of the logged requests of ``operations``, in order: ``{"board_id": ..., <its
    arguments>}``, for one-board documents (``board_ids``) and several-boards ones (aliases ``b0``, ...)."""
    calls: list[dict[str, Any]] = []
    for request in requests:
        if request.operation not in operations:
            continue
        variables = request_variables(request)
        if "board_ids" in variables:
            (board_id,) = variables["board_ids"]
            calls.append({**{k: v for k, v in variables.items() if k != "board_ids"}, "board_id": board_id})
            continue
        shared = {k: v for k, v in variables.items() if not _PER_BOARD.match(k) and not _BOARD.match(k)}
        per_board: dict[str, dict[str, Any]] = {}
        for key, value in variables.items():
            if match := _PER_BOARD.match(key):
                per_board.setdefault(match.group(2), {})[match.group(1)] = value
        n = 0
        while f"b{n}" in variables:
            (board_id,) = variables[f"b{n}"]
            calls.append({**shared, **per_board.get(str(n), {}), "board_id": board_id})
            n += 1
    return calls
