"""In-process syncs of the engine streams against the emulator, for tests that read the Singer output."""

from __future__ import annotations

import io
import json
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
