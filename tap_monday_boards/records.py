"""Raw API item -> Singer record, shared by the items and subitems streams.

The record is flat at the root (ids, names, timestamps) so targets make plain columns, and
``column_values`` is ONE object keyed by column id so it loads as a single ``jsonb`` column instead of an
array (``jsonb[]``) that SQL cannot index by column id. See docs/architecture.md "Item record".
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any, ClassVar

import msgspec
from singer_sdk import Stream
from singer_sdk.contrib import msgspec as sdk_msgspec
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.catalog import Breadcrumb, SelectionMask

from tap_monday_boards import sdkcompat
from tap_monday_boards.column_values import ColumnValueStats, parse_column_values
from tap_monday_boards.nul import NulFreeWriter, holds_nul, without_nul
from tap_monday_boards.output import OUTPUT
from tap_monday_boards.prepared import PreparedEntries
from tap_monday_boards.wire import Group, Ref, StrictWireItem, WireItem
from tap_monday_boards.wire_values import encoded_column_values, wire_column_values

_PLAIN_TYPES = frozenset({str, int, type(None), dict, msgspec.Raw})  # Raw: encoded entries (prepared.py)
"""Value types root-only conformance returns unchanged (for a property that is not boolean-only; ``bool`` is
not ``int`` here: the test is on the exact type)."""


class _CachingSelectionMask(SelectionMask):
    """A selection mask that remembers inherited answers.

    The SDK walks every nested dict of every record to drop deselected properties and asks the mask about
    each breadcrumb; the stock mask recomputes an unknown breadcrumb (every column id) from its parents on
    every call. Column ids repeat across records, so caching the answer cuts that walk's cost by about half.
    """

    def __missing__(self, breadcrumb: Breadcrumb) -> bool:
        selected = super().__missing__(breadcrumb)
        self[breadcrumb] = selected
        return selected


class _LastContextState:
    """A stream state manager's ``get_context_state`` that remembers its answer for the last context.

    Why: the SDK finds a partition's state for every record by comparing the context with every partition
    of the stream's state (a list scan: one dict comparison per board, per record). The SDK passes the
    same context object for every record of a partition, so the answer is kept for that object while it
    is unchanged and the tap state is the same dict; anything else asks the SDK again. The first call for a
    context still creates its entry, as the SDK does.
    """

    __slots__ = ("_context", "_lookup", "_manager", "_saved", "_state", "_tap_state")

    def __init__(self, lookup: Any, manager: Any) -> None:
        self._lookup = lookup
        self._manager = manager
        self._context: Any = None
        self._saved: dict[str, Any] | None = None
        self._state: dict[str, Any] | None = None
        self._tap_state: Any = None

    def __call__(self, context: Mapping[str, Any] | None) -> Any:
        state = self._state
        if (
            state is not None
            and context is self._context
            and context == self._saved
            and self._manager.tap_state is self._tap_state
        ):
            return state
        state = self._lookup(context)
        if context is None:
            self._state = None
        else:
            self._context, self._saved, self._state = context, dict(context), state
            self._tap_state = self._manager.tap_state
        return state


class WideRecordStreamMixin:
    """For the items/subitems streams: emission settings measured on the real item record.

    ``TYPE_CONFORMANCE_LEVEL = ROOT_ONLY``: root fields are conformed; ``column_values`` is emitted as built
    (records.py already types it). The caching mask alone did not stop the SDK from walking every nested
    dict of every record, so :meth:`_generate_record_messages` skips that walk (and root conformance when
    it cannot change anything) unless the catalog deselects something. Whole tap on ``instant``, 9,800
    items: 2.74 s -> 1.76 s of CPU (benchmarks/results/tap-cpu-2026-11-28.json).
    """

    TYPE_CONFORMANCE_LEVEL: ClassVar[TypeConformanceLevel] = TypeConformanceLevel.ROOT_ONLY
    _mask: SelectionMask | None
    _all_selected_mask: SelectionMask | None = None
    _all_selected_answer: bool = False
    _plain_properties: frozenset[str] | None = None
    _line: bytearray = bytearray(4096)
    """The encoder's output buffer, reused (``encode_into`` resizes it; only the main thread emits)."""
    encodes_records: bool = False
    """True while :meth:`_sync_records`' batch loop consumes :meth:`record_batches`: each record is encoded
    by the SDK's msgspec encoder as it is and never read or changed after it is written (no stream map but
    the identity, no child, no deselection, no ``post_process``), so a batch may build its records with
    ``encoded_record`` (column entries that are msgspec structs: the same line). False on the SDK's loop."""

    @property
    def mask(self) -> SelectionMask:
        """The stream's selection mask, with cached answers for nested breadcrumbs."""
        mask = sdkcompat.cached_mask(self)
        if not isinstance(mask, _CachingSelectionMask):
            mask = _CachingSelectionMask(super().mask)  # type: ignore[misc]
            sdkcompat.cache_mask(self, mask)
        return mask

    def record_batches(self, context: Mapping[str, Any] | None) -> Iterable[Iterable[dict[str, Any]]]:
        """Hook: the partition's records in batches, as the source hands them over (streams that have
        batches override it; without it the SDK's loop takes ``get_records`` one record at a time). A batch
        may build its records as they are asked for (best: each is written before the next is built).

        It must give the same records, in the same order, as the stream's ``get_records``.
        """
        raise NotImplementedError

    def _sync_records(
        self, context: Any = None, *, write_messages: bool = True
    ) -> Generator[dict[str, Any], Any, Any]:
        """The SDK's record loop, per batch when nothing in it can differ per record (else the SDK's own).

        Why: the SDK spends ~15-20 us of the main thread per record outside the stream's code (the record
        counter, the dry-run limit, ``post_process``, child contexts, the RECORD message and its flush, the
        bookmark, the STATE cadence), as much as half of building the record. When the stream hands over
        batches (:meth:`record_batches`), the writer is the tap's ``NulFreeWriter`` (the SDK's msgspec
        writer), nothing is deselected, the only stream map is the identity, no child stream is selected,
        ``post_process`` is the SDK's and there is no record limit, all of that is per batch, and what reaches
        stdout is the SDK's: the same RECORD bytes (``time_extracted`` taken once per batch), written
        through ``output.OUTPUT`` (whole lines, never split by a signal handler's STATE), a STATE after the
        same record as the SDK's every
        ``STATE_MSG_FREQUENCY`` records (a batch is cut there) and at each partition's end, and the same
        bookmark: the SDK keeps an unsorted stream's progress marker at the greatest replication value seen,
        so one increment with the batch's greatest value leaves what one increment per record leaves (the
        per-record increment is kept when a value is not a string, or for sorted or unchecked streams).
        tests/test_records.py compares this loop with the SDK's line by line. The batch loop yields no
        records: its one caller, the SDK's ``sync``, drops them (``write_messages=False`` takes the SDK's).
        """
        stream: Any = self
        if not write_messages or not self._batch_path_applies():
            try:
                yield from super()._sync_records(context, write_messages=write_messages)  # type: ignore[misc]
            finally:  # what was written before an error reaches stdout, as it did line by line
                OUTPUT.flush()
            return
        record_counter = stream.get_record_counter()
        timer = stream.get_sync_timer()
        emitted = 0
        context_list = [context] if context is not None else stream.partitions
        with record_counter, timer:
            for context_element in context_list or [{}]:
                record_counter.with_context(context_element)
                timer.with_context(context_element)
                current_context = context_element or None
                partition_context = sdkcompat.state_partition_context(stream, current_context)
                sdkcompat.write_starting_replication_value(stream, current_context)
                batches = self.record_batches(current_context)
                self.encodes_records = True
                try:
                    for batch in batches:
                        emitted = self._emit_batch(
                            batch, current_context, partition_context, emitted, record_counter
                        )
                finally:  # closed here, explicitly: the engine streams stop their pipeline in its finally
                    OUTPUT.flush()  # what was written before an error reaches stdout, as it did line by line
                    self.encodes_records = False
                    close = getattr(batches, "close", None)
                    if close is not None:
                        close()
                if current_context == partition_context:
                    sdkcompat.finalize_state(stream, stream.get_context_state(current_context))
        if not context:
            sdkcompat.finalize_state(stream, stream.stream_state)
        sdkcompat.write_state_message(stream)

    def _batch_path_applies(self) -> bool:
        """Whether :meth:`_sync_records` may take the batch path (its docstring lists the conditions)."""
        stream: Any = self
        if not stream.selected or stream.ABORT_AT_RECORD_COUNT is not None:
            return False
        if type(self).record_batches is WideRecordStreamMixin.record_batches:
            return False
        if type(sdkcompat.tap_of(stream).message_writer) is not NulFreeWriter:
            return False
        if not self._all_selected() or type(stream).post_process is not Stream.post_process:
            return False
        maps = stream.stream_maps
        if len(maps) != 1 or type(maps[0]) is not SameRecordTransform or maps[0].flattening_enabled:
            return False
        return not any(c.selected or c.has_selected_descendents for c in stream.child_streams)

    def _emit_batch(  # noqa: PLR0912, PLR0915 - the hot loop, inlined on purpose
        self,
        batch: Iterable[dict[str, Any]],
        context: Any,
        partition_context: Mapping[str, Any] | None,
        emitted: int,
        record_counter: Any,
    ) -> int:
        """Write one batch's RECORD lines, bookmark it, and write a STATE wherever the SDK would (after each
        ``STATE_MSG_FREQUENCY``-th record of the sync); returns the records emitted so far.

        Each record is encoded as soon as the batch gives it (the engine streams build it then): building a
        whole list first and encoding it afterwards measured slower than the SDK's loop (the records are no
        longer in the CPU's caches, and the allocator cannot reuse one record's memory for the next). The
        constant parts of the message (type, stream, version, the batch's extraction time) are encoded once.
        The lines are queued in ``output.OUTPUT``, which writes them ~85 at a time and always before any
        STATE (output.py says why).
        """
        stream: Any = self
        frequency = stream.STATE_MSG_FREQUENCY
        encoder = sdk_msgspec.encoder
        head: dict[str, Any] = {"type": "RECORD", "stream": stream.stream_maps[0].stream_alias}
        tail: dict[str, Any] = {}
        version = sdkcompat.stream_version(stream)
        if version is not None:
            tail["version"] = version
        tail["time_extracted"] = sdkcompat.utc_now()
        prefix = encoder.encode(head)[:-1] + b',"record":'
        suffix = b"," + encoder.encode(tail)[1:] + b"\n"
        line = bytearray(prefix)
        start = len(prefix)
        encode_into = encoder.encode_into
        add_line = OUTPUT.add
        conforms = self._conforms_unchanged
        partition_items = tuple(partition_context.items()) if partition_context else ()
        per_record, batched_key = self._bookmark_keys()
        increment = self._increment_stream_state
        greatest: dict[str, Any] | None = None  # the pending record of greatest replication value
        greatest_value = ""
        counted = 0
        for record in batch:
            for name, value in partition_items:
                if name not in record:
                    record[name] = value
            conformed = record if conforms(record) else self._conformed(record)
            encode_into(conformed, line, start)
            if holds_nul(line):  # never a NUL in the output (nul.py)
                encode_into(without_nul(conformed), line, start)
            line += suffix
            add_line(line)  # queued before its bookmark moves: a STATE (even a signal's) follows it
            if batched_key is not None:
                value = record[batched_key]
                if type(value) is str:
                    if greatest is None or value > greatest_value:
                        greatest, greatest_value = record, value
                else:  # in the SDK's order: what is pending, then this one as the SDK takes it
                    if greatest is not None:
                        increment(greatest, context=context)
                        greatest = None
                    increment(record, context=context)
            elif per_record:
                increment(record, context=context)
            emitted += 1
            counted += 1
            if emitted % frequency == 0:
                if greatest is not None:
                    increment(greatest, context=context)
                    greatest = None
                stream.state_manager.is_flushed = False  # records were written since the last STATE
                sdkcompat.write_state_message(stream)
                record_counter.increment(counted)
                counted = 0
        if greatest is not None:
            increment(greatest, context=context)
        if counted:
            stream.state_manager.is_flushed = False
            record_counter.increment(counted)
        return emitted

    def _bookmark_keys(self) -> tuple[bool, str | None]:
        """(increment per record?, the key incremented once per batch with its greatest value, or None).

        The SDK keeps an unsorted, checked stream's progress marker at the greatest value seen (a value
        replaces it only when ``>=``), so one increment with a batch's greatest string leaves what one per
        record leaves; sorted or unchecked streams (the last value wins, or an error on disorder) and
        streams without a replication key (the SDK's error) are incremented per record. FULL_TABLE: the
        SDK's increment does nothing, nor does this.
        """
        stream: Any = self
        if stream.replication_method != "INCREMENTAL":
            return False, None
        key = stream.replication_key
        if not key or stream.is_sorted or not stream.check_sorted:
            return True, None
        return False, key

    def _conformed(self, record: dict[str, Any]) -> dict[str, Any]:
        """The SDK's root-level conformance of one record (datetimes, properties not in the schema...)."""
        stream: Any = self
        conformed: dict[str, Any] = sdkcompat.conform_record_data_types(
            stream_name=stream.name,
            record=record,
            schema=stream.effective_schema,
            level=self.TYPE_CONFORMANCE_LEVEL,
            logger=stream.logger,
        )
        return conformed

    def _generate_record_messages(self, record: dict[str, Any]) -> Generator[RecordMessage, None, None]:
        """Skip the SDK's deselection walk when every root property is selected.

        Why: the caching mask made each lookup cheap, but the SDK's recursive pop still copies and walks
        every nested dict of every record (each column entry and each decoded ``value``: ~35 calls per
        item, ~20 % of the tap's CPU). When the catalog deselects nothing at all, that walk cannot change
        the record, so this does the rest of the SDK 0.54 emission (conform, stream maps, message) without
        it; any deselection takes the SDK path unchanged. Re-check this override on an SDK upgrade.
        """
        if not self._all_selected():
            yield from super()._generate_record_messages(record)  # type: ignore[misc]
            return
        stream: Any = self
        for alias, mapped in self._mapped_records(record):
            yield RecordMessage(
                stream=alias,
                record=mapped,
                version=sdkcompat.stream_version(stream),
                time_extracted=sdkcompat.utc_now(),
            )

    def _mapped_records(self, record: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(stream alias, record) per stream map that keeps the record: root conformance (skipped when it
        cannot change anything) then each map's transform, as the SDK's own emission does."""
        stream: Any = self
        conformed = (
            record
            if self._conforms_unchanged(record)
            else sdkcompat.conform_record_data_types(
                stream_name=stream.name,
                record=record,
                schema=stream.effective_schema,
                level=self.TYPE_CONFORMANCE_LEVEL,
                logger=stream.logger,
            )
        )
        for stream_map in stream.stream_maps:
            mapped = stream_map.transform(conformed)
            if mapped is not None:
                yield stream_map.stream_alias, mapped

    def _write_record_message(self, record: dict[str, Any]) -> None:
        """RECORD lines encoded in one call and written without a flush each (SDK path otherwise).

        Why: the SDK builds a ``RecordMessage``, turns it into a dict, encodes it into a line and writes *and
        flushes* stdout for every record: one ``write`` system call per record, the largest part of the
        emission's cost. Here, when the tap's writer is ``NulFreeWriter`` (the SDK's msgspec writer) and the
        catalog deselects nothing, the same dict (same keys, same order) is encoded by the same encoder and
        queued in ``output.OUTPUT``, which writes it with the lines around it; every other message (SCHEMA,
        STATE, ACTIVATE_VERSION, a child's RECORD) goes through the same queue and flushes it, so the order on
        stdout is unchanged and no STATE is ever written before the records it covers. The output bytes are
        the SDK's, line for line.
        """
        stream: Any = self
        writer = sdkcompat.tap_of(stream).message_writer
        if type(writer) is not NulFreeWriter or not self._all_selected():
            super()._write_record_message(record)  # type: ignore[misc]
            return
        add_lines = OUTPUT.add
        line = self._line
        encode_into = sdk_msgspec.encoder.encode_into
        version = sdkcompat.stream_version(stream)
        for alias, mapped in self._mapped_records(record):
            message: dict[str, Any] = {"type": "RECORD", "stream": alias, "record": mapped}
            if version is not None:
                message["version"] = version
            message["time_extracted"] = sdkcompat.utc_now()
            encode_into(message, line)
            if holds_nul(line):  # never a NUL in the output (nul.py)
                encode_into(without_nul(message), line)
            line.extend(b"\n")
            add_lines(line)
        stream.state_manager.is_flushed = False

    def _increment_stream_state(self, latest_record: dict[str, Any], *, context: Any = None) -> None:
        """The SDK's bookmark update, with the partition's state found once per partition, not per record
        (``_LastContextState``); the update itself is the SDK's."""
        manager: Any = self.state_manager  # type: ignore[attr-defined]
        if not isinstance(vars(manager).get("get_context_state"), _LastContextState):
            manager.get_context_state = _LastContextState(manager.get_context_state, manager)
        super()._increment_stream_state(latest_record, context=context)  # type: ignore[misc]

    @staticmethod
    def flush_output() -> None:
        """Hand the RECORD lines that wait (output.py) to the target now (before a wait for the engine)."""
        OUTPUT.flush()

    def _conforms_unchanged(self, record: Mapping[str, Any]) -> bool:
        """True when root-only conformance would return an equal copy of ``record`` (so it can be skipped).

        Root-only conformance only rewrites datetimes, bytes, floats (NaN/inf) and values of boolean-only
        properties, and drops properties missing from the schema; a record of strings, integers, nulls and
        objects under known non-boolean properties (every item record, every asset) comes back equal. Saves
        ~10 % of the tap's CPU per record (12 schema look-ups and type checks).
        """
        if self.TYPE_CONFORMANCE_LEVEL is not TypeConformanceLevel.ROOT_ONLY:
            return False
        plain = self._plain_properties
        if plain is None:
            properties: Mapping[str, Any] = getattr(self, "effective_schema", {}).get("properties", {})
            plain = frozenset(k for k, v in properties.items() if not sdkcompat.is_exclusive_boolean_type(v))
            self._plain_properties = plain
        return plain.issuperset(record) and _PLAIN_TYPES.issuperset(map(type, record.values()))

    def _all_selected(self) -> bool:
        """True when no breadcrumb of the catalog is deselected (computed once per mask object)."""
        mask = self.mask
        if self._all_selected_mask is not mask:
            self._all_selected_answer = all(mask.values())
            self._all_selected_mask = mask
        return self._all_selected_answer


def _nested_id(raw_item: Mapping[str, Any], key: str) -> str | None:
    """``raw[key]["id"]`` as a string, or None when the relation is null/absent (e.g. no parent item)."""
    nested = raw_item.get(key)
    if not isinstance(nested, Mapping) or nested.get("id") is None:
        return None
    return str(nested["id"])


def column_value_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An item record -> its long-format rows for ``ITEM_COLUMN_VALUE_SCHEMA`` (one per column).

    Rows carry the item's ``_sdc_deleted_at`` so a deleted item's values are marked like the item.
    """
    base = {
        "board_id": record.get("board_id"),
        "item_id": record["id"],
        "updated_at": record.get("updated_at"),
        "_sdc_deleted_at": record.get("_sdc_deleted_at"),
    }
    return [
        {**base, "column_id": column_id, **entry}
        for column_id, entry in (record.get("column_values") or {}).items()
    ]


def item_record(
    raw_item: Mapping[str, Any] | WireItem,
    stats: ColumnValueStats | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """The items/subitems record for one item exactly as ``items(ids:)`` returns it.

    ``raw_item`` is the engine's ``wire.WireItem`` (decoded straight from the answer) or the item as a
    decoded dict (tests, the emulator's ground truth, answers the structs did not fit): the same record.
    ``_sdc_deleted_at`` is set from ``updated_at`` for deleted items: monday has no deletion timestamp on the
    item, and deleting bumps ``updated_at``, so it is the best available time of the delete.
    ``stats`` (optional) collects unknown/malformed column values for the end-of-stream log; ``labels``
    (optional, column id -> option id -> label) names dropdown options from the board's column settings.
    """
    if isinstance(raw_item, WireItem):
        return _wire_item_record(raw_item, stats, labels)
    group = raw_item.get("group")
    group_id = _nested_id(raw_item, "group")
    group_title = group.get("title") if isinstance(group, Mapping) else None
    state = raw_item.get("state")
    creator = raw_item.get("creator_id")
    return {
        "id": str(raw_item["id"]),
        "board_id": _nested_id(raw_item, "board"),
        "group_id": group_id,
        "group_title": group_title,
        "name": raw_item.get("name"),
        "state": state,
        "created_at": raw_item.get("created_at"),
        "updated_at": raw_item.get("updated_at"),
        "creator_id": None if creator in (None, "") else str(creator),
        "parent_item_id": _nested_id(raw_item, "parent_item"),
        "column_values": parse_column_values(raw_item.get("column_values"), stats, labels),
        "_sdc_deleted_at": raw_item.get("updated_at") if state == "deleted" else None,
    }


def encoded_record(
    raw_item: Mapping[str, Any] | WireItem,
    stats: ColumnValueStats | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """:func:`item_record` for a consumer that only encodes the record with msgspec (the SDK's encoder) and
    never reads or changes its column entries: the same bytes once encoded.

    Why: an item decoded into strict structs (``wire.StrictWireItem``) keeps its column value structs as
    its entries, turned into them in place (``wire_values.encoded_column_values``), so msgspec writes the
    entries from the structs in C instead of the tap building ~21 dicts per item in Python. The raw item
    is used up by it: call it once per item, and only where the record is encoded as it is (records.py's
    batch loop, :attr:`WideRecordStreamMixin.encodes_records`). Any other item: :func:`item_record`.
    """
    if type(raw_item) is not StrictWireItem:
        return item_record(raw_item, stats, labels)
    return _wire_item_record(raw_item, stats, labels, encoded_column_values)


_ENTRIES_DECODER = msgspec.json.Decoder(dict[str, dict[str, Any]])
"""Entries encoded on the engine thread (prepared.py) back to the dict entries ``item_record`` gives."""


def _ref_id(ref: Ref | Group | None) -> str | None:
    return None if ref is None or ref.id is None else str(ref.id)


def _wire_item_record(
    item: WireItem,
    stats: ColumnValueStats | None,
    labels: Mapping[str, Mapping[str, str]] | None,
    column_values: Any = wire_column_values,
) -> dict[str, Any]:
    """:func:`item_record` for a struct: the same fields from attributes (tests/test_records.py compares);
    ``column_values`` builds the entries (:func:`encoded_record` gives its own). Entries the engine thread
    encoded already (prepared.py) are written as they are by :func:`encoded_record` and decoded back to
    dicts for anyone else (counted once, there)."""
    entries = item.column_values
    if type(entries) is PreparedEntries:
        entries = entries.encoded
    if type(entries) is not msgspec.Raw:
        entries = column_values(entries, stats, labels)
    elif column_values is not encoded_column_values:
        entries = _ENTRIES_DECODER.decode(entries)
    group = item.group
    state = item.state
    creator = item.creator_id
    updated = item.updated_at
    return {
        "id": str(item.id),
        "board_id": _ref_id(item.board),
        "group_id": _ref_id(group),
        "group_title": None if group is None else group.title,
        "name": item.name,
        "state": state,
        "created_at": item.created_at,
        "updated_at": updated,
        "creator_id": None if creator is None or creator == "" else str(creator),
        "parent_item_id": _ref_id(item.parent_item),
        "column_values": entries,
        "_sdc_deleted_at": updated if state == "deleted" else None,
    }
