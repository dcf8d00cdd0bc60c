"""Static complexity estimate of a GraphQL document.

monday charges by the *potential* size of an answer, before running it, so the HTTP layer can reject a query
(over the per-query cap or the remaining budget) without executing it. The model is pluggable
(:class:`CostModel`, chosen by name through :func:`cost_model_named`):

``documented`` (:class:`DocumentedCostModel`, the default) reproduces every cost monday.com has published:

* ``items(ids: 1234567890) { column_values(ids: "connect_boards") { text } }`` = 21 and
  ``items(ids: 1234567890) { column_values { ... on BoardRelationValue { text } } }`` = 30 (monday's API
  changelog, "Increased complexity for text field", 2023-10);
* ``boards(ids: [553122091]) { groups { id title archived color deleted position items { id } } }`` =
  1,016,020 (a real "Query has complexity of 1016020, which exceeds max complexity of 1000000" answer quoted
  in the public issue tracker of the moncli client, issue 40, 2020 schema);
* "everything nested inside ``subitems`` counts x1000" (monday staff, community thread "Complexity Field
  Weights", 2021).

Its rule is the heuristic below with an unbounded list counted as 1,000 and ``column_values`` without ids
as 10, and a single id (``ids: 123``, GraphQL list coercion) counted as one.

``heuristic`` (:class:`HeuristicCostModel`, the emulator's first model, kept for comparison):

* a scalar field costs ``scalar`` (1), an object field ``object`` (10), ``__typename`` and introspection 0;
* each list level multiplies everything below it by its bound: the number of ``ids`` when ids are given,
  else the ``limit`` argument (explicit or the schema default), else ``unbounded_list`` (10);
* ``column_values`` without ``ids`` is bounded by ``column_bound`` (20 — about the column count of a generated
  board; a fixed bound keeps the estimate static: it does not depend on which board is read);
* typed fragments (``... on StatusValue``) are alternatives: the dearest one is charged per element;
* a paging object (``items_page``/``next_items_page``) passes its ``limit`` to its ``items`` list;
* root ``complexity`` and ``version`` are free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

MAX_QUERY_COMPLEXITY = 5_000_000
"""monday's per-query cap (https://developer.monday.com/api-reference/docs/rate-limits); the HTTP layer
rejects estimates above it."""


class CostModel(Protocol):
    """Estimates the complexity points of one operation, statically."""

    def estimate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        """Points the operation may cost."""
        ...


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


@dataclass(frozen=True)
class HeuristicCostModel:
    """monday's published field weights with list-size multipliers (see module docstring).

    An estimate reads a request's variables only through :meth:`list_bound` and a paging ``limit``: a list's
    length, a single id, an ``int``. ``Executor.estimate_cost`` caches estimates keyed by exactly that
    (execute.py ``_cost_shape``); a rule reading more of a variable must widen that key too.
    """

    scalar: int = 1
    object: int = 10
    column_bound: int = 20
    unbounded_list: int = 10
    free_root_fields: frozenset[str] = field(default_factory=lambda: frozenset({"complexity", "version"}))

    def estimate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        """Walk the chosen operation and sum field weights times the product of enclosing list bounds."""
        operation = select_operation(document, operation_name)
        if operation is None:
            return 0
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
        if root is None:
            return 0
        walker = _Walker(self, schema, fragments, dict(variables or {}))
        return walker.selection_cost(root, operation.selection_set, 1, top_level=True)

    def list_bound(self, field_name: str, args: Mapping[str, Any]) -> int:
        """How many elements a list field may return, from its arguments."""
        ids = args.get("ids")
        if isinstance(ids, list):
            return len(ids)
        if field_name == "column_values":
            types = args.get("types")
            return len(types) if isinstance(types, list) else self.column_bound
        limit = args.get("limit")
        if isinstance(limit, int) and limit > 0:
            return limit
        return self.unbounded_list


@dataclass(frozen=True)
class DocumentedCostModel(HeuristicCostModel):
    """The rule that reproduces monday's published figures (see module docstring)."""

    column_bound: int = 10
    unbounded_list: int = 1000

    def list_bound(self, field_name: str, args: Mapping[str, Any]) -> int:
        """As the heuristic, but a single id given without brackets is a list of one (list coercion)."""
        if isinstance(args.get("ids"), str | int):
            return 1
        return super().list_bound(field_name, args)


