# One task runner for people and CI. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system-deps tools demo test lint types pytest selfscan fresh-check clean

system-deps:
	@command -v bwrap >/dev/null 2>&1 || { echo "installing bubblewrap (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }
	@command -v haproxy >/dev/null 2>&1 || { echo "installing haproxy (apt-get; the local deploy target)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
	@ldconfig -p | grep -q 'libseccomp\.so\.2' || { echo "installing libseccomp2 (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp2 >/dev/null; }
	@/usr/bin/python3 -c "import ensurepip, venv" 2>/dev/null || { echo "installing python3-venv (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium (apt-get; the browser tests drive it)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@for pair in git:git setpriv:util-linux unshare:util-linux ip:iproute2 ssh-keygen:openssh-client \
	  docker-registry:docker-registry skopeo:skopeo umoci:umoci; do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || { echo "installing $${pair#*:} (apt-get)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $${pair#*:} >/dev/null; }; done

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/pip check --disable-pip-version-check
	@touch $(STAMP)

setup: system-deps $(STAMP)

demo: setup tools
	$(BIN)/python examples/python-service/.bastion/demo_secret.py
	$(BIN)/bastion run -C examples/python-service

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports

types: setup
	$(BIN)/mypy

# Scanner tool environments (Bandit, Semgrep, Checkov) from their pinned, hashed sets, before
# the tests that run them: a first install from PyPI can take minutes.
# The first time this downloads about 700 MB (Semgrep ~375, Checkov ~290, Bandit ~45 MB on
# disk), a line per tool as it starts; afterwards it only checks what is installed.
tools: setup $(VENV)/wheelhouse/.done
	@echo "scanner tools: about 700 MB to download and install the first time (a few minutes)"
	$(BIN)/bastion tools install

# Bandit's pinned wheels, for the test that installs a tool environment offline (--find-links).
$(VENV)/wheelhouse/.done: src/bastion/scanners/tools/requirements/bandit.txt $(STAMP)
	$(BIN)/pip download -q --disable-pip-version-check --no-deps --require-hashes \
	  --only-binary=:all: -d $(VENV)/wheelhouse -r $<
	@touch $@

# The suite runs in a network namespace of its own with only loopback up: a test that needs
# the internet fails here instead of passing by luck. PostgreSQL is reached over its Unix socket.
OFFLINE := unshare --net -- /bin/sh -c 'ip link set lo up && exec "$$0" "$$@"'

pytest: setup tools
	$(OFFLINE) $(BIN)/pytest -n 2 --cov --cov-report=term --cov-fail-under=75 -p no:cacheprovider

# Our own gates over our own code: secrets and SAST on src/, with .bastion/suppressions.yml.
selfscan: setup
	$(BIN)/bastion scan src --gate secrets --gate sast --suppressions .bastion/suppressions.yml

# The two commands as a new user meets them: a fresh clone, an empty HOME, no pip cache.
fresh-check:
	bash scripts/fresh_check.sh

test: lint types pytest selfscan fresh-check

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
