# One-command entry points. Everything installs itself into .venv from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: venv test test-all lint typecheck demo bench bench-full bench-account chaos clean

## Bytecode of the editable packages, refreshed on every target that needs the venv. Why: an editable install
## (here, and Meltano's `pip_url: -e .` plugin venv) runs this checkout's sources, which no installer compiles
## (pip and uv compile site-packages only), and with PYTHONDONTWRITEBYTECODE set Python never writes
## __pycache__ either: every tap and emulator process then compiled its package from source at each start
## (the tap's: ~0.1 s of CPU), a cost a user's wheel install never has
## (docs/benchmarks.md, "The tap's start-up"). compileall rewrites only the files changed since its last run.
venv: $(VENV)/.installed
	@$(PY) -m compileall -q tap_monday_boards emulator/monday_emulator

## The tap (editable, with its test/bench/dev extras) and the emulator, its own distribution in ./emulator.
$(VENV)/.installed: pyproject.toml emulator/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ./emulator -e '.[test,bench,dev]'
	touch $@

## The test command (the README's and CI's): lint, types, then the fast suite (end-to-end Meltano run included).
## pytest's exit 5 ("no tests collected") is reported, not hidden, and does not fail the run.
test: venv lint typecheck
	$(PY) -m pytest -m "not slow" -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected (exit 5)"; rc=0; fi; exit $$rc

## Every test, including the slow ones.
test-all: venv
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check tap_monday_boards emulator tests benchmarks demo

## Type check (part of `make test`; blocking in CI).
typecheck: venv
	$(VENV)/bin/mypy tap_monday_boards emulator/monday_emulator

## Emulator (>=20,000 items) -> meltano run tap-monday-boards target-postgres -> embedded PostgreSQL.
## DEMO_ARGS passes options to demo/run_demo.py, e.g. make demo DEMO_ARGS="--items 50000 --latency production".
demo: venv
	$(PY) -m demo.run_demo $(DEMO_ARGS)

## Benchmarks (docs/benchmarks.md): the quick matrix (< 5 minutes) and the full one with 100,000 items.
bench: venv
	$(PY) -m benchmarks

bench-full: venv
	$(PY) -m benchmarks --full

## Whole-account syncs, every stream selected, ~0.6 s per answer (~1 hour, mostly waiting).
bench-account: venv
	$(PY) -m benchmarks --account --stem account

## Fault matrix (docs/reliability.md): every fault kind alone and mixed, 5% and 20%, 3 seeds (~25 min);
## writes benchmarks/results/chaos.md + .json. Peak RSS at scale: $(PY) -m benchmarks.chaos --scale 1000000
chaos: venv
	$(PY) -m benchmarks.chaos

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .meltano output .pgdata
