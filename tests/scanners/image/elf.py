"""Minimal ELF64 files written by the tests: a header, named sections and a section table.

Enough for :func:`bastion.scanners.image.binaries.elf_sections`: real Go and cargo-auditable
binaries carry ``.go.buildinfo`` and ``.dep-v0`` the same way, as named sections.
"""

from __future__ import annotations

import json
import struct
import zlib

__all__ = ["cargo_auditable_section", "elf_with_sections", "go_buildinfo_section"]

_SENTINEL = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")  # Go's modinfo start marker
_END = bytes.fromhex("f932433186182072008242104116d8f2")  # and end marker


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def go_buildinfo_section(go_version: str, modinfo: str) -> bytes:
    """A Go 1.18+ ``.go.buildinfo`` section (inline strings, flag bit 1; see debug/buildinfo).

    32-byte header (14-byte magic, pointer size, flags, padding), then the toolchain version
    and the module information, each prefixed with its uvarint length; the module text is
    wrapped in 16-byte sentinels as the linker writes it.
    """
    header = b"\xff Go buildinf:" + bytes([8, 2])
    header += b"\0" * (32 - len(header))
    mod = _SENTINEL + modinfo.encode() + _END
    version = go_version.encode()
    return header + _uvarint(len(version)) + version + _uvarint(len(mod)) + mod


def cargo_auditable_section(packages: list[dict[str, object]]) -> bytes:
    """A cargo-auditable ``.dep-v0`` section: zlib-compressed JSON ``{"packages": [...]}``."""
    return zlib.compress(json.dumps({"packages": packages}).encode())


def elf_with_sections(sections: dict[str, bytes], pad_to: int = 4096) -> bytes:
    """A little-endian ELF64 executable holding ``sections`` (plus a null and ``.shstrtab``)."""
    names = b"\0"
    name_at = {}
    for label in [*sections, ".shstrtab"]:
        name_at[label] = len(names)
        names += label.encode() + b"\0"
    body = bytearray(b"\0" * 64)
    placed: list[tuple[str, int, int]] = []
    for label, data in [*sections.items(), (".shstrtab", names)]:
        placed.append((label, len(body), len(data)))
        body += data
    body += b"\0" * max(0, pad_to - len(body))
    shoff = len(body)
    table = b"\0" * 64  # section 0: SHT_NULL
    for label, offset, size in placed:
        kind = 3 if label == ".shstrtab" else 1  # SHT_STRTAB, SHT_PROGBITS
        table += struct.pack("<IIQQQQIIQQ", name_at[label], kind, 0, 0, offset, size, 0, 0, 1, 0)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(placed) + 1, len(placed)
    )
    body[:64] = header
    return bytes(body) + table
