"""Fast path for the hot request shapes: root ``items(ids:)``, ``next_items_page`` and ``assets(ids:)`` over
plain dicts.

graphql-core's executor resolves every field of every column value through Python calls and runs at about
15 requests/s for 100 items x 21 column values on this machine; the tap's phase 2 sends exactly that shape
all the time. A validated document whose fields can all be read straight from the rendered item dicts is
compiled once into a projection plan (field selection, aliases, inline fragments on ColumnValue types,
``__typename``), which then runs several times faster. Anything the plan does not understand (directives,
fields that need a resolver, variables of input-object types, ...) makes :func:`compile_plan` return None and
the executor falls back to graphql-core, so results never differ (tests/emulator/test_execute_fastpath.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)
from graphql.language import get_location

from monday_emulator.cost import select_operation
from monday_emulator.data import ITEM_KEYS, Store
from monday_emulator.extras import assets_by_ids
from monday_emulator.listing import Paginator, QueryError
from monday_emulator.resolvers import RESOLVERS, items_by_ids

_ENCODER = msgspec.json.Encoder()
_ROOTS = {"items", "next_items_page", "assets", "complexity", "version"}
# Fields with a resolver that a plain dict still answers for these sub-selections (ids only).
_ID_ONLY_OK = {("Item", "parent_item"), ("Item", "subitems")}
_SCALAR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "ID": lambda v: isinstance(v, str | int) and not isinstance(v, bool),
    "String": lambda v: isinstance(v, str),
    "Int": lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31,
    "Boolean": lambda v: isinstance(v, bool),
}


class _UnsupportedError(Exception):
    """The document needs graphql-core."""


class FallbackError(Exception):
    """Raised by :meth:`Plan.run` when this request needs graphql-core after all (its error shape): the
    executor then runs it there."""


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str  # response key (alias or name)
    name: str
    plan: _Selection | None  # sub-selection, None for leaves
    only_on: str | None  # type condition: apply only when __typename matches
    filter_node: FieldNode | None = None  # column_values(ids:, types:) arguments, read per request
    typename: str | None = None  # for ``__typename`` on an object type (dicts of objects carry no name)


@dataclass(frozen=True, slots=True)
class _VarCheck:
    name: str
    required: bool
    is_list: bool
    item_required: bool
    scalar: str
    default: Any


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled document: root fields and how to project each."""

    roots: tuple[tuple[str, str, FieldNode, _Selection | None], ...]
    variables: tuple[_VarCheck, ...]
    filtered: tuple[_Entry, ...]  # entries whose list is filtered by request arguments
    fields: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Root key -> the item keys its items' selection reads (``Store.render_item(fields=)``; a harvest page:
    ``id``, ``updated_at``); a root absent here gets every key."""
    fused: Mapping[str, tuple[_Entry, _Selection]] = field(default_factory=dict)
    """Root key of an ``items`` root whose items select one ``column_values`` list, without arguments ->
    that entry and the items' selection with it as a plain key: the values are projected while the items
    are rendered (``Store.render_item(view=)``, :class:`_PoolView`), each pool's once per plan."""
    views: dict[tuple[str, bool], _PoolView] = field(default_factory=dict, compare=False, repr=False)
    """(root key, encoded) -> its :class:`_PoolView` (made at the first request: it needs the store)."""
    shared: dict[int, dict[int, Any]] = field(default_factory=dict, compare=False, repr=False)
    """id of a selection -> (id of a shared column value of the store -> its projection), kept across
    requests (at most pool size x columns x boards entries). Answers share these dicts: nothing may
    change an answer's data in place (envelopes.py copies what it alters)."""

    def coerce(self, given: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """Variables as graphql-core would see them, or None when they need its error messages."""
        given = given or {}
        out: dict[str, Any] = {}
        for check in self.variables:
            value = given.get(check.name, check.default)
            if value is None:
                if check.required:
                    return None
                out[check.name] = None
                continue
            scalar_ok = _SCALAR_CHECKS[check.scalar]
            as_sent = check.is_list and type(value) is list and check.scalar == "ID"
            if as_sent and all(type(v) is str for v in value):  # ids as the tap sends them: the checks
                out[check.name] = list(value)  # below would all pass and keep each as it is
                continue
            if check.is_list:
                if not isinstance(value, list) or any(
                    (v is None and check.item_required) or (v is not None and not scalar_ok(v)) for v in value
                ):
                    return None
                out[check.name] = [str(v) if check.scalar == "ID" and v is not None else v for v in value]
            elif not scalar_ok(value):
                return None
            else:
                out[check.name] = str(value) if check.scalar == "ID" else value
        return out

    def run(
        self,
        store: Store,
        paginator: Paginator,
        variables: dict[str, Any],
        complexity: dict[str, Any],
        version: dict[str, Any],
        *,
        encoded: bool = False,
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Execute: (data, errors) shaped like graphql-core's answer for the same document.

        ``encoded``: the caller only encodes the data (``Executor.execute``): a fused root's shared values
        may then be ``msgspec.Raw``, their projection's JSON written once per plan.
        """
        data: dict[str, Any] = {}
        filters: dict[int, tuple[frozenset[str] | None, frozenset[str] | None]] = {}
        run = _Run(filters, store.shared_values, self.shared)
        for entry in self.filtered:
            node = entry.filter_node
            assert node is not None
            args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments or ()}
            filters[id(entry)] = (_set(args.get("ids")), _set(args.get("types")))
        for key, name, node, plan in self.roots:
            if name == "__typename":
                data[key] = "Query"
                continue
            selection = plan
            if name == "complexity":
                source: Any = complexity
            elif name == "version":
                source = version
            else:
                args = {
                    a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments or ()
                }
                try:
                    source, selection = self._source(key, name, plan, args, store, paginator, encoded)
                except QueryError as exc:
                    loc = get_location(node.loc.source, node.loc.start) if node.loc else None
                    error: dict[str, Any] = {"message": str(exc)}
                    if loc is not None:
                        error["locations"] = [{"line": loc.line, "column": loc.column}]
                    error.update(path=[key], extensions={"code": exc.code})
                    return None, [error]
            data[key] = _project(source, selection, run)
        return data, []

    def _source(  # noqa: PLR0917 - one root field's facts, from run's loop
        self,
        key: str,
        name: str,
        plan: _Selection | None,
        args: dict[str, Any],
        store: Store,
        paginator: Paginator,
        encoded: bool,
    ) -> tuple[Any, _Selection | None]:
        """What the root field ``key`` (``name``, its arguments ``args``) answers, unprojected, and the
        selection that projects it (a fused root's: its values come projected)."""
        fields = self.fields.get(key, ITEM_KEYS)
        if name == "next_items_page":
            return paginator.next_page(args["cursor"], args.get("limit", 25), fields=fields), plan
        if name == "assets":
            return _assets(store, args["ids"]), plan
        args.setdefault("limit", 25)
        args.setdefault("page", 1)
        if key not in self.fused:
            return items_by_ids(store, **args, fields=fields), plan
        entry, selection = self.fused[key]
        view = self.views.get((key, encoded))
        if view is None:
            view = _PoolView(entry, store.shared_values, self.shared, encoded=encoded)
            self.views[key, encoded] = view
        return items_by_ids(store, **args, fields=fields, view=view), selection


_Filters = dict[int, tuple[frozenset[str] | None, frozenset[str] | None]]


class _Selection:
    """A compiled selection set; per ``__typename`` it keeps the flat list of operations that apply."""

    __slots__ = ("builders", "by_type", "entries", "pure")

    def __init__(self, entries: tuple[_Entry, ...]) -> None:
        self.entries = entries
        self.pure: bool = all(e.filter_node is None and (e.plan is None or e.plan.pure) for e in entries)
        """No list below reads request arguments: a value's projection depends on the value alone."""
        self.by_type: dict[Any, tuple[tuple[int, str, str, Any], ...]] = {}  # extra: name, entry or plan
        self.builders: dict[Any, Callable[[Mapping[str, Any], _Run], dict[str, Any]]] = {}

    def ops(self, typename: Any) -> tuple[tuple[int, str, str, Any], ...]:
        """(kind, response key, dict key, extra) for objects of ``typename``; computed once per type."""
        found = self.by_type.get(typename)
        if found is None:
            built: list[tuple[int, str, str, Any]] = []
            for e in self.entries:
                if e.only_on is not None and e.only_on != typename:
                    continue
                if e.name == "__typename":
                    built.append((_TYPENAME, e.key, e.name, e.typename))
                elif e.plan is None:
                    built.append((_LEAF, e.key, e.name, None))
                elif e.filter_node is not None:
                    built.append((_FILTERED, e.key, e.name, e))
                else:
                    built.append((_NESTED, e.key, e.name, e.plan))
            found = self.by_type[typename] = tuple(built)
        return found

    def builder(self, typename: Any) -> Callable[[Mapping[str, Any], _Run], dict[str, Any]]:
        """The projection of one object of ``typename`` as one compiled function, made once per type.

        ``ops`` walked per object cost a loop turn and a branch per field (a third of answering an
        ``items(ids:)`` page); this is that walk unrolled into one dict display, the same keys in the same
        order, each value computed as the walk computed it (:func:`_project_by_ops`, the reference, is
        compared with it in tests/emulator/test_render_shortcuts.py).
        """
        found = self.builders.get(typename)
        if found is None:
            names: dict[str, Any] = {"_project": _project, "_project_list": _project_list}
            parts = []
            for n, (kind, key, name, extra) in enumerate(self.ops(typename)):
                names[f"k{n}"], names[f"n{n}"], names[f"x{n}"] = key, name, extra
                if kind == _LEAF:
                    parts.append(f"k{n}: get(n{n})")
                elif kind == _TYPENAME:
                    names[f"x{n}"] = extra or typename
                    parts.append(f"k{n}: x{n}")
                elif kind == _FILTERED:
                    parts.append(f"k{n}: _project_list(get(n{n}) or (), x{n}, run)")
                else:
                    parts.append(f"k{n}: _project(get(n{n}), x{n}, run)")
            source = "def build(value, run):\n    get = value.get\n    return {" + ", ".join(parts) + "}\n"
            exec(source, names)  # noqa: S102 - source built above from fixed templates; data only in `names`
            found = self.builders[typename] = names["build"]
        return found


_TYPENAME, _LEAF, _FILTERED, _NESTED = range(4)


class _Run:
    """What projecting one request needs besides the values: its list filters, and the plan's projections
    of the store's shared column values (``Store.shared_values``)."""

    __slots__ = ("filters", "shared", "shared_ids")

    def __init__(
        self, filters: _Filters, shared_ids: frozenset[int], shared: dict[int, dict[int, Any]]
    ) -> None:
        self.filters, self.shared_ids, self.shared = filters, shared_ids, shared


def _project(value: Any, plan: _Selection | None, run: _Run) -> Any:
    if plan is None or value is None:
        return value
    if isinstance(value, list):
        return [_project(v, plan, run) for v in value]
    return plan.builder(value.get("__typename"))(value, run)


def _project_by_ops(value: Any, plan: _Selection | None, run: _Run) -> Any:
    """The projection walked field by field (``_Selection.ops``): what each compiled builder unrolls, kept
    as the reference the tests compare the builders with."""
    if plan is None or value is None:
        return value
    if isinstance(value, list):
        return [_project_by_ops(v, plan, run) for v in value]
    out: dict[str, Any] = {}
    typename = value.get("__typename")
    for kind, key, name, extra in plan.ops(typename):
        if kind == _LEAF:
            out[key] = value.get(name)
        elif kind == _TYPENAME:
            out[key] = extra or typename
        elif kind == _FILTERED:
            out[key] = _project_list(value.get(name) or (), extra, run, _project_by_ops)
        else:
            out[key] = _project_by_ops(value.get(name), extra, run)
    return out


def _project_list(
    values: Any, entry: _Entry, run: _Run, project: Callable[[Any, _Selection | None, _Run], Any] = _project
) -> list[Any]:
    """A filtered list (``column_values(ids:, types:)``): the kept values, each projected."""
    ids, types = run.filters[id(entry)]
    sub = entry.plan
    assert sub is not None
    if ids is not None or types is not None:
        values = [
            v for v in values if (ids is None or v["id"] in ids) and (types is None or v["type"] in types)
        ]
    if not sub.pure:
        return [project(v, sub, run) for v in values]
    # The store's shared values (its boards' pools, data.py): the same dict under the same selection always
    # projects to the same answer, so it is projected once per plan and selection.
    shared_ids = run.shared_ids
    cache = run.shared.get(id(sub))
    if cache is None:
        cache = run.shared[id(sub)] = {}

    def miss(v: Any) -> Any:
        found = project(v, sub, run)
        if id(v) in shared_ids:
            cache[id(v)] = found
        return found

    # A value's id is a key only while it is one of the store's shared values, which live as long as the
    # store: no other value can have that id meanwhile. A falsy projection ({}) is just recomputed.
    return [cache.get(id(v)) or miss(v) for v in values]


class _PoolView:
    """``Store.render_item``'s view of column values for one fused ``column_values`` entry: each value
    projected as :func:`_project_list` projects it (the store's shared values once per plan, in the same
    cache), the store's pools projected once per board (``boards``). Its selection reads no request
    arguments (``_Selection.pure``), so a projection depends on the value alone.

    ``encoded``: each shared value's projection as ``msgspec.Raw`` (its JSON, written once), the others'
    as dicts: an answer only encoded then copies most of its bytes instead of encoding 20-odd dicts per
    item again (the same bytes: JSON is written value by value).
    """

    __slots__ = ("boards", "of")

    def __init__(
        self,
        entry: _Entry,
        shared_ids: frozenset[int],
        shared: dict[int, dict[int, Any]],
        *,
        encoded: bool = False,
    ) -> None:
        sub = entry.plan
        assert sub is not None and sub.pure
        run = _Run({}, shared_ids, shared)
        cache = shared.setdefault(id(sub), {})

        def of(v: Any) -> Any:
            found = cache.get(id(v))  # an id is a key only while its shared value lives (_project_list)
            if found is None:
                found = _project(v, sub, run)
                if id(v) in shared_ids:
                    cache[id(v)] = found
            return found

        raw: dict[int, msgspec.Raw] = {}

        def of_encoded(v: Any) -> Any:
            found = raw.get(id(v))
            if found is None:
                if id(v) not in shared_ids:
                    return of(v)
                found = raw[id(v)] = msgspec.Raw(_ENCODER.encode(of(v)))
            return found

        self.of = of_encoded if encoded else of
        self.boards: dict[int, tuple[Any, ...]] = {}


def _fused(name: str, plan: _Selection | None) -> tuple[_Entry, _Selection] | None:
    """For an ``items`` root whose items have one ``column_values`` entry, without arguments or a type
    condition and reading no request arguments below: that entry, and the items' selection with it as a
    plain key (the list comes projected from the store)."""
    if name != "items" or plan is None:
        return None
    lists = [e for e in plan.entries if e.name == "column_values"]
    if len(lists) != 1:
        return None
    (entry,) = lists
    node, sub = entry.filter_node, entry.plan
    if node is None or node.arguments or entry.only_on is not None or sub is None or not sub.pure:
        return None
    plain = _Entry(entry.key, entry.name, None, None)
    return entry, _Selection(tuple(plain if e is entry else e for e in plan.entries))


class _Compiler:
    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.filtered: list[_Entry] = []

    def selection(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, only_on: str | None = None
    ) -> _Selection:
        entries: list[_Entry] = []
        for selection in selection_set.selections:
            if selection.directives:
                raise _UnsupportedError("directives")
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else None
                target = self.schema.get_type(condition) if condition else parent
                if target is None or (only_on is not None and condition not in (None, only_on)):
                    raise _UnsupportedError("nested type conditions")
                narrowing = condition if target is not parent else only_on
                entries += self.selection(target, selection.selection_set, narrowing).entries
            elif isinstance(selection, FieldNode):
                entries.append(self.field(parent, selection, only_on))
            else:
                raise _UnsupportedError("fragment spreads")
        keys = [(e.key, e.only_on) for e in entries]
        plain = {k for k, o in keys if o is None}
        if len(keys) != len(set(keys)) or any(o is not None and k in plain for k, o in keys):
            raise _UnsupportedError("merged fields")
        return _Selection(tuple(entries))

    def field(self, parent: GraphQLNamedType, node: FieldNode, only_on: str | None) -> _Entry:
        name = node.name.value
        key = node.alias.value if node.alias else name
        if name == "__typename":
            static = parent.name if isinstance(parent, GraphQLObjectType) else None
            return _Entry(key, name, None, only_on, None, static)
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) or name not in parent.fields:
            raise _UnsupportedError(f"{name}")
        definition = parent.fields[name]
        named = get_named_type(definition.type)
        owner = only_on or parent.name
        if name == "column_values" and parent.name == "Item":
            sub = self.selection(named, node.selection_set) if node.selection_set else _Selection(())
            entry = _Entry(key, name, sub, only_on, node)
            self.filtered.append(entry)
            return entry
        if (owner, name) in RESOLVERS or (parent.name, name) in RESOLVERS:
            if (parent.name, name) not in _ID_ONLY_OK or not _ids_only(node):
                raise _UnsupportedError(f"{parent.name}.{name} needs its resolver")
        elif node.arguments:
            raise _UnsupportedError(f"{parent.name}.{name} arguments")
        if is_leaf_type(named) or node.selection_set is None:
            return _Entry(key, name, None, only_on)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            raise _UnsupportedError(name)
        return _Entry(key, name, self.selection(named, node.selection_set), only_on)


def _ids_only(node: FieldNode) -> bool:
    return node.selection_set is not None and all(
        isinstance(s, FieldNode)
        and s.name.value in {"id", "__typename"}
        and not s.arguments
        and not s.directives
        for s in node.selection_set.selections
    )


def _var_check(name: str, type_node: TypeNode, default: Any) -> _VarCheck:
    required = isinstance(type_node, NonNullTypeNode)
    inner = type_node.type if isinstance(type_node, NonNullTypeNode) else type_node
    is_list = isinstance(inner, ListTypeNode)
    item_required = False
    if isinstance(inner, ListTypeNode):
        element: TypeNode = inner.type
        item_required = isinstance(element, NonNullTypeNode)
        inner = element.type if isinstance(element, NonNullTypeNode) else element
    if not isinstance(inner, NamedTypeNode) or inner.name.value not in _SCALAR_CHECKS:
        raise _UnsupportedError("variable type")
    return _VarCheck(name, required and default is None, is_list, item_required, inner.name.value, default)


def compile_plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan | None:
    """A projection plan for the operation, or None when graphql-core must run it."""
    operation = select_operation(document, operation_name)
    only_operations = all(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    if operation is None or operation.operation.value != "query" or not only_operations:
        return None
    compiler = _Compiler(schema)
    query = schema.query_type
    assert query is not None
    try:
        checks = tuple(
            _var_check(
                v.variable.name.value,
                v.type,
                value_from_ast_untyped(v.default_value) if v.default_value is not None else None,
            )
            for v in operation.variable_definitions or ()
        )
        roots = []
        for selection in operation.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                raise _UnsupportedError("root fragments or directives")
            name = selection.name.value
            if name not in _ROOTS and name != "__typename":
                raise _UnsupportedError(name)
            plan = None
            if name != "__typename" and selection.selection_set is not None:
                plan = compiler.selection(get_named_type(query.fields[name].type), selection.selection_set)
            roots.append((selection.alias.value if selection.alias else name, name, selection, plan))
    except _UnsupportedError:
        return None
    if len({r[0] for r in roots}) != len(roots):
        return None
    fields = {key: read for key, name, _, plan in roots if (read := _item_fields(name, plan)) is not None}
    fused = {key: found for key, name, _, plan in roots if (found := _fused(name, plan)) is not None}
    return Plan(tuple(roots), checks, tuple(compiler.filtered), fields, fused)


def _item_fields(root: str, plan: _Selection | None) -> frozenset[str] | None:
    """The item keys the projection reads under this root field (its items' entries), or None for every
    key: the items are then rendered only as far as they are read (a harvest page: ``id``, ``updated_at``).
    A key the store does not render reads as null either way."""
    if plan is None or root not in {"items", "next_items_page"}:
        return None
    selections = [plan] if root == "items" else [e.plan for e in plan.entries if e.name == "items"]
    return frozenset(e.name for sel in selections if sel is not None for e in sel.entries) - {"__typename"}


def _assets(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    """Root ``assets(ids:)``; an application error (too many ids) goes to graphql-core, whose answer for a
    document of several such lists (one error each, the others' data) the projection does not repeat."""
    try:
        return assets_by_ids(store, ids)
    except QueryError as exc:
        raise FallbackError from exc


def _set(values: Any) -> frozenset[str] | None:
    return None if values is None else frozenset(str(v) for v in values)
