"""A job's fresh workspace: made before it runs, removed after it, whatever happened.

    with Workspace.from_commit(repo, "HEAD", parent=run_tmp) as ws:
        sandbox.run(SandboxSpec(argv=["make"], workspace=ws.path), sink)

Two sources:

* ``from_working_tree``: the tree as it is on disk, ignored files included (a local run
  builds what the developer sees), copied with reflinks where the filesystem has them and
  in-kernel copies elsewhere. Never hard links: the job could then write through into the
  developer's files.
* ``from_commit``: exactly the blobs of one commit, written from ``git ls-tree`` and
  ``git cat-file`` rather than ``git archive``, which would apply the commit's own
  ``export-ignore``/``export-subst`` attributes and so not give the exact files. A hostile
  tree (a ``..`` or ``.git`` entry, an absolute path) is refused.

Both leave out ``.git`` (history, hooks and remote URLs that may carry tokens are not files
of the commit, and a job that needs them must say so) and ``.bastion/state`` (Bastion's
database and keys), at the root and in every folder below. Symbolic links are recreated as
links, never followed. Special files (sockets, FIFOs, devices) are skipped. The workspace is
removed even if the job made its files read-only or unreadable.

Gates only read, so they need no copy: :func:`survey_source` walks a tree once and says
what a read-only view of it (``SandboxSpec.read_only_source``) must cover to show what a
copy would (every ``.git`` and ``.bastion/state``, special files, which a scanner could
block on; links show as the links a copy recreates) and which entries the job could not
read. That last part matters as root: the job then runs as an unrelated uid and reads a
file only through its "other" permission bits, so a ``0600`` file would be skipped by the
scanner without a word. The caller must not scan such a tree in place:
``from_working_tree(..., readable=True)`` makes a private copy of it whose files the job may
read (the copy lives in the caller's ``0700`` directory, so no other host user can reach
it). :meth:`Workspace.scratch` is the small writable directory beside the view.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Any, Self

from bastion.errors import SandboxError, UsageError
from bastion.sandbox.source_date import clamp_mtimes, commit_time, tree_epoch

__all__ = [
    "EXCLUDED",
    "SourceSurvey",
    "Workspace",
    "grant_workspace",
    "source_date_epoch",
    "survey_source",
]

EXCLUDED = (PurePosixPath(".bastion/state"),)
"""Paths never copied, at the root or in any folder below (a nested project's state is keys
and a database all the same); ``.git`` is also left out everywhere."""

_FICLONE = 0x40049409  # ioctl: share the source's blocks (btrfs, XFS); refused elsewhere
_COPY_CHUNK = 1 << 30
_BLOB_PIECE = 1 << 20
_MAX_NAMED = 20  # unreadable entries named in a survey; the count is always exact


def _left_out(relative: PurePosixPath) -> bool:
    """Whether the entry at ``relative`` is a ``.git`` or Bastion state, at any depth."""
    parts = relative.parts
    return relative.name == ".git" or any(
        len(parts) >= len(x.parts) and parts[-len(x.parts) :] == x.parts for x in EXCLUDED
    )


def source_date_epoch(source: Path, commit: str | None) -> int:
    """The ``SOURCE_DATE_EPOCH`` a workspace of ``source`` gets: ``commit``'s time when the
    workspace is that commit (:meth:`Workspace.from_commit`), else the working tree's
    (:meth:`Workspace.from_working_tree`), so what provenance records is what steps saw."""
    return commit_time(source, commit) if commit else tree_epoch(source, _left_out)


def _copy_file(source: str, dest: str, mode: int, readable: bool = False) -> None:
    src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        dst = os.open(dest, flags, 0o600)
        try:
            try:
                fcntl.ioctl(dst, _FICLONE, src)
            except OSError:
                offset = 0
                while sent := os.sendfile(dst, src, offset, _COPY_CHUNK):
                    offset += sent
            # No set-id or sticky bits in a workspace.
            os.fchmod(dst, stat.S_IMODE(mode) & 0o777 | (0o444 if readable else 0))
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _copy_tree(source: Path, dest: Path, relative: PurePosixPath, readable: bool) -> None:
    # A loop, not recursion: a tree may nest deeper than Python's recursion limit.
    folders = [(str(source), dest, relative)]
    made: list[tuple[Path, int]] = []
    while folders:
        folder, into, rel_folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = rel_folder / entry.name
                if _left_out(rel):
                    continue
                target = into / entry.name
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    os.symlink(os.readlink(entry.path), target)
                elif stat.S_ISDIR(info.st_mode):
                    target.mkdir(mode=0o700)
                    folders.append((entry.path, target, rel))
                    made.append((target, info.st_mode))
                elif stat.S_ISREG(info.st_mode):
                    _copy_file(entry.path, str(target), info.st_mode, readable)
    # Modes last, deepest first: a read-only directory must still be filled.
    for target, mode in reversed(made):
        target.chmod(stat.S_IMODE(mode) & 0o777 | (0o755 if readable else 0o700))


@dataclass(frozen=True, slots=True)
class SourceSurvey:
    """What a read-only view of a tree must hide, and what its job could not read.

    Paths are relative to the tree, POSIX style. ``unreadable`` names at most a few entries;
    ``unreadable_count`` is exact. An unreadable directory is counted once, not its content.
    """

    hidden: tuple[str, ...]
    unreadable: tuple[str, ...] = ()
    unreadable_count: int = 0

    @property
    def fully_readable(self) -> bool:
        """True when the job can read every file the view shows."""
        return self.unreadable_count == 0


def _readable(info: os.stat_result, as_other: bool) -> bool:
    """Whether the job may read (a directory: list and enter) what ``info`` describes."""
    need = 0o5 if stat.S_ISDIR(info.st_mode) else 0o4
    if as_other:
        shift = 0
    elif info.st_uid == os.geteuid():
        shift = 6
    elif info.st_gid == os.getegid() or info.st_gid in os.getgroups():
        shift = 3
    else:
        shift = 0
    return (info.st_mode >> shift) & need == need


def survey_source(source: Path, *, as_other: bool) -> SourceSurvey:
    """Walk ``source`` once (never following links) for :class:`SourceSurvey`.

    ``as_other``: the job reads as a uid unrelated to the files' owners (Bastion runs as
    root and gives the job its own uid), so only the "other" bits count (exact: an ACL's
    "other" entry is those bits); otherwise it reads with the caller's own uid and groups (a
    user namespace), judged from the mode bits. A tree that changes under the walk so that
    an entry cannot be read raises :class:`SandboxError` naming it.
    """
    try:
        return _survey(source, as_other)
    except OSError as exc:
        raise SandboxError(
            f"cannot read {exc.filename or source} to scan it: {exc.strerror}",
            hint="make it readable, or remove it from the tree",
        ) from exc


def _survey(source: Path, as_other: bool) -> SourceSurvey:
    hidden: list[str] = []
    unreadable: list[str] = []
    count = 0
    if not _readable(os.stat(source), as_other):
        return SourceSurvey((), (".",), 1)
    stack = [(str(source), PurePosixPath())]
    while stack:
        folder, relative = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = relative / entry.name
                info = entry.stat(follow_symlinks=False)
                mode = info.st_mode
                if stat.S_ISLNK(mode):
                    continue  # shown as the link it is, like a copy recreates it
                if _left_out(rel) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                    hidden.append(str(rel))
                elif not _readable(info, as_other):
                    count += 1
                    if len(unreadable) < _MAX_NAMED:
                        unreadable.append(str(rel))
                elif stat.S_ISDIR(mode):
                    stack.append((entry.path, rel))
    return SourceSurvey(tuple(sorted(hidden)), tuple(sorted(unreadable)), count)


def _check_git_path(raw: bytes, rev: str) -> PurePosixPath:
    text = raw.decode("utf-8", errors="surrogateescape")
    path = PurePosixPath(text)
    parts = text.split("/")
    if not text or path.is_absolute() or any(p in ("", ".", "..", ".git") for p in parts):
        raise SandboxError(
            f"commit {rev} holds a hostile path {text!r}; refusing to check it out",
            hint="this tree cannot come from a normal git checkout; inspect the commit",
        )
    return path


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except OSError as exc:
        raise SandboxError(f"git could not be run: {exc}", hint="apt-get install -y git") from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip()
        raise UsageError(f"git {args[0]} failed in {repo}: {detail}")
    return done.stdout


def _write_blob(stream: IO[bytes], dest: Path, mode: str, expected: bytes) -> None:
    header = stream.readline().split()
    if len(header) != 3 or header[0] != expected or header[1] != b"blob":
        raise SandboxError(f"git cat-file returned an unexpected object for {dest.name}")
    remaining = int(header[2])
    if mode == "120000":
        os.symlink(os.fsdecode(stream.read(remaining)), dest)
    else:
        perms = 0o755 if mode == "100755" else 0o644
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, perms)
        with os.fdopen(fd, "wb") as out:
            while remaining:  # in pieces: a large blob never sits whole in memory
                piece = stream.read(min(remaining, _BLOB_PIECE))
                if not piece:
                    raise SandboxError(f"git cat-file stopped in the middle of {dest.name}")
                out.write(piece)
                remaining -= len(piece)
    stream.read(1)  # the newline after each object


def _checkout(repo: Path, rev: str, dest: Path) -> str:
    """Write commit ``rev``'s files into ``dest``; return the commit id."""
    if rev.startswith("-") or "\x00" in rev:
        raise UsageError(f"{rev!r} is not a revision", hint="pass a commit id, branch or tag")
    commit = _git(repo, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")
    sha = commit.decode().strip()
    listing = _git(repo, "ls-tree", "-r", "-z", "--full-tree", sha)
    blobs: list[tuple[str, bytes, PurePosixPath]] = []
    for record in filter(None, listing.split(b"\x00")):
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, oid = meta.decode().split()
        path = _check_git_path(raw_path, rev)
        if any(_left_out(PurePosixPath(*path.parts[: n + 1])) for n in range(len(path.parts))):
            continue
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        if kind == "commit":  # a submodule: its directory exists, empty, as in a clone
            (dest / path).mkdir(exist_ok=True)
        elif kind == "blob":
            blobs.append((mode, oid.encode(), path))
    _write_blobs(repo, blobs, dest)
    return sha


def _write_blobs(repo: Path, blobs: list[tuple[str, bytes, PurePosixPath]], dest: Path) -> None:
    with tempfile.TemporaryFile() as ids:
        ids.write(b"".join(oid + b"\n" for _, oid, _ in blobs))
        ids.seek(0)
        argv = ["git", "-C", str(repo), "cat-file", "--batch"]
        with subprocess.Popen(argv, stdin=ids, stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None  # noqa: S101 - stdout=PIPE guarantees it
            for mode, oid, path in blobs:
                _write_blob(proc.stdout, dest / path, mode, oid)
        if proc.returncode != 0:
            raise SandboxError(f"git cat-file failed in {repo} (exit {proc.returncode})")


def grant_workspace(path: Path, uid: int, gid: int, keep: Sequence[str] = ()) -> None:
    """Give every entry under ``path`` to ``uid:gid`` (links themselves, never targets).

    The root also gets ``o+x``: bwrap enters it as a root without capabilities, which may
    only traverse it as "other"; listing it still needs the owner's rights. ``keep`` names
    files (relative to ``path``) left with their owner: read-only artifacts the job received.
    """
    os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) | 0o711)  # noqa: S103 - traverse only
    # A loop, not os.walk: a job can nest directories deeper than Python's recursion limit
    # (Python 3.11's walk recurses once per level). One nested past PATH_MAX raises OSError.
    kept = {os.path.join(path, relative) for relative in keep}
    folders = [str(path)]
    while folders:
        folder = folders.pop()
        _own(folder, uid, gid)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif entry.path not in kept:
                    _own(entry.path, uid, gid)


