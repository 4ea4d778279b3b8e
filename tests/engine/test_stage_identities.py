"""Per-stage identities (issue 14), one real run (real bubblewrap) through the engine: the
build job gets nothing, the publish job the registry credential only, the deploy job (held
for its environment's approval) the environment's secret only. While publish and deploy hold
their secrets, the build job of the same run looks for them everywhere it can: its
environment, every file it can read under /run, /tmp and its workspace, every /proc entry it
can see, and the vault and key files at the path it would guess."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.audit import open_local_log
from bastion.engine import ApprovalDecision, ApprovalRequest, JobState
from bastion.engine.local_run import LocalRunOptions, prepare_run, run_local
from bastion.engine.services import local_services
from bastion.home import ensure_bastion_home
from bastion.store import JobRecord
from bastion.vault import Scope, open_default_vault
from tests.support import git

pytestmark = pytest.mark.integration

REGISTRY = "rg_9Kx2Vq7Lm4Tz8Wb3Nc6Y"
DEPLOY = "dk_5Hp8Qw2Zr7Xn4Lv9Mb3J"

# Searches for values it knows only by SHA-256 and length (it never holds them), for about
# three seconds, while the other jobs are running; exits 1 if it found either.
SEARCH = """\
import glob, hashlib, os, sys, time
wanted = [(d, int(n)) for d, n in (a.split(":") for a in sys.argv[1:3])]
guessed = sys.argv[3:]

def places():
    yield "env", "\\n".join(f"{k}={v}" for k, v in os.environ.items()).encode()
    for root in ("/run", "/tmp", "."):
        for base, _dirs, files in os.walk(root):
            for name in files:
                yield os.path.join(base, name), None
    for path in glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline"):
        yield path, None
    for path in guessed:
        yield path, None
        for base, _dirs, files in os.walk(path):
            for name in files:
                yield os.path.join(base, name), None

found, looked, readable_guesses = [], 0, []
end = time.monotonic() + 3
while time.monotonic() < end:
    for where, blob in places():
        if blob is None:
            try:
                with open(where, "rb") as handle:
                    blob = handle.read(1 << 20)
            except OSError:
                continue
            if where in guessed or any(where.startswith(g + "/") for g in guessed):
                readable_guesses.append(where)
        looked += 1
        for digest, size in wanted:
            if any(hashlib.sha256(blob[i:i + size]).hexdigest() == digest
                   for i in range(len(blob) - size + 1)):
                found.append(where)
    time.sleep(0.2)
print("looked in", looked, "places; found:", sorted(set(found)) or "nothing")
print("guessed vault paths readable:", sorted(set(readable_guesses)) or "none")
sys.exit(1 if found or readable_guesses else 0)
"""

PIPELINE = """\
jobs:
  build:
    steps:
      - run: python3 search.py {wanted}
  publish:
    secrets: [REGISTRY_TOKEN]
    steps:
      - name: the registry credential, and only it
        run: |
          test "$REGISTRY_TOKEN" = "$(cat /run/bastion/REGISTRY_TOKEN)"
          test -z "${{DEPLOY_KEY:-}}" && test ! -e /run/bastion/DEPLOY_KEY
          sleep 3
  deploy:
    environment: production
    secrets: [DEPLOY_KEY]
    steps:
      - name: the environment's secret, and only it
        run: |
          test "$DEPLOY_KEY" = "$(cat /run/bastion/DEPLOY_KEY)"
          test -z "${{REGISTRY_TOKEN:-}}" && test ! -e /run/bastion/REGISTRY_TOKEN
          sleep 3
"""


def _wanted(*values: str) -> str:
    return " ".join(f"{hashlib.sha256(v.encode()).hexdigest()}:{len(v)}" for v in values)


class Approver:
    """The approval gate (the engine's protocol): approves production, remembers who asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def __call__(self, request: ApprovalRequest, cancel: threading.Event) -> ApprovalDecision:
        self.asked.append((request.job, request.environment))
        return ApprovalDecision(request.environment == "production", "approved by two people")


def test_a_build_job_cannot_obtain_the_publish_or_deploy_secret_in_the_same_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = ensure_bastion_home()
    vault = open_default_vault(home, os.environ)
    vault.set("REGISTRY_TOKEN", REGISTRY, Scope.build(trust=["local"]))
    vault.set("DEPLOY_KEY", DEPLOY, Scope.build(environments=["production"], trust=["local"]))
    guesses = f"{home / 'vault'} {home / 'keys'}"
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion" / "pipeline.yml").write_text(
        PIPELINE.format(wanted=f"{_wanted(REGISTRY, DEPLOY)} {guesses}")
    )
    (repo / "search.py").write_text(SEARCH)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    options = LocalRunOptions(project=repo, max_parallel=3)
    prepared = prepare_run(options)
    approver = Approver()
    services = local_services(prepared, options, home=home, approvals=approver)
    try:
        result = run_local(options, prepared=prepared, services=services)
        log = open_local_log(services.store, home)[0]
        events = [(e.event.action, dict(e.event.details)) for e in log.entries()]
        with services.store.session() as session:
            rows = session.scalars(select(JobRecord).filter_by(run_id=result.run_id))
            spans = {r.name: (r.started_at, r.finished_at) for r in rows}
    finally:
        services.store.dispose()

    logs = prepared.state / "logs" / str(result.run_id)
    searched = (logs / "build.log").read_text()
    assert "found: nothing" in searched, searched
    assert "guessed vault paths readable: none" in searched, searched
    assert dict(result.jobs) == {
        "build": JobState.PASSED,
        "publish": JobState.PASSED,
        "deploy": JobState.PASSED,
    }
    # The search ran while both other jobs held their secrets.
    build_start, build_end = spans["build"]
    assert build_start is not None
    assert build_end is not None
    for job in ("publish", "deploy"):
        start, end = spans[job]
        assert start is not None
        assert end is not None
        assert start < build_end, spans
        assert build_start < end, spans
    assert approver.asked == [("deploy", "production")]  # only the deploy job was held
    released = [
        (d["job"], d.get("held_until_approval_of")) for a, d in events if a == "secret.released"
    ]
    assert sorted(released) == [("deploy", "production"), ("publish", None)]
    assert [d["job"] for a, d in events if a == "secret.handed_over"] == ["deploy"]
