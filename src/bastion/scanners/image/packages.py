"""Package databases as text: dpkg, apk, Python metadata, npm and Maven descriptors.

    >>> status = "Package: openssl\\nStatus: install ok installed\\nVersion: 3.0.11-1\\n"
    >>> [(p.name, p.version) for p in dpkg_packages(status, "var/lib/dpkg/status", "Debian:12")]
    [('openssl', '3.0.11-1')]

Each parser takes already bounded text and returns :class:`InstalledPackage` values; a
malformed entry is skipped, never guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from bastion.scanners.image.model import InstalledPackage

__all__ = [
    "apk_packages",
    "distribution",
    "dpkg_packages",
    "npm_package",
    "pom_package",
    "python_package",
]

_FIELD = re.compile(r"^([A-Za-z0-9-]+):\s?(.*)$")


def _paragraphs(text: str) -> Iterator[dict[str, str]]:
    """RFC 822-style paragraphs (dpkg's status, PKG-INFO headers); continuation lines dropped."""
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line[:1] in (" ", "\t"):
                continue
            match = _FIELD.match(line)
            if match:
                fields.setdefault(match.group(1).lower(), match.group(2).strip())
        if fields:
            yield fields


def distribution(os_release: str) -> tuple[str, str] | None:
    """``(ID, VERSION_ID)`` from ``/etc/os-release``, e.g. ``('debian', '12')``."""
    values: dict[str, str] = {}
    for line in os_release.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip("\"'")
    if "ID" not in values:
        return None
    return values["ID"], values.get("VERSION_ID", "")


def dpkg_packages(text: str, path: str, ecosystem: str) -> list[InstalledPackage]:
    """Installed packages of a dpkg status file (or one distroless ``status.d`` entry)."""
    found = []
    for fields in _paragraphs(text):
        name, version = fields.get("package"), fields.get("version")
        status = fields.get("status", "install ok installed")  # status.d entries have none
        if not name or not version or not status.endswith(" installed"):
            continue
        source = fields.get("source", "").split(" ")[0] or None
        arch = fields.get("architecture", "")
        distro = ecosystem.split(":", maxsplit=1)[0].lower()
        purl = f"pkg:deb/{distro}/{name}@{version}" + (f"?arch={arch}" if arch else "")
        found.append(InstalledPackage(ecosystem, name, version, path, source, purl))
    return found


def apk_packages(text: str, path: str, ecosystem: str) -> list[InstalledPackage]:
    """Installed packages of apk's ``lib/apk/db/installed``."""
    found = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if len(line) > 2 and line[1] == ":":
                fields.setdefault(line[0], line[2:])
        name, version = fields.get("P"), fields.get("V")
        if name and version:
            purl = f"pkg:apk/alpine/{name}@{version}"
            found.append(InstalledPackage(ecosystem, name, version, path, fields.get("o"), purl))
    return found


def python_package(text: str, path: str) -> InstalledPackage | None:
    """The distribution a ``*.dist-info/METADATA`` or ``*.egg-info/PKG-INFO`` describes."""
    head = text.split("\n\n", 1)[0]
    fields = next(_paragraphs(head), {})
    name, version = fields.get("name"), fields.get("version")
    if not name or not version:
        return None
    return InstalledPackage("PyPI", name, version, path, purl=f"pkg:pypi/{name.lower()}@{version}")


def npm_package(text: str, path: str) -> InstalledPackage | None:
    """The package a ``node_modules/**/package.json`` describes."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    return InstalledPackage("npm", name, version, path, purl=f"pkg:npm/{name}@{version}")


def pom_package(text: str, path: str) -> InstalledPackage | None:
    """The artifact a jar's ``META-INF/maven/**/pom.properties`` names."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    group, artifact = values.get("groupId"), values.get("artifactId")
    version = values.get("version")
    if not group or not artifact or not version:
        return None
    return InstalledPackage(
        "Maven",
        f"{group}:{artifact}",
        version,
        path,
        purl=f"pkg:maven/{group}/{artifact}@{version}",
    )
