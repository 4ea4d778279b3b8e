"""What is inside a container image tarball (``docker save`` archive or OCI image layout).

The layers are read in order, as tar streams, without extraction to disk; a later layer's
file (or whiteout) replaces an earlier one's. From the final filesystem view we read dpkg's
status file, apk's installed database and Python ``*.dist-info/METADATA``. Layers are plain
or gzip tar; any other compression (zstd) is listed as a layer with property
``bastion:inspected=false`` instead of guessing its contents. Caps as in ``contents``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from bastion.supplychain.contents import (
    MAX_LAYER_BYTES,
    MAX_MEMBERS,
    ArchiveLimitError,
    CappedReader,
    read_capped,
)
from bastion.supplychain.inventory import (
    Origin,
    Package,
    PackageKind,
    metadata_packages,
    parse_metadata,
    spdx_license,
)

__all__ = ["image_packages", "is_image_archive"]


def _dpkg_status(text: str) -> Iterator[Package]:
    for paragraph in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in paragraph.splitlines()
            if ": " in line and line[0] != " "
        )
        if "Package" not in fields or "install ok installed" not in fields.get("Status", ""):
            continue
        name, version = fields["Package"], fields.get("Version")
        arch = fields.get("Architecture")
        purl = f"pkg:deb/debian/{name}@{version}" + (f"?arch={arch}" if arch else "")
        yield Package(name, version, PackageKind.OS_PACKAGE, Origin.ARTIFACT, purl=purl)


def _apk_installed(text: str) -> Iterator[Package]:
    for block in text.split("\n\n"):
        fields = {
            line[0]: line[2:] for line in block.splitlines() if len(line) > 2 and line[1] == ":"
        }
        if "P" not in fields:
            continue
        name, version = fields["P"], fields.get("V")
        yield Package(
            name,
            version,
            PackageKind.OS_PACKAGE,
            Origin.ARTIFACT,
            purl=f"pkg:apk/alpine/{name}@{version}",
            license=spdx_license(fields.get("L")),
        )


def _layer_files(layer: IO[bytes], what: str) -> dict[str, bytes | None] | None:
    """Interesting files of one layer (None marks a whiteout); None if not a (gzip) tar."""
    head = layer.read(512)
    raw: IO[bytes] = io.BufferedReader(CappedReader(_Prefixed(head, layer), MAX_LAYER_BYTES, what))
    if head[:2] == b"\x1f\x8b":
        unzipped = gzip.GzipFile(fileobj=raw, mode="rb")
        raw = io.BufferedReader(CappedReader(unzipped, MAX_LAYER_BYTES, what))
    elif head[257:262] != b"ustar":
        return None
    found: dict[str, bytes | None] = {}
    with tarfile.open(fileobj=raw, mode="r|") as tar:
        for count, member in enumerate(tar):
            if count >= MAX_MEMBERS:
                raise ArchiveLimitError(f"{what}: more than {MAX_MEMBERS} members")
            name = member.name.removeprefix("./").lstrip("/")
            base = PurePosixPath(name).name
            if base.startswith(".wh."):
                found[str(PurePosixPath(name).parent / base[4:])] = None
                continue
            wanted = name in _WANTED or name.endswith(".dist-info/METADATA")
            if wanted and member.isfile():
                stream = tar.extractfile(member)
                if stream is not None:
                    found[name] = read_capped(stream, f"{what}:{name}")
    return found


_WANTED = frozenset({"var/lib/dpkg/status", "lib/apk/db/installed"})


class _Prefixed(io.RawIOBase):
    """Puts back bytes already read from the front of a stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n], self._head = self._head[:n], self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _json_member(archive: tarfile.TarFile, name: str) -> Any:
    try:
        stream = archive.extractfile(name)
    except KeyError as exc:
        raise ArchiveLimitError(f"image archive has no {name}") from exc
    if stream is None:
        raise ArchiveLimitError(f"image archive: {name} is not a file")
    try:
        return json.loads(read_capped(stream, name))
    except ValueError as exc:
        raise ArchiveLimitError(f"image archive: {name} is not JSON: {exc}") from exc


