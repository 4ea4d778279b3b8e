"""The README's runbooks, command for command, through the installed ``bastion`` on seeded
state: a leaked secret, a compromised runner, a tampered artifact."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bastion.executors.celery import Claim, LeaseStore
from bastion.store import open_database
from tests.support import git, home_env, run_bastion

pytestmark = pytest.mark.integration

BUILDER = "https://bastion.dev/builders/local@v1"
LEAKED = "kT9vQ2xLmP4wZ8rN-leaked-value"
REPLACEMENT = "Zq7Rw3Ys8Vt2Ux6P-replacement"


def _bastion(
    home: Path, *args: str, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = run_bastion(*args, env=home_env(home), cwd=cwd, stdin=stdin)
    assert LEAKED not in result.stdout + result.stderr
    assert REPLACEMENT not in result.stdout + result.stderr
    return result


def _project(root: Path, pipeline: str) -> Path:
    (root / ".bastion").mkdir(parents=True)
    (root / ".bastion/pipeline.yml").write_text(pipeline)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def _events(export: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert export.returncode == 0, export.stderr
    lines = [json.loads(line) for line in export.stdout.splitlines()]
    assert all(line["type"] == "event" for line in lines)
    return [json.loads(line["body"]) for line in lines]


def test_runbook_leaked_secret(tmp_path: Path) -> None:
    home = tmp_path / "home"
    repo = _project(
        tmp_path / "repo",
        "jobs:\n  publish:\n    secrets: [NPM_TOKEN]\n"
        "    steps: [{run: 'test -n \"$NPM_TOKEN\"'}]\n"
        "  test:\n    steps: [{run: 'true'}]\n",
    )
    stored = _bastion(home, "secrets", "set", "NPM_TOKEN", "--trust", "local", cwd=repo,
                      stdin=LEAKED)  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    first = _bastion(home, "run", cwd=repo)
    assert first.returncode == 0, first.stderr
    # 1. Where was it used?
    find = ["audit", "export", "--action", "secret.released", "--subject", "secret/NPM_TOKEN"]
    used = _events(_bastion(home, *find, cwd=repo))
    assert [(e["subject"], e["details"]["job"]) for e in used] == [("secret/NPM_TOKEN", "publish")]  # type: ignore[index]
    # 2. Rotate it (after revoking it at its issuer), 3. re-run.
    rotated = _bastion(home, "secrets", "rotate", "NPM_TOKEN", cwd=repo, stdin=REPLACEMENT)
    assert rotated.returncode == 0, rotated.stderr
    again = _bastion(home, "run", cwd=repo)
    assert again.returncode == 0, again.stderr
    runs = [e["details"]["run"] for e in _events(_bastion(home, *find, cwd=repo))]  # type: ignore[index]
    assert len(set(runs)) == 2


def _seed_leases(db_url: str) -> None:
    leases = LeaseStore(open_database(db_url))
    for number, (run, job, worker) in enumerate(
        [(7, "build", "w-bad"), (7, "test", "w-good"), (8, "publish", "w-bad")]
    ):
        claim = Claim(f"{run}.{job}.1", run, job, 1, "trusted", worker)
        leases.grant(claim, now=1_800_000_000.0 + number)


def test_runbook_compromised_runner(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = f"sqlite:///{tmp_path / 'server.db'}"
    _seed_leases(db)
    listed = json.loads(_bastion(home, "workers", "list", "--db", db, "--json", cwd=home).stdout)
    assert {w["name"] for w in listed} == {"w-bad", "w-good"}
    # 1. Stop it taking work, then refuse it outright.
    assert _bastion(home, "workers", "drain", "w-bad", "--db", db, cwd=home).returncode == 0
    assert _bastion(home, "workers", "revoke", "w-bad", "--db", db, cwd=home).returncode == 0
    # 2. What did it execute?
    jobs = _bastion(home, "workers", "jobs", "w-bad", "--db", db, "--json", cwd=home)
    assert jobs.returncode == 0, jobs.stderr
    assert [(j["run"], j["job"]) for j in json.loads(jobs.stdout)] == [(7, "build"), (8, "publish")]
    # 3. The audit log says who revoked it.
    revoked = _bastion(home, "audit", "export", "--db", db, "--subject", "worker/w-bad", cwd=home)
    assert [e["action"] for e in _events(revoked)] == ["worker.drained", "worker.revoked"]
    states = json.loads(_bastion(home, "workers", "list", "--db", db, "--json", cwd=home).stdout)
    assert {w["name"]: w["state"] for w in states}["w-bad"] == "revoked"


def _build(home: Path, repo: Path, content: str) -> str:
    (repo / "app.txt").write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", content)
    built = _bastion(home, "run", "--json", cwd=repo)
    assert built.returncode == 0, built.stderr
    [attested] = json.loads(built.stdout)["attestations"]
    return str(attested["digest"])


def test_runbook_tampered_artifact(tmp_path: Path) -> None:
    home = tmp_path / "home"
    repo = _project(
        tmp_path / "repo",
        "jobs:\n  secrets: {uses: bastion/secrets}\n  build:\n    needs: [secrets]\n"
        "    steps: [{run: 'mkdir -p dist && cp app.txt dist/app.txt'}]\n"
        "    artifacts: [dist/app.txt]\n",
    )
    check = ["--builder", BUILDER, "--repo", str(repo), "--allow-local"]
    good, bad = _build(home, repo, "v1\n"), _build(home, repo, "v2\n")
    for digest in (good, bad):
        promoted = _bastion(home, "artifacts", "promote", digest, "--env", "prod", *check, cwd=repo)
        assert promoted.returncode == 0, promoted.stderr
    blob = home / "artifacts" / "blobs" / "sha256" / bad.removeprefix("sha256:")
    blob.chmod(0o600)
    blob.write_text("v2 with a backdoor\n")
    # 1. verify fails.
    assert _bastion(home, "verify", bad, *check, cwd=repo).returncode == 1
    # 2. The last good digest: history, newest last, each verified.
    history = _bastion(home, "artifacts", "history", "prod", "--json", cwd=repo)
    digests = [row["digest"] for row in json.loads(history.stdout)]
    assert digests == [good, bad]
    assert _bastion(home, "verify", good, *check, cwd=repo).returncode == 0
    # 3. Promote it again (bastion deploy rollback for an environment bastion deploy runs).
    back = _bastion(home, "artifacts", "promote", good, "--env", "prod", *check, cwd=repo)
    assert back.returncode == 0, back.stderr
    history = _bastion(home, "artifacts", "history", "prod", "--json", cwd=repo)
    assert [row["digest"] for row in json.loads(history.stdout)][-1] == good
