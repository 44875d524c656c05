# One command sets up and runs each job on a fresh machine: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS := dev,postgres,dask,s3,redis,onnx,lightgbm,signing
# xgboost-cpu: the same xgboost package without the multi-GB GPU libraries, for the tests.
TEST_EXTRA_PACKAGES := xgboost-cpu>=2.0

.PHONY: demo test lint typecheck unit browser install install-dev services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]' '$(TEST_EXTRA_PACKAGES)'
	touch $@ $(VENV)/.core

install: $(VENV)/.core
install-dev: $(VENV)/.dev

## The closed-loop demo on embedded defaults (home: ./.loopml).
demo: $(VENV)/.core
	$(BIN)/loopml demo

## What the tests need beyond Python, then linters, type checks, import contracts, module
## sizes and the test suite: `CI=true make test` is what CI runs (.ci/run).
test: services lint typecheck unit

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python .ci/check_module_size.py src

typecheck: $(VENV)/.dev
	$(BIN)/mypy

unit: services $(VENV)/.dev
	$(BIN)/pytest -n 2 --dist loadfile

## The web UI's browser tests alone (Debian's headless chromium through Playwright).
browser: services $(VENV)/.dev
	$(BIN)/pytest tests/browser -q

## The services the tests use (.ci/services.sh, .ci/check_services.py): Ceph RGW as a real
## S3 endpoint, installed from Debian packages where this machine allows (root with apt-get);
## PostgreSQL and Redis on 127.0.0.1 checked. Where one is missing the tests that need it
## skip with the reason; under CI=true this step fails instead.
services: $(VENV)/.dev
	bash .ci/services.sh
	$(BIN)/python .ci/check_services.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
