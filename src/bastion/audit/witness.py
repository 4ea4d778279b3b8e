"""Checkpoints kept outside the database: an append-only witness file per log.

    >>> from pathlib import Path; import tempfile
    >>> witness = WitnessFile(Path(tempfile.mkdtemp()) / "log.witness")
    >>> witness.append("example.com/log\\n1\\nAAAA\\n\\n— example.com/log c2ln\\n")
    >>> len(witness.read() or [])
    1

Someone who can write the state database can rewrite events, recompute every derived hash
and delete the checkpoints that would betray them; they cannot unsign what the witness kept.
Every checkpoint :class:`~bastion.audit.AuditLog` signs is appended here too, and
verification checks the database against every line.

Format: one signed note per line, base64 (standard alphabet) of its UTF-8 text, because a
note spans several lines. Files are opened with ``O_APPEND | O_NOFOLLOW``, mode 0600, and
fsynced: a planted symlink cannot redirect the writes, and a line, once written, stays.
The default directory is ``$BASTION_HOME/audit-witness``; one file per log, named by the
log's origin and the hash of its first event (one key signs every project's log and the
user's own, so the origin alone would mix them).
"""

from __future__ import annotations

import base64
import binascii
import errno
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bastion.errors import AuditError
from bastion.home import bastion_home

__all__ = [
    "WITNESS_DIR_NAME",
    "WitnessDirectory",
    "WitnessFile",
    "WitnessSource",
    "decode_line",
    "encode_line",
    "witness_file_name",
]

WITNESS_DIR_NAME = "audit-witness"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_TAIL = 64 * 1024


def encode_line(note: str) -> str:
    """One witness line (without the newline) holding ``note``."""
    return base64.b64encode(note.encode()).decode()


def decode_line(line: str, where: str) -> str:
    """The note of one witness line; AuditError naming ``where`` if it is not one."""
    try:
        return base64.b64decode(line.strip(), validate=True).decode()
    except (binascii.Error, ValueError) as exc:
        raise AuditError(
            f"{where}: not a witness line (base64 of a signed note)",
            hint="the witness file is damaged: restore it from the copy you pushed elsewhere",
        ) from exc


def witness_file_name(origin: str, first_leaf: bytes) -> str:
    """The file name of the log ``origin`` whose event 0 has leaf hash ``first_leaf``."""
    return f"{_UNSAFE.sub('_', origin)}.{first_leaf.hex()[:32]}.witness"


class WitnessSource(Protocol):
    """Where a log's witness file is: a directory of them, or one given file."""

    def locate(self, origin: str, first_leaf: bytes | None) -> WitnessFile | None:
        """The witness file of this log (``first_leaf`` None: it is empty), None if unknown."""
        ...


@dataclass(frozen=True)
class WitnessFile:
    """One log's witness file; also a :class:`WitnessSource` naming itself (``--witness``)."""

    path: Path

    def locate(self, origin: str, first_leaf: bytes | None) -> WitnessFile | None:
        """This file, whatever the log (the operator named it): it tells even an emptied one."""
        return self

    def read(self) -> list[str] | None:
        """Every note in order; None when the file does not exist."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error("read", exc) from exc
        with os.fdopen(fd, "rb") as fp:
            data = fp.read()
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError as exc:
            raise AuditError(f"{self.path}: the witness file is not ASCII") from exc
        return [
            decode_line(line, f"{self.path}:{number}")
            for number, line in enumerate(text.split("\n"), start=1)
            if line.strip()
        ]

    def last(self) -> str | None:
        """The newest note, read from the file's tail; None when there is none."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error("read", exc) from exc
        with os.fdopen(fd, "rb") as fp:
            size = fp.seek(0, os.SEEK_END)
            fp.seek(max(0, size - _TAIL))
            lines = [line for line in fp.read().split(b"\n") if line.strip()]
        if not lines:
            return None
        return decode_line(lines[-1].decode("ascii", "replace"), f"{self.path}: last line")

    def append(self, note: str) -> None:
        """Append ``note`` as one line and fsync it."""
        self.append_many([note])

    def append_many(self, notes: Iterable[str]) -> None:
        """Append notes (one write, one fsync); the file is created 0600 if missing."""
        data = "".join(encode_line(note) + "\n" for note in notes).encode()
        if not data:
            return
        existed = self.path.exists()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise self._error("write", exc) from exc
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode) or mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise AuditError(
                    f"{self.path}: the witness file is not a private regular file",
                    hint=f"it must be a file writable only by its owner: chmod 600 {self.path}",
                )
            os.write(fd, data)
            os.fsync(fd)
        except OSError as exc:
            raise self._error("write", exc) from exc
        finally:
            os.close(fd)
        if not existed:
            _fsync_directory(self.path.parent)

    def append_new(self, notes: Iterable[str]) -> int:
        """Append the notes this file does not hold yet (a push); return how many."""
        held = set(self.read() or [])
        fresh = [note for note in dict.fromkeys(notes) if note not in held]
        self.append_many(fresh)
        return len(fresh)

    def _error(self, verb: str, exc: OSError) -> AuditError:
        if exc.errno == errno.ELOOP:
            return AuditError(
                f"{self.path}: the witness file is a symbolic link; refusing to follow it",
                hint="remove the link; the witness must be a regular file",
            )
        return AuditError(f"{self.path}: cannot {verb} the witness file: {exc.strerror}")


@dataclass(frozen=True)
class WitnessDirectory:
    """A directory holding one witness file per log; default ``$BASTION_HOME/audit-witness``.

    ``path`` None resolves the home when used, not when built, so a long-lived log object
    follows the environment it runs in.
    """

    path: Path | None = None

    def locate(self, origin: str, first_leaf: bytes | None) -> WitnessFile | None:
        """The witness file of the log ``origin`` starting with ``first_leaf``; None if empty."""
        if first_leaf is None:
            return None
        directory = self.path or bastion_home() / WITNESS_DIR_NAME
        return WitnessFile(directory / witness_file_name(origin, first_leaf))


def _fsync_directory(path: Path) -> None:
    """Make a new file's directory entry durable (best effort where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        # Some filesystems refuse fsync on a directory; the file's own fsync still holds.
        pass
    finally:
        os.close(fd)
