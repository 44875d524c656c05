# One command sets up and runs each job on a fresh machine: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS := dev,postgres,dask,s3,redis,onnx,lightgbm
# xgboost-cpu: the same xgboost package without the multi-GB GPU libraries, for the tests.
TEST_EXTRA_PACKAGES := xgboost-cpu>=2.0

.PHONY: demo test lint typecheck unit install install-dev services clean

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

## Linters, type checks, import contracts, module sizes, then the test suite.
test: lint typecheck unit

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python .ci/check_module_size.py src

typecheck: $(VENV)/.dev
	$(BIN)/mypy

unit: $(VENV)/.dev
	$(BIN)/pytest -n 2 --dist loadfile

## System services some tests use (Debian packages; needs root): Ceph RGW as a real S3.
CEPH_PACKAGES := radosgw ceph-mon ceph-osd
services:
	@if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; then \
		echo "services: Ceph RGW already installed"; \
	else \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q --no-install-recommends $(CEPH_PACKAGES) >/dev/null || \
		{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $(CEPH_PACKAGES) >/dev/null; }; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
