"""The singer-sdk internals the tap uses exist on the installed SDK, which is inside the supported range.

tap_monday_boards/sdkcompat.py is the one module touching SDK internals; this test fails first on an SDK
upgrade that removes or renames one of them, or when the installed SDK leaves the range pyproject.toml
declares.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tap_monday_boards import sdkcompat
from tap_monday_boards.tap import TapMondayBoards

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tap_monday_boards"


def _declared_sdk() -> SpecifierSet:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (requirement,) = [r for r in map(Requirement, project["dependencies"]) if r.name == "singer-sdk"]
    return requirement.specifier


def test_pyproject_declares_the_range_the_compat_module_supports_with_an_upper_bound() -> None:
    declared = _declared_sdk()
    assert declared == SpecifierSet(sdkcompat.SUPPORTED_SDK)
    assert any(s.operator in {"<", "<=", "~=", "=="} for s in declared), "no upper bound"


def test_the_installed_sdk_is_inside_the_supported_range() -> None:
    installed = Version(importlib.metadata.version("singer-sdk"))
    assert installed in SpecifierSet(sdkcompat.SUPPORTED_SDK), installed


def _class(path: str) -> type:
    module, _, name = path.rpartition(".")
    found = getattr(importlib.import_module(module), name)
    assert isinstance(found, type), path
    return found


@pytest.mark.parametrize(
    ("owner", "member"),
    [
        (owner, member)
        for table in (sdkcompat.OVERRIDDEN, sdkcompat.PRIVATE_METHODS_CALLED)
        for owner, members in table.items()
        for member in members
    ],
)
def test_each_private_method_exists_on_the_sdk_class(owner: str, member: str) -> None:
    assert callable(getattr(_class(owner), member, None)), f"{owner}.{member}"


@pytest.mark.parametrize(("module", "name"), sdkcompat.PRIVATE_IMPORTS)
def test_each_private_import_exists(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_each_private_attribute_exists_on_live_objects() -> None:
    tap = TapMondayBoards(config={"api_token": "compat-token-0000"})
    stream = tap.streams["items"]
    _ = stream.mask  # the SDK computes and caches its mask on first use
    objects = {"stream": stream, "tap": tap, "state_writer": sdkcompat.state_writer(tap)}
    for kind, attributes in sdkcompat.PRIVATE_INSTANCE_ATTRIBUTES.items():
        for attribute in attributes:
            assert attribute in vars(objects[kind]), f"{kind}.{attribute}"
    assert sdkcompat.tap_of(stream) is tap
    assert sdkcompat.mutable_config(tap) is not None and "api_url" in sdkcompat.mutable_config(tap)


def test_no_other_module_touches_sdk_internals() -> None:
    """Private SDK members are used through sdkcompat only: no ``singer_sdk`` private import elsewhere, and
    no ``.<member>`` of the tables above outside sdkcompat.py (overrides are defined, not accessed)."""
    members = {
        m
        for table in (sdkcompat.PRIVATE_METHODS_CALLED, sdkcompat.PRIVATE_INSTANCE_ATTRIBUTES)
        for ms in table.values()
        for m in ms
    }
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "sdkcompat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
                private = "._" in f".{node.module}" or any(a.name.startswith("_") for a in node.names)
                if private:
                    offenders.append(f"{path.name}: from {node.module} import ...")
            if isinstance(node, ast.Attribute) and node.attr in members:
                offenders.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert not offenders, offenders
