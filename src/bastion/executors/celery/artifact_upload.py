"""A job's artifacts from its worker to the server, in signed chunks on the reply queue.

The worker stages a job's artifacts in a folder of its own (removed with the job), sends
each file as ``artifact`` messages (:func:`artifact_messages`, at most :data:`CHUNK` bytes
each, signed like every reply) before the job's result, and the result carries each file's
``sha256``. The server writes the chunks under the job's artifact folder as they arrive
(:func:`receive_chunk`) and, before it takes the result, hashes what arrived against those
digests (the executor's ``_checked``): a file altered, cut short or lost on the way fails the
job. A chunk naming a path outside the artifact folder, through a link, or out of order is
refused (:class:`ArtifactRefused`, reason ``artifact-path`` or ``artifact-order``) and fails
the job the same way.

A job's artifacts may total at most :data:`ARTIFACT_CAP` bytes, on both sides: the worker
fails a job past it and uploads nothing (:func:`check_artifact_total`, the server would
refuse it anyway), and the server refuses a chunk that would take the job's artifact folder
past it (reason ``artifact-size``), so that a faulty or compromised worker of a pool, whose
chunks verify, cannot fill the server's disk by sending chunks forever. Likewise at most
:data:`ARTIFACT_FILE_CAP` files (reason ``artifact-count``): empty files count no bytes, and
without it such a worker could exhaust the server's inodes one empty chunk at a time.

    >>> [m["offset"] for m in artifact_messages(root, "dist/app", "7.ab.1", "w")]  # doctest: +SKIP
    [0, 262144]
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from bastion.errors import VerificationError

__all__ = [
    "ARTIFACT_CAP",
    "ARTIFACT_FILE_CAP",
    "CHUNK",
    "ArtifactRefused",
    "artifact_messages",
    "check_artifact_total",
    "receive_chunk",
]

CHUNK = 256 * 1024
"""Bytes of an artifact per message (base64 on the wire: a third more)."""
ARTIFACT_CAP = 2 * 1024**3
"""Bytes of artifacts a job may upload, summed over its files (what its artifact folder on
the server may hold). The local executor copies artifacts without a limit (onto its own
disk), so this is the one cap: 2 GiB is well above a release binary, a wheel set or a
compressed container image, and bounds what one job of a worker can put on the server's
disk. A larger output belongs in a registry, not in a job's artifacts."""

ARTIFACT_FILE_CAP = 10_000
"""Files a job may upload. Far above a build's real outputs (a wheel set, a docs site of a
few thousand pages); a tree of more files belongs in an archive, one artifact."""

_SIZE_HINT = (
    "a job's artifacts may total at most {cap}: narrow its `artifacts:` patterns to what "
    "later jobs and the release need (a large output belongs in a registry)"
)


class ArtifactRefused(VerificationError):
    """A chunk the server does not write (outside the artifact folder, out of order, past
    the job's cap), or a job whose artifacts the worker does not send (past the cap)."""


def _amount(size: int) -> str:
    """``size`` bytes for a person: ``2.0 GiB (2147483648 bytes)`` or ``17 bytes`` (exact
    too: a total just past the cap rounds to the cap)."""
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GiB ({size} bytes)"
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB ({size} bytes)"
    return f"{size} bytes"


def check_artifact_total(
    root: Path,
    artifacts: Iterable[str],
    cap: int = ARTIFACT_CAP,
    file_cap: int = ARTIFACT_FILE_CAP,
) -> int:
    """The bytes of ``artifacts`` staged under ``root``, or :class:`ArtifactRefused`
    (``artifact-size``) when they total more than ``cap``, (``artifact-count``) when they
    are more than ``file_cap`` files: the worker checks this before it sends a chunk, since
    the server would refuse the upload past either cap anyway."""
    files = list(artifacts)
    if len(files) > file_cap:
        raise ArtifactRefused(
            f"the job has {len(files)} artifact files, more than the {file_cap} a job may "
            "upload: nothing was sent",
            reason="artifact-count",
            hint="pack many small outputs into one archive (a tar or zip) and keep that",
        )
    total = sum((root / relative).lstat().st_size for relative in files)
    if total > cap:
        raise ArtifactRefused(
            f"the job's artifacts total {_amount(total)}, more than the {_amount(cap)} a job "
            "may upload: nothing was sent",
            reason="artifact-size",
            hint=_SIZE_HINT.format(cap=_amount(cap)),
        )
    return total


