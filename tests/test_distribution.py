"""The tap's wheel is the product only: no emulator code, no graphql-core, no import of either at run time.

Why: the emulator (a test server of this repository) lives in its own distribution (``emulator/``); shipping
it, or its GraphQL engine, to every Meltano user would add 5,000 lines and a dependency nothing uses.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tap_monday_boards"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_wheel_packages_only_the_tap_and_depends_on_no_graphql_engine() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["tap_monday_boards"]
    dependencies = " ".join(project["project"]["dependencies"]).lower()
    assert "graphql" not in dependencies and "emulator" not in dependencies
    assert "monday-emulator" not in project["project"].get("scripts", {})
    assert not (PACKAGE / "emulator").exists()


def test_no_tap_module_imports_the_emulator_or_graphql() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_modules(path) & {"monday_emulator", "graphql"})
        for path in PACKAGE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_emulator_is_its_own_distribution_with_the_console_script() -> None:
    emulator = tomllib.loads((ROOT / "emulator" / "pyproject.toml").read_text(encoding="utf-8"))
    assert emulator["project"]["name"] == "monday-emulator"
    assert emulator["project"]["scripts"]["monday-emulator"] == "monday_emulator.cli:main"
    assert any(d.startswith("graphql-core") for d in emulator["project"]["dependencies"])
    for path in (ROOT / "emulator" / "monday_emulator").rglob("*.py"):
        assert "tap_monday_boards" not in _imported_modules(path), path
