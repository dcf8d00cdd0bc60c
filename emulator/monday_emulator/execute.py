"""GraphQL execution of the emulator: parse/validate cache, cost estimate, resolvers over the Store.

The HTTP layer (server.py, owned separately) calls :meth:`Executor.estimate_cost` first to apply budgets,
then :meth:`Executor.execute` with the ``complexity`` numbers it computed (returned by root ``complexity``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute_sync,
    parse,
    validate,
)

from monday_emulator.clock import Clock
from monday_emulator.cost import CostModel, DocumentedCostModel, HeuristicCostModel
from monday_emulator.data import Store
from monday_emulator.fastpath import FallbackError, Plan, compile_plan
from monday_emulator.listing import Paginator
from monday_emulator.resolvers import Context, field_resolver

REQUEST_LEVEL_CODES = frozenset({"CursorException", "InvalidArgumentException"})
"""Error codes that null the whole ``data`` (the request as a whole was refused)."""

DEFAULT_VERSION = {"kind": "current", "value": "2026-10", "display_name": "Current"}

_SCHEMA_LOCK = threading.Lock()
_SCHEMA: GraphQLSchema | None = None


def load_schema() -> GraphQLSchema:
    """The emulator's SDL (package data), built once per process."""
    global _SCHEMA  # noqa: PLW0603 - a process-wide immutable cache
    with _SCHEMA_LOCK:
        if _SCHEMA is None:
            text = resources.files("monday_emulator").joinpath("schema.graphql").read_text()
            _SCHEMA = build_schema(text)
        return _SCHEMA


@dataclass(slots=True)
class ExecResult:
    """What one request produced: GraphQL ``data``, ``errors`` (plain dicts) and its estimated cost."""

    data: dict[str, Any] | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    cost: int = 0


@dataclass(frozen=True, slots=True)
class _Prepared:
    document: DocumentNode | None
    errors: tuple[dict[str, Any], ...]


def _error_dict(error: GraphQLError) -> dict[str, Any]:
    return error.formatted  # type: ignore[return-value]


def account_object(account_id: str, tier: str, *, trial: bool = False) -> dict[str, Any]:
    """The ``Account`` object of an emulated account on a plan of ``tier`` (fields of the official schema)."""
    return {
        "id": account_id,
        "name": "Emulated account",
        "slug": f"emulated-{account_id}",
        "tier": tier,
        "is_during_trial": trial,
        "plan": {"max_users": 100, "period": "yearly", "tier": tier, "version": 1},
    }


