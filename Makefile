# One task runner for people and CI. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system-deps demo test lint types pytest selfscan clean

system-deps:
	@command -v bwrap >/dev/null 2>&1 || { echo "installing bubblewrap (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }
	@command -v git >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null; }

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: system-deps $(STAMP)

demo: setup
	$(BIN)/bastion run -C examples/python-service

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

types: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -n 2 --cov --cov-report=term --cov-fail-under=75 -p no:cacheprovider

test: lint types pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
