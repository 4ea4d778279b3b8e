"""The retired audit keys file decides which old keys still verify checkpoints, so it is
guarded like a key (issue 18 review): a symbolic link, or a file owned by another user, is
refused with the fix, never read. Otherwise whoever controls it could list a key of their
own as retired and have checkpoints they signed verify."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from bastion.audit import audit_verifiers, open_local_log, rotate_audit_key
from bastion.errors import SigningError
from bastion.store import open_database, sqlite_url


def _rotated_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    db = open_database(sqlite_url(tmp_path / "audit.db"))
    try:
        open_local_log(db, home)
        rotate_audit_key(home, timedelta(hours=1))
    finally:
        db.dispose()
    return home


def test_the_rotated_home_verifies_with_the_retired_key(tmp_path: Path) -> None:
    assert len(audit_verifiers(_rotated_home(tmp_path))) == 2  # current and retired


def test_a_symlinked_retired_keys_file_is_refused(tmp_path: Path) -> None:
    home = _rotated_home(tmp_path)
    retired = home / "keys" / "audit-retired.json"
    theirs = tmp_path / "theirs.json"  # a file its owner may rewrite at will
    theirs.write_bytes(retired.read_bytes())
    theirs.chmod(0o600)
    retired.unlink()
    retired.symlink_to(theirs)
    with pytest.raises(SigningError, match="cannot read the retired audit keys") as refused:
        audit_verifiers(home)
    assert refused.value.hint == "it must be a regular file, not a symbolic link"


def test_a_retired_keys_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test gives the file to another user: it needs root (the CI runs as root)")
    home = _rotated_home(tmp_path)
    retired = home / "keys" / "audit-retired.json"
    os.chown(retired, 65534, 65534)
    with pytest.raises(SigningError, match=r"owned by another user \(uid 65534\)"):
        audit_verifiers(home)
