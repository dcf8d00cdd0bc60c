"""The tap alone, items stream only, on the end-to-end emulator: records per CPU-second of the tap process.

The same measurement as the "tap alone" line of ``python -m benchmarks.e2e`` (``e2e.tap_alone``: 4 boards x
12,500 items, ``--latency instant --plan unlimited``, the tap's budget and rate raised, CPU from ``wait4``),
without Meltano and PostgreSQL, so it takes ~10 s a round. On a shared machine CPU seconds move with the
neighbours: compare code with ``--tree`` (repeatable), which runs each round once per source tree (a
checkout or worktree of this repository, put first on ``PYTHONPATH``), alternating, and reports the lowest
CPU of each::

    .venv/bin/python -m benchmarks.tap_alone --rounds 3 --tree /path/to/main-checkout --tree .

The tap runs in the venv ``meltano install`` made for it (``e2e.MELTANO_TAP``, the tap's own dependencies
only, as a user has it) when that exists, else in the project's venv (``--project-venv`` forces it). With
``--tree``, each tree runs through its own console-script entry point (its pyproject.toml's
``[project.scripts]``, :func:`launcher`), so trees from before and after a change of entry point compare.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from benchmarks.e2e import E2ESpec, installed_tap, tap_alone
from benchmarks.processes import EmulatorProcess, EmulatorSpec


def launcher(tree: Path, python: Path, directory: Path) -> Path:
    """A console script for ``tree``'s own entry point, run by ``python``: named as the installed one (the
    package pauses its collector during imports only under that name) and calling what the tree's
    pyproject.toml names, as the script pip would write for that tree does."""
    scripts = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, _, attributes = scripts["tap-monday-boards"].partition(":")
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "tap-monday-boards"
    script.write_text(
        f"#!{python}\n"
        "import importlib, sys\n"
        f"entry = importlib.import_module({module!r})\n"
        f"for name in {attributes.split('.')!r}:\n"
        "    entry = getattr(entry, name)\n"
        "sys.exit(entry())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def main(argv: Sequence[str] | None = None) -> int:
    """Rounds of the tap alone, alternating source trees; the lowest CPU per tree."""
    description = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tap_alone", description=description)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], type=Path,
                        help="source tree to run the tap from (repeatable; default: the installed tap)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/tap-monday-tap-alone"))
    parser.add_argument("--project-venv", action="store_true",
                        help="run the tap in the project's venv even where meltano installed one")
    args = parser.parse_args(argv)  # fmt: skip
    spec = E2ESpec()
    emulator_spec = EmulatorSpec(
        seed=spec.seed, boards=spec.boards, items=spec.items, plan=spec.plan, latency=spec.latency
    )
    from tests.support.meltano import PROJECT_ROOT, compile_tap_bytecode  # noqa: PLC0415 - the checkout's

    trees: list[Path | None] = [tree.resolve() for tree in args.tree] or [None]
    for tree in trees:
        # Every tree with its bytecode written, as a wheel install has it: a tree without (an editable
        # install under PYTHONDONTWRITEBYTECODE) compiles the tap at each start, ~0.1 s of CPU that would
        # show up as a difference between the trees' code.
        compile_tap_bytecode(tree or PROJECT_ROOT)
    executable = None if args.project_venv else installed_tap()
    print(f"the tap from: {executable or 'the project venv (no meltano install: run it for a user install)'}")
    python = Path(sys.executable) if executable is None else executable.parent / "python"
    scripts = {
        tree: launcher(tree, python, args.workdir / f"launcher-{n}") for n, tree in enumerate(trees) if tree
    }
    best: dict[str, float] = {}
    records = 0
    saved = os.environ.get("PYTHONPATH")
    try:
        with EmulatorProcess(emulator_spec, args.workdir / "emulator") as emulator:
            for round_no in range(args.rounds):
                for n, tree in enumerate(trees):
                    name = str(tree or "installed")
                    if tree is not None:
                        os.environ["PYTHONPATH"] = str(tree)
                    script = scripts.get(tree) if tree is not None else executable
                    result = tap_alone(emulator, args.workdir / f"tree-{n}", script)
                    if result["error"] is not None:
                        print(f"{name}: round {round_no + 1} failed: {result['error']}", file=sys.stderr)
                        return 1
                    records = result["records"]
                    best[name] = min(best.get(name, float("inf")), result["cpu_s"])
                    rate = result["records_per_cpu_s"]
                    print(
                        f"{name}: round {round_no + 1}: {records:,} records, {result['cpu_s']:.2f} CPU s, "
                        f"{rate:,.0f} records per CPU-second, {result['wall_s']:.1f} s wall",
                        flush=True,
                    )
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    for name, cpu in best.items():
        rate = records / cpu
        print(f"lowest of {args.rounds}: {name}: {cpu:.2f} CPU s, {rate:,.0f} records per CPU-second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
