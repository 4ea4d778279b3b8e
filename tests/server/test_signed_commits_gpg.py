"""A GPG-signed commit never satisfies a signed branch (issue 14 review): git would verify it
with gpg against the host's keyring, not against the server's allowed signers, so a key that
happens to be trusted there (here: the keyring the server process points at) must not count.
Without the SSH-only guard this commit verifies; with it the run is blocked with the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.server.trust_policy import commit_signature_problem, tag_verified
from tests.server.test_runs_api import work_tree
from tests.server.test_signed_commits import PIPELINE, git, signers_file, ssh_key

GENERATE = ("gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key")


@pytest.fixture
def keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh GnuPG home (short path: gpg-agent's socket lives there) holding one key,
    trusted ultimately as its own, and named to this process as the host's keyring."""
    home = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp"))
    home.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    subprocess.run([*GENERATE, "Dev <dev@example.com>", "ed25519", "sign", "never"], check=True)
    try:
        yield home
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def test_a_gpg_signed_commit_is_not_accepted(tmp_path: Path, keyring: Path) -> None:
    repo = work_tree(tmp_path / "app", PIPELINE)
    (repo / "change.txt").write_text("gpg")
    git(repo, "add", ".")
    git(repo, "-c", "user.signingkey=dev@example.com", "commit", "-q", "-S", "-m", "gpg")
    head = git(repo, "rev-parse", "HEAD")
    assert git(repo, "verify-commit", head) == ""  # the host's keyring vouches for it
    keys = tmp_path / "keys"
    keys.mkdir()
    signers = signers_file(tmp_path / "allowed_signers", ssh_key(keys, "allowed"))
    assert os.environ["GNUPGHOME"] == str(keyring)
    problem = commit_signature_problem(repo, head, signers)
    assert problem == f"commit {head[:12]} is not signed with an SSH key"


def test_a_gpg_signed_tag_makes_no_release(tmp_path: Path, keyring: Path) -> None:
    repo = work_tree(tmp_path / "app", PIPELINE)
    git(repo, "-c", "user.signingkey=dev@example.com", "tag", "-s", "v1", "-m", "v1")
    assert (
        "Good signature"
        in subprocess.run(
            ["git", "-C", str(repo), "verify-tag", "v1"], capture_output=True, text=True, check=True
        ).stderr
    )  # the host's keyring vouches for it
    keys = tmp_path / "keys"
    keys.mkdir()
    signers = signers_file(tmp_path / "allowed_signers", ssh_key(keys, "allowed"))
    assert not tag_verified(repo, "refs/tags/v1", signers)