def artifact_messages(
    root: Path, relative: str, task_id: str, worker: str
) -> Iterator[dict[str, Any]]:
    """The ``artifact`` messages carrying ``root/relative`` (an empty file is one)."""
    with (root / relative).open("rb") as handle:
        offset = 0
        while True:
            data = handle.read(CHUNK)
            yield {
                "type": "artifact",
                "task_id": task_id,
                "worker": worker,
                "path": relative,
                "offset": offset,
                "data": base64.b64encode(data).decode("ascii"),
            }
            offset += len(data)
            if len(data) < CHUNK:
                return


def _inside(path: object) -> PurePosixPath:
    """``path`` as a relative path with no ``..`` (else :class:`ArtifactRefused`)."""
    relative = PurePosixPath(str(path))
    if (
        not isinstance(path, str)
        or not path
        or relative.is_absolute()
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise ArtifactRefused(
            f"artifact path {path!r} is not inside the job's artifact folder",
            reason="artifact-path",
        )
    return relative


def receive_chunk(
    root: Path,
    message: Mapping[str, Any],
    stored: int,
    cap: int = ARTIFACT_CAP,
    *,
    files: set[str] | None = None,
    file_cap: int = ARTIFACT_FILE_CAP,
) -> int:
    """Write one ``artifact`` message's bytes under ``root`` at its offset; returns the bytes
    the folder holds after it (the next call's ``stored``).

    Folders are made as needed; none on the way and not the file itself may be a symbolic
    link, and each chunk must start where the file ends (the first one truncates it: a
    retried job's upload starts over). A chunk that would take the folder past ``cap`` bytes
    is refused before a byte of it is written.

    ``stored`` is the caller's running total of the bytes under ``root`` (0 for a new job),
    kept from this function's answers: each chunk changes it by what it adds to its file, a
    first chunk's truncation included, so it follows the folder across a retried attempt
    (whose leftovers stay on disk, and count); a write that failed half-way can leave it
    high, never low. Summing the folder's files instead would need
    no state but cost a walk of every file per chunk: quadratic in a job's file count, and a
    hostile worker sending many small files would stall the server's message thread.

    ``files``, when given, is the caller's set of the paths the job has written (every
    attempt), kept up to date here: a chunk of a new path when it already holds
    ``file_cap`` is refused (``artifact-count``) before the file is made."""
    relative = _inside(message.get("path"))
    if files is not None and str(relative) not in files and len(files) >= file_cap:
        raise ArtifactRefused(
            f"artifact {relative} would be file {len(files) + 1} of the job, more than the "
            f"{file_cap} a job may upload: refused (a worker checks this before it uploads, "
            "so this one is faulty or compromised)",
            reason="artifact-count",
        )
    offset, data = message.get("offset"), message.get("data")
    if not isinstance(offset, int) or offset < 0 or not isinstance(data, str):
        raise ArtifactRefused("an artifact chunk without offset or data", reason="malformed")
    try:
        chunk = base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise ArtifactRefused("an artifact chunk is not base64", reason="malformed") from exc
    fd = _open_under(root, relative)
    try:
        size = os.fstat(fd).st_size
        if offset not in (0, size):  # a first chunk, or one where the file ends
            raise ArtifactRefused(
                f"a chunk of artifact {relative} arrived out of order", reason="artifact-order"
            )
        _check_cap(relative, stored - size + offset + len(chunk), cap)
        if offset == 0:
            os.ftruncate(fd, 0)  # after the checks: a refused chunk leaves the file as it was
        written = os.pwrite(fd, chunk, offset)
    finally:
        os.close(fd)
    if files is not None:
        files.add(str(relative))
    return stored - size + offset + written


def _check_cap(relative: PurePosixPath, after: int, cap: int) -> None:
    """Refuse a chunk that would leave more than ``cap`` bytes in the job's folder."""
    if after > cap:
        raise ArtifactRefused(
            f"a chunk of artifact {relative} would take the job's artifacts past "
            f"{_amount(cap)}: refused (a worker checks this before it uploads, so this one "
            "is faulty or compromised)",
            reason="artifact-size",
            hint=_SIZE_HINT.format(cap=_amount(cap)),
        )


def _open_under(root: Path, relative: PurePosixPath) -> int:
    """A descriptor to write ``root/relative`` (created empty if new), through no link."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)  # the server's own folder
    folder = root.resolve()
    for part in relative.parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            raise ArtifactRefused(
                f"artifact path {relative} goes through a link", reason="artifact-path"
            )
        folder.mkdir(mode=0o700, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(folder / relative.name, flags, 0o600)
    except OSError as exc:  # ELOOP: the file is a link
        raise ArtifactRefused(
            f"artifact {relative} cannot be written: {exc.strerror}", reason="artifact-path"
        ) from exc
