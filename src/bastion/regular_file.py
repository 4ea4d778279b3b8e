"""Reading a file a job could have written: a regular file only, never through a link, bounded.

    data = read_regular_file(workspace, "reports/gate.json", limit=64 * 2**20)
    if isinstance(data, Refused):
        raise GateError(f"the gate's report {data.text()}")

Everything in a workspace (artifacts, gate reports, cache inputs, SARIF logs) is the job's
to shape. A plain ``open()`` of what it left can hang Bastion for good: a FIFO blocks the
opener until a writer comes, and no signal frees a thread waiting there (Ctrl-C would print
"cancelled" and never end). A symlink would read a host file; a device may never end.

So the path is walked one component at a time from a directory descriptor, each with
``O_NOFOLLOW``, the last also with ``O_NONBLOCK`` (a FIFO opens at once, a socket fails);
then ``fstat`` on that descriptor decides, so nothing can be swapped in between; only a
regular file is read, and at most ``limit`` bytes. Like :mod:`bastion.errors`, this root
module may be imported by every package, leaf packages included.
"""

from __future__ import annotations

import enum
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["Refusal", "Refused", "open_regular_file", "read_regular_file"]

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_STEP = _DIR | os.O_NOFOLLOW
_LEAF = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 20


class Refusal(enum.StrEnum):
    """Why a path was not read; the value completes "<path> ..."."""

    MISSING = "does not exist"
    OUTSIDE = "is not a relative path inside its directory"
    LINK = "is, or goes through, a symbolic link"
    DIRECTORY = "is a directory"
    SPECIAL = "is not a regular file (a FIFO, socket or device)"
    TOO_LARGE = "is larger than the limit"
    UNREADABLE = "cannot be read"


@dataclass(frozen=True, slots=True)
class Refused:
    """A path that was not read, and why (``detail``: the limit or the system's words)."""

    path: str
    refusal: Refusal
    detail: str = ""

    def text(self) -> str:
        """``<path> <why>``, for an error message."""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.path} {self.refusal.value}{extra}"


def open_regular_file(directory: Path, relative: str | PurePosixPath) -> int | Refused:
    """A read descriptor of ``directory/relative`` if it is a regular file reached without a
    link; the caller closes it. ``directory`` itself is trusted (it may be a link)."""
    path = PurePosixPath(relative)
    shown = path.as_posix()
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return Refused(shown, Refusal.OUTSIDE)
    fd = os.open(directory, _DIR)
    name = path.parts[0]
    try:
        for name in path.parts[:-1]:
            nxt = os.open(name, _STEP, dir_fd=fd)
            os.close(fd)
            fd = nxt
        name = path.parts[-1]
        leaf = os.open(name, _LEAF, dir_fd=fd)
    except OSError as exc:
        return Refused(shown, *_why(fd, name, exc))
    finally:
        os.close(fd)
    mode = os.fstat(leaf).st_mode
    if stat.S_ISREG(mode):
        return leaf
    os.close(leaf)
    return Refused(shown, Refusal.DIRECTORY if stat.S_ISDIR(mode) else Refusal.SPECIAL)


def read_regular_file(
    directory: Path, relative: str | PurePosixPath, *, limit: int
) -> bytes | Refused:
    """The bytes of ``directory/relative`` (see :func:`open_regular_file`), at most ``limit``."""
    fd = open_regular_file(directory, relative)
    if isinstance(fd, Refused):
        return fd
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        return Refused(PurePosixPath(relative).as_posix(), Refusal.UNREADABLE, exc.strerror or "")
    finally:
        os.close(fd)
    return Refused(PurePosixPath(relative).as_posix(), Refusal.TOO_LARGE, f"{limit} bytes")


def _why(fd: int, name: str, exc: OSError) -> tuple[Refusal, str]:
    """Name what stopped the walk at ``name`` (in folder ``fd``), for the message only: the
    open already refused it, so a race here can only change the words."""
    if exc.errno == errno.ENOENT:
        return Refusal.MISSING, ""
    if exc.errno == errno.ENXIO:  # open() of a socket
        return Refusal.SPECIAL, ""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        try:
            linked = stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
        except OSError:
            linked = exc.errno == errno.ELOOP
        if linked or exc.errno == errno.ELOOP:
            return Refusal.LINK, ""
        return Refusal.MISSING, "a parent is not a folder"
    return Refusal.UNREADABLE, exc.strerror or str(exc)
