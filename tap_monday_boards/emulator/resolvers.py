"""Field resolution over the Store (placeholder: root complexity/version only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, execute

if TYPE_CHECKING:
    from tap_monday_boards.emulator.execute import ExecResult, Executor


def run(
    executor: Executor,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    *,
    complexity: dict[str, Any] | None,
    cost: int,
) -> ExecResult:
    """Execute with graphql-core."""
    from tap_monday_boards.emulator.execute import ExecResult  # noqa: PLC0415

    root = {
        "complexity": complexity or {"before": 0, "after": 0, "query": cost, "reset_in_x_seconds": 0},
        "version": {"kind": "current", "value": "2026-10", "display_name": "Current"},
    }
    result = execute(executor.schema, document, root, variable_values=dict(variables or {}),
                     operation_name=operation_name)
    errors = [e.formatted for e in result.errors or []]
    return ExecResult(result.data, errors, cost)  # type: ignore[arg-type]
