"""``bastion keys rotate signing|oidc --overlap`` (issue 18): through the installed command,
audited in the user's log; a bad overlap is a usage error naming the fix."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bastion.supplychain import TrustedKeys
from bastion.vault import identity_keys_path, open_identity_issuer
from tests.support import home_env, run_bastion


def _bastion(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_bastion(*args, env=home_env(home), cwd=home)


def _events(home: Path) -> list[dict[str, Any]]:
    exported = _bastion(home, "audit", "export", "--db", f"sqlite:///{home / 'audit.db'}")
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    return [json.loads(line["body"]) for line in lines if line["type"] == "event"]


def test_signing_rotation_with_overlap_revokes_the_old_key_later(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert _bastion(home, "keys", "generate").returncode == 0
    [old] = TrustedKeys(home).entries()
    done = _bastion(home, "keys", "rotate", "signing", "--overlap", "2h", "--json")
    assert done.returncode == 0, done.stderr
    revoked = TrustedKeys(home).find(old.keyid).revoked_at
    assert revoked is not None
    assert revoked > datetime.now(UTC) + timedelta(hours=1, minutes=59)
    assert json.loads(done.stdout)["keyid"] != old.keyid
    rotation = [e for e in _events(home) if e["action"] == "key.revoked"]
    assert rotation[-1]["details"]["overlap"] == 7200


def test_oidc_rotation_keeps_the_old_key_published_and_is_audited(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    issuer = open_identity_issuer(home, "https://ci.example")
    old = issuer.keys[0].kid
    done = _bastion(home, "keys", "rotate", "oidc", "--overlap", "30m", "--json")
    assert done.returncode == 0, done.stderr
    rotated = json.loads(done.stdout)
    assert (rotated["old"], rotated["overlap"]) == (old, 1800)
    saved = json.loads(identity_keys_path(home).read_text())["keys"]
    assert [k["kid"] for k in saved] == [rotated["new"], old]
    assert saved[1]["overlap"] == 1800
    assert [k["kid"] for k in issuer.jwks()["keys"]] == [rotated["new"], old]
    [event] = [e for e in _events(home) if e["action"] == "key.rotated"]
    assert event["subject"] == f"key/oidc/{rotated['new']}"


def test_a_bad_overlap_is_a_usage_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = _bastion(home, "keys", "rotate", "oidc", "--overlap", "soon")
    assert done.returncode == 2
    assert "--overlap 'soon' is not a duration" in done.stderr
    assert "e.g. 90d" in done.stderr
    assert "Traceback" not in done.stderr


def test_audit_rotation_keeps_the_users_log_verifying(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert _bastion(home, "keys", "generate").returncode == 0  # signs a first checkpoint
    done = _bastion(home, "keys", "rotate", "audit", "--overlap", "10m", "--json")
    assert done.returncode == 0, done.stderr
    rotated = json.loads(done.stdout)
    assert rotated["overlap"] == 600
    assert rotated["sealed"] >= 1
    assert rotated["new"] != rotated["old"]
    assert any(e["action"] == "key.rotated" for e in _events(home))
    db = f"sqlite:///{home / 'audit.db'}"
    verified = _bastion(home, "audit", "verify", "--db", db)
    assert verified.returncode == 0, verified.stderr
