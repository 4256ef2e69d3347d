# The two commands: `make run` (set up, then run the main job) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= auto

.PHONY: run test bench setup lint clean

run: setup
	$(BIN)/fogbank demo

test: setup lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

PEERS := $(VENV)-peers

bench: setup $(PEERS)/.installed
	FOGBANK_BENCH_PEERS_PYTHON=$(abspath $(PEERS))/bin/python $(BIN)/python -m benchmarks

# The peers benchmarks measure against (moto's server, MiniStack) live in a venv of their
# own: MiniStack pins an exact botocore, which would move fogbank's.
$(PEERS)/.installed:
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet 'moto[server]' ministack
	touch $@

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
