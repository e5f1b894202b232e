# `make run`: install and start everything on one machine. `make test`: the full suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest processes for `make test` (pytest-xdist); each has its own PostgreSQL database and Redis db.
TEST_PROCESSES ?= 2

.PHONY: install run test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@.ci/python.sh $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: install
	@.ci/services.sh redis-binary >/dev/null
	$(BIN)/gateway up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	GATEWAY_TEST_PG_ADMIN_URL="$$(.ci/services.sh all)" $(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --dist loadfile

bench: install
	@.ci/services.sh redis >/dev/null
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data
