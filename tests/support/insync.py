"""In-process syncs of the tap against the emulator (or a loopback script), for tests that read the Singer
output: the one test tap (:class:`InProcessTap`) and the one run helper (:func:`run_in_process`, and
:func:`sync` for runs that must succeed).

Why one of each: a test that reads Singer output needs the same four steps - choose the streams the tap
discovers, select some in a catalog from that discovery, capture stdout while ``sync_all`` runs, parse the
lines and check that the API token never leaked. Written once, every test gets the token check and the same
parsing, and a change of the SDK's output touches one place.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Collection, Mapping, Sequence
from contextlib import redirect_stdout
from typing import Any

from monday_emulator.testing import RunningEmulator
from singer_sdk import Stream, Tap

from benchmarks.tap_runner import select_only
from tap_monday_boards.tap import TapMondayBoards

Messages = list[dict[str, Any]]
StreamChoice = Collection[str] | type[Stream] | None
"""Which of the tap's own streams a test tap discovers: these names, every stream of this class (board
streams have a name per board), or all of them (None)."""

ENGINE_STREAMS = ("items", "subitems")
"""The engine streams (the small streams have their own tests)."""


class InProcessTap(TapMondayBoards):
    """The tap discovering only the streams a test is about, optionally one swapped for a test's subclass.

    Why a subclass and not only a catalog: a stream that is not discovered is neither built nor planned by
    the engine, and a test may need to replace one stream by a subclass that fails or crashes on purpose
    (``swap={"items": CrashingItems}``), which a catalog cannot do. Every other behaviour is the tap's own.
    """

    def __init__(
        self,
        *args: Any,
        streams: StreamChoice = None,
        swap: Mapping[str, type[Stream]] | None = None,
        **kwargs: Any,
    ) -> None:
        # Set before the SDK's __init__: it may discover the streams (catalog, mapper).
        self._choice = streams
        self._swap = dict(swap or {})
        super().__init__(*args, **kwargs)

    def discover_streams(self) -> Sequence[Stream]:
        """The tap's own discovery, kept to the chosen streams, with any swapped stream replaced."""
        choice = self._choice
        found = [
            stream
            for stream in super().discover_streams()
            if choice is None
            or (isinstance(choice, type) and isinstance(stream, choice))
            or (not isinstance(choice, type) and stream.name in choice)
        ]
        return [self._swap[s.name](tap=self) if s.name in self._swap else s for s in found]


def emulator_config(em: RunningEmulator, token: str, **extra: Any) -> dict[str, Any]:
    """The config of a sync against the running emulator ``em`` with ``token`` (one of its tokens), 4
    requests at once: enough for the few boards of a test, and gentle on a shared 2-core machine."""
    return {"api_token": token, "api_url": em.url, "max_concurrency": 4, **extra}


def deselect_properties(catalog: dict[str, Any], names: Collection[str]) -> dict[str, Any]:
    """Deselect the top-level properties ``names`` of every stream in ``catalog`` (in place; returned)."""
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            breadcrumb = meta["breadcrumb"]
            if len(breadcrumb) == 2 and breadcrumb[0] == "properties" and breadcrumb[1] in names:
                meta["metadata"]["selected"] = False
    return catalog


def build_tap(
    config: Mapping[str, Any],
    *,
    streams: StreamChoice = None,
    select: Collection[str] | None = None,
    state: Mapping[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    swap: Mapping[str, type[Stream]] | None = None,
) -> InProcessTap:
    """The test tap for ``config``: discovering ``streams``, with only ``select`` selected (a catalog from
    its own discovery; None: the SDK's default, every stream) or the given ``catalog``, and a copy of
    ``state`` (the SDK updates the state it is given in place, and tests reuse theirs)."""
    if select is not None:
        assert catalog is None, "select or catalog, not both"
        discovery = InProcessTap(config=dict(config), streams=streams, swap=swap)
        catalog = select_only(discovery.catalog_dict, set(select))
    return InProcessTap(
        config=dict(config),
        streams=streams,
        swap=swap,
        catalog=catalog,
        state=copy.deepcopy(dict(state)) if state is not None else None,
    )


def run_in_process(
    tap: Tap | Mapping[str, Any],
    *,
    dry_run_record_limit: int | None = None,
    **build: Any,
) -> tuple[Messages, BaseException | None]:
    """Sync ``tap`` (or :func:`build_tap` of a config with ``build``) capturing its Singer output; an error
    is returned with what was written before it (failure tests want both).

    ``dry_run_record_limit`` runs the SDK's dry run (``--test``) instead of ``sync_all``. Asserts that the
    config's API token appears nowhere in the output.
    """
    if isinstance(tap, Mapping):
        tap = build_tap(tap, **build)
    else:
        assert not build, "build options go with a config, not a tap"
    token = tap.config.get("api_token")
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    error: BaseException | None = None
    with redirect_stdout(buffer):
        try:
            if dry_run_record_limit is None:
                tap.sync_all()
            else:
                tap.run_sync_dry_run(dry_run_record_limit=dry_run_record_limit)
        except Exception as exc:  # failure tests want the messages written before the error
            error = exc
        buffer.flush()
    raw = buffer.buffer.getvalue().decode()  # type: ignore[attr-defined,unused-ignore]
    if isinstance(token, str) and token:
        assert token not in raw
    return [json.loads(line) for line in raw.splitlines() if line.strip()], error


def sync(tap: Tap | Mapping[str, Any], **options: Any) -> Messages:
    """:func:`run_in_process` for a run that must succeed: its messages, or the run's error raised again
    (so ``pytest.raises`` sees the tap's own exception)."""
    messages, error = run_in_process(tap, **options)
    if error is not None:
        raise error
    return messages


def records(messages: Messages, stream: str) -> list[dict[str, Any]]:
    """The RECORD payloads of ``stream``, in output order."""
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def states(messages: Messages) -> list[dict[str, Any]]:
    """Every STATE value, in output order."""
    return [m["value"] for m in messages if m["type"] == "STATE"]


def truth(store: Any, item_id: str) -> dict[str, Any]:
    """The emulator's ground truth for one item (it must exist)."""
    item = store.render_item(item_id)
    assert item is not None, item_id
    return dict(item)


def request_variables(request: Any) -> dict[str, Any]:
    """The GraphQL variables of one logged emulator request."""
    return dict(request.variables or {})


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
