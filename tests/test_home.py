"""The one user home: named by bastion_home, created (0700) only by ensure_bastion_home."""

from __future__ import annotations

import stat
from pathlib import Path

from bastion.home import bastion_home, ensure_bastion_home


def test_bastion_home_names_without_creating(tmp_path: Path) -> None:
    wanted = tmp_path / "a" / "home"
    assert bastion_home({"BASTION_HOME": str(wanted)}) == wanted
    assert not wanted.exists()


def test_default_is_under_the_users_data_directory() -> None:
    assert bastion_home({}) == Path.home() / ".local" / "share" / "bastion"


def test_ensure_creates_it_private(tmp_path: Path) -> None:
    wanted = tmp_path / "a" / "home"
    assert ensure_bastion_home({"BASTION_HOME": str(wanted)}) == wanted
    assert stat.S_IMODE(wanted.stat().st_mode) == 0o700
    # Idempotent, and an existing folder's mode is the user's choice.
    wanted.chmod(0o750)
    assert ensure_bastion_home({"BASTION_HOME": str(wanted)}) == wanted
    assert stat.S_IMODE(wanted.stat().st_mode) == 0o750


def test_the_store_keeps_creating_it(tmp_path: Path) -> None:
    from bastion.store import bastion_home as store_home

    assert store_home is ensure_bastion_home
