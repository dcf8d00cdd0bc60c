"""TapMondayBoards: the settings (schema + validation), the stream list and the writer options.

Settings are validated before any request is made: the JSON schema carries the bounds (so ``--about`` and
Meltano show them) and :func:`settings_errors` adds the rules a schema cannot express (a usable URL, a
parseable ``start_date``, a non-blank token). Every message names the setting and the rule; the token's value
is never echoed. The defaults and bounds of the settings the engine reads are not written here: they come
from engine/settings.py (``ENGINE_DEFAULTS``, ``schema_bounds``), the one place each is declared.
"""

from __future__ import annotations

import copy
import functools
import gc
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import jsonschema
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities
from typing_extensions import override

import tap_monday_boards
from tap_monday_boards import detail_streams, sdkcompat, streams
from tap_monday_boards.assets import AssetsStream
from tap_monday_boards.board_streams import discover_board_streams
from tap_monday_boards.engine.settings import (
    DEFAULT_API_URL,
    DEFAULT_API_VERSION,
    ENGINE_DEFAULTS,
    LOOKBACK_WINDOW_MINUTES,
    MAX_BATCH,
    MAX_HARVEST_PAGE,
    SMALLEST_PLAN,
    TAP_SHARES,
    schema_bounds,
)
from tap_monday_boards.items_stream import (
    ItemColumnValuesStream,
    ItemsStream,
    ItemSubscribersStream,
    SubitemsStream,
)
from tap_monday_boards.nul import NulFreeWriter
from tap_monday_boards.output import OUTPUT
from tap_monday_boards.statewriter import ThrottledStateWriter

if TYPE_CHECKING:
    # The engine (prefetch.py -> engine/account.py, pipeline.py, runtime.py, and aiohttp under them) is a
    # sync's: imported by ``engine_source`` when the sync starts it, so ``--discover`` and ``--about``
    # never load it (docs/benchmarks.md, "The tap's start-up").
    from tap_monday_boards.prefetch import Prefetch

API_VERSION_PATTERN = r"^\d{4}-(01|04|07|10)$"
SECRET_SETTINGS = frozenset({"api_token"})
ID_LIST_SETTINGS = ("board_ids", "workspace_ids")

_ID_PATTERN = r"^\d+$"
GC_YOUNG_THRESHOLD = 100_000
"""Allocations between young-generation collections during a sync (CPython's default is 700).

The count is tracked objects allocated minus those freed, so what reaches it is what stays alive: the
lists of the items waiting in the engine's read-ahead (~5 per item). At 20,000 a sync of 49,000 items ran
4-5 young collections of 30-75 ms each, every one walking the whole read-ahead; at 100,000, one of ~10 ms
(docs/benchmarks.md, fourth round), peak memory unchanged (the cyclic garbage a sync makes is a few
thousand objects)."""


def _id_list(description: str, title: str) -> th.Property:
    # Numeric ids are accepted as strings or integers (YAML/JSON configs write both); they become strings.
    id_type = th.CustomType({"type": ["string", "integer"], "pattern": _ID_PATTERN, "minimum": 1})
    return th.Property(
        title.lower().replace(" ", "_"),
        th.ArrayType(id_type),
        title=title,
        description=description,
        default=[],
    )


def _shares(setting: str) -> str:
    """The tap's default share of each plan's limit, for the setting's description."""
    shares = [f"{getattr(share, setting):,} on {name.title()}" for name, share in TAP_SHARES.items()]
    return ", ".join([*shares, f"{getattr(SMALLEST_PLAN, setting):,} on other plans, in a trial, or when the "
                      "plan cannot be read"])  # fmt: skip


