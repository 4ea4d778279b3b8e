"""Layers applied in order, as tar streams, into an in-memory tree: nothing touches the disk.

A later layer's entry replaces an earlier one's; ``.wh.NAME`` removes ``NAME`` (and what is
under it) from lower layers; ``.wh..wh..opq`` empties its directory of lower layers' entries.
Only files a :class:`Collector` asks for are read: small ones into memory, executables and
archives into a bounded spooled temporary file (random access for ELF and zip readers).

Hostile layers are refused with the reason (``..`` or absolute member names, a stream past
:data:`MAX_LAYER_BYTES`, more than :data:`MAX_LAYER_MEMBERS` members); files past the read caps
(a 10 GB sparse file) are skipped and listed in :attr:`Walk.skipped`, never read. Symlinks are
recorded, never followed; one whose target climbs out of the root is listed in
:attr:`Walk.escaping_links`.
"""

from __future__ import annotations

import enum
import gzip
import io
import posixpath
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from bastion.oci.errors import ImageError, RefusalReason
from bastion.oci.source import Image

__all__ = [
    "MAX_BINARY_BYTES",
    "MAX_LAYER_BYTES",
    "MAX_LAYER_MEMBERS",
    "MAX_SMALL_BYTES",
    "Collector",
    "Entry",
    "Handling",
    "Walk",
    "iter_files",
    "walk_image",
]

MAX_LAYER_BYTES = 16 * 1024**3  # uncompressed tar stream of one layer
MAX_LAYER_MEMBERS = 1_000_000
MAX_SMALL_BYTES = 8 * 1024 * 1024  # a status file, METADATA, package.json
MAX_BINARY_BYTES = 512 * 1024 * 1024  # an executable or jar spooled for random access
_SPOOL_IN_MEMORY = 16 * 1024 * 1024
_BINARY_MAGICS = (b"\x7fELF", b"PK\x03\x04")
_ZSTD = b"\x28\xb5\x2f\xfd"


class Handling(enum.Enum):
    """What a collector wants of a file."""

    SKIP = "skip"
    SMALL = "small"  # the whole content, in memory
    BINARY = "binary"  # spooled, if it starts like an ELF or zip file


