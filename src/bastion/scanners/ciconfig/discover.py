"""Which CI files a tree holds, and of which kind.

    >>> from pathlib import Path
    >>> [f.kind.value for f in ci_files(Path("/nonexistent"))]
    []

GitHub reads only ``.github/workflows/*.yml|yaml`` (no sub-directories); actions are any
``action.yml|yaml``; GitLab starts at ``.gitlab-ci.yml`` and follows ``include: local``,
which :func:`resolve_local_include` keeps inside the tree.
"""

from __future__ import annotations

import enum
import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CiFile",
    "CiKind",
    "ci_files",
    "has_ci_files",
    "resolve_local_include",
]

_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"})
MAX_ACTIONS = 2000


class CiKind(enum.StrEnum):
    """The formats the gate reads."""

    WORKFLOW = "github-workflow"
    ACTION = "github-action"
    GITLAB = "gitlab-ci"
    BASTION = "bastion-pipeline"


@dataclass(frozen=True, slots=True)
class CiFile:
    """A file to read: its path on disk, its repository-relative POSIX name, its kind."""

    path: Path
    name: str
    kind: CiKind


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _excluded(name: str, exclude: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in exclude)


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve()) and path.is_file()
    except OSError:
        return False


def _actions(root: Path) -> Iterator[Path]:
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in ("action.yml", "action.yaml"):
            if name in filenames and count < MAX_ACTIONS:
                count += 1
                yield Path(dirpath) / name


def ci_files(root: Path, exclude: Sequence[str] = ()) -> list[CiFile]:
    """Every CI file under ``root`` except ``exclude`` globs (over repository-relative names)."""
    if not root.is_dir():
        return []
    found: list[tuple[Path, CiKind]] = []
    workflows = root / ".github" / "workflows"
    if workflows.is_dir():
        found += [
            (p, CiKind.WORKFLOW)
            for p in sorted(workflows.iterdir())
            if p.suffix in {".yml", ".yaml"}
        ]
    found += [(p, CiKind.ACTION) for p in _actions(root)]
    found += [
        (root / ".gitlab-ci.yml", CiKind.GITLAB),
        (root / ".bastion" / "pipeline.yml", CiKind.BASTION),
    ]
    files = []
    for path, kind in found:
        if _inside(root, path):
            name = _relative(root, path)
            if not _excluded(name, exclude):
                files.append(CiFile(path, name, kind))
    return files


def has_ci_files(root: Path) -> bool:
    """True when the tree holds at least one file the gate reads."""
    return bool(ci_files(root))


def resolve_local_include(root: Path, written: str) -> list[CiFile] | str:
    """Files an ``include: local`` names (globs allowed), or why none can be read."""
    pattern = written.strip().lstrip("/")
    if not pattern or ".." in Path(pattern).parts:
        return f"include '{written}' leaves the repository"
    matches = sorted(root.glob(pattern)) if any(c in pattern for c in "*?[") else [root / pattern]
    files = [CiFile(p, _relative(root, p), CiKind.GITLAB) for p in matches if _inside(root, p)]
    return files or f"include '{written}' names no file in the repository"
