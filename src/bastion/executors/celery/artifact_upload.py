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

    >>> [m["offset"] for m in artifact_messages(root, "dist/app", "7.ab.1", "w")]  # doctest: +SKIP
    [0, 262144]
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from bastion.errors import VerificationError

__all__ = ["CHUNK", "ArtifactRefused", "artifact_messages", "receive_chunk"]

CHUNK = 256 * 1024
"""Bytes of an artifact per message (base64 on the wire: a third more)."""


class ArtifactRefused(VerificationError):
    """A chunk the server does not write: outside the artifact folder, or out of order."""


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


def receive_chunk(root: Path, message: Mapping[str, Any]) -> None:
    """Write one ``artifact`` message's bytes under ``root`` at its offset.

    Folders are made as needed; none on the way and not the file itself may be a symbolic
    link, and each chunk must start where the file ends (the first one truncates it: a
    retried job's upload starts over)."""
    relative = _inside(message.get("path"))
    offset, data = message.get("offset"), message.get("data")
    if not isinstance(offset, int) or offset < 0 or not isinstance(data, str):
        raise ArtifactRefused("an artifact chunk without offset or data", reason="malformed")
    try:
        chunk = base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise ArtifactRefused("an artifact chunk is not base64", reason="malformed") from exc
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
        fd = os.open(folder / relative.name, flags | (os.O_TRUNC if offset == 0 else 0), 0o600)
    except OSError as exc:  # ELOOP: the file is a link
        raise ArtifactRefused(
            f"artifact {relative} cannot be written: {exc.strerror}", reason="artifact-path"
        ) from exc
    try:
        if os.fstat(fd).st_size != offset:
            raise ArtifactRefused(
                f"a chunk of artifact {relative} arrived out of order", reason="artifact-order"
            )
        os.pwrite(fd, chunk, offset)
    finally:
        os.close(fd)
