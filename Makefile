# Two commands from a fresh clone (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

# Install, then one polling round and this week's digest on the embedded defaults
# (SQLite in data/, digests in digests/).
run: install
	$(BIN)/monitor run --once

# Install the test extras, lint, type-check and run the whole suite
# (also on PostgreSQL when MONITOR_TEST_DATABASE_URL is set).
test: install-test
	$(BIN)/ruff check monitor tests benchmarks
	$(BIN)/ruff format --check monitor tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
