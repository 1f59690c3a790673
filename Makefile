# pairbench: `make bench` measures, `make test` checks. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PROFILE ?= quick
ONLY ?=
MODE ?=
MICRO ?= 1
ONLY_FLAG := $(if $(ONLY),--only $(ONLY),)
MODE_FLAG := $(if $(MODE),--mode $(MODE),)
MICRO_FLAG := $(if $(filter 0 no false,$(MICRO)),--no-micro,)
# `make report RUN=results/<run-id>` rebuilds a report; add BEFORE=results/<other> to compare.
RUN ?=
BEFORE ?=

.PHONY: install install-dev bench check test lint typecheck clean

# What a benchmark needs; the tests and linters add the dev extras (schemathesis, ruff, mypy).
install: $(STAMP)
install-dev: $(DEV_STAMP)

# uv installs in seconds what takes pip about a minute; pip does it where uv cannot be had.
# --compile-bytecode, as pip does by default: uv writes no .pyc files otherwise, and where
# PYTHONDONTWRITEBYTECODE is set (as on this machine kind) every process (app, worker, load generator,
# each test's run) then compiles its imports again: ~1.5 s each, ~2 min of `make test`.
INSTALL = $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python
PIP_INSTALL = $(BIN)/python -m pip install --quiet

$(STAMP): pyproject.toml
	@test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)
	@$(PIP_INSTALL) uv || echo "make: uv could not be installed; pip installs instead" >&2
	@if test -x $(BIN)/uv; then $(INSTALL) -e .; else $(PIP_INSTALL) -e .; fi
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	@if test -x $(BIN)/uv; then $(INSTALL) -e '.[dev]'; else $(PIP_INSTALL) -e '.[dev]'; fi
	@touch $(DEV_STAMP)

bench: install
	$(BIN)/pairbench run --profile $(PROFILE) $(ONLY_FLAG) $(MODE_FLAG) $(MICRO_FLAG)

report: install
	@test -n "$(RUN)" || (echo "usage: make report RUN=results/<run-id> [BEFORE=results/<run-id>]" >&2; exit 2)
	$(BIN)/pairbench report $(BEFORE) $(RUN)

check: install
	$(BIN)/pairbench check

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

# Two test workers more than the cores (at most 4), each with databases of its own
# (tests/worker_isolation.py): the end-to-end tests spend part of their time waiting out
# wall-clock segments, so on 2 cores a third worker finished in 305 s, two in 339 s, and
# later a fourth in 369 s, three in 402 s, for the same CPU time. worksteal: a worker that
# runs out takes tests from another.
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(min(len(os.sched_getaffinity(0)) + 2, 4))")
test: lint typecheck
	$(BIN)/pytest -q --numprocesses $(TEST_WORKERS) --dist worksteal

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
