"""Rotating the audit checkpoint key with an overlap window (issue 18).

A checkpoint the old key signs after the rotation (a process still holding it) verifies
during the overlap and is refused after it; the checkpoints it signed before the rotation
(sealed from the home's witness files) keep verifying, so the history stays intact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bastion.audit import (
    AuditEvent,
    AuditLog,
    audit_verifiers,
    key_path,
    load_signer,
    open_local_log,
    rotate_audit_key,
)
from bastion.audit.witness import WITNESS_DIR_NAME, WitnessDirectory
from bastion.errors import SigningError
from bastion.store import Database, open_database, sqlite_url

# Now: the log opened by the next process (open_local_log) judges the overlap by the clock.
ROTATED = datetime.now(UTC)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(sqlite_url(tmp_path / "audit.db"))


def _append_and_seal(log: AuditLog, what: str) -> None:
    log.append(AuditEvent("tester", "test.happened", what))
    log.checkpoint()


def _problems_at(db: Database, home: Path, when: datetime) -> list[str]:
    """Verify the whole log (database and witness) as a verifier would at ``when``."""
    log = AuditLog(
        db,
        verifiers=audit_verifiers(home, now=when),
        witness=WitnessDirectory(home / WITNESS_DIR_NAME),
    )
    return [p.message for p in log.inspect(max_unsealed_age=None).problems]


def test_old_key_checkpoints_verify_during_the_overlap_and_are_refused_after(
    db: Database, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    before, _ = open_local_log(db, home)
    _append_and_seal(before, "before the rotation")
    old = load_signer(key_path(home))  # a running process keeps this copy
    new, retired = rotate_audit_key(home, timedelta(hours=1), now=ROTATED)
    assert new.key_id != old.key_id
    assert len(retired.sealed) == 1
    stale = AuditLog(db, old, witness=WitnessDirectory(home / WITNESS_DIR_NAME))
    _append_and_seal(stale, "signed with the retired key inside the overlap")
    _append_and_seal(open_local_log(db, home)[0], "signed with the new key")
    assert _problems_at(db, home, ROTATED + timedelta(minutes=30)) == []
    late = _problems_at(db, home, ROTATED + timedelta(hours=2))
    assert late, "a checkpoint the retired key signed after the rotation must be refused"
    assert all("does not verify" in text for text in late), late
    assert not any("checkpoint 1:" in text for text in late), late  # the sealed history


def test_without_rotation_a_foreign_key_never_verifies(db: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _append_and_seal(open_local_log(db, home)[0], "one")
    rotate_audit_key(home, timedelta(0), now=ROTATED)
    # History still verifies after a rotation with no overlap at all: it was sealed.
    assert _problems_at(db, home, ROTATED + timedelta(days=1)) == []


def test_a_retired_keys_file_others_may_write_is_refused(db: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_local_log(db, home)
    rotate_audit_key(home, timedelta(hours=1), now=ROTATED)
    (home / "keys" / "audit-retired.json").chmod(0o666)
    with pytest.raises(SigningError, match="others may write it"):
        audit_verifiers(home)
