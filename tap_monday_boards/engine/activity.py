"""Incremental runs: ids of items that left the board's active list since the bookmark, from activity logs.

Why: ``items_page`` lists **active** items only, so a filter on ``__last_updated__`` never
sees an item that was deleted, archived or moved away since the last run, and the warehouse would keep it as
active forever. monday writes such changes to the board's activity log (``delete_pulse``, ``archive_pulse``,
...), with the item id in ``data.pulse_id``. Those ids join the harvest of that board, and phase 2 re-reads
them with ``items(ids:)``, which returns archived and deleted items with their ``state``; records.py turns a
deleted one into a record with ``_sdc_deleted_at`` set. Re-reading (rather than emitting a synthetic delete)
keeps one code path and gives the item's real final state, whatever the event was.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tap_monday_boards import queries
from tap_monday_boards.engine.boardlists import BoardCall, read_all_pages
from tap_monday_boards.engine.transport import Request, Transport

logger = logging.getLogger(__name__)

ACTIVITY_PAGE_SIZE = 500
BOARDS_PER_REQUEST = 20
"""Boards whose logs share one request (at most 20 x 500 entries in one answer)."""
MAX_PAGES = 20
"""monday serves at most 10,000 log entries per query window: 20 pages of 500."""

LEAVE_EVENT_MARKERS = ("delete", "archive", "move_pulse", "restore")
"""Item events whose item may have left (or re-entered) the active list: ``delete_pulse``, ``archive_pulse``,
their ``batch_*`` forms, ``move_pulse_from_board``/``move_pulse_into_board``, ``restore_pulse``. monday does
not publish the full event list, so events are matched by these name fragments."""


def is_leave_event(event: Any) -> bool:
    """True for an activity-log event that can take an item out of ``items_page``."""
    return isinstance(event, str) and any(marker in event for marker in LEAVE_EVENT_MARKERS)


def pulse_ids(entry: dict[str, Any]) -> list[str]:
    """Item ids named by one log entry: ``data.pulse_id`` and, for batch events, ``data.pulse_ids``."""
    raw = entry.get("data")
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    found: list[Any] = []
    if data.get("pulse_id") is not None:
        found.append(data["pulse_id"])
    many = data.get("pulse_ids")
    if isinstance(many, list):
        found.extend(many)
    return [str(v) for v in found if str(v).isdigit()]


def _left_ids(entries: list[dict[str, Any]]) -> list[str]:
    """The ids of leave events in newest-first ``entries``, each once, oldest first."""
    ids: dict[str, None] = {}
    for entry in entries:
        if isinstance(entry, dict) and is_leave_event(entry.get("event")):
            for item_id in pulse_ids(entry):
                ids.setdefault(item_id)
    return list(reversed(ids))


async def left_item_ids_of_boards(transport: Transport, since: dict[str, str]) -> dict[str, list[str]]:
    """:func:`left_item_ids` for many boards (board id -> its own ``since``), several boards per request."""
    calls = [BoardCall(board_id, {"from": value}) for board_id, value in since.items()]
    entries = await read_all_pages(
        transport,
        queries.BOARD_ACTIVITY_LOGS_LIST,
        calls,
        limit=ACTIVITY_PAGE_SIZE,
        boards_per_request=BOARDS_PER_REQUEST,
        max_pages=MAX_PAGES,
    )
    for board_id, rows in entries.items():
        if len(rows) >= MAX_PAGES * ACTIVITY_PAGE_SIZE:
            _warn_truncated(board_id, since[board_id])
    return {board_id: _left_ids(rows) for board_id, rows in entries.items()}


def _warn_truncated(board_id: str, since: str) -> None:
    logger.warning(
        "board %s: more than %d activity-log entries since %s; deletions beyond them are not seen "
        "(run a full refresh to reconcile)",
        board_id,
        MAX_PAGES * ACTIVITY_PAGE_SIZE,
        since,
    )


async def left_item_ids(transport: Transport, board_id: str, since: str) -> list[str]:
    """Ids of items of ``board_id`` deleted/archived/moved/restored at or after ``since``, oldest first.

    Pages through ``activity_logs(from: since)`` (newest first, stops on a short page). Raises what the
    transport raises: a board whose logs cannot be read fails the board, as a failed harvest does, since
    silently skipping it would leave deleted items marked active.
    """
    entries: list[dict[str, Any]] = []
    for page in range(1, MAX_PAGES + 1):
        data = await transport.send(
            Request(
                "BoardActivityLogs",
                queries.BOARD_ACTIVITY_LOGS_QUERY,
                {"board_ids": [board_id], "limit": ACTIVITY_PAGE_SIZE, "page": page, "from": since},
                kind="BoardActivityLogs",
                units=ACTIVITY_PAGE_SIZE,
                priority=1,
                context=f"BoardActivityLogs board {board_id} page {page}",
                stat_key=board_id,
            )
        )
        boards = data.get("boards") or []
        found = (boards[0] or {}).get("activity_logs") or [] if boards else []
        entries.extend(e for e in found if isinstance(e, dict))
        if len(found) < ACTIVITY_PAGE_SIZE:
            break
    else:
        _warn_truncated(board_id, since)
    return _left_ids(entries)
