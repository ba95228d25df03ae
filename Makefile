# One target per thing a person does. `make demo` and `make test` work on a
# fresh Debian 12 machine: they install what they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test unit lint bench deps clean

# Debian packages the tests use: a real browser, a real MariaDB/PostgreSQL, and
# systemd's own checker for the service unit we ship.
TEST_DEBS := chromium mariadb-server postgresql systemd

$(STAMP): pyproject.toml
	PYTHON=$(PYTHON) ./scripts/install-system-deps.sh $(TEST_DEBS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

deps: $(STAMP)

demo: $(STAMP)
	$(BIN)/voicestatus demo

test: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider tests/unit

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/voicestatus bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache build dist src/*.egg-info
