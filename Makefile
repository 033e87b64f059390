# LineageQL developer commands.
#   make demo    run the examples, then serve GraphiQL on http://127.0.0.1:8000/graphql
#   make test    run the test suite (extra pytest options: make test PYTEST_ARGS='-k foo -x')
#   make lint    ruff + mypy
#   make fuzz    a long schemathesis run against a live server (FUZZ_CASES=N per operation)
#   make schema  write schema.graphql from the GraphQL API
#   make ui      rebuild the lineage explorer (ui/ -> api/ui_static/; needs Node and npm)
#   make bench   LineageQL next to ZenML, side by side (writes bench/RESULTS.md; BENCH_ARGS='--runs 3')
#   make clean   remove caches and build output (make distclean also removes .venv and .lineageql)

SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINEAGEQL_HOME ?= ./.lineageql
PYTEST_ARGS ?=
BENCH_ARGS ?=
FUZZ_CASES ?= 200

.PHONY: venv demo test lint fuzz schema ui bench clean distclean

venv: $(STAMP)

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: python3.11 (or python3) not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@

demo: venv
	LINEAGEQL_HOME="$(LINEAGEQL_HOME)" $(BIN)/python examples/run_all.py
	@echo "GraphiQL: http://127.0.0.1:8000/graphql  (Ctrl-C to stop)"
	@echo "Lineage explorer: http://127.0.0.1:8000/ui"
	LINEAGEQL_HOME="$(LINEAGEQL_HOME)" $(BIN)/lineageql serve

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# Prints the cases run, the time, the errors by code and any finding; fails on a finding.
fuzz: venv
	$(BIN)/python -m tests.api.test_fuzz --cases $(FUZZ_CASES) --scenarios $(FUZZ_CASES)

bench: venv
	$(BIN)/python bench/suite.py --results bench/RESULTS.md $(BENCH_ARGS)

# The built files are committed, so installing and `make demo` need no Node.
ui:
	cd ui && npm ci && npm run build

schema: venv
	$(BIN)/lineageql export-schema > schema.graphql.tmp
	mv schema.graphql.tmp schema.graphql

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache schema.graphql.tmp
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 \
		| xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) .lineageql
