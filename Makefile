# corral: everything from a fresh clone needs only python3 (3.11+).
#
#   make demo      the dashboard (http://127.0.0.1:8000/) and a worker on SQLite running
#                  the ticker example, one job cancelled; Ctrl+C stops it
#   make test      the test suite, two at a time, then the ones that must run alone
#                  (make test PYTEST_ARGS="-x -k cancel", TEST_PROCESSES=0 for one process)
#   make lint      ruff, then mypy (both run; either failing fails the target)
#   make clean     remove the virtualenv and caches

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# tests side by side (pytest-xdist: 12.5 min instead of 24 on a slow day); 0: one process
TEST_PROCESSES ?= 2

# Stamps record what is installed; they are older than pyproject.toml when it changes,
# so the next run reinstalls once and repeat runs do not.
RUNTIME := $(VENV)/.stamp-runtime
DEV := $(VENV)/.stamp-dev

.PHONY: demo test lint ruff mypy clean

demo: $(RUNTIME)
	$(BIN)/corral demo

test: $(DEV)
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) -m "not alone" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -m alone $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: $(DEV)
	@status=0; \
	$(BIN)/ruff check src tests examples || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

ruff: $(DEV)
	$(BIN)/ruff check src tests examples

mypy: $(DEV)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info corral-demo
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# The dev install includes the runtime one, so it satisfies `make demo` too.
$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(RUNTIME) $@

# The benchmark lives in its own venv: matplotlib and the peer queues
# (bench/requirements.txt) are benchmark-only, never dependencies of corral.
BENCH_VENV := .venv-bench
BENCH := $(BENCH_VENV)/.stamp

.PHONY: bench bench-quick

bench: $(BENCH)
	$(BENCH_VENV)/bin/python -m bench.run

bench-quick: $(BENCH)
	$(BENCH_VENV)/bin/python -m bench.run --quick

$(BENCH): pyproject.toml bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q -e '.[postgres,dagster]' -r bench/requirements.txt
	touch $@