CONFIG_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property(
        "api_token",
        th.StringType(nullable=False),
        required=True,
        secret=True,
        title="API token",
        description="monday.com personal or app API token, sent raw in the Authorization header. Required.",
    ),
    _id_list(
        "Boards to extract (numeric ids as strings). Default: [] = every board the token can read.",
        "Board IDs",
    ),
    _id_list(
        "Only extract boards in these workspaces (numeric ids as strings). Default: [] = no filter.",
        "Workspace IDs",
    ),
    th.Property(
        "api_url",
        th.StringType(nullable=False),
        title="API URL",
        default=DEFAULT_API_URL,
        description=f"GraphQL endpoint (http or https URL). Default: {DEFAULT_API_URL}. "
        "Point it at the local emulator for tests.",
    ),
    th.Property(
        "api_version",
        th.StringType(nullable=False, pattern=API_VERSION_PATTERN),
        title="API version",
        default=DEFAULT_API_VERSION,
        description=f"Pinned monday API version sent as the API-Version header, YYYY-MM with month 01, 04, "
        f"07 or 10. Default: {DEFAULT_API_VERSION}.",
    ),
    th.Property(
        "harvest_page_size",
        th.IntegerType(**schema_bounds("harvest_page_size")),
        title="Harvest page size",
        default=ENGINE_DEFAULTS["harvest_page_size"],
        description="Item ids per items_page/next_items_page request in phase 1, "
        f"1-{MAX_HARVEST_PAGE} (monday's maximum). Default: {ENGINE_DEFAULTS['harvest_page_size']} ids.",
    ),
    th.Property(
        "batch_size",
        th.IntegerType(**schema_bounds("batch_size")),
        title="Batch size",
        default=ENGINE_DEFAULTS["batch_size"],
        description=f"Item ids per items(ids:) request in phase 2, 1-{MAX_BATCH} (monday's maximum). "
        f"Default: {ENGINE_DEFAULTS['batch_size']} ids.",
    ),
    th.Property(
        "max_concurrency",
        th.IntegerType(**schema_bounds("max_concurrency")),
        title="Max concurrency",
        description="Most requests in flight at once for the whole process, >= 1. "
        "Default: by the account's plan, read at the start of each sync (monday allows 250 per account "
        f"on Enterprise, 100 on Pro, 40 on other plans): {_shares('max_concurrency')}. "
        "Set it when other clients of the account need more room.",
    ),
    th.Property(
        "complexity_budget_per_minute",
        th.IntegerType(**schema_bounds("complexity_budget_per_minute")),
        title="Complexity budget per minute",
        default=ENGINE_DEFAULTS["complexity_budget_per_minute"],
        description="Complexity points the tap may spend per sliding minute, >= 1. "
        f"Default: {ENGINE_DEFAULTS['complexity_budget_per_minute']:,} points "
        "(personal token; use 1,000,000 for trial/free accounts, 5,000,000 for app tokens).",
    ),
    th.Property(
        "requests_per_minute",
        th.IntegerType(**schema_bounds("requests_per_minute")),
        title="Requests per minute",
        description="Most requests per minute for the whole process, >= 1. "
        "Default: by the account's plan, read at the start of each sync (monday allows 5,000 per account "
        f"on Enterprise, 2,500 on Pro, 1,000 on other plans): {_shares('requests_per_minute')}.",
    ),
    th.Property(
        "request_timeout",
        th.IntegerType(**schema_bounds("request_timeout")),  # integer: Meltano 4.4 cannot serialise decimals
        title="Request timeout",
        default=int(ENGINE_DEFAULTS["request_timeout"]),
        description="Seconds to wait for one HTTP answer before it counts as failed, >= 1. "
        f"Default: {int(ENGINE_DEFAULTS['request_timeout'])} seconds "
        "(monday's own server-side limit).",
    ),
    th.Property(
        "max_retries",
        th.IntegerType(**schema_bounds("max_retries")),
        title="Max retries",
        default=ENGINE_DEFAULTS["max_retries"],
        description="Retries of one request after a retriable error (5xx, timeout, partial answer), >= 0; "
        "rate limits are waited out apart from these. "
        f"Default: {ENGINE_DEFAULTS['max_retries']} retries.",
    ),
    th.Property(
        "start_date",
        th.DateTimeType(),
        title="Start date",
        description="ISO 8601 date-time: only items, updates and activity logs changed at or after it are "
        "extracted on the first run. Default: none (everything).",
    ),
    th.Property(
        "include_subitems",
        th.BooleanType(),
        title="Include subitems",
        default=True,
        description="Also extract the subitems of every extracted board (subitems stream). Default: true.",
    ),
    th.Property(
        "include_archived",
        th.BooleanType(),
        title="Include archived",
        default=ENGINE_DEFAULTS["include_archived"],
        description=(
            "Also extract archived and deleted boards (boards state: all). monday lists only active items "
            "through items_page, so archived items are not listed; items archived or deleted after a sync "
            "arrive with their state through the activity log on the next incremental run. Default: false."
        ),
    ),
    th.Property(
        "user_agent",
        th.StringType(),
        title="User agent",
        default=ENGINE_DEFAULTS["user_agent"],
        description=f"User-Agent header of every request. Default: {ENGINE_DEFAULTS['user_agent']}.",
    ),
    th.Property(
        "lookback_window_minutes",
        th.IntegerType(minimum=0),
        title="Lookback window",
        default=LOOKBACK_WINDOW_MINUTES,
        description="Minutes subtracted from each incremental bookmark before filtering, >= 0, so changes "
        "made while the previous run was harvesting are seen again. "
        f"Default: {LOOKBACK_WINDOW_MINUTES} minutes.",
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType(),
        title="Emit ACTIVATE_VERSION messages",
        default=False,
        description="Emit ACTIVATE_VERSION messages on full-table syncs so targets can drop rows that "
        "disappeared. Default: false.",
    ),
    th.Property(
        "board_streams",
        th.BooleanType(),
        title="Board streams",
        default=False,
        description="Also discover one typed stream per board in board_ids (board_<name>_<id>: one property "
        "per column, typed by column type; see docs/board_streams.md). Default: false.",
    ),
    th.Property(
        "board_stream_names",
        th.StringType(allowed_values=["title", "column_id"]),
        title="Board stream property names",
        default="title",
        description="How board stream properties are named: 'title' (readable, from the column title; a "
        "renamed column keeps its name only when discovery is given the previous catalog) or 'column_id' "
        "(from monday's column id, which never changes: renames never rename a property). A retype always "
        "gives a new property either way. Default: title.",
    ),
    th.Property(
        "item_column_values",
        th.BooleanType(),
        title="Item column values stream",
        default=False,
        description="Also discover the item_column_values stream: one row per item and column (long format, "
        "typed fields as columns), from the same fetch as items. Default: false.",
    ),
    th.Property(
        "item_subscribers",
        th.BooleanType(),
        title="Item subscribers stream",
        default=False,
        description="Also discover the item_subscribers stream: one row per item and subscribed user, from "
        "one items(ids:) request per 100 extracted items. Costly: under monday's published complexity rule "
        "a list inside each item counts x1,000, about 1,000 points per item (the items stream itself costs "
        "about 120). Default: false.",
    ),
    th.Property(
        "update_replies",
        th.BooleanType(),
        title="Update replies stream",
        default=False,
        description="Also discover the update_replies stream: the replies to every extracted update, from "
        "one updates(ids:) request per 100 updates. Costly: under monday's published complexity rule the "
        "replies list inside each update counts x1,000, about 6,000 points per update (50 times an item); "
        "20,000 updates take 12 minutes of a 10 million points per minute budget. Default: false.",
    ),
    th.Property(
        "skip_unreadable_boards",
        th.BooleanType(),
        title="Skip unreadable boards",
        default=False,
        description="When a configured board cannot be read (missing or no permission), log one warning and "
        "continue with the others instead of failing. Default: false.",
    ),
).to_dict()


