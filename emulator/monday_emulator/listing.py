"""``items_page`` / ``next_items_page``: order, ``query_params`` filters and cursors.

``Board.items_page`` lists a board's items, ``Group.items_page`` one group's (the same chain with a group
rule added); both continue through ``next_items_page``.

A chain starts at ``items_page`` and records its board, filter, order and start time; each cursor names the
chain and the sort key of the last item served, so the next page is "the items after that key". Keys rather
than offsets make a retried cursor return the same page, and an item edited mid-chain under
``__last_updated__`` order moves behind the key and is served again (as on monday; clients de-duplicate).

Cursors expire ``ttl`` seconds after the chain's FIRST page (not sliding), measured by the injected clock.

Supported ``query_params``:
  * ``rules`` / nested ``groups`` (ItemsQueryGroup) with ``operator`` and/or;
  * ``__last_updated__`` (``compare_attribute: "UPDATED_AT"``) and ``__creation_log__`` rules with
    ``compare_value: ["EXACT", "<ISO timestamp>"]`` (``between`` takes two timestamps) and operators
    greater_than, greater_than_or_equals, lower_than, lower_than_or_equal, between, any_of;
  * a board-group filter: a rule on ``column_id: "group"`` with any_of / not_any_of and group ids;
  * ``ids``; ``order_by`` on ``__last_updated__`` or ``__creation_log__`` (asc/desc).
Without ``order_by`` items come in creation order.
"""

from __future__ import annotations

import base64
import bisect
import heapq
import itertools
import secrets
import zlib
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from monday_emulator.clock import Clock
from monday_emulator.columns import iso
from monday_emulator.data import ITEM_KEYS, Board, Store

MAX_PAGE = 500
EXPIRED_MESSAGE = (
    "CursorExpiredError: The cursor provided for pagination has expired. "
    "Please refresh your query and obtain a new cursor to continue fetching items"
)


class QueryError(Exception):
    """An application error that becomes a GraphQL error with ``extensions.code``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class _View:
    """The attributes a filter may look at, cheap to compute for untouched items (one per position a
    chain passes: not frozen, whose ``__init__`` costs twice as much; nothing changes one)."""

    item_id: int
    updated: int
    created: int
    group_id: str


Predicate = Callable[[_View], bool]
_TIME_COLUMNS = {"__last_updated__": "updated", "__creation_log__": "created"}


@dataclass(frozen=True, slots=True)
class Spec:
    """A compiled ``query_params``: predicate, order and the bounds usable for skipping."""

    predicate: Predicate | None = None
    by_updated: bool = False
    descending: bool = False
    lo: int | None = None  # untouched items with updated < lo can be skipped
    hi: int | None = None  # ... and with updated > hi
    group_id: str | None = None  # the predicate holds only for items of this group: untouched items of
    # another (their group is their hash's) can be skipped without building their view


@dataclass(slots=True)
class _Chain:
    board_id: str
    started: float
    spec: Spec
    token: str
    group_id: str = ""
    """Set for a chain started by ``Group.items_page``: the cursor names the group, as monday's does."""


def parse_time(text: str) -> int:
    """ISO date or date-time (``Z`` or offset) -> epoch seconds."""
    value = text.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value if "T" in value or " " in value else value + "T00:00:00+00:00")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _times(compare_value: Any) -> list[int]:
    values = compare_value if isinstance(compare_value, list) else [compare_value]
    try:
        return [parse_time(str(v)) for v in values if str(v).upper() != "EXACT"]
    except ValueError as exc:
        raise QueryError(
            f"Invalid compare_value {compare_value!r}: {exc}", "InvalidArgumentException"
        ) from exc


def _rule(rule: Mapping[str, Any], bounds: list[int | None] | None) -> Predicate:
    column = str(rule.get("column_id"))
    operator = rule.get("operator") or "any_of"
    raw = rule.get("compare_value")
    if column == "group":
        groups = set(raw if isinstance(raw, list) else [raw])
        if operator == "any_of":
            return lambda v: v.group_id in groups
        if operator == "not_any_of":
            return lambda v: v.group_id not in groups
        raise QueryError(f"Unsupported operator {operator} for group", "InvalidArgumentException")
    attr = _TIME_COLUMNS.get(column)
    if attr is None:
        raise QueryError(f"Unsupported rule column {column}", "InvalidArgumentException")
    times = _times(raw)
    need = 2 if operator == "between" else 1
    if len(times) < need:
        raise QueryError(
            f"compare_value needs {need} timestamp(s) for {operator}", "InvalidArgumentException"
        )
    a = times[0]
    ops: dict[str, tuple[Predicate, int | None, int | None]] = {
        "greater_than": (lambda v: getattr(v, attr) > a, a + 1, None),
        "greater_than_or_equals": (lambda v: getattr(v, attr) >= a, a, None),
        "lower_than": (lambda v: getattr(v, attr) < a, None, a - 1),
        "lower_than_or_equal": (lambda v: getattr(v, attr) <= a, None, a),
        "between": (lambda v: a <= getattr(v, attr) <= times[1], a, times[-1] if len(times) > 1 else None),
        "any_of": (lambda v: getattr(v, attr) in times, min(times), max(times)),
    }
    if operator not in ops:
        raise QueryError(f"Unsupported operator {operator} for {column}", "InvalidArgumentException")
    predicate, lo, hi = ops[operator]
    if bounds is not None and attr == "updated":
        if lo is not None:
            bounds[0] = lo if bounds[0] is None else max(bounds[0], lo)
        if hi is not None:
            bounds[1] = hi if bounds[1] is None else min(bounds[1], hi)
    return predicate


