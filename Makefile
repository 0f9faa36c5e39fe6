# The commands of the README: `make demo`, `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# HOST and PORT override LEDGERQL_HOST / LEDGERQL_PORT (defaults 127.0.0.1:8000).
HOST ?=
PORT ?=

.PHONY: demo run test lint install install-test clean schema

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp files re-run pip only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# A demo tenant (slug "demo", or SLUG=...) in ./ledgerql.db; prints its API key. Run
# again, it leaves the tenant as it is and says how to get another key.
demo: install
	$(BIN)/ledgerql demo $(if $(SLUG),--tenant $(SLUG))

run: install
	$(BIN)/ledgerql serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

test: install-test
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The committed GraphQL contract (graphql_schema/schema.graphql) from the code;
# tests/test_schema_contract.py fails until it is regenerated after a schema change.
schema: install
	$(BIN)/python -m graphql_schema.export

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
