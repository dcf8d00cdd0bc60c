"""Every document the tap sends validates against monday.com's official 2026-10 schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from tap_monday_boards import queries
from tests.support.official_schema import official_schema


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


def test_items_query_for_every_column_type_subset_validates() -> None:
    """Selection-aware documents (one fragment per column type) stay valid for any subset of types."""
    for column_type in queries.COLUMN_VALUE_FRAGMENTS:
        document = parse(queries.items_by_ids_query([column_type]))
        assert not validate(official_schema(), document), column_type


def test_a_missing_official_schema_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MONDAY_SCHEMA", str(tmp_path / "absent.graphql"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"absent\.graphql.*CI=true"):
        official_schema()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="set MONDAY_SCHEMA"):
        official_schema()
