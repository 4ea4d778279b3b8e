"""The issuer's signing keys persisted under BASTION_HOME/keys/oidc (issue 14, step 1)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from bastion.errors import VaultError
from bastion.trust import Trust
from bastion.vault import IdentityIssuer, IdentityRefusedError, JobIdentity, open_identity_issuer
from bastion.vault.identity_keys import identity_keys_path

ISSUER = "https://ci.example"


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def test_keys_survive_a_restart_in_a_private_file(tmp_path: Path) -> None:
    first = open_identity_issuer(tmp_path, ISSUER)
    path = identity_keys_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert open_identity_issuer(tmp_path, ISSUER).jwks() == first.jwks()


def test_rotation_is_persisted_with_its_overlap(tmp_path: Path) -> None:
    clock = Clock()
    issuer = open_identity_issuer(tmp_path, ISSUER, rotate_after=100, clock=clock)
    old = issuer.keys[0].kid
    clock.now += 100  # the signing key is due: the next mint rotates
    issuer.mint(JobIdentity("r", "refs/heads/m", "c", Trust.TRUSTED, "", 1, "j"), audience="a")
    reopened = open_identity_issuer(tmp_path, ISSUER, rotate_after=100, clock=clock)
    kids = [k["kid"] for k in reopened.jwks()["keys"]]
    assert kids[1] == old
    assert kids[0] != old
    clock.now += 600 + 3600  # lifetime + overlap later: pruned, and the file says so
    reopened = open_identity_issuer(tmp_path, ISSUER, rotate_after=10**9, clock=clock)
    assert [k["kid"] for k in reopened.jwks()["keys"]] == kids[:1]
    saved = json.loads(identity_keys_path(tmp_path).read_text())
    assert [k["kid"] for k in saved["keys"]] == kids[:1]


def test_a_file_others_may_read_is_refused(tmp_path: Path) -> None:
    open_identity_issuer(tmp_path, ISSUER)
    os.chmod(identity_keys_path(tmp_path), 0o640)
    with pytest.raises(VaultError, match="readable by others"):
        open_identity_issuer(tmp_path, ISSUER)


def test_a_key_id_swapped_onto_another_key_is_refused(tmp_path: Path) -> None:
    clock = Clock()
    issuer = open_identity_issuer(tmp_path, ISSUER, clock=clock)
    issuer.rotate()
    path = identity_keys_path(tmp_path)
    saved = json.loads(path.read_text())
    saved["keys"][0]["kid"], saved["keys"][1]["kid"] = saved["keys"][1]["kid"], "x"
    path.write_text(json.dumps(saved))
    with pytest.raises(VaultError, match="does not match"):
        open_identity_issuer(tmp_path, ISSUER, clock=clock)


@pytest.mark.parametrize("trust", [Trust.UNTRUSTED, Trust.LOCAL, Trust.DIRTY])
def test_no_setting_gives_tokens_to_untrusted_local_or_dirty_runs(trust: Trust) -> None:
    with pytest.raises(IdentityRefusedError, match="never"):
        IdentityIssuer(ISSUER, issuing=frozenset({Trust.TRUSTED, trust}))
