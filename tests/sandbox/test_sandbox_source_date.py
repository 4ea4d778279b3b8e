"""The epoch a working-tree copy is clamped to: HEAD's time in git, the newest file outside."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from bastion.sandbox import Workspace
from tests.support import git


def _mtimes(root: Path) -> set[int]:
    return {int(os.lstat(Path(d, n)).st_mtime) for d, _, names in os.walk(root) for n in names}


def test_dirty_tree_is_clamped_to_head_time(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.txt").write_text("a\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one", "--date=@1000000000")
    head = int(
        subprocess.run(
            ["git", "-C", str(repo), "log", "-1", "--format=%ct"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    (repo / "b.txt").write_text("edited after the commit\n")
    os.utime(repo / "b.txt", (time.time() + 600, time.time() + 600))
    (tmp_path / "ws").mkdir()
    with Workspace.from_working_tree(repo, tmp_path / "ws") as ws:
        assert ws.source_date_epoch == head
        assert _mtimes(ws.path) == {head}


def test_tree_outside_git_is_clamped_to_its_newest_file(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "old").write_text("old\n")
    (tree / "new").write_text("new\n")
    os.utime(tree / "old", (1_000_000_000, 1_000_000_000))
    os.utime(tree / "new", (1_100_000_000, 1_100_000_000))
    (tmp_path / "ws").mkdir()
    with Workspace.from_working_tree(tree, tmp_path / "ws") as ws:
        assert ws.source_date_epoch == 1_100_000_000
        assert _mtimes(ws.path) == {1_100_000_000}
