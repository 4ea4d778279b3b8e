# One task runner for people and CI. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system-deps tools demo test lint types pytest selfscan clean

system-deps:
	@command -v bwrap >/dev/null 2>&1 || { echo "installing bubblewrap (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }
	@/usr/bin/python3 -c "import ensurepip, venv" 2>/dev/null || { echo "installing python3-venv (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
	@for pair in git:git setpriv:util-linux ssh-keygen:openssh-client; do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || { echo "installing $${pair#*:} (apt-get)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $${pair#*:} >/dev/null; }; done

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: system-deps $(STAMP)

demo: setup tools
	$(BIN)/python examples/python-service/.bastion/demo_secret.py
	BASTION_EGRESS_TRUSTED_ADDRESSES="$$($(BIN)/python scripts/index_addresses.py)" \
	  $(BIN)/bastion run -C examples/python-service

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

types: setup
	$(BIN)/mypy

# Scanner tool environments (Bandit, Semgrep, Checkov) from their pinned, hashed sets, before
# the tests that run them: a first install from PyPI can take minutes.
tools: setup
	$(BIN)/bastion tools install

pytest: setup tools
	$(BIN)/pytest -n 2 --cov --cov-report=term --cov-fail-under=75 -p no:cacheprovider

# Our own gates over our own code: secrets and SAST on src/, with .bastion/suppressions.yml.
selfscan: setup
	$(BIN)/bastion scan src --gate secrets --gate sast --suppressions .bastion/suppressions.yml

test: lint types pytest selfscan

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
