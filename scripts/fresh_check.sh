#!/usr/bin/env bash
# The README's set-up as a new user meets it, on any later day: a fresh clone of HEAD, an
# empty HOME (so an empty BASTION_HOME, no pip cache, no tool environments), a fresh venv,
# nothing of this checkout's .venv. Checks:
#   - `make demo` installs everything and runs the example's pipeline: exit 0, run passed;
#   - the installed CLI's exit codes: 2 for a malformed pipeline file, 1 for a failing job.
# `make test` runs it last (make fresh-check); it takes a few minutes (the tool downloads).
set -euo pipefail

root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d /tmp/bastion-fresh.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/home"
git clone -q --no-local --no-hardlinks "$root" "$work/bastion"

# A new user's environment: this machine's PATH and nothing of ours (no BASTION_*, no HOME).
fresh() {
  env -i PATH="$PATH" HOME="$work/home" LANG=C.UTF-8 TERM=dumb PIP_NO_CACHE_DIR=1 \
    ${PYENV_ROOT:+PYENV_ROOT="$PYENV_ROOT"} "$@"
}

expect() {  # expect CODE WHAT COMMAND...
  local want=$1 what=$2 got=0
  shift 2
  fresh "$@" >"$work/out.log" 2>&1 || got=$?
  if [[ $got -ne $want ]]; then
    echo "fresh-check: $what exited $got, expected $want; its output:" >&2
    tail -n 40 "$work/out.log" >&2
    exit 1
  fi
  echo "fresh-check: $what exited $got as expected"
}

started=$SECONDS
expect 0 "make demo" make -C "$work/bastion" demo
grep -q "run 1: passed" "$work/out.log" || {
  echo "fresh-check: make demo did not report 'run 1: passed'" >&2
  exit 1
}
echo "fresh-check: make demo passed in $((SECONDS - started)) s"

bastion="$work/bastion/.venv/bin/bastion"
project="$work/project"
mkdir -p "$project/.bastion"
git -C "$project" init -q -b main
printf 'jobs:\n  test:\n    stepz: []\n' >"$project/.bastion/pipeline.yml"
expect 2 "bastion run on a malformed pipeline file" "$bastion" run -C "$project"
grep -q "pipeline.yml:3:5" "$work/out.log" || {
  echo "fresh-check: the pipeline error did not name file:line:column" >&2
  exit 1
}
printf 'jobs:\n  test:\n    steps: [{run: "exit 3"}]\n' >"$project/.bastion/pipeline.yml"
expect 1 "bastion run with a failing job" "$bastion" run -C "$project"
echo "fresh-check: OK in $((SECONDS - started)) s"