def _blob_name(digest: object) -> str:
    text = str(digest)
    algo, _, hex_value = text.partition(":")
    if (
        algo != "sha256"
        or len(hex_value) != 64
        or not all(c in "0123456789abcdef" for c in hex_value)
    ):
        raise ArchiveLimitError(f"image archive: bad digest {text!r}")
    return f"blobs/sha256/{hex_value}"


def _layer_names(archive: tarfile.TarFile, names: set[str]) -> list[str]:
    """Layer member names, in order, from manifest.json (docker) or index.json (OCI)."""
    if "manifest.json" in names:
        manifest = _json_member(archive, "manifest.json")
        if not isinstance(manifest, list) or len(manifest) != 1:
            raise ArchiveLimitError("image archive: manifest.json must describe one image")
        return [str(layer) for layer in manifest[0].get("Layers", [])]
    index = _json_member(archive, "index.json")
    for _ in range(4):  # an index may point at a nested index; follow a few levels only
        manifests = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(manifests, list) or len(manifests) != 1:
            raise ArchiveLimitError("image archive: index.json must point at one manifest")
        index = _json_member(archive, _blob_name(manifests[0].get("digest")))
        if isinstance(index, dict) and "layers" in index:
            return [_blob_name(layer.get("digest")) for layer in index["layers"]]
    raise ArchiveLimitError("image archive: no image manifest found")


def is_image_archive(path: Path) -> bool:
    """Whether ``path`` is a tarball holding a docker or OCI image."""
    try:
        with tarfile.open(path, mode="r:*") as archive:
            names = set(archive.getnames()[:MAX_MEMBERS])
    except (tarfile.TarError, OSError, EOFError):
        return False
    return "manifest.json" in names or ("index.json" in names and "oci-layout" in names)


def _layer_digest(archive: tarfile.TarFile, name: str) -> str:
    stream = archive.extractfile(name)
    hasher = hashlib.sha256()
    while stream is not None and (chunk := stream.read(1 << 20)):
        hasher.update(chunk)
    return hasher.hexdigest()


def _packages_of(files: dict[str, bytes | None]) -> Iterator[Package]:
    for name, data in sorted(files.items()):
        if data is None:
            continue
        text = data.decode("utf-8", "replace")
        if name == "var/lib/dpkg/status":
            yield from _dpkg_status(text)
        elif name == "lib/apk/db/installed":
            yield from _apk_installed(text)
        else:
            main, _ = metadata_packages(parse_metadata(text), Origin.ARTIFACT)
            if main:
                yield main


def image_packages(path: Path) -> list[Package]:
    """The layers of an image tarball and the OS and Python packages installed in it."""
    layers: list[Package] = []
    files: dict[str, bytes | None] = {}
    try:
        with tarfile.open(path, mode="r:*") as archive:
            names = set(archive.getnames())
            if len(names) > MAX_MEMBERS:
                raise ArchiveLimitError(f"{path}: more than {MAX_MEMBERS} members")
            for name in _layer_names(archive, names):
                digest = _layer_digest(archive, name)
                stream = archive.extractfile(name)
                if stream is None:
                    raise ArchiveLimitError(f"{path}: layer {name} is not a file")
                found = _layer_files(stream, f"{path}:{name}")
                inspected = found is not None
                files.update(found or {})
                layers.append(
                    Package(
                        f"layer sha256:{digest}",
                        None,
                        PackageKind.LAYER,
                        Origin.ARTIFACT,
                        sha256=digest,
                        inspected=inspected,
                    )
                )
    except (tarfile.TarError, OSError, EOFError, KeyError) as exc:
        raise ArchiveLimitError(f"{path}: unreadable image archive: {exc}") from exc
    return layers + list(_packages_of(files))
