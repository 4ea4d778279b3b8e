"""One job cache entry as one stream of bytes: written from a workspace, read back into one.

The format is ours rather than tar so that reading it can do exactly what is safe and no
more: a header, then records in depth-first order, then an end record::

    BASTION-CACHE-1\\n
    kind (1 byte: d, f or e) · mode (u16) · path length (u16) · size (u64) · path · data

Paths are workspace-relative, ``/``-separated, and must fall inside the job's declared cache
paths (or be a folder above one). Writing opens every entry with ``O_NOFOLLOW|O_NONBLOCK``
through the folder's descriptor and keeps it only if ``fstat`` says regular file or folder:
a symbolic link, FIFO, socket or device in a cache path refuses the whole entry, so a job
cannot make the host read outside its workspace or block on a FIFO. Reading creates folders
and files through descriptors (``O_EXCL|O_NOFOLLOW``), so a link planted in the source tree
cannot redirect a restore out of the workspace, and hashes each byte as it passes, so the
caller compares the digest without reading the entry twice.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import stat
import struct
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Protocol

from bastion.errors import StoreError

__all__ = ["MAX_ENTRY_BYTES", "BundleReader", "CacheBlocked", "CacheError", "write_bundle"]

MAGIC = b"BASTION-CACHE-1\n"
_HEADER = struct.Struct(">cHHQ")
_CHUNK = 1 << 20
MAX_ENTRY_BYTES = 8 * 1024**3
MAX_ENTRIES = 500_000
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class CacheError(StoreError):
    """A cache entry that cannot be written or read back; the job goes on without it."""


class CacheBlocked(CacheError):
    """The workspace already has something where the entry would go (not the entry's fault)."""


def _covered(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r + "/") for r in roots)


def _above(path: str, roots: tuple[str, ...]) -> bool:
    return any(r.startswith(path + "/") for r in roots)


def normalise_paths(paths: tuple[str, ...]) -> tuple[str, ...]:
    """Declared paths, normalised, without one that lies inside another (written once)."""
    clean = sorted({PurePosixPath(p).as_posix() for p in paths})
    return tuple(p for p in clean if not _covered(p, tuple(q for q in clean if q != p)))


class BundleSink(Protocol):
    """Where a bundle is written: a file, or a filter in front of one (a secret scan)."""

    def write(self, data: bytes | memoryview, /) -> object:
        """Write all of ``data``."""


class _Writer:
    def __init__(self, out: BundleSink) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.total = 0
        self.entries = 0

    def put(self, data: bytes | memoryview) -> None:
        self.digest.update(data)
        self.out.write(data)

    def record(self, kind: bytes, mode: int, path: str, size: int) -> None:
        self.entries += 1
        self.total += size
        if self.entries > MAX_ENTRIES or self.total > MAX_ENTRY_BYTES:
            raise CacheError(f"more than {MAX_ENTRIES} files or {MAX_ENTRY_BYTES} bytes")
        name = path.encode()
        self.put(_HEADER.pack(kind, mode & 0o777, len(name), size) + name)

    def file(self, fd: int, path: str, size: int, mode: int) -> None:
        self.record(b"f", mode, path, size)
        left = size
        while left:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                raise CacheError(f"{path} shrank while it was saved")
            self.put(chunk)
            left -= len(chunk)

    def folder(self, fd: int, path: str) -> None:
        self.record(b"d", 0o755, path, 0)
        with os.scandir(fd) as listing:
            names = sorted(entry.name for entry in listing)
        for name in names:
            self.entry(fd, name, f"{path}/{name}")

    def entry(self, parent: int, name: str, path: str) -> None:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
        except OSError as exc:
            why = "a symbolic link" if exc.errno == errno.ELOOP else "not a readable file"
            raise CacheError(f"{path} is {why}; a cache holds only files and folders") from exc
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                self.folder(fd, path)
            elif stat.S_ISREG(info.st_mode):
                self.file(fd, path, info.st_size, info.st_mode)
            else:
                raise CacheError(f"{path} is a FIFO, socket or device; not cached")
        finally:
            os.close(fd)


