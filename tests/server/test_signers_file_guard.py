"""The server's allowed-signers file is itself guarded: whoever may change it may add their
own key, so a file that is a symbolic link, writable by others or owned by another user
verifies nothing (signed branches block, tags make no release) and the reason names the fix.
Real git repositories and ed25519 keys made by ssh-keygen."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bastion.server.repositories import Repositories
from bastion.server.signed_runs import signature_block
from bastion.server.trust_policy import commit_signature_problem, tag_verified
from bastion.store import open_database, sqlite_url
from tests.server.test_runs_api import work_tree
from tests.server.test_signed_commits import PIPELINE, commit, git, signers_file, ssh_key


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "keys"
    folder.mkdir()
    return ssh_key(folder, "allowed"), ssh_key(folder, "stranger")


def signed_tag(repo: Path, key: Path, name: str) -> str:
    git(repo, "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "tag", "-s", name, "-m", name)
    return f"refs/tags/{name}"


def test_a_sound_signers_file_verifies(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    allowed, _stranger = keys
    repo = work_tree(tmp_path / "app", PIPELINE)
    head = commit(repo, "signed", allowed)
    signers = signers_file(tmp_path / "allowed_signers", allowed)
    signers.chmod(0o644)
    assert commit_signature_problem(repo, head, signers) is None
    assert tag_verified(repo, signed_tag(repo, allowed, "v1"), signers)


def test_a_symlinked_signers_file_is_refused(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    # The server's file is a link to one an attacker controls, holding their key.
    allowed, stranger = keys
    repo = work_tree(tmp_path / "app", PIPELINE)
    head = commit(repo, "stranger", stranger)
    theirs = signers_file(tmp_path / "theirs", allowed, stranger)
    link = tmp_path / "allowed_signers"
    link.symlink_to(theirs)
    problem = commit_signature_problem(repo, head, link)
    assert problem is not None
    assert "is a symbolic link" in problem
    assert not tag_verified(repo, signed_tag(repo, stranger, "v1"), link)


def test_a_signers_file_others_may_write_is_refused(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    # Anyone on the machine appended their key to a world-writable file.
    allowed, stranger = keys
    repo = work_tree(tmp_path / "app", PIPELINE)
    head = commit(repo, "stranger", stranger)
    signers = signers_file(tmp_path / "allowed_signers", allowed, stranger)
    signers.chmod(0o666)
    problem = commit_signature_problem(repo, head, signers)
    assert problem is not None
    assert f"run 'chmod go-w {signers}'" in problem
    assert not tag_verified(repo, signed_tag(repo, stranger, "v1"), signers)
    signers.chmod(0o664)  # group-writable is others too
    assert "may be written by others" in (commit_signature_problem(repo, head, signers) or "")


def test_a_signers_file_owned_by_another_user_is_refused(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test gives the file to another user: it needs root (the CI runs as root)")
    allowed, stranger = keys
    repo = work_tree(tmp_path / "app", PIPELINE)
    head = commit(repo, "stranger", stranger)
    signers = signers_file(tmp_path / "allowed_signers", allowed, stranger)
    signers.chmod(0o644)
    os.chown(signers, 65534, 65534)
    problem = commit_signature_problem(repo, head, signers)
    assert problem is not None
    assert "owned by another user (uid 65534)" in problem


def test_a_signed_branch_blocks_on_a_symlinked_signers_file(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    allowed, _stranger = keys
    repo = work_tree(tmp_path / "app", PIPELINE)
    head = commit(repo, "signed", allowed)
    link = tmp_path / "allowed_signers"
    link.symlink_to(signers_file(tmp_path / "theirs", allowed))
    db = open_database(sqlite_url(tmp_path / "server.db"))
    try:
        repositories = Repositories(db, lambda: datetime(2030, 1, 1, tzinfo=UTC))
        repositories.register("app", str(repo), added_by="setup", signed=["main"])
        reason = signature_block(repositories.get("app"), "refs/heads/main", head, link)
    finally:
        db.dispose()
    assert reason is not None
    assert reason.startswith("main requires signed commits: ")
    assert "symbolic link" in reason