def _redacted(name: str, message: str) -> str:
    """Drop the offending value from a message about a secret setting (jsonschema echoes the value)."""
    return "has an invalid value (not shown: secret)" if name in SECRET_SETTINGS else message


def _schema_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(dict(config)), key=lambda e: list(map(str, e.path))):
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            name = missing[0] if missing else "?"
            errors.append(f"setting '{name}' is required")
            continue
        name = str(error.path[0]) if error.path else "?"
        where = "".join(f"[{p!r}]" for p in list(error.path)[1:])
        message = _redacted(name, error.message)
        errors.append(f"setting '{name}'{where}: {message}")
    return errors


def setting_defaults(schema: Mapping[str, Any] = CONFIG_SCHEMA) -> dict[str, Any]:
    """Setting name -> documented default (settings without a default are absent)."""
    return {
        name: copy.deepcopy(prop["default"])
        for name, prop in schema.get("properties", {}).items()
        if "default" in prop
    }


def settings_errors(config: Mapping[str, Any], schema: Mapping[str, Any] = CONFIG_SCHEMA) -> list[str]:
    """Every problem with ``config``, each naming the setting and the rule; empty when it is valid.

    Pure (no I/O) so tests and the engine can call it; the tap calls it before any request.
    """
    errors = _schema_errors(config, schema)
    token = config.get("api_token")
    if isinstance(token, str) and not token.strip():
        errors.append("setting 'api_token': must not be blank")
    url = config.get("api_url")
    if isinstance(url, str):
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname or " " in url:
            errors.append(f"setting 'api_url': {url!r} is not an http(s) URL with a host")
    start = config.get("start_date")
    if isinstance(start, str):
        try:
            datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            errors.append(f"setting 'start_date': {start!r} is not an ISO 8601 date-time")
    return errors


