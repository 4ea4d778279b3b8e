"""Replacing a file whole: readers see the old content or the new, never half of either.

    with replacing(path) as out:     # a private temporary file beside ``path``
        out.write(data)              # an exception here leaves ``path`` untouched
                                     # on a clean exit it is flushed, synced and renamed

The vault, the key stores, the artifact store, audit exports and caches all need this; one
definition keeps each of them from getting a detail wrong (the temporary file left behind
after an error, a world-readable mode, a rename that a crash can undo). Like
:mod:`bastion.errors`, this root module may be imported by every package.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["fsync_directory", "replacing"]


@contextlib.contextmanager
def replacing(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends without an exception.

    The temporary file is created beside ``path`` (same file system, so the rename is
    atomic) with mode 0600, exclusively and never through a symlink. ``durable`` also syncs
    the file and its directory, so the new content survives a crash once this returns; a
    cache that may be lost can skip that cost.
    """
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    partial = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    if durable:
        fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` survive a crash."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
