# One-command entry points. Everything installs itself into .venv from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: venv test test-all lint demo bench bench-full chaos clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,bench,dev]'
	touch $@

## The test command (the README's and CI's): lint, then the fast suite.
test: venv lint
	$(PY) -m pytest -m "not slow" -q -p no:cacheprovider

## Every test, including the slow ones.
test-all: venv
	$(PY) -m pytest -q -p no:cacheprovider

lint: venv
	$(VENV)/bin/ruff check tap_monday_boards tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .meltano output