def _open_parent(root_fd: int, parts: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """Open each folder of ``parts`` but the last, never through a link; yield (fd, path)."""
    fd = os.dup(root_fd)
    try:
        for index, part in enumerate(parts[:-1]):
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
            yield fd, "/".join(parts[: index + 1])
        yield fd, ""
    finally:
        os.close(fd)


def write_bundle(root: Path, paths: tuple[str, ...], out: BundleSink) -> tuple[str, int, int]:
    """Write ``paths`` of ``root`` to ``out``; (sha256 hex, files and folders, data bytes).

    A declared path that does not exist is left out; one that is, or goes through, a
    symbolic link or a special file raises :class:`CacheError`.
    """
    writer = _Writer(out)
    writer.put(MAGIC)
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        for declared in normalise_paths(paths):
            parts = PurePosixPath(declared).parts
            try:
                for fd, folder in _open_parent(root_fd, parts):
                    if folder:
                        writer.record(b"d", 0o755, folder, 0)
                    else:
                        writer.entry(fd, parts[-1], declared)
            except FileNotFoundError:
                continue  # the job made nothing there: nothing to keep
            except NotADirectoryError as exc:
                raise CacheError(
                    f"{declared}: a folder of it is a symbolic link or a file"
                ) from exc
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise CacheError(f"{declared} goes through a symbolic link") from exc
                raise
    finally:
        os.close(root_fd)
    writer.put(_HEADER.pack(b"e", 0, 0, 0))
    return writer.digest.hexdigest(), writer.entries, writer.total


class BundleReader:
    """Recreates a bundle under ``root``; :meth:`undo` removes everything it created.

    Use :meth:`read` once; it returns the sha256 of every byte read, for the caller to
    compare before trusting what was restored.
    """

    def __init__(self, root: Path, paths: tuple[str, ...]) -> None:
        self.root = root
        self.paths = normalise_paths(paths)
        self.created: list[str] = []
        self.files = 0
        self.bytes = 0
        self._digest = hashlib.sha256()
        self._buffer = bytearray(_CHUNK)

    def _take(self, source: io.BufferedIOBase, size: int) -> bytes:
        data = source.read(size)
        if len(data) != size:
            raise CacheError("the entry ends early")
        self._digest.update(data)
        return data

    def read(self, source: io.BufferedIOBase) -> str:
        """Restore from ``source``; raise :class:`CacheError` on anything unexpected."""
        if self._take(source, len(MAGIC)) != MAGIC:
            raise CacheError("not a cache entry")
        stack: list[tuple[str, int]] = [("", os.open(self.root, _DIR_FLAGS))]
        try:
            while True:
                kind, mode, length, size = _HEADER.unpack(self._take(source, _HEADER.size))
                if kind == b"e":
                    break
                path = self._take(source, length).decode("utf-8", errors="strict")
                parent_fd, name = self._parent(stack, path, kind)
                if kind == b"d":
                    stack.append((path, self._folder(parent_fd, name, path)))
                elif kind == b"f":
                    self._file(source, parent_fd, name, path, mode, size)
                else:
                    raise CacheError(f"unknown record kind {kind!r}")
            if source.read(1):
                raise CacheError("bytes after the end of the entry")
        except (UnicodeDecodeError, struct.error) as exc:
            raise CacheError(f"malformed entry: {exc}") from exc
        finally:
            for _path, fd in stack:
                os.close(fd)
        return self._digest.hexdigest()

    def _parent(self, stack: list[tuple[str, int]], path: str, kind: bytes) -> tuple[int, str]:
        pure = PurePosixPath(path)
        inside = _covered(path, self.paths) or (kind == b"d" and _above(path, self.paths))
        if not path or pure.is_absolute() or ".." in pure.parts or pure.as_posix() != path:
            raise CacheError(f"entry path {path!r} is not a plain relative path")
        if not inside:
            raise CacheError(f"entry path {path!r} is outside the job's cache paths")
        parent = pure.parent.as_posix() if len(pure.parts) > 1 else ""
        while stack and stack[-1][0] != parent:
            os.close(stack.pop()[1])
        if not stack:
            raise CacheError(f"entry path {path!r} comes before its folder")
        return stack[-1][1], pure.name

    def _folder(self, parent_fd: int, name: str, path: str) -> int:
        try:
            os.mkdir(name, 0o755, dir_fd=parent_fd)
            self.created.append(path)
        except FileExistsError:
            pass  # a folder of the source tree; opened below without following a link
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except OSError as exc:
            raise CacheBlocked(f"{path} is in the way in the workspace: not a folder") from exc

    def _file(
        self, source: io.BufferedIOBase, parent_fd: int, name: str, path: str, mode: int, size: int
    ) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(name, flags, 0o755 if mode & 0o111 else 0o644, dir_fd=parent_fd)
        except OSError as exc:
            raise CacheBlocked(f"{path} is in the way in the workspace") from exc
        self.created.append(path)
        view = memoryview(self._buffer)
        try:
            left = size
            while left:
                got = source.readinto(view[: min(left, _CHUNK)])
                if not got:
                    raise CacheError("the entry ends early")
                self._digest.update(view[:got])
                done = 0
                while done < got:
                    done += os.write(fd, view[done:got])
                left -= got
        finally:
            os.close(fd)
        self.files += 1
        self.bytes += size

    def undo(self) -> None:
        """Remove what :meth:`read` created, outermost first (nothing has run in between)."""
        made = set(self.created)
        for path in self.created:
            if any(parent.as_posix() in made for parent in PurePosixPath(path).parents):
                continue  # removed with the folder above it
            target = self.root / path
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
        self.created.clear()