def _own(name: str, uid: int, gid: int) -> None:
    info = os.lstat(name)
    if info.st_uid != uid or info.st_gid != gid:
        os.lchown(name, uid, gid)


def _rmtree(path: Path) -> None:
    """``shutil.rmtree`` that reopens directories a job locked (chmod 000, read-only)."""
    retried: set[str] = set()

    def on_error(func: Callable[..., Any], failed: str, exc_info: Any) -> None:
        if isinstance(exc_info[1], FileNotFoundError):
            return
        if failed in retried:
            raise SandboxError(f"cannot remove {failed} from workspace {path}: {exc_info[1]}")
        retried.add(failed)
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o700)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, 0o700)
            shutil.rmtree(failed, onerror=on_error)
        else:
            os.unlink(failed)

    try:
        shutil.rmtree(path, onerror=on_error)
    except RecursionError:
        _remove_deep(path)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _remove_deep(path: Path) -> None:
    """Remove a tree of any depth holding one directory descriptor at a time.

    ``shutil.rmtree`` recurses once per level (Python 3.11) and a job can nest thousands of
    levels. Climbing back through ``..`` is sound here: every process of the job is dead,
    so nothing can move the tree while it is removed.
    """
    fd = os.open(path, _DIR_FLAGS)
    # (name in the parent, subdirectories still to remove) for each level entered.
    levels: list[tuple[str, list[str]]] = [("", _remove_entries(fd))]
    try:
        while levels:
            name, subdirs = levels[-1]
            if subdirs:
                child = subdirs.pop()
                os.chmod(child, 0o700, dir_fd=fd)  # a job may have locked it (chmod 000)
                fd = _reopen(fd, child)
                levels.append((child, _remove_entries(fd)))
                continue
            levels.pop()
            if levels:
                fd = _reopen(fd, "..")
                os.rmdir(name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _reopen(fd: int, name: str) -> int:
    """Open directory ``name`` relative to ``fd``, then close ``fd`` (kept on failure)."""
    opened = os.open(name, _DIR_FLAGS, dir_fd=fd)
    os.close(fd)
    return opened


def _remove_entries(fd: int) -> list[str]:
    """Unlink every non-directory in directory ``fd``; return its subdirectories' names."""
    subdirs: list[str] = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    return subdirs


class Workspace:
    """A directory created for one job; :meth:`remove` (or leaving ``with``) deletes it.

    ``source_date_epoch``: a copy's files are no later than this (see
    :mod:`bastion.sandbox.source_date`); steps get it as ``SOURCE_DATE_EPOCH``. None for an
    empty scratch directory.
    """

    def __init__(self, path: Path, source_date_epoch: int | None = None) -> None:
        self._path = path
        self._removed = False
        self.source_date_epoch = source_date_epoch

    @property
    def path(self) -> Path:
        """The workspace directory on the host."""
        return self._path

    @classmethod
    def _fresh(cls, parent: Path, source: Path) -> Self:
        if not parent.is_dir():
            raise SandboxError(f"workspace parent {parent} is not a directory")
        real_parent, real_source = parent.resolve(), source.resolve()
        if real_parent == real_source or real_source in real_parent.parents:
            raise SandboxError(
                f"workspace parent {parent} is inside {source}",
                hint="put workspaces in the run's temporary directory, outside the repository",
            )
        return cls.scratch(parent)

    @contextlib.contextmanager
    def _filling(self, source: Path) -> Iterator[None]:
        """Remove the half-made workspace on any failure; name the file that failed."""
        try:
            yield
        except OSError as exc:
            self.remove()
            raise SandboxError(
                f"cannot copy {exc.filename or source} into the workspace: {exc.strerror}",
                hint="make the file readable or remove it from the tree",
            ) from exc
        except BaseException:
            self.remove()
            raise

    @classmethod
    def from_working_tree(cls, source: Path, parent: Path, *, readable: bool = False) -> Self:
        """A copy of ``source`` as it is on disk, minus ``.git`` and ``.bastion/state``, with
        mtimes clamped to its ``HEAD``'s time (or, outside git, its newest file's).

        ``readable``: every file and directory of the copy may be read by any uid (for a
        read-only view whose job runs under its own uid; keep ``parent`` private).
        """
        if not source.is_dir():
            raise UsageError(f"{source} is not a directory", hint="run from a repository")
        workspace = cls._fresh(parent, source)
        with workspace._filling(source):
            _copy_tree(source, workspace.path, PurePosixPath(), readable)
            if readable:
                workspace.path.chmod(0o755)
            workspace.source_date_epoch = tree_epoch(source, _left_out)
            clamp_mtimes(workspace.path, workspace.source_date_epoch)
        return workspace

    @classmethod
    def scratch(cls, parent: Path) -> Self:
        """An empty private directory: a gate's writable workspace beside its read-only view."""
        if not parent.is_dir():
            raise SandboxError(f"workspace parent {parent} is not a directory")
        try:
            return cls(Path(tempfile.mkdtemp(prefix="bastion-ws-", dir=parent)))
        except OSError as exc:
            raise SandboxError(f"cannot create a workspace in {parent}: {exc}") from exc

    @classmethod
    def from_commit(cls, repo: Path, rev: str, parent: Path) -> Self:
        """Exactly the files of commit ``rev`` of ``repo``, minus ``.bastion/state``, every
        mtime set to the commit's time."""
        workspace = cls._fresh(parent, repo)
        with workspace._filling(repo):
            sha = _checkout(repo, rev, workspace.path)
            workspace.source_date_epoch = commit_time(repo, sha)
            clamp_mtimes(workspace.path, workspace.source_date_epoch)
        return workspace

    def remove(self) -> None:
        """Delete the workspace and everything in it; safe to call twice."""
        if self._removed:
            return
        if self._path.exists():
            self._path.chmod(0o700)
            _rmtree(self._path)
        self._removed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.remove()
