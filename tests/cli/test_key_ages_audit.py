"""The audit key's age for ``bastion keys due`` (issue 18 review): after a rotation it counts
from the rotation recorded in the retired keys file, so rewriting or touching the key file
does not make an old key look new and drop its key-past-max-age alert."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bastion.audit import key_path, open_local_log, rotate_audit_key
from bastion.cli.key_ages import key_ages, overdue_keys
from bastion.store import open_database, sqlite_url

ROTATED = datetime(2025, 1, 1, tzinfo=UTC)  # before the test runs: the file is newer


def _audit_age(home: Path) -> datetime:
    [audit] = [k for k in key_ages(home) if k.kind == "audit"]
    return audit.since


def test_a_touched_audit_key_keeps_its_rotation_age(tmp_path: Path) -> None:
    home = tmp_path / "home"
    db = open_database(sqlite_url(tmp_path / "audit.db"))
    try:
        open_local_log(db, home)
        rotate_audit_key(home, timedelta(hours=1), now=ROTATED)
    finally:
        db.dispose()
    key = key_path(home)
    os.utime(key, (time.time(), time.time()))  # rewritten or touched: looks brand new
    assert _audit_age(home) == ROTATED
    now = ROTATED + timedelta(days=200)
    late = overdue_keys(key_ages(home), 90 * 24 * 3600, now)
    assert [k.kind for k in late] == ["audit"]


def test_a_never_rotated_audit_key_is_aged_from_its_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    db = open_database(sqlite_url(tmp_path / "audit.db"))
    try:
        open_local_log(db, home)
    finally:
        db.dispose()
    made = datetime(2025, 6, 1, tzinfo=UTC)
    os.utime(key_path(home), (made.timestamp(), made.timestamp()))
    assert _audit_age(home) == made