def _group(node: Mapping[str, Any], bounds: list[int | None] | None) -> Predicate | None:
    is_and = (node.get("operator") or "and") == "and"
    inner = bounds if is_and else None  # bounds only follow from conjunctions
    parts = [_rule(r, inner) for r in node.get("rules") or []]
    parts += [p for g in node.get("groups") or [] if (p := _group(g, inner)) is not None]
    if not parts:
        return None
    if is_and:
        return lambda v: all(p(v) for p in parts)
    return lambda v: any(p(v) for p in parts)


def compile_params(params: Mapping[str, Any] | None) -> Spec:
    """Turn ``query_params`` into a :class:`Spec` (raises QueryError for what is unsupported)."""
    if not params:
        return Spec()
    bounds: list[int | None] = [None, None]
    predicate = _group(params, bounds)
    ids = params.get("ids")
    if ids:
        if len(ids) > 100:
            raise QueryError("query_params.ids is limited to 100 ids", "InvalidArgumentException")
        wanted = {int(i) for i in ids}
        base = predicate
        predicate = (lambda v: v.item_id in wanted and base(v)) if base else (lambda v: v.item_id in wanted)
    order = (params.get("order_by") or [None])[0]
    by_updated, descending = False, False
    if order:
        column = order.get("column_id")
        if column not in _TIME_COLUMNS:
            raise QueryError(f"Unsupported order_by column {column}", "InvalidArgumentException")
        by_updated = column == "__last_updated__"
        descending = order.get("direction") == "desc"
    return Spec(predicate, by_updated, descending, bounds[0], bounds[1])


