# pairbench: `make bench` measures, `make test` checks. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= quick
ONLY ?=
ONLY_FLAG := $(if $(ONLY),--only $(ONLY),)

.PHONY: install bench check test lint typecheck clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

bench: install
	$(BIN)/pairbench run --profile $(PROFILE) $(ONLY_FLAG)

check: install
	$(BIN)/pairbench check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