COST_MODELS: dict[str, type[HeuristicCostModel]] = {
    "documented": DocumentedCostModel,
    "heuristic": HeuristicCostModel,
}
"""Selectable models by name (``EmulatorConfig.cost_model``, ``monday-emulator --cost-model``)."""

DEFAULT_COST_MODEL = "documented"


def cost_model_named(name: str) -> HeuristicCostModel:
    """The model called ``name``; a clear error lists the known names."""
    try:
        return COST_MODELS[name]()
    except KeyError:
        known = ", ".join(sorted(COST_MODELS))
        raise ValueError(f"unknown cost model {name!r}; known models: {known}") from None


class _Walker:
    """One estimate's traversal state (fragments and variables of the document)."""

    def __init__(
        self,
        model: HeuristicCostModel,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.model = model
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection_cost(
        self,
        parent: GraphQLNamedType,
        selection_set: SelectionSetNode,
        multiplier: int,
        *,
        top_level: bool = False,
        carry: int | None = None,
    ) -> int:
        """Cost of a selection set; ``carry`` is a ``limit`` inherited from a paging wrapper object.

        Fragments narrowing an abstract type to one implementation (``... on StatusValue``) are
        alternatives: an element is one type, so the dearest fragment is charged, not their sum.
        """
        total = 0
        alternatives = [0]
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(parent, selection, multiplier, top_level=top_level, carry=carry)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else None
                inner_set = selection.selection_set
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in self.fragments:
                fragment = self.fragments[selection.name.value]
                condition, inner_set = fragment.type_condition.name.value, fragment.selection_set
            else:
                continue
            target = (self.schema.get_type(condition) if condition else None) or parent
            cost = self.selection_cost(target, inner_set, multiplier, carry=carry)
            if target is not parent and isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
                alternatives.append(cost)
            else:
                total += cost
        return total + max(alternatives)

    def field_cost(
        self,
        parent: GraphQLNamedType,
        node: FieldNode,
        multiplier: int,
        *,
        top_level: bool,
        carry: int | None = None,
    ) -> int:
        """Weight of one field times ``multiplier``, plus its sub-selection at the field's list bound."""
        name = node.name.value
        free = name.startswith("__") or (top_level and name in self.model.free_root_fields)
        fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        definition: GraphQLField | None = None if free else fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named) or node.selection_set is None:
            return self.model.scalar * multiplier
        cost = self.model.object * multiplier
        args = _arguments(definition, node, self.variables) if definition.args else {}
        if not _is_list(definition.type):
            # items_page / next_items_page: a paging object whose ``items`` list obeys this ``limit``
            limit = args.get("limit")
            wrapper_limit = limit if isinstance(limit, int) and limit > 0 else None
            return cost + self.selection_cost(named, node.selection_set, multiplier, carry=wrapper_limit)
        bound = carry if carry is not None and not args else self.model.list_bound(name, args)
        return cost + self.selection_cost(named, node.selection_set, multiplier * max(1, bound))


def _arguments(definition: GraphQLField, node: FieldNode, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Argument values of a field: literals and variables from the request, else SDL defaults.

    Untyped on purpose: the estimate only needs list lengths and ints, and must never fail on a request
    the validator or variable coercion will reject anyway.
    """
    given = {a.name.value: value_from_ast_untyped(a.value, dict(variables)) for a in node.arguments or ()}
    for name, arg in definition.args.items():
        if given.get(name) is None:
            default = arg.ast_node.default_value if arg.ast_node is not None else None
            given[name] = value_from_ast_untyped(default) if default is not None else None
    return given


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the named one, or the only one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        return next((o for o in operations if o.name and o.name.value == operation_name), None)
    return operations[0] if len(operations) == 1 else None