class TapMondayBoards(Tap):
    """Singer tap for monday.com boards, items and their metadata."""

    name = "tap-monday-boards"
    package_name = "tap-monday-boards"
    # A copy: the SDK adds its built-in settings (stream_maps, flattening...) to this dict in place.
    config_jsonschema: ClassVar[dict[str, Any]] = copy.deepcopy(CONFIG_SCHEMA)
    message_writer_class = NulFreeWriter  # the SDK's msgspec writer; never a NUL in a line (nul.py)
    # No BATCH: every target understands RECORD messages, few understand BATCH (docs/architecture.md).
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        TapCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    _prefetch: Prefetch | None = None
    _syncing = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # STATE paced by its size, the newest always written at the end (statewriter.py)
        sdkcompat.set_state_writer(self, ThrottledStateWriter(self.message_writer))

    @override  # type: ignore[misc]  # final in the SDK: see the docstring
    def sync_all(self) -> None:
        """The SDK's sync, with the engine (prefetch.py) started by the first stream and closed at the end.

        The SDK marks ``sync_all`` final, but it is the only hook that brackets a whole sync: the engine's
        thread, session and pipelines must be closed when the sync ends (normally, on an error, on a record
        cap), also in-process, not when the interpreter exits. Behaviour is otherwise the SDK's own.
        """
        self._syncing = True
        try:
            super().sync_all()
        finally:
            self._syncing = False
            prefetch, self._prefetch = self._prefetch, None
            try:
                if prefetch is not None:
                    prefetch.close()
            finally:
                self._flush_state()

    def _flush_state(self) -> None:
        """The newest kept STATE, and every RECORD line still waiting (output.py), to stdout now."""
        writer = sdkcompat.state_writer(self)
        if isinstance(writer, ThrottledStateWriter):
            writer.flush()
        OUTPUT.flush()

    def engine_source(self) -> Prefetch | None:
        """The sync's engine, started on first use (by then the SDK has prepared state and replication
        methods); None outside ``sync_all``."""
        if not self._syncing:
            return None
        if self._prefetch is None:
            from tap_monday_boards.prefetch import Prefetch  # noqa: PLC0415 - a sync's only (see imports)

            self._prefetch = Prefetch(self)
            self._prefetch.start()
        return self._prefetch

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: sdkcompat.ConfigInput | None = None,
        state: IO[str] | None = None,
        catalog: IO[str] | None = None,
    ) -> None:
        """The CLI's sync, with the cyclic garbage collector tuned for a stream of short-lived records.

        Why: a sync builds ~30 dicts and lists per item that die as soon as the record is written, and
        nearly none of them form cycles; with the default young-generation threshold (700 allocations) the
        collector ran thousands of times per 50,000 items, each time also re-walking what the SDK and the
        imports left alive. Freezing what exists before the sync and collecting young objects every
        GC_YOUNG_THRESHOLD allocations cut the tap's CPU by ~5 %, and ~3 % more at 100,000 instead of 20,000
        (docs/benchmarks.md). Only here, in the process the CLI
        owns: an in-process caller of ``sync_all`` (tests) keeps its collector as it is.
        """
        threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *threshold[1:])
        if tap_monday_boards.IMPORTS_WITHOUT_GC:  # the console script imported with it paused (__init__)
            gc.enable()
        try:
            super().invoke(
                about=about, about_format=about_format, config=config, state=state, catalog=catalog
            )
        finally:
            gc.set_threshold(*threshold)
            gc.unfreeze()

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """Write the current state like the SDK, then exit ``128 + signum`` instead of the SDK's 0.

        An interrupted sync must not look complete to a scheduler: Meltano marks the run failed, while the
        state written here (bookmarks of finished boards, progress markers only for the interrupted one) still
        lets the next run resume safely. A signal that arrives while stdout is being written waits for that
        write to finish (output.py), so the STATE never lands inside a RECORD line.
        """
        if OUTPUT.writing:
            OUTPUT.defer(functools.partial(self._handle_termination, signum, frame))
            return
        try:
            sdkcompat.state_writer(self).write_state(self.state)
            self._flush_state()
        finally:
            self.logger.warning("Interrupted by signal %d: state written, exit %d", signum, 128 + signum)
            sys.exit(128 + signum)

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Fill defaults, then validate with our messages (naming the setting, never echoing the token).

        The SDK does not apply schema defaults to ``self.config``; filling them here (the SDK calls this from
        ``__init__``, before any stream exists) gives every stream and ``EngineSettings.from_config`` one
        complete config with the documented defaults.
        """
        config = sdkcompat.mutable_config(self)
        for name, default in setting_defaults().items():
            config.setdefault(name, default)
        for name in ID_LIST_SETTINGS:
            ids = config.get(name)
            if isinstance(ids, list):
                config[name] = [str(i) if isinstance(i, int) and not isinstance(i, bool) else i for i in ids]
        schema = dict(self.config_jsonschema)
        schema["properties"] = dict(schema.get("properties", {}))
        self.append_builtin_config(schema)
        errors = settings_errors(config, schema)
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)
        for error in errors:
            self.logger.warning("Config: %s", error)
        return errors

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """The SDK's streams with ``items`` and ``subitems`` first and ``assets`` last.

        Why: ``sync_all`` syncs the top-level streams in the order of this mapping, which the SDK sorts by
        name (``load_streams``). Every stream's requests start with the sync (prefetch.py), but the SDK
        writes one stream at a time: behind ``boards``, whose ``updates`` of a board come one page of 100
        after the other, the items (the most records, each fetched board stopped at its read-ahead) would
        wait, and be written only once every board's updates are in. So the engine streams go first, and
        the lists of the other streams fill meanwhile (each within its own read-ahead). ``assets`` goes
        last: the records of ``items``, ``subitems`` and ``updates`` (a child of ``boards``) hand it the
        asset ids (assets.py).
        """
        found = super().streams
        first = [name for name in (ItemsStream.name, SubitemsStream.name) if name in found]
        last = [AssetsStream.name] if AssetsStream.name in found else []
        order = [*first, *(name for name in found if name not in first and name not in last), *last]
        if list(found) != order:
            for name in order:  # the SDK's cached dict, reordered once
                found[name] = found.pop(name)
        return found

    @override
    def discover_streams(self) -> Sequence[Stream]:
        """The small GraphQL streams, the items engine streams, ``assets`` and, with ``board_streams``, one
        stream per board (the sync order is the ``streams`` mapping's, see there)."""
        stream_classes: list[type[Stream]] = [
            *streams.STREAM_CLASSES,
            *detail_streams.STREAM_CLASSES,
            ItemsStream,
            SubitemsStream,
            AssetsStream,
        ]
        if not self.config.get("update_replies"):
            stream_classes.remove(detail_streams.UpdateRepliesStream)
        if self.config.get("item_subscribers"):
            stream_classes.insert(stream_classes.index(ItemsStream) + 1, ItemSubscribersStream)
        if self.config.get("item_column_values"):
            stream_classes.insert(stream_classes.index(ItemsStream) + 1, ItemColumnValuesStream)
        found: list[Stream] = [stream_class(tap=self) for stream_class in stream_classes]
        if self.config.get("board_streams"):
            found.extend(discover_board_streams(self))
        return found
