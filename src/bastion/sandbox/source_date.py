"""A workspace's ``SOURCE_DATE_EPOCH`` and the clamping of its files' times to it.

Build tools that stamp times into their output (zip entries, tar headers, ``.pyc``
headers, man pages) take them from the files' mtimes or from ``SOURCE_DATE_EPOCH``
(reproducible-builds.org). A fresh workspace's files all carry the time they were written,
so the same commit built minutes apart would give different bytes. Every mtime is clamped
to one epoch, and every step gets that epoch in ``SOURCE_DATE_EPOCH``.

Which epoch:

* a commit: its committer time, a fact of the commit, identical on every machine;
* a working tree inside a git repository: its ``HEAD`` commit's time. The files may differ
  from ``HEAD``, but the epoch then stays put as they are edited and touched, so rebuilding
  the same tree gives the same bytes (the newest file's mtime would move with every save);
* a tree outside git: the newest mtime among its files, the only date the tree has.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from bastion.errors import SandboxError

__all__ = ["clamp_mtimes", "commit_time", "tree_epoch"]


def commit_time(repo: Path, commit: str) -> int:
    """The committer time (Unix seconds) of ``commit``, an already verified commit id."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "show", "-s", "--format=%ct", commit, "--"],
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise SandboxError(f"git could not be run: {exc}", hint="apt-get install -y git") from exc
    try:
        return int(done.stdout.strip()) if done.returncode == 0 else _no_time(repo, commit)
    except ValueError:
        return _no_time(repo, commit)


def _no_time(repo: Path, commit: str) -> int:
    raise SandboxError(f"cannot read the commit time of {commit} in {repo}")


def _head_time(tree: Path) -> int | None:
    """``HEAD``'s committer time of the repository holding ``tree``; None outside git."""
    try:
        done = subprocess.run(
            ["git", "-C", str(tree), "log", "-1", "--format=%ct", "HEAD", "--"],
            capture_output=True,
            check=False,
        )
    except OSError:
        return None  # no git: the tree is judged as one outside a repository
    text = done.stdout.strip()
    return int(text) if done.returncode == 0 and text.isdigit() else None


def tree_epoch(tree: Path, skip: Callable[[PurePosixPath], bool]) -> int:
    """The epoch of a working tree (see the module docstring); ``skip`` leaves entries out."""
    head = _head_time(tree)
    if head is not None:
        return head
    newest = 0
    folders = [(str(tree), PurePosixPath())]
    while folders:
        folder, relative = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = relative / entry.name
                if skip(rel):
                    continue
                info = entry.stat(follow_symlinks=False)
                newest = max(newest, int(info.st_mtime))
                if stat.S_ISDIR(info.st_mode):
                    folders.append((entry.path, rel))
    return newest


def clamp_mtimes(root: Path, epoch: int) -> None:
    """Set every mtime (and atime) under ``root``, ``root`` included, later than ``epoch`` to it.

    Links are stamped themselves, never their targets. Run it after the tree is complete:
    creating an entry afterwards would move its folder's mtime again.
    """
    folders = [str(root)]
    _clamp(str(root), epoch)
    while folders:
        folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                _clamp(entry.path, epoch)
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)


def _clamp(path: str, epoch: int) -> None:
    if os.lstat(path).st_mtime > epoch:
        os.utime(path, (epoch, epoch), follow_symlinks=False)
