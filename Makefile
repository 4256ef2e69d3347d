# The two commands: `make run` (set up, then run the main job) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SDK := $(VENV)-sdk
PYTEST_WORKERS ?= auto

.PHONY: run test bench setup lint clean

run: setup
	$(BIN)/fogbank demo

test: setup lint $(SDK)/.installed
	FOGBANK_SDK_PYTHON=$(abspath $(SDK))/bin/python $(BIN)/pytest -n $(PYTEST_WORKERS) -q

PEERS := $(VENV)-peers

bench: setup $(PEERS)/.installed
	FOGBANK_BENCH_PEERS_PYTHON=$(abspath $(PEERS))/bin/python $(BIN)/python -m benchmarks

# The peers benchmarks measure against (moto's server, MiniStack; mlflow with scikit-learn
# for bench_serving) live in a venv of their own: MiniStack pins an exact botocore and
# mlflow pins many packages, which would move fogbank's.
$(PEERS)/.installed:
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet 'moto[server]' ministack mlflow scikit-learn
	touch $@

# The SageMaker Python SDK v2 that tests/sdk drive fogbank with lives in a venv of its own:
# it pins protobuf<7, packaging<25, attrs<26 and rich<15, which would move fogbank's.
$(SDK)/.installed:
	test -x $(SDK)/bin/python || $(PYTHON) -m venv $(SDK)
	$(SDK)/bin/python -m pip install --quiet 'sagemaker>=2.257,<3'
	! $(SDK)/bin/python -m pip list 2>/dev/null | grep -iE '^(torch|nvidia)'
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
	rm -rf $(VENV) $(SDK) .pytest_cache .mypy_cache .ruff_cache
