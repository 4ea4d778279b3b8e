"""Packages recorded inside files: Go build info, cargo-auditable data, jars' pom.properties.

Binaries are read from a bounded spooled file (random access) handed over by the layer walk.
ELF headers are checked before any offset is trusted: a section past the file's end, more
than :data:`_MAX_SECTIONS` sections or a section past :data:`_MAX_SECTION_BYTES` is ignored.
Only Go 1.18+ build info (inline strings) is read; older Go binaries are reported unread.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from typing import IO

from bastion.scanners.image.model import InstalledPackage
from bastion.scanners.image.packages import pom_package

__all__ = ["elf_sections", "go_packages", "jar_packages", "rust_packages"]

_MAX_SECTIONS = 4096
_MAX_SECTION_BYTES = 16 * 1024 * 1024
_MAX_JAR_ENTRIES = 200_000
_MAX_NESTED_JAR = 64 * 1024 * 1024
_GO_MAGIC = b"\xff Go buildinf:"
_WANTED = frozenset({".go.buildinfo", ".dep-v0"})


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, io.SEEK_END)
    return stream.tell()


def elf_sections(stream: IO[bytes]) -> dict[str, bytes]:
    """The ``.go.buildinfo`` and ``.dep-v0`` sections of an ELF file (empty if none)."""
    total = _size(stream)
    stream.seek(0)
    header = stream.read(64)
    if len(header) < 52 or header[:4] != b"\x7fELF" or header[4] not in (1, 2):
        return {}
    wide, order = header[4] == 2, "<" if header[5] == 1 else ">"
    if wide:
        (shoff,) = struct.unpack_from(order + "Q", header, 0x28)
        entsize, count, strndx = struct.unpack_from(order + "HHH", header, 0x3A)
    else:
        (shoff,) = struct.unpack_from(order + "I", header, 0x20)
        entsize, count, strndx = struct.unpack_from(order + "HHH", header, 0x2E)
    if not 0 < count <= _MAX_SECTIONS or entsize < (64 if wide else 40) or strndx >= count:
        return {}
    if shoff + count * entsize > total:
        return {}
    stream.seek(shoff)
    table = stream.read(count * entsize)
    spans = []
    for n in range(count):
        base = n * entsize
        if wide:
            (name,) = struct.unpack_from(order + "I", table, base)
            offset, size = struct.unpack_from(order + "QQ", table, base + 0x18)
        else:
            (name,) = struct.unpack_from(order + "I", table, base)
            offset, size = struct.unpack_from(order + "II", table, base + 0x10)
        spans.append((name, offset, size))
    names = _read_span(stream, total, spans[strndx][1], spans[strndx][2])
    found = {}
    for name_at, offset, size in spans:
        end = names.find(b"\0", name_at)
        label = names[name_at:end].decode("latin-1") if 0 <= name_at < len(names) else ""
        if label in _WANTED:
            found[label] = _read_span(stream, total, offset, size)
    return found


def _read_span(stream: IO[bytes], total: int, offset: int, size: int) -> bytes:
    if size > _MAX_SECTION_BYTES or offset + size > total:
        return b""
    stream.seek(offset)
    return stream.read(size)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data) and shift < 64:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7
    raise ValueError("truncated varint")


def go_packages(section: bytes, path: str) -> list[InstalledPackage]:
    """The toolchain (``stdlib``) and modules a Go 1.18+ binary's build info names."""
    if not section.startswith(_GO_MAGIC) or len(section) < 32 or not section[15] & 2:
        return []
    try:
        length, at = _varint(section, 32)
        go_version = section[at : at + length].decode("utf-8", "replace")
        length, at = _varint(section, at + length)
        modinfo = section[at : at + length]
    except ValueError:
        return []
    if len(modinfo) >= 33:
        modinfo = modinfo[16:-16]  # sentinels around the text
    found: dict[str, InstalledPackage] = {}
    if go_version.startswith("go"):
        version = go_version[2:].split(" ")[0]
        found["stdlib"] = InstalledPackage(
            "Go", "stdlib", version, path, purl=f"pkg:golang/stdlib@{version}"
        )
    last = ""
    for line in modinfo.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if parts[0] in ("mod", "dep") and len(parts) >= 3:
            last = parts[1]
            found[last] = _go_module(parts[1], parts[2], path)
        elif parts[0] == "=>" and len(parts) >= 3 and last:
            found[last] = _go_module(parts[1], parts[2], path)
    return [p for p in found.values() if p.version not in ("", "(devel)")]


def _go_module(module: str, version: str, path: str) -> InstalledPackage:
    return InstalledPackage("Go", module, version, path, purl=f"pkg:golang/{module}@{version}")


def rust_packages(section: bytes, path: str) -> list[InstalledPackage]:
    """The crates a cargo-auditable binary's ``.dep-v0`` section lists (from crates.io)."""
    try:
        inflated = zlib.decompressobj().decompress(section, _MAX_SECTION_BYTES)
        data = json.loads(inflated)
    except (zlib.error, ValueError):
        return []
    crates = data.get("packages") if isinstance(data, dict) else None
    found = []
    for crate in crates if isinstance(crates, list) else []:
        if not isinstance(crate, dict) or crate.get("source") != "crates.io":
            continue
        name, version = crate.get("name"), crate.get("version")
        if isinstance(name, str) and isinstance(version, str):
            purl = f"pkg:cargo/{name}@{version}"
            found.append(InstalledPackage("crates.io", name, version, path, purl=purl))
    return found


def jar_packages(stream: IO[bytes], path: str, depth: int = 0) -> list[InstalledPackage]:
    """Artifacts named by a jar's ``pom.properties`` files, and one level of nested jars."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError):
        return []
    found: list[InstalledPackage] = []
    with archive:
        for count, info in enumerate(archive.infolist()):
            if count >= _MAX_JAR_ENTRIES:
                break
            found.extend(_jar_entry(archive, info, path, depth))
    return found


def _jar_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, depth: int
) -> list[InstalledPackage]:
    name = info.filename
    try:
        if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
            if info.file_size <= 64 * 1024:
                text = archive.read(info).decode("utf-8", "replace")
                package = pom_package(text, path)
                return [package] if package else []
        elif name.endswith(".jar") and depth == 0 and info.file_size <= _MAX_NESTED_JAR:
            return jar_packages(io.BytesIO(archive.read(info)), f"{path}!/{name}", depth + 1)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, zlib.error):
        return []
    return []