class Collector(Protocol):
    """Decides which files are read and turns their content into facts."""

    def handling(self, path: str, size: int, mode: int) -> Handling:
        """How ``path`` (relative, no leading slash) should be read."""
        ...

    def inspect(self, path: str, layer: int, content: bytes | IO[bytes]) -> object | None:
        """Facts from one file's content; kept while the file survives later layers."""
        ...


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of the final filesystem."""

    kind: str  # file, dir, symlink, hardlink, other
    mode: int
    size: int
    layer: int
    link: str = ""


@dataclass
class Walk:
    """The final tree, the facts of surviving files, and what was skipped or refused."""

    entries: dict[str, Entry] = field(default_factory=dict)
    facts: dict[str, object] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    escaping_links: list[str] = field(default_factory=list)
    layer_bytes: int = 0

    def remove(self, path: str, below_layer: int, *, keep_self: bool = False) -> None:
        """Drop ``path`` and what is under it, where a layer older than ``below_layer`` put it."""
        prefix = f"{path}/" if path else ""
        doomed = [
            p
            for p, e in self.entries.items()
            if e.layer < below_layer and (p.startswith(prefix) or (p == path and not keep_self))
        ]
        for p in doomed:
            del self.entries[p]
            self.facts.pop(p, None)


class _Capped(io.RawIOBase):
    """Counts bytes read and refuses a stream longer than ``limit``."""

    def __init__(self, stream: IO[bytes], limit: int, what: str) -> None:
        self._stream, self._limit, self._what, self.count = stream, limit, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._stream.read(len(view))
        self.count += len(data)
        if self.count > self._limit:
            raise ImageError(
                f"{self._what}: more than {self._limit} bytes uncompressed",
                reason=RefusalReason.TOO_LARGE,
            )
        view[: len(data)] = data
        return len(data)


def _tar_stream(blob: io.RawIOBase, what: str) -> _Capped:
    buffered = io.BufferedReader(blob, 1 << 20)
    head = buffered.peek(4)[:4]
    if head[:2] == b"\x1f\x8b":
        unzipped: IO[bytes] = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]
        return _Capped(unzipped, MAX_LAYER_BYTES, what)
    if head == _ZSTD:
        raise ImageError(
            f"{what} is zstd-compressed, which this Python cannot read",
            reason=RefusalReason.UNSUPPORTED,
            hint="convert the image with gzip layers (skopeo copy --dest-compress-format gzip)",
        )
    return _Capped(buffered, MAX_LAYER_BYTES, what)


def _member_path(member: tarfile.TarInfo, what: str) -> str:
    name = member.name
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise ImageError(
            f"{what}: member {name[:200]!r} is absolute or climbs out with '..'",
            reason=RefusalReason.UNSAFE_PATH,
            hint="a layer's members are relative paths under the image root",
        )
    return "/".join(parts)


def _escapes(path: str, target: str) -> bool:
    if target.startswith("/"):
        return False  # resolved against the image root, inside it by definition
    depth = path.count("/")
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, how: Handling) -> bytes | IO[bytes] | None:
    stream = tar.extractfile(member)
    if stream is None:
        return None
    if how is Handling.SMALL:
        return stream.read(MAX_SMALL_BYTES)
    head = stream.read(4)
    if head not in _BINARY_MAGICS:
        return None
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    spool.write(head)
    while chunk := stream.read(1 << 20):
        spool.write(chunk)
    spool.seek(0)
    return spool


def _apply(walk: Walk, tar: tarfile.TarFile, layer: int, collector: Collector, what: str) -> None:
    for count, member in enumerate(tar):
        if count >= MAX_LAYER_MEMBERS:
            raise ImageError(
                f"{what}: more than {MAX_LAYER_MEMBERS} members", reason=RefusalReason.TOO_LARGE
            )
        path = _member_path(member, what)
        parent, base = posixpath.split(path)
        if base == ".wh..wh..opq":
            walk.remove(parent, layer, keep_self=True)
            continue
        if base.startswith(".wh."):
            walk.remove(posixpath.join(parent, base[4:]), layer)
            continue
        _add(walk, tar, member, path, layer, collector)


def _add(
    walk: Walk,
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    path: str,
    layer: int,
    collector: Collector,
) -> None:
    if not path:
        return
    old = walk.entries.get(path)
    if old is not None and old.kind == "dir" and not member.isdir():
        walk.remove(path, layer + 1)  # a file over a directory hides everything below it
    walk.facts.pop(path, None)
    if member.issym():
        walk.entries[path] = Entry("symlink", member.mode, 0, layer, member.linkname)
        if _escapes(path, member.linkname):
            walk.escaping_links.append(f"{path} -> {member.linkname}")
        return
    if member.islnk():
        target = "/".join(p for p in member.linkname.split("/") if p not in ("", "."))
        walk.entries[path] = Entry("hardlink", member.mode, 0, layer, target)
        if target in walk.facts:
            walk.facts[path] = walk.facts[target]
        return
    kind = "dir" if member.isdir() else "file" if member.isreg() else "other"
    walk.entries[path] = Entry(kind, member.mode, member.size, layer)
    if kind == "file":
        _collect(walk, tar, member, path, layer, collector)


def _collect(
    walk: Walk,
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    path: str,
    layer: int,
    collector: Collector,
) -> None:
    how = collector.handling(path, member.size, member.mode)
    if how is Handling.SKIP:
        return
    cap = MAX_SMALL_BYTES if how is Handling.SMALL else MAX_BINARY_BYTES
    if member.size > cap:
        walk.skipped.append(f"{path}: {member.size} bytes, past the {cap}-byte read limit")
        return
    content = _read(tar, member, how)
    if content is None:
        return
    try:
        fact = collector.inspect(path, layer, content)
    finally:
        if not isinstance(content, bytes):
            content.close()
    if fact is not None:
        walk.facts[path] = fact


def walk_image(image: Image, collector: Collector) -> Walk:
    """Apply every layer of ``image`` in order; each blob is digest-checked as it streams."""
    walk = Walk()
    for number, descriptor in enumerate(image.layers):
        what = f"layer {number} ({descriptor.digest})"
        with image.open_blob(descriptor) as blob:
            stream = _tar_stream(blob, what)
            try:
                with tarfile.open(fileobj=stream, mode="r|") as tar:
                    _apply(walk, tar, number, collector, what)
            except tarfile.TarError as exc:
                blob.drain()  # a tampered blob is named as such, not as a broken tar
                raise ImageError(
                    f"{what}: not a readable tar: {exc}", reason=RefusalReason.MALFORMED
                ) from exc
            while stream.read(1 << 20):
                pass  # trailing padding still counts toward the digest
            blob.drain()
            walk.layer_bytes += stream.count
    return walk


def iter_files(walk: Walk) -> Iterator[tuple[str, Entry]]:
    """Regular files of the final tree, sorted by path."""
    for path in sorted(walk.entries):
        entry = walk.entries[path]
        if entry.kind == "file":
            yield path, entry
