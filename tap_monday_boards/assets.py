"""``assets``: metadata of the files attached to the items, subitems and updates emitted in this run.

Why this shape (costs under monday's published rule, docs/architecture.md "Costs of the extra streams"):
``Item.assets`` nested in the items batch would cost ~19,000 points per item (a list inside each item is
x1,000); root ``assets(ids:)`` costs 19 points per asset. The asset ids of items are already in hand: the
typed value of a file column carries them (column_values.py ``asset_ids``), so item assets need no request
of their own. Updates carry no file ids, so their ids come from ``updates(ids:) { assets { id } }`` for
the updates emitted (1,011 points per update, only when this stream is selected), never from the updates
page, whose ``limit`` of 100 would be charged even when a board has three updates.

How: the ``items``/``subitems`` and ``updates`` streams hand what they emit to :class:`AssetRefs` (only when
``assets`` is selected), and ``assets``, discovered after them, syncs last: it asks for the asset ids of the
collected updates, then for every asset by id, 500 per request (5 lists of 100). So an incremental run reads
only the assets of the items and updates it emitted. Neither waits for the stream's turn: each full batch of
item files' asset ids is sent as soon as the items naming them are written, and of updates' ids as soon as
the engine fetches the updates (batched.py ``send_early``), in the slots the items leave free. Streams that
are not selected contribute nothing: ``assets`` logs a warning naming them (selecting ``assets`` alone never
triggers an items extraction).

``item_id`` / ``update_id`` say where the file was seen. ``public_url`` is monday's pre-signed link, valid
for about an hour; ``url`` opens only with a monday login or token. No ACTIVATE_VERSION: a run that is not
complete (incremental items) sees only some assets, so the target must upsert, never replace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import msgspec
from singer_sdk import typing as th
from singer_sdk.helpers.types import Context, Record
from typing_extensions import override

from tap_monday_boards import queries, sdkcompat
from tap_monday_boards.batched import IdBatchStream, chunks
from tap_monday_boards.wire_values import file_asset_ids

SOURCE_STREAMS = ("items", "subitems", "updates")
"""Streams whose records carry (or lead to) asset ids."""


class AssetRefs:
    """Asset ids in hand for this run, with the item or update each was seen on (~150 bytes per asset)."""

    def __init__(self, on_item_assets: Callable[[list[str]], None] | None = None) -> None:
        self.on_item_assets = on_item_assets
        """Told the asset ids of each item as it is written, so their batches can go early."""
        self.item_of: dict[str, str] = {}
        self.update_of: dict[str, str] = {}
        self.pending_update_ids: list[str] = []
        """Emitted updates whose asset ids are still to be asked."""

    def add_item(self, record: Mapping[str, Any]) -> None:
        """Every asset id in the file columns of one items/subitems record (:func:`file_asset_ids`)."""
        self.add_item_assets(str(record["id"]), file_asset_ids(record.get("column_values") or {}))

    def add_item_assets(self, item_id: str, asset_ids: list[str]) -> None:
        """The asset ids of one written item's file columns (read from its record, or when its entries were
        encoded on the engine thread: prepared.py)."""
        item_of = self.item_of
        for asset_id in asset_ids:
            item_of[asset_id] = item_id
        if asset_ids and self.on_item_assets is not None:
            self.on_item_assets(asset_ids)

    def add_update(self, update_id: str) -> None:
        """An emitted update: its asset ids are asked for when ``assets`` syncs (unless the engine asked
        them early, as it fetched the update: ``AssetsStream.updates_fetched``)."""
        self.pending_update_ids.append(str(update_id))

    def take_update_ids(self) -> list[str]:
        """The pending update ids, once."""
        taken, self.pending_update_ids = self.pending_update_ids, []
        return taken

    def add_update_assets(self, update_id: str, asset_ids: Iterable[Any]) -> None:
        """The asset ids monday returned for one update."""
        for asset_id in asset_ids:
            self.update_of[str(asset_id)] = str(update_id)

    def asset_ids(self) -> list[str]:
        """Every asset id collected, in numeric order."""
        ids = set(self.item_of) | set(self.update_of)
        return sorted(ids, key=lambda i: (len(i), i))


def asset_refs_for(stream: Any) -> AssetRefs | None:
    """The run's :class:`AssetRefs` when both ``stream`` and ``assets`` are selected, else None.

    A stream that only runs to feed its selected children (``items`` for ``item_subscribers``) emits
    nothing, so it hands over nothing: ``assets`` covers exactly the records emitted.
    """
    if not stream.selected:
        return None
    assets = sdkcompat.tap_of(stream).streams.get("assets")
    return assets.refs if isinstance(assets, AssetsStream) and assets.selected else None


class AssetsStream(IdBatchStream):
    """Asset metadata by id (root ``assets(ids:)``), after the asset ids of emitted updates (see module)."""

    name = "assets"
    primary_keys = ("id",)
    schema = th.PropertiesList(
        th.Property("id", th.StringType(nullable=False), required=True),
        th.Property("name", th.StringType()),
        th.Property("file_extension", th.StringType()),
        th.Property("file_size", th.IntegerType()),
        th.Property("url", th.StringType()),
        th.Property("public_url", th.StringType()),
        th.Property("url_thumbnail", th.StringType()),
        th.Property("uploaded_by_id", th.StringType()),
        th.Property("created_at", th.DateTimeType()),
        th.Property("item_id", th.StringType()),
        th.Property("update_id", th.StringType()),
    ).to_dict()

    query = queries.ASSETS_QUERY
    records_jsonpath = "$.data.updates[*]"
    """The ``update_assets`` phase's rows; the ``assets`` phase reads its aliased lists (``parse_body``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refs = AssetRefs(self._send_item_assets_early)

    _phase = "assets"
    """``update_assets`` while asking for the asset ids of updates, then ``assets``."""

    @override
    def early_kind(self) -> str:
        return self._phase

    def _send_item_assets_early(self, asset_ids: list[str]) -> None:
        self.send_early(asset_ids, "assets")

    def updates_fetched(self, board_id: str, rows: list[dict[str, Any]]) -> None:
        """Updates as the engine fetches them (its thread): their asset ids need not wait for the writing.

        Every fetched update is also written (``updates`` keeps every row), so no asset of an update that
        is not emitted is asked. During a sync every update comes through the engine (prefetch.py), so
        this is the one early path for them; the written ids are the ones ``take_ids`` then skips."""
        self.send_early([str(row["id"]) for row in rows if row.get("id") is not None], "update_assets")

    @override
    def _early_answered(self, kind: str, future: Future[bytes]) -> None:
        """The asset ids of a batch of updates arrived: their assets go early too (engine thread).

        Without this they waited for ``assets``' own sync, the last stream: one more round trip at the
        end of the run. The ``update_assets`` phase still reads the same answers for ``update_id``."""
        if kind != "update_assets" or future.cancelled() or future.exception() is not None:
            return
        data = msgspec.json.decode(future.result())
        found = [
            str(asset["id"])
            for update in (data.get("updates") or ())
            if isinstance(update, Mapping)
            for asset in (update.get("assets") or ())
            if isinstance(asset, Mapping) and asset.get("id") is not None
        ]
        if found:
            self.send_early(found, "assets")

    @property
    @override
    def governor_kind(self) -> str:
        return self.request_kind()[1]

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        return False  # an incremental run sees only some assets (module docstring)

    def _update_ids(self, kind: str | None) -> bool:
        """Whether requests for ids of ``kind`` (None: the current phase's) ask for the updates' asset ids."""
        return (kind or self._phase) == "update_assets"

    @override
    def batch_limit(self, kind: str | None = None) -> int:
        if self._update_ids(kind):
            return self.batch_size
        return queries.ASSETS_PER_LIST * queries.ASSET_LISTS_PER_REQUEST

    @override
    def batch_document(self, ids: list[str], kind: str | None = None) -> str:
        if self._update_ids(kind):
            return queries.UPDATE_ASSET_IDS_QUERY
        return queries.assets_query(len(_lists(ids)))

    @override
    def batch_variables(self, ids: list[str], kind: str | None = None) -> dict[str, Any]:
        if self._update_ids(kind):
            return super().batch_variables(ids)
        return {f"ids{n}": part for n, part in enumerate(_lists(ids))}

    @override
    def request_kind(self, kind: str | None = None) -> tuple[str, str]:
        operation = "UpdateAssetIds" if self._update_ids(kind) else "Assets"
        return operation, f"stream:assets:{kind or self._phase}"

    @property
    @override
    def operation_name(self) -> str:
        return self.request_kind()[0]

    @override
    def take_ids(self, context: Context | None) -> Sequence[str]:
        return self.refs.take_update_ids() if self._phase == "update_assets" else self.refs.asset_ids()

    def _warn_unselected_sources(self) -> None:
        for name in SOURCE_STREAMS:
            source = sdkcompat.tap_of(self).streams.get(name)
            if source is not None and not source.selected:
                self.logger.warning(
                    "assets: stream '%s' is not selected, so the files of its records are not extracted "
                    "(select '%s' too to get them)",
                    name,
                    name,
                )

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        self._read_update_assets(context)
        yield from super().get_records(context)

    @override
    def record_batches(self, context: Mapping[str, Any] | None) -> Iterable[Iterable[dict[str, Any]]]:
        self._read_update_assets(context)
        yield from super().record_batches(context)

    def _read_update_assets(self, context: Context | None) -> None:
        """The first phase: the asset ids of the emitted updates (``update_id`` of their assets)."""
        self._warn_unselected_sources()
        self._phase = "update_assets"
        try:
            for update in super().get_records(context):
                assets = [a.get("id") for a in update.get("assets") or [] if isinstance(a, Mapping)]
                self.refs.add_update_assets(str(update["id"]), (a for a in assets if a is not None))
        finally:
            self._phase = "assets"

    @override
    def parse_body(self, body: Any) -> Iterable[dict]:
        # ``[Asset]`` and ``[Update!]`` entries: a deleted asset may come back as null
        if self._phase == "update_assets":
            yield from (row for row in super().parse_body(body) if isinstance(row, dict))
            return
        data = body.get("data") or {}
        for n in range(queries.ASSET_LISTS_PER_REQUEST):
            yield from (self._asset_record(row) for row in data.get(f"a{n}") or () if isinstance(row, dict))

    def _asset_record(self, row: Record) -> Record:
        """An answered asset as its record (here, not in ``post_process``: the SDK's ``post_process`` lets
        the records.py batch loop write the rows of an answer together)."""
        asset_id = str(row["id"])
        uploader = row.pop("uploaded_by", None)
        row["id"] = asset_id
        uploader_id = uploader.get("id") if isinstance(uploader, Mapping) else None
        row["uploaded_by_id"] = None if uploader_id is None else str(uploader_id)
        row["item_id"] = self.refs.item_of.get(asset_id)
        row["update_id"] = self.refs.update_of.get(asset_id)
        return row


def _lists(ids: list[str]) -> list[list[str]]:
    """One request's asset ids cut into its ``assets(ids:)`` lists."""
    return chunks(ids, queries.ASSETS_PER_LIST)