class Executor:
    """Executes documents against a :class:`Store`; one instance per emulator."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        cursor_ttl_s: float = 3600,
        *,
        cost_model: CostModel | None = None,
        fast_path: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.cursor_ttl_s = cursor_ttl_s
        self.cost_model: CostModel = cost_model or DocumentedCostModel()
        self.schema = load_schema()
        self._documents: dict[str, _Prepared] = {}
        self._lock = threading.Lock()
        self.paginator = Paginator(store, clock, cursor_ttl_s)
        self.fast_path = fast_path
        self._plans: dict[tuple[str, str | None], Plan | None] = {}
        self._costs: dict[tuple[Any, ...], int] = {}
        self.path_counts = {"fast": 0, "graphql": 0}
        self.version: dict[str, Any] = dict(DEFAULT_VERSION)
        self.account: dict[str, Any] = account_object(store.account.account_id, "enterprise")
        """``account { ... }``; the emulator replaces it with its plan's (Emulator.__init__)."""

    def prepare(self, query: str) -> _Prepared:
        """Parse and validate ``query`` once; later calls with the same text hit the cache."""
        prepared = self._documents.get(query)
        if prepared is not None:
            return prepared
        try:
            document = parse(query)
        except GraphQLError as exc:
            prepared = _Prepared(None, (_error_dict(exc),))
        else:
            problems = validate(self.schema, document)
            prepared = _Prepared(None if problems else document, tuple(_error_dict(e) for e in problems))
        with self._lock:
            if len(self._documents) > 10_000:
                self._documents.clear()
                self._plans.clear()
                self._costs.clear()
            self._documents[query] = prepared
        return prepared

    def _plan(self, query: str, operation_name: str | None, document: DocumentNode) -> Plan | None:
        key = (query, operation_name)
        if key not in self._plans:
            plan = compile_plan(self.schema, document, operation_name)
            with self._lock:
                self._plans[key] = plan
        return self._plans[key]

    def estimate_cost(
        self, query: str, variables: Mapping[str, Any] | None, operation_name: str | None
    ) -> int:
        """Static complexity of the request (0 when it does not parse or validate)."""
        prepared = self.prepare(query)
        if prepared.document is None:
            return 0
        shape = _cost_shape(variables) if isinstance(self.cost_model, HeuristicCostModel) else None
        if shape is None:
            return self.cost_model.estimate(self.schema, prepared.document, operation_name, variables)
        key = (query, operation_name, shape)
        cost = self._costs.get(key)
        if cost is None:
            cost = self.cost_model.estimate(self.schema, prepared.document, operation_name, variables)
            with self._lock:
                self._costs[key] = cost
        return cost

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        complexity: dict[str, Any] | None = None,
        encoded: bool = False,
    ) -> ExecResult:
        """Run the request. Parse/validation failures give ``data: None`` and cost 0.

        ``encoded``: the caller only encodes ``data`` (``envelopes.Reply.encode``; server.py when no
        latency or fault reads it): the fast path may then hold parts of it as ``msgspec.Raw``, the same
        bytes once encoded (``Plan.run``).

        Application errors that make the whole request meaningless (``CursorException``,
        ``InvalidArgumentException``) also give ``data: None``, as monday answers them.
        """
        prepared = self.prepare(query)
        if prepared.document is None:
            return ExecResult(None, list(prepared.errors), 0)
        cost = self.estimate_cost(query, variables, operation_name)
        complexity = complexity or {"before": 0, "after": 0, "query": cost, "reset_in_x_seconds": 0}
        plan = self._plan(query, operation_name, prepared.document) if self.fast_path else None
        coerced = plan.coerce(variables) if plan is not None else None
        if plan is not None and coerced is not None:
            try:
                with self.store.lock:
                    fast_data, fast_errors = plan.run(
                        self.store, self.paginator, coerced, complexity, self.version, encoded=encoded
                    )
            except FallbackError:
                pass  # this request's answer is graphql-core's to shape (fastpath.py)
            else:
                self.path_counts["fast"] += 1
                return ExecResult(fast_data, fast_errors, cost)
        self.path_counts["graphql"] += 1
        context = Context(self.store, self.paginator, complexity, self.version, self.account)
        with self.store.lock:
            result = execute_sync(
                self.schema,
                prepared.document,
                None,
                context,
                dict(variables or {}),
                operation_name,
                field_resolver,
            )
        errors: list[dict[str, Any]] = [dict(e.formatted) for e in result.errors or []]
        data = result.data
        if data is None and errors and all("path" not in e for e in errors):
            return ExecResult(None, errors, 0)  # variables did not coerce: nothing ran
        if any((e.get("extensions") or {}).get("code") in REQUEST_LEVEL_CODES for e in errors):
            data = None
        return ExecResult(data, errors, cost)


def _cost_shape(variables: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """What of ``variables`` a :class:`~monday_emulator.cost.HeuristicCostModel` estimate can depend on, as a
    cache key (None: not cacheable).

    The estimate reads a variable only as a list bound (``ids``/``types``: a list's length, a single id) or
    a ``limit`` (an ``int``), so a list counts by its length and a scalar by its type and value (``1``,
    ``1.0`` and ``True`` are equal keys in a dict, not equal limits). Anything else (an input object) is
    not cached. The tap sends the same few documents with 100 ids each: one walk per document and length,
    instead of two per request (the HTTP layer's admission and the execution)."""
    if not variables:
        return ()
    shape: list[Any] = []
    for name, value in variables.items():
        if isinstance(value, list):
            shape.append((name, list, len(value)))
        elif value is None or isinstance(value, str | int | float):
            shape.append((name, type(value), value))
        else:
            return None
    return tuple(shape)
