"""Put the artifacts of the jobs a job needs into its fresh workspace, checked and read-only.

Each artifact is copied from the store's file (``ReceivedArtifact.source``) to the
workspace-relative path its job left it at, hashing the bytes as they stream. When they do
not hash to the stored digest (a tampered or corrupt store) the copy is removed and
:class:`VerificationError` (reason ``artifact-digest-mismatch``) fails the job before any step
runs. Nothing on the way follows a symbolic link: the workspace holds the commit's files, and
a commit may make ``dist`` a link to ``/etc``.

The copy is mode 0444, owned by the user Bastion runs as. When Bastion runs as root each job
has a uid of its own (``bastion.sandbox.uids``) and the sandbox leaves these files out of what
it hands to that uid (``SandboxSpec.sealed_paths``), so the job reads them but can neither
write nor chmod them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from bastion.errors import SandboxError, VerificationError
from bastion.executors.interface import ReceivedArtifact

__all__ = ["deliver_artifacts"]

_CHUNK = 1 << 20
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def deliver_artifacts(root: Path, received: Sequence[ReceivedArtifact]) -> tuple[str, ...]:
    """Copy each artifact into workspace ``root``; return their workspace-relative paths.

    Raises :class:`VerificationError` when stored bytes do not match their digest and
    :class:`SandboxError` when an artifact cannot be placed (a path outside the workspace, a
    link or directory of the commit in the way, two artifacts at one path).
    """
    placed: dict[str, str] = {}
    for item in received:
        relative = _checked_path(item)
        key = relative.as_posix()
        if key in placed:
            raise SandboxError(
                f"jobs '{placed[key]}' and '{item.job}' both pass an artifact at {key}",
                hint="give the artifacts distinct paths in the jobs that build them",
            )
        _deliver_one(root, relative, item)
        placed[key] = item.job
    return tuple(placed)


def _checked_path(item: ReceivedArtifact) -> PurePosixPath:
    relative = PurePosixPath(item.path)
    if (
        not item.path
        or relative.is_absolute()
        or any(part in ("..", ".") for part in item.path.split("/"))
    ):
        raise SandboxError(f"artifact path {item.path!r} of job '{item.job}' leaves the workspace")
    if not _DIGEST.fullmatch(item.digest):
        raise SandboxError(f"artifact {item.path} of job '{item.job}' has no sha256 digest")
    return relative


def _deliver_one(root: Path, relative: PurePosixPath, item: ReceivedArtifact) -> None:
    source = _open_source(item)
    try:
        parent = _parent_dir(root, relative, item)
        try:
            _make_room(parent, relative, item)
            out = os.open(
                relative.name,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o444,
                dir_fd=parent,
            )
            try:
                actual = _copy_hashing(source, out)
                os.fchmod(out, 0o444)  # whatever the umask: read-only to everyone
            finally:
                os.close(out)
            if actual != item.digest:
                os.unlink(relative.name, dir_fd=parent)
                raise VerificationError(
                    f"artifact {relative} of job '{item.job}' does not match its stored digest "
                    f"{item.digest} (the stored bytes hash to {actual}); the job was not run",
                    reason="artifact-digest-mismatch",
                    hint=f"the artifact store was changed after '{item.job}' stored it "
                    f"({item.source}): never trust these bytes; rebuild and find out who wrote it",
                )
        finally:
            os.close(parent)
    finally:
        os.close(source)


def _open_source(item: ReceivedArtifact) -> int:
    """The stored file, opened without following a link or blocking on a FIFO."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(item.source, flags)
    except OSError as exc:
        raise SandboxError(
            f"cannot read artifact {item.path} of job '{item.job}' from the store "
            f"({item.source}): {exc.strerror}",
            hint="the artifact store lost a blob it had stored; rebuild",
        ) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SandboxError(f"stored artifact {item.source} is not a regular file")
    return fd


def _parent_dir(root: Path, relative: PurePosixPath, item: ReceivedArtifact) -> int:
    """A descriptor of the artifact's folder in the workspace, made as needed, links refused."""
    fd = os.open(root, _DIR)
    try:
        for part in relative.parts[:-1]:
            with contextlib.suppress(FileExistsError):  # the commit has it; opened below
                os.mkdir(part, 0o755, dir_fd=fd)
            nxt = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except OSError as exc:
        os.close(fd)
        raise SandboxError(
            f"cannot place artifact {relative} of job '{item.job}': {part!r} in the workspace "
            f"is not a directory ({exc.strerror})",
            hint="the commit has a file or link where the artifact's folder goes; remove it",
        ) from exc
    return fd


def _make_room(parent: int, relative: PurePosixPath, item: ReceivedArtifact) -> None:
    """Remove a file or link of the commit at the artifact's path: the artifact wins."""
    try:
        info = os.lstat(relative.name, dir_fd=parent)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        raise SandboxError(
            f"cannot place artifact {relative} of job '{item.job}': the workspace has a "
            "directory there",
            hint="remove that directory from the commit, or build the artifact elsewhere",
        )
    os.unlink(relative.name, dir_fd=parent)


def _copy_hashing(source: int, out: int) -> str:
    digest = hashlib.sha256()
    while chunk := os.read(source, _CHUNK):
        digest.update(chunk)
        view = memoryview(chunk)
        while view:
            view = view[os.write(out, view) :]
    return f"sha256:{digest.hexdigest()}"
