"""What a local run is building: commit, ref, remote, and whether the tree is clean."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from bastion.errors import UsageError

__all__ = ["GitState", "read_file_at_commit", "read_git_state", "tree_path"]


@dataclass(frozen=True, slots=True)
class GitState:
    """The project's git facts; all None outside a git work tree."""

    toplevel: Path | None
    prefix: str
    commit: str | None
    ref: str | None
    remote: str | None
    dirty: bool


def _git(root: Path, *args: str) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else None


def read_git_state(root: Path, commit: str | None = None) -> GitState:
    """Facts about ``root``; with ``commit``, that commit (which must exist)."""
    toplevel = _git(root, "rev-parse", "--show-toplevel")
    if toplevel is None:
        if commit:
            raise UsageError(f"--commit needs a git repository; {root} is not inside one")
        return GitState(None, "", None, None, None, dirty=True)
    resolved = _git(root, "rev-parse", "--verify", "--quiet", f"{commit or 'HEAD'}^{{commit}}")
    if commit and resolved is None:
        raise UsageError(
            f"no commit '{commit}' in {toplevel}", hint="give a commit, branch or tag that exists"
        )
    ref = _git(root, "symbolic-ref", "-q", "HEAD") if not commit else None
    if commit and resolved:
        ref = _git(root, "rev-parse", "--symbolic-full-name", commit) or None
    status = _git(root, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    return GitState(
        toplevel=Path(toplevel),
        prefix=_git(root, "rev-parse", "--show-prefix") or "",
        commit=resolved,
        ref=ref,
        remote=_git(root, "config", "--get", "remote.origin.url"),
        dirty=bool(status) if not commit else False,
    )


def tree_path(root: Path, relative: str) -> str:
    """``relative`` as git names it in a commit's tree: to ``root`` inside a work tree
    (``./path``), from the top in a bare repository (the server's registered ones)."""
    bare = not (root / ".git").exists() and (root / "objects").is_dir() and (root / "HEAD").exists()
    return relative if bare else f"./{relative}"


def read_file_at_commit(root: Path, commit: str, relative: str) -> bytes | None:
    """The bytes of ``relative`` (to ``root``) at ``commit``, or None if absent."""
    result = subprocess.run(
        ["git", "-C", str(root), "show", f"{commit}:{tree_path(root, relative)}"],
        capture_output=True,
        check=False,
    )
    return result.stdout if result.returncode == 0 else None
