"""What is inside an artifact: Python wheels and sdists.

Archives come from builds we may not trust, so they are read without extraction to disk,
member by member, with caps: at most ``MAX_MEMBERS`` entries, metadata files at most
``MAX_METADATA`` bytes, and decompressed layer streams at most ``MAX_LAYER_BYTES``. A cap
hit raises :class:`ArchiveLimitError` rather than producing a silently partial SBOM.
Container images are read in :mod:`bastion.supplychain.image`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from bastion.errors import GateError
from bastion.supplychain.inventory import (
    Origin,
    Package,
    PackageKind,
    metadata_packages,
    parse_metadata,
)

__all__ = [
    "MAX_LAYER_BYTES",
    "MAX_MEMBERS",
    "ArchiveLimitError",
    "CappedReader",
    "Readable",
    "read_capped",
    "sdist_packages",
    "wheel_packages",
]

MAX_MEMBERS = 200_000
MAX_METADATA = 16 << 20
MAX_LAYER_BYTES = 8 << 30
MAX_FILES_LISTED = 20_000


class ArchiveLimitError(GateError):
    """An artifact archive is malformed or exceeds a safety cap; its SBOM cannot be made."""


class Readable(Protocol):
    """Anything with ``read(n) -> bytes``."""

    def read(self, size: int = -1, /) -> bytes:
        """Read at most ``size`` bytes."""
        ...


class CappedReader(io.RawIOBase):
    """A read-only stream that refuses to yield more than ``cap`` bytes."""

    def __init__(self, inner: Readable, cap: int, what: str) -> None:
        self._inner, self._left, self._what = inner, cap, what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            raise ArchiveLimitError(f"{self._what}: decompresses past the {MAX_LAYER_BYTES} cap")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def read_capped(stream: IO[bytes], what: str) -> bytes:
    data = stream.read(MAX_METADATA + 1)
    if len(data) > MAX_METADATA:
        raise ArchiveLimitError(f"{what}: larger than {MAX_METADATA} bytes")
    return data


def _record_hex(value: str) -> str | None:
    algo, _, b64 = value.partition("=")
    if algo != "sha256" or not b64:
        return None
    try:
        return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()
    except ValueError:
        return None


def wheel_packages(path: Path) -> list[Package]:
    """A wheel's distribution, its Requires-Dist entries and its RECORD files with hashes."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) > MAX_MEMBERS:
                raise ArchiveLimitError(f"{path}: more than {MAX_MEMBERS} members")
            dist_info = sorted(
                {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
            )
            if len(dist_info) != 1:
                raise ArchiveLimitError(f"{path}: not a wheel (expected one .dist-info directory)")
            with archive.open(f"{dist_info[0]}/METADATA") as stream:
                meta = parse_metadata(read_capped(stream, "METADATA").decode("utf-8", "replace"))
            with archive.open(f"{dist_info[0]}/RECORD") as stream:
                record = read_capped(stream, "RECORD").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ArchiveLimitError(f"{path}: unreadable wheel: {exc}") from exc
    main, requires = metadata_packages(meta, Origin.ARTIFACT)
    result = [p for p in [main] if p] + requires
    for line in record.splitlines()[:MAX_FILES_LISTED]:
        file_path, _, rest = line.partition(",")
        hex_digest = _record_hex(rest.split(",")[0]) if rest else None
        if file_path and hex_digest:
            result.append(
                Package(file_path, None, PackageKind.FILE, Origin.ARTIFACT, sha256=hex_digest)
            )
    return result


def sdist_packages(path: Path) -> list[Package]:
    """An sdist's distribution (PKG-INFO), requirements and regular files with hashes."""
    result: list[Package] = []
    meta_text: str | None = None
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for count, member in enumerate(archive):
                if count >= MAX_MEMBERS:
                    raise ArchiveLimitError(f"{path}: more than {MAX_MEMBERS} members")
                if not member.isfile():
                    continue
                stream = archive.extractfile(member)
                if stream is None:
                    continue
                parts = PurePosixPath(member.name).parts
                if len(parts) == 2 and parts[1] == "PKG-INFO":
                    meta_text = read_capped(stream, "PKG-INFO").decode("utf-8", "replace")
                    continue
                if len(result) < MAX_FILES_LISTED:
                    hasher = hashlib.sha256()
                    while chunk := stream.read(1 << 20):
                        hasher.update(chunk)
                    result.append(
                        Package(
                            member.name,
                            None,
                            PackageKind.FILE,
                            Origin.ARTIFACT,
                            sha256=hasher.hexdigest(),
                        )
                    )
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveLimitError(f"{path}: unreadable sdist: {exc}") from exc
    if meta_text is None:
        raise ArchiveLimitError(f"{path}: not an sdist (no top-level PKG-INFO)")
    main, requires = metadata_packages(parse_metadata(meta_text), Origin.ARTIFACT)
    return [p for p in [main] if p] + requires + result
