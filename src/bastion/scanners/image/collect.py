"""What the layer walk keeps: package databases, binaries' build info, secrets in files.

:class:`ImageCollector` is the :class:`bastion.oci.Collector` the gate walks an image with.
Package facts are kept per path, so a later layer's whiteout removes them with the file.
Secrets are recorded per layer as they are read and never removed: a credential deleted by a
later layer is still in the image's bytes for anyone who pulls it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import IO

from bastion.oci import Handling
from bastion.scanners.image.binaries import elf_sections, go_packages, jar_packages, rust_packages
from bastion.scanners.image.model import InstalledPackage, SecretHit, SecretScanner
from bastion.scanners.image.packages import npm_package, pom_package, python_package

__all__ = ["ImageCollector", "LayerSecret", "RawDatabase"]

MAX_SECRET_FILE = 1024 * 1024
_OS_FILES = {
    "var/lib/dpkg/status": "dpkg",
    "lib/apk/db/installed": "apk",
    "etc/os-release": "os-release",
    "usr/lib/os-release": "os-release",
}
_NPM = re.compile(r"(^|/)node_modules/(@[^/]+/)?[^/@][^/]*/package\.json$")
# Trees the package managers own: their files are judged as packages, not read for secrets.
_NOT_SECRET_SCANNED = re.compile(
    r"^(usr/(share|lib|lib64|include|bin|sbin|libexec|local/lib)|lib|lib64|bin|sbin|proc|sys|"
    r"var/lib/(dpkg|apk|apt)|var/cache|etc/ssl/certs)/|(^|/)(node_modules|site-packages|"
    r"dist-packages|__pycache__)/"
)
_ARCHIVES = (".jar", ".war", ".ear")


@dataclass(frozen=True, slots=True)
class RawDatabase:
    """An OS package database's text, parsed once the distribution is known."""

    kind: str  # dpkg, dpkg-status.d, apk, os-release
    text: str


@dataclass(frozen=True, slots=True)
class LayerSecret:
    """A credential found in a file of one layer."""

    layer: int
    path: str
    hit: SecretHit


@dataclass
class ImageCollector:
    """Chooses files to read and turns them into facts (see the module docstring)."""

    secrets: SecretScanner | None
    found_secrets: list[LayerSecret] = field(default_factory=list)

    def handling(self, path: str, size: int, mode: int) -> Handling:
        """Small text for package databases and secret candidates; binaries spooled."""
        if self._package_text(path) is not None:
            return Handling.SMALL
        if path.endswith(_ARCHIVES) or (mode & 0o111 and size >= 1024):
            return Handling.BINARY
        if (
            self.secrets is not None
            and size <= MAX_SECRET_FILE
            and not _NOT_SECRET_SCANNED.search(path)
        ):
            return Handling.SMALL
        return Handling.SKIP

    @staticmethod
    def _package_text(path: str) -> str | None:
        if path in _OS_FILES:
            return _OS_FILES[path]
        parent, base = posixpath.split(path)
        if parent == "var/lib/dpkg/status.d" and "." not in base:
            return "dpkg-status.d"
        if base == "METADATA" and parent.endswith(".dist-info"):
            return "python"
        if (base == "PKG-INFO" and parent.endswith(".egg-info")) or base.endswith(".egg-info"):
            return "python"
        if base == "package.json" and _NPM.search(path):
            return "npm"
        if base == "pom.properties" and "/META-INF/maven/" in f"/{path}":
            return "maven"
        return None

    def inspect(self, path: str, layer: int, content: bytes | IO[bytes]) -> object | None:
        """Facts of one file: raw OS databases, packages, or none (secrets are recorded)."""
        if not isinstance(content, bytes):
            return _binary_packages(content, path) or None
        kind = self._package_text(path)
        text = content.decode("utf-8", "replace")
        if kind is None:
            self._scan_secrets(path, layer, content)
            return None
        if kind in ("dpkg", "dpkg-status.d", "apk", "os-release"):
            return RawDatabase(kind, text)
        parser = {"python": python_package, "npm": npm_package, "maven": pom_package}[kind]
        package = parser(text, path)
        return [package] if package else None

    def _scan_secrets(self, path: str, layer: int, content: bytes) -> None:
        if self.secrets is None or b"\0" in content[:8192]:
            return
        for hit in self.secrets.scan(content):
            self.found_secrets.append(LayerSecret(layer, path, hit))


def _binary_packages(stream: IO[bytes], path: str) -> list[InstalledPackage]:
    stream.seek(0)
    magic = stream.read(4)
    if magic == b"PK\x03\x04":
        stream.seek(0)
        return jar_packages(stream, path) if path.endswith(_ARCHIVES) else []
    sections = elf_sections(stream)
    found = go_packages(sections.get(".go.buildinfo", b""), path)
    found.extend(rust_packages(sections.get(".dep-v0", b""), path))
    return found