class Paginator:
    """Serves pages and owns the cursor registry of one emulator."""

    def __init__(self, store: Store, clock: Clock, ttl_s: float) -> None:
        self.store = store
        self.clock = clock
        self.ttl_s = ttl_s
        self._chains: dict[str, _Chain] = {}
        self._cursors: dict[str, tuple[str, Any, int]] = {}

    def first_page(
        self,
        board: Board,
        limit: int,
        params: Mapping[str, Any] | None,
        group_id: str | None = None,
        *,
        fields: AbstractSet[str] = ITEM_KEYS,
    ) -> dict[str, Any]:
        """``Board.items_page`` (or ``Group.items_page`` with ``group_id``) without a cursor: starts a chain.

        A group's chain is the board's chain with the rule "group is ``group_id``" added to ``query_params``.
        ``fields``: the item keys the page's selection reads (``Store.render_item``; a harvest page reads
        ``id`` and ``updated_at``).
        """
        _check_limit(limit)
        self._purge()
        spec = compile_params(params)
        if group_id is not None:
            spec = _in_group(spec, group_id)
        token = secrets.token_urlsafe(16)[:21]
        chain = _Chain(board.id, self.clock.now(), spec, token, group_id or "")
        self._chains[token] = chain
        return self._page(chain, None, limit, 1, fields)

    def next_page(self, cursor: str, limit: int, *, fields: AbstractSet[str] = ITEM_KEYS) -> dict[str, Any]:
        """``next_items_page`` / ``items_page(cursor:)``: continues a chain or raises CursorException
        (``fields`` as in :meth:`first_page`)."""
        _check_limit(limit)
        entry = self._cursors.get(cursor)
        chain = self._chains.get(entry[0]) if entry else None
        if entry is None or chain is None:
            raise QueryError(
                "CursorInvalidError: The cursor provided for pagination is invalid", "CursorException"
            )
        if self.clock.now() - chain.started > self.ttl_s:
            raise QueryError(EXPIRED_MESSAGE, "CursorException")
        return self._page(chain, entry[1], limit, entry[2] + 1, fields)

    def _page(
        self, chain: _Chain, after: Any, limit: int, number: int, fields: AbstractSet[str]
    ) -> dict[str, Any]:
        board = self.store.board_obj(chain.board_id)
        assert board is not None
        stream = self._ordered(board, chain.spec, after)
        taken = list(itertools.islice(stream, limit + 1))
        more = len(taken) > limit
        taken = taken[:limit]
        items: list[dict[str, Any] | None]
        if fields <= _VIEW_FIELDS:  # a harvest page: what render_item gives, from the views already made
            items = [_from_view(view, fields) for _, _, view in taken]
        else:
            items = [self.store.render_item(item_id, fields=fields) for _, item_id, _ in taken]
        cursor = None
        if more:
            raw = f"1,{board.id},{chain.token},{number},{limit},{chain.group_id}|"
            raw += str(zlib.crc32(raw.encode()) % 10**10)
            cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
            self._cursors[cursor] = (chain.token, taken[-1][0], number)
        return {"cursor": cursor, "items": items}

    def _purge(self) -> None:
        now = self.clock.now()
        dead = {t for t, c in self._chains.items() if now - c.started > 2 * self.ttl_s}
        if dead:
            self._chains = {t: c for t, c in self._chains.items() if t not in dead}
            self._cursors = {k: v for k, v in self._cursors.items() if v[0] not in dead}

    # ----- ordering -------------------------------------------------------------------------------------

    def _view(self, board: Board, pos: int, h: int | None = None) -> _View:
        """What ordering and filters read of the item at ``pos`` (``h``: its hash, when the caller has it)."""
        store = self.store
        item_id = board.item_base + pos
        if h is None:
            h = store.hash_of(item_id)
        change = store.change_of(item_id)
        created, updated = store.times_from_hash(board, pos, h)
        group = board.groups[(h >> 16) % len(board.groups)]["id"]
        if change is not None:
            created = change.created_ts or created
            updated = change.updated_ts or updated
            group = change.group_id or group
        return _View(item_id, updated, created, group)

    def _key(self, spec: Spec, view: _View, pos: int) -> Any:
        key: Any = (view.updated, view.item_id) if spec.by_updated else pos
        if spec.descending:
            return tuple(-k for k in key) if spec.by_updated else -key
        return key

    def _ordered(self, board: Board, spec: Spec, after: Any) -> Iterator[tuple[Any, int, _View]]:
        """(key, item id, view) of active matching items after ``after``, in the chain's order."""
        store = self.store
        touched = sorted(board.touched)
        keyed_touched = []
        for pos in touched:
            view = self._view(board, pos)
            keyed_touched.append((self._key(spec, view, pos), pos, view))
        keyed_touched.sort(key=lambda t: t[0])
        untouched = self._untouched(board, spec, after)
        touched_iter = ((k, p, v) for k, p, v in keyed_touched if after is None or k > after)
        # nothing to merge on a board never changed (the merge's key call per item was a tenth of a page)
        merged = heapq.merge(untouched, touched_iter, key=lambda t: t[0]) if keyed_touched else untouched
        for key, pos, view in merged:
            # both must hold; the predicate (a group chain's: 3 in 4 items fail it) is the cheaper test
            if spec.predicate is not None and not spec.predicate(view):
                continue
            if store.state_of(board, pos) != "active":
                continue
            yield key, view.item_id, view

    def _untouched(self, board: Board, spec: Spec, after: Any) -> Iterator[tuple[Any, int, _View]]:
        store = self.store
        stop = board.positions if board.is_sub else board.generated

        def updated_at(pos: int) -> int:
            return store.generated_times(board, pos)[1]

        lo = 0 if spec.lo is None else bisect.bisect_left(range(stop), spec.lo, key=updated_at)
        hi = stop if spec.hi is None else bisect.bisect_right(range(stop), spec.hi, key=updated_at)
        if after is not None:
            if spec.by_updated:
                last = (-after[0], -after[1]) if spec.descending else after
                by_key = bisect.bisect_left if spec.descending else bisect.bisect_right
                cut = by_key(range(stop), last, key=lambda p: (updated_at(p), board.item_base + p))
            else:
                last_pos = -after if spec.descending else after
                cut = last_pos if spec.descending else last_pos + 1
            if spec.descending:
                hi = min(hi, cut)
            else:
                lo = max(lo, cut)
        positions = (
            store.iter_positions(board, hi - 1, lo - 1, -1)
            if spec.descending
            else store.iter_positions(board, lo, hi)
        )
        groups, wanted, base, touched = board.groups, spec.group_id, board.item_base, board.touched
        for pos in positions:
            if pos in touched:
                continue
            h = store.hash_of(base + pos)
            if wanted is not None and groups[(h >> 16) % len(groups)]["id"] != wanted:
                continue  # the group _view would give this untouched item fails the predicate
            view = self._view(board, pos, h)
            yield self._key(spec, view, pos), pos, view


_VIEW_FIELDS = frozenset({"id", "updated_at"})


def _from_view(view: _View, fields: AbstractSet[str]) -> dict[str, Any]:
    """``Store.render_item(view.item_id, fields=fields)`` for ``fields`` within ``id`` and ``updated_at``:
    the view holds both (its ``updated`` is the item's current one, change overlay included), so a harvest
    page does not locate and hash each item a second time."""
    item: dict[str, Any] = {}
    if "id" in fields:
        item["id"] = str(view.item_id)
    if "updated_at" in fields:
        item["updated_at"] = iso(view.updated)
    return item


def _in_group(spec: Spec, group_id: str) -> Spec:
    """``spec`` restricted to the items of one group."""
    base = spec.predicate

    def predicate(view: _View) -> bool:
        return view.group_id == group_id and (base is None or base(view))

    return replace(spec, predicate=predicate, group_id=group_id)


def _check_limit(limit: int) -> None:
    if limit > MAX_PAGE or limit < 1:
        raise QueryError(
            f"limit must be between 1 and {MAX_PAGE} for items_page, got {limit}", "InvalidArgumentException"
        )
