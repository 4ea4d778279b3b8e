"""Repositories the server runs: local git repositories registered by path.

A repository is registered under a name (checked like every name, see
:func:`bastion.server.names.check_name`) and an absolute path that must already be a git
repository, bare or with a work tree. The path is refused (400) when it is relative, holds
``..``, goes through a symbolic link anywhere, or is not the top of a git repository: the
server reads refs and commits there as root, so it must be exactly the directory an admin
named. ``heads`` keeps the branch heads last seen, so a push (or a poll) runs only what is new.

    >>> repos = Repositories(db, clock)                              # doctest: +SKIP
    >>> repos.register("api", Path("/srv/git/api.git"), added_by="alice")
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bastion.server.clock import Clock
from bastion.server.errors import BadRequestError, ConflictError, NotFoundError
from bastion.server.names import check_name
from bastion.store import Base, Database, UTCDateTime, utcnow

__all__ = [
    "DEFAULT_POLL_SECONDS",
    "Repositories",
    "Repository",
    "RepositoryRecord",
    "branch_heads",
    "checked_git_path",
]

DEFAULT_POLL_SECONDS = 60
_MAX_BRANCHES = 32


class RepositoryRecord(Base):
    """One registered repository (revision ``0006_repositories`` creates the table)."""

    __tablename__ = "server_repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    path: Mapped[str] = mapped_column(String(4096))
    default_branch: Mapped[str] = mapped_column(String(255))
    protected_branches: Mapped[list[str]] = mapped_column(JSON)
    # Revision 0010_signed_commits: the protected branches whose commits must be signed.
    signed_branches: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_by: Mapped[str] = mapped_column(String(128))
    poll_seconds: Mapped[int] = mapped_column(Integer)
    heads: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class Repository:
    """A registered repository as the server uses it."""

    name: str
    path: Path
    default_branch: str
    protected_branches: tuple[str, ...]
    added_by: str
    poll_seconds: int
    heads: Mapping[str, str]
    created_at: datetime
    signed_branches: tuple[str, ...] = ()

    def is_protected(self, branch: str) -> bool:
        """The default branch and every branch named protected."""
        return branch == self.default_branch or branch in self.protected_branches

    def requires_signed_commits(self, branch: str) -> bool:
        """A run of this protected branch must build a commit signed by an allowed signer."""
        return self.is_protected(branch) and branch in self.signed_branches


def _repository(row: RepositoryRecord) -> Repository:
    return Repository(
        row.name,
        Path(row.path),
        row.default_branch,
        tuple(row.protected_branches),
        row.added_by,
        row.poll_seconds,
        {str(k): str(v) for k, v in row.heads.items()},
        row.created_at,
        tuple(row.signed_branches or ()),
    )


def _git(path: Path, *args: str) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=False, timeout=30
    )
    return result.stdout.strip() if result.returncode == 0 else None


def checked_git_path(raw: str) -> Path:
    """``raw`` as the top directory of a git repository; BadRequestError otherwise."""
    if not raw or "\x00" in raw or not raw.startswith("/"):
        raise BadRequestError("the path must be absolute")
    path = Path(raw)
    if ".." in path.parts:
        raise BadRequestError("the path must not contain '..'")
    if path.resolve() != path or path.is_symlink():
        raise BadRequestError("the path must not go through a symbolic link")
    if not path.is_dir():
        raise BadRequestError("the path is not a directory")
    git_dir = _git(path, "rev-parse", "--absolute-git-dir")
    if git_dir is None or Path(git_dir) not in (path, path / ".git"):
        raise BadRequestError("the path is not the top of a git repository")
    return path


def branch_heads(path: Path) -> dict[str, str]:
    """Every branch of the repository and the commit it points at."""
    listed = _git(path, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
    heads: dict[str, str] = {}
    for line in (listed or "").splitlines():
        branch, _, commit = line.rpartition(" ")
        if branch and len(commit) in (40, 64):
            heads[branch] = commit
    return heads


def _default_branch(path: Path) -> str:
    head = _git(path, "symbolic-ref", "--short", "-q", "HEAD")
    return head or "main"


def _check_branches(branches: Iterable[str]) -> tuple[str, ...]:
    checked = tuple(dict.fromkeys(branches))
    if len(checked) > _MAX_BRANCHES:
        raise BadRequestError(f"at most {_MAX_BRANCHES} protected branches")
    for branch in checked:
        well_formed = not branch.startswith("-") and branch == branch.strip()
        if not well_formed or _git(Path("/"), "check-ref-format", "--branch", branch) is None:
            raise BadRequestError("a protected branch is not a valid branch name")
    return checked


class Repositories:
    """The registered repositories over one database and clock."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def register(
        self,
        name: str,
        raw_path: str,
        *,
        added_by: str,
        default_branch: str | None = None,
        protected: Iterable[str] = (),
        poll_seconds: int = DEFAULT_POLL_SECONDS,
        signed: Iterable[str] = (),
    ) -> Repository:
        """Register ``raw_path`` as ``name``; 400 for a bad name or path, 409 if taken.

        ``signed``: protected branches whose runs need a commit signed by an allowed signer
        (each must be the default branch or one of ``protected``).
        The branches' current heads are taken as seen: only later pushes start runs.
        """
        check_name(name, "repository name")
        path = checked_git_path(raw_path)
        branch = default_branch or _default_branch(path)
        branches = _check_branches((branch, *protected))
        signed_branches = tuple(dict.fromkeys(signed))
        for unprotected in (b for b in signed_branches if b not in branches):
            raise BadRequestError(
                f"signed branch {unprotected!r} is not protected: list it in protected_branches"
            )
        row = RepositoryRecord(
            name=name,
            path=str(path),
            default_branch=branches[0],
            protected_branches=list(branches[1:]),
            signed_branches=list(signed_branches),
            added_by=added_by,
            poll_seconds=poll_seconds,
            heads=branch_heads(path),
            created_at=self._clock(),
        )
        try:
            with self._db.session() as session:
                session.add(row)
                session.flush()
                return _repository(row)
        except IntegrityError as exc:
            raise ConflictError(f"a repository named {name!r} is registered already") from exc

    def get(self, name: str) -> Repository:
        """The repository ``name``; NotFoundError if none."""
        with self._db.session() as session:
            row = session.scalar(select(RepositoryRecord).where(RepositoryRecord.name == name))
            if row is None:
                raise NotFoundError(f"no repository {name}")
            return _repository(row)

    def all(self) -> list[Repository]:
        """Every registered repository, by name."""
        with self._db.session() as session:
            rows = session.scalars(select(RepositoryRecord).order_by(RepositoryRecord.name))
            return [_repository(row) for row in rows]

    def advance(self, name: str) -> list[tuple[str, str]]:
        """Branches whose head moved since last seen, as (branch, commit); remembered now.

        A deleted branch is forgotten; it starts nothing.
        """
        with self._db.session() as session:
            row = session.scalar(select(RepositoryRecord).where(RepositoryRecord.name == name))
            if row is None:
                return []
            now = branch_heads(Path(row.path))
            moved = [(b, c) for b, c in sorted(now.items()) if row.heads.get(b) != c]
            if now != row.heads:
                row.heads = dict(now)
            return moved
