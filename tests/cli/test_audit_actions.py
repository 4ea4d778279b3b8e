"""Key changes and verifications outside runs are audit events in the user's own log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support import home_env, run_bastion


def _bastion(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_bastion(*args, env=home_env(home), cwd=home)


def test_key_changes_and_verifications_are_logged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert _bastion(home, "keys", "generate").returncode == 0
    assert _bastion(home, "keys", "rotate").returncode == 0
    artifact = tmp_path / "app.bin"
    artifact.write_bytes(b"not built by bastion")
    verify = _bastion(home, "verify", str(artifact), "--builder", "b", "--repo", "r")
    assert verify.returncode == 1
    db = f"sqlite:///{home / 'audit.db'}"
    exported = _bastion(home, "audit", "export", "--db", db)
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    events = [json.loads(line["body"]) for line in lines if line["type"] == "event"]
    actions = [event["action"] for event in events]
    assert actions == ["key.added", "key.revoked", "key.added", "verify.performed"]
    assert events[-1]["outcome"] == "denied"
    assert events[-1]["subject"] == "file/app.bin"
    verified = _bastion(home, "audit", "verify", "--db", db, "--json")
    assert verified.returncode == 0, verified.stderr
