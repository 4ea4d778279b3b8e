"""Where state lives: BASTION_HOME, the repository's git-ignored state directory, the database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bastion.errors import UsageError
from bastion.store import bastion_home, default_database_url, find_repo_root, state_dir
from bastion.store.locations import git_toplevel


def test_bastion_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path / "home"))
    home = bastion_home()
    assert home == tmp_path / "home"
    assert home.stat().st_mode & 0o777 == 0o700


def test_bastion_home_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASTION_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert bastion_home() == tmp_path / ".local/share/bastion"


def test_project_root_is_nearest_bastion_dir_or_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    inner = tmp_path / "examples" / "svc"
    (inner / ".bastion").mkdir(parents=True)
    (inner / "src").mkdir()
    assert find_repo_root(inner / "src") == inner
    (tmp_path / "other").mkdir()
    assert find_repo_root(tmp_path / "other") == tmp_path
    assert git_toplevel(inner) == tmp_path
    assert git_toplevel(Path("/")) is None


def test_state_dir_ignores_itself_in_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    state = state_dir(tmp_path)
    (state / "bastion.db").write_text("x")
    status = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""


def test_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    assert default_database_url(tmp_path) == f"sqlite:///{tmp_path}/.bastion/state/bastion.db"
    monkeypatch.setenv("BASTION_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
    assert default_database_url(tmp_path).startswith("postgresql+psycopg://")


@pytest.mark.parametrize("linked", [".bastion", ".bastion/state"])
def test_a_linked_state_directory_is_refused(tmp_path: Path, linked: str) -> None:
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    (repo / ".bastion").mkdir()
    if linked == ".bastion":
        (repo / ".bastion").rmdir()
    (repo / linked).symlink_to(elsewhere)
    with pytest.raises(UsageError, match="symbolic link"):
        state_dir(repo)
    assert list(elsewhere.iterdir()) == []
