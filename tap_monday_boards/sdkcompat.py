"""Every use of singer-sdk internals, in one place, for the SDK range pyproject.toml declares.

Why: the tap needs a few things the SDK does not make public (a stream's tap, the child sync of a batch,
the deferred ACTIVATE_VERSION, the record's table version, the state writer...). Spread over the modules,
an SDK upgrade could break any of them silently; here each is one small named function, and
tests/test_sdkcompat.py checks that the installed SDK is inside ``SUPPORTED_SDK`` and still has every
private member listed below. Upgrading the SDK means: widen the range in pyproject.toml and here, run that
test, and re-read the overrides named in ``OVERRIDDEN``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.helpers._state import StateWriter
from singer_sdk.helpers._typing import _is_exclusive_boolean_type, conform_record_data_types
from singer_sdk.helpers._util import utc_now
from singer_sdk.plugin_base import _ConfigInput

if TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib.catalog import SelectionMask

SUPPORTED_SDK = ">=0.54.5,<0.55"
"""The singer-sdk versions this module was checked against (pyproject.toml declares the same range)."""

ConfigInput = _ConfigInput
"""The type of ``Tap.invoke``'s ``config`` argument."""

__all__ = [
    "OVERRIDDEN",
    "PRIVATE_IMPORTS",
    "PRIVATE_INSTANCE_ATTRIBUTES",
    "PRIVATE_METHODS_CALLED",
    "SUPPORTED_SDK",
    "ConfigInput",
    "StateWriter",
    "conform_record_data_types",
    "utc_now",
]

OVERRIDDEN: dict[str, tuple[str, ...]] = {
    "singer_sdk.Stream": (
        "_generate_record_messages",
        "_write_activate_version_message",
        "_write_record_message",
        "_increment_stream_state",
        "_sync_records",
    ),
    "singer_sdk.Tap": ("_handle_termination", "_validate_config"),
}
"""Private SDK methods the tap overrides (records.py, items_stream.py, tap.py): re-read them on an upgrade."""
PRIVATE_METHODS_CALLED: dict[str, tuple[str, ...]] = {
    "singer_sdk.Stream": (
        "_sync_children",
        "_write_state_message",
        "_write_activate_version_message",
        "_get_state_partition_context",
        "_write_starting_replication_value",
        "_finalize_state",
    ),
    "singer_sdk.streams.graphql.GraphQLStream": ("_request", "_prepare_request"),
}
"""Private SDK methods called through this module."""
PRIVATE_INSTANCE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "stream": ("_tap", "_stream_version", "_initialized_at", "_mask"),
    "tap": ("_config", "_state_writer"),
    "state_writer": ("_message_writer",),
}
"""Private attributes read or written through this module, per object."""
PRIVATE_IMPORTS: tuple[tuple[str, str], ...] = (
    ("singer_sdk.helpers._state", "StateWriter"),
    ("singer_sdk.helpers._typing", "_is_exclusive_boolean_type"),
    ("singer_sdk.helpers._typing", "conform_record_data_types"),
    ("singer_sdk.helpers._util", "utc_now"),
    ("singer_sdk.plugin_base", "_ConfigInput"),
)
"""(module, name) imported from the SDK's private modules above."""


# --- streams -----------------------------------------------------------------------------------------------


def tap_of(stream: Stream) -> Tap:
    """The tap a stream belongs to (its siblings: ``tap_of(stream).streams[name]``; the sync's engine)."""
    tap: Tap = stream._tap
    return tap


def sync_children(stream: Stream, context: Context | None) -> None:
    """Sync ``stream``'s children once for ``context`` (a hand-over batch, not one record)."""
    stream._sync_children(context)


def write_state_message(stream: Stream) -> None:
    """Write the tap's STATE now (a checkpoint between boards)."""
    stream._write_state_message()


def state_partition_context(stream: Any, context: Context | None) -> Context | None:
    """The context of the state partition ``context`` belongs to (the SDK's record loop asks it per
    partition; records.py's batch loop does the same)."""
    partition: Context | None = stream._get_state_partition_context(context)
    return partition


def write_starting_replication_value(stream: Any, context: Context | None) -> None:
    """Record the partition's starting bookmark, as the SDK's record loop does before a partition."""
    stream._write_starting_replication_value(context)


def finalize_state(stream: Any, state: dict[str, Any] | None) -> None:
    """Promote ``state``'s progress markers to its bookmark (the SDK's end of a partition / stream)."""
    stream._finalize_state(state)


def write_activate_version(stream: Stream, version: int) -> None:
    """The SDK's own ACTIVATE_VERSION for ``stream`` (bypassing a subclass that defers it)."""
    Stream._write_activate_version_message(stream, version)


def set_stream_version(stream: Stream, version: int | None) -> None:
    """The table version the SDK stamps on ``stream``'s RECORD messages (None: no version)."""
    stream._stream_version = version


def stream_version(stream: Any) -> int | None:
    """The table version of ``stream``'s RECORD messages."""
    version: int | None = stream._stream_version
    return version


def initialized_at(stream: Stream) -> int:
    """When the stream object was created, in ms since the epoch (the SDK's default table version)."""
    moment: int = stream._initialized_at
    return moment


def cached_mask(stream: Any) -> SelectionMask | None:
    """The selection mask the SDK cached on ``stream`` (None before it computed one)."""
    mask: SelectionMask | None = getattr(stream, "_mask", None)
    return mask


def cache_mask(stream: Any, mask: SelectionMask) -> None:
    """Replace the SDK's cached selection mask of ``stream`` (records.py caches nested answers)."""
    stream._mask = mask


def http_request_function(stream: Any) -> Any:
    """The SDK's undecorated request function of a REST/GraphQL stream (for its own page loop)."""
    return stream._request


def prepare_request(stream: Any, context: Context | None, page: Any) -> Any:
    """The SDK's prepared HTTP request of ``stream`` for ``page``."""
    return stream._prepare_request(context=context, page=page)


# --- tap and state -----------------------------------------------------------------------------------------


def mutable_config(tap: Tap) -> dict[str, Any]:
    """The tap's config as the SDK stores it (``tap.config`` is a read-only view): defaults are filled in."""
    config: dict[str, Any] = tap._config
    return config


def state_writer(tap: Tap) -> StateWriter:
    """The tap's STATE writer."""
    writer: StateWriter = tap._state_writer
    return writer


def set_state_writer(tap: Tap, writer: StateWriter) -> None:
    """Replace the tap's STATE writer (statewriter.py paces it)."""
    tap._state_writer = writer


def message_writer_of(writer: StateWriter) -> Any:
    """The Singer message writer a STATE writer writes to."""
    return writer._message_writer


def is_exclusive_boolean_type(schema: Any) -> bool:
    """True when a property's schema allows booleans only (the SDK conforms such values)."""
    return bool(_is_exclusive_boolean_type(schema))
