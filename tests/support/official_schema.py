"""monday.com's official GraphQL schema for the conformance tests, from one setting.

Why a setting: the schema is monday's file, not this project's, so it is never copied into the repository.
``MONDAY_SCHEMA`` names the SDL file; by default it is ``../shared/monday-api/schema.graphql`` beside the
checkout (where the project's machines keep it). The GitHub workflow downloads it from monday's public schema
endpoint (``https://api.monday.com/v2/get_schema?format=sdl&version=2026-10``) and sets ``MONDAY_SCHEMA``.
Outside CI a missing file skips the conformance tests with the reason; under ``CI=true`` it fails them, so a
CI run can never pass without checking every document against the real schema.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_PATH = REPOSITORY.parent / "shared" / "monday-api" / "schema.graphql"


def schema_path() -> Path:
    """Where the official SDL is expected: ``$MONDAY_SCHEMA`` or the default beside the checkout."""
    configured = os.environ.get("MONDAY_SCHEMA")
    return Path(configured) if configured else DEFAULT_PATH


def in_ci() -> bool:
    """CI systems (GitHub Actions, this project's .ci/run) set ``CI=true``."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@cache
def _load(path: Path) -> GraphQLSchema:
    return build_schema(path.read_text(encoding="utf-8"))


def official_schema() -> GraphQLSchema:
    """The parsed official schema; skips the calling test when it is absent (fails under CI)."""
    path = schema_path()
    if not path.is_file():
        message = (
            f"monday's official schema not found at {path}: set MONDAY_SCHEMA to its SDL file "
            "(https://api.monday.com/v2/get_schema?format=sdl&version=2026-10)"
        )
        if in_ci():
            pytest.fail(message + " (CI=true: the conformance tests must run)", pytrace=False)
        pytest.skip(message)
    return _load(path)
