"""The emulator's SDL is a faithful subset of monday's published schema (names, types, nullability, defaults).

Queries that validate against the emulator must validate against monday too; a drift here would let the tap
pass its tests with documents the real API rejects.
"""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    build_schema,
    is_required_argument,
    is_required_input_field,
    parse,
    print_ast,
    validate,
)
from monday_emulator.columns import TYPENAMES
from monday_emulator.execute import load_schema

from tap_monday_boards.queries import ALL_QUERIES
from tests.support.official_schema import official_schema


@pytest.fixture(scope="module")
def official() -> GraphQLSchema:
    return official_schema()


def _default(definition: object) -> str | None:
    """The default as written in the SDL (graphql-core 3.3 keeps SDL defaults on the AST node)."""
    node = getattr(definition, "ast_node", None)
    if node is not None and node.default_value is not None:
        return print_ast(node.default_value)
    value = getattr(definition, "default_value", Undefined)
    return None if value is Undefined else repr(value)


def subset_problems(mine: GraphQLSchema, theirs: GraphQLSchema) -> list[str]:
    """Every way ``mine`` is not a subset of ``theirs`` (empty list = subset)."""
    problems: list[str] = []
    for name, ours in mine.type_map.items():
        if name.startswith("__"):
            continue
        other = theirs.type_map.get(name)
        if other is None:
            problems.append(f"type {name} missing")
            continue
        if type(ours) is not type(other):
            problems.append(f"type {name}: kind {type(ours).__name__} != {type(other).__name__}")
            continue
        if isinstance(ours, GraphQLEnumType):
            problems += [f"enum {name}.{v} missing" for v in ours.values if v not in other.values]
        elif isinstance(ours, GraphQLUnionType):
            theirs_members = {t.name for t in other.types}
            problems += [
                f"union {name} member {t.name} missing" for t in ours.types if t.name not in theirs_members
            ]
        elif isinstance(ours, GraphQLObjectType | GraphQLInterfaceType):
            problems += _fields(name, ours, other)
        elif isinstance(ours, GraphQLInputObjectType):
            for fname, field in ours.fields.items():
                peer = other.fields.get(fname)
                if peer is None:
                    problems.append(f"input {name}.{fname} missing")
                elif str(field.type) != str(peer.type) or _default(field) != _default(peer):
                    problems.append(
                        f"input {name}.{fname}: {field.type}={_default(field)} "
                        f"!= {peer.type}={_default(peer)}"
                    )
            problems += [
                f"input {name}.{f} required by monday but absent"
                for f, v in other.fields.items()
                if is_required_input_field(v) and f not in ours.fields
            ]
    for root in ("query_type", "mutation_type"):
        if getattr(mine, root) is not None and getattr(theirs, root) is None:
            problems.append(f"{root} absent in monday's schema")
    return problems


def _fields(name: str, ours: GraphQLObjectType | GraphQLInterfaceType, other: object) -> list[str]:
    problems = []
    assert isinstance(other, GraphQLObjectType | GraphQLInterfaceType)
    theirs_interfaces = {i.name for i in other.interfaces}
    problems += [
        f"{name} implements {i.name}: not in monday"
        for i in ours.interfaces
        if i.name not in theirs_interfaces
    ]
    for fname, field in ours.fields.items():
        peer = other.fields.get(fname)
        if peer is None:
            problems.append(f"field {name}.{fname} missing")
            continue
        if str(field.type) != str(peer.type):
            problems.append(f"field {name}.{fname}: type {field.type} != {peer.type}")
        for aname, arg in field.args.items():
            peer_arg = peer.args.get(aname)
            if peer_arg is None:
                problems.append(f"arg {name}.{fname}({aname}) missing")
            elif str(arg.type) != str(peer_arg.type):
                problems.append(f"arg {name}.{fname}({aname}): type {arg.type} != {peer_arg.type}")
            elif _default(arg) != _default(peer_arg):
                problems.append(
                    f"arg {name}.{fname}({aname}): default {_default(arg)} != {_default(peer_arg)}"
                )
        problems += [
            f"arg {name}.{fname}({a}) required by monday but absent"
            for a, v in peer.args.items()
            if is_required_argument(v) and a not in field.args
        ]
    return problems


def test_emulator_sdl_is_a_subset_of_mondays(official: GraphQLSchema) -> None:
    assert subset_problems(load_schema(), official) == []


def test_subset_check_catches_drift(official: GraphQLSchema) -> None:
    """The checker itself must see a wrong type, a wrong default, a made-up field and a made-up enum value."""
    drifted = build_schema(
        """
        enum State { active archived everything }
        enum ItemsQueryOperator { and or }
        input ItemsQueryGroup { operator: ItemsQueryOperator = or }
        type Query { items(limit: Int = 50, ids: [ID!]): [Item] me: User g(x: ItemsQueryGroup): Int }
        type Item { id: ID name: String! bogus: Int }
        type User { id: ID! }
        """
    )
    problems = subset_problems(drifted, official)
    assert "enum State.everything missing" in problems
    assert "field Item.id: type ID != ID!" in problems
    assert "field Item.bogus missing" in problems
    assert "arg Query.items(limit): default 50 != 25" in problems
    assert "input ItemsQueryGroup.operator: ItemsQueryOperator=or != ItemsQueryOperator=and" in problems


def test_sdl_covers_the_required_surface() -> None:
    schema = load_schema()
    query = schema.query_type
    assert query is not None
    for root in (
        "boards",
        "items",
        "next_items_page",
        "users",
        "teams",
        "workspaces",
        "tags",
        "updates",
        "me",
        "complexity",
        "version",
    ):
        assert root in query.fields, root
    assert set(query.fields["boards"].args) >= {
        "ids",
        "limit",
        "page",
        "state",
        "workspace_ids",
        "board_kind",
    }
    assert set(query.fields["items"].args) >= {"ids", "limit", "page", "newest_first", "exclude_nonactive"}
    board = schema.get_type("Board")
    assert isinstance(board, GraphQLObjectType)
    assert {
        "columns",
        "groups",
        "owners",
        "tags",
        "items_count",
        "updated_at",
        "activity_logs",
        "updates",
        "items_page",
    } <= set(board.fields)
    implementations = {t.name for t in schema.get_possible_types(schema.get_type("ColumnValue"))}  # type: ignore[arg-type]
    assert set(TYPENAMES.values()) <= implementations


@pytest.mark.parametrize("name", sorted(ALL_QUERIES))
def test_every_tap_query_validates(name: str) -> None:
    assert validate(load_schema(), parse(ALL_QUERIES[name])) == []
