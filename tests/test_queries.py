"""Every document the tap sends validates against monday.com's official 2026-10 schema."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate

from tap_monday_boards import queries

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "shared" / "monday-api" / "schema.graphql"


@cache
def official_schema() -> GraphQLSchema:
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.mark.skipif(not SCHEMA_PATH.exists(), reason=f"official monday schema not found at {SCHEMA_PATH}")
@pytest.mark.parametrize("name", sorted(queries.ALL_QUERIES))
def test_document_validates_against_official_schema(name: str) -> None:
    document = parse(queries.ALL_QUERIES[name])
    errors = validate(official_schema(), document)
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("name", sorted(queries.ALL_QUERIES))
def test_document_follows_the_rules(name: str) -> None:
    text = queries.ALL_QUERIES[name]
    assert "complexity { before after query reset_in_x_seconds }" in text
    assert "#" not in text
    definition = parse(text).definitions[0]
    assert definition.name is not None and definition.name.value == name.replace("SelectedColumns", "")


@pytest.mark.skipif(not SCHEMA_PATH.exists(), reason=f"official monday schema not found at {SCHEMA_PATH}")
def test_items_query_for_every_column_type_subset_validates() -> None:
    """Selection-aware documents (one fragment per column type) stay valid for any subset of types."""
    for column_type in queries.COLUMN_VALUE_FRAGMENTS:
        document = parse(queries.items_by_ids_query([column_type]))
        assert not validate(official_schema(), document), column_type
