"""Whole runs (``bastion run``, real bubblewrap): what a job holding a secret leaves behind.

The run record (read back with ``bastion runs show --json``) holds masked reasons only, and
an artifact holding the secret is refused before it reaches the artifact store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.test_run_secrets_egress import _token, bastion, env, make_repo, set_secret

pytestmark = pytest.mark.integration

__all__ = ["env"]  # the fixture, shared with the egress runs


def _show(env: dict[str, str], repo: Path, run_id: int) -> dict[str, object]:
    shown = bastion(env, "runs", "show", str(run_id), "-C", str(repo), "--json")
    assert shown.returncode == 0, shown.stderr
    result: dict[str, object] = json.loads(shown.stdout)
    return result


def test_a_reason_quoting_the_secret_is_stored_masked(tmp_path: Path, env: dict[str, str]) -> None:
    value = _token("tok_")
    # A first line starting "setpriv:" is taken for a sandbox set-up failure, whose reason
    # quotes it: the secret would reach the run record, the run table and the audit log.
    pipeline = (
        "jobs:\n  leak:\n    secrets: [TOKEN]\n"
        '    steps: [{run: \'printf "setpriv: %s\\n" "$TOKEN"; exit 1\'}]\n'
    )
    repo = make_repo(tmp_path, pipeline)
    set_secret(env, "TOKEN", value, "--repo", str(repo), "--trust", "local")

    done = bastion(env, "run", "-C", str(repo), "--json")

    assert done.returncode != 0
    assert value not in done.stdout + done.stderr
    record = json.dumps(_show(env, repo, json.loads(done.stdout)["run_id"]))
    assert value not in record
    assert "***" in record


def test_an_artifact_holding_the_secret_never_reaches_the_store(
    tmp_path: Path, env: dict[str, str]
) -> None:
    value = _token("tok_")
    pipeline = (
        "jobs:\n  build:\n    secrets: [TOKEN]\n    artifacts: [dist/*]\n"
        '    steps: [{run: \'mkdir dist && printf "%s" "$TOKEN" | base64 > dist/x\'}]\n'
    )
    repo = make_repo(tmp_path, pipeline)
    set_secret(env, "TOKEN", value, "--repo", str(repo), "--trust", "local")

    done = bastion(env, "run", "-C", str(repo), "--json")

    assert done.returncode == 1, done.stderr
    run = _show(env, repo, json.loads(done.stdout)["run_id"])
    assert "artifact dist/x contains the value of secret TOKEN (as base64)" in json.dumps(run)
    store = Path(env["BASTION_HOME"]) / "artifacts"
    assert not store.exists() or [p for p in store.rglob("*") if p.is_file()] == []
