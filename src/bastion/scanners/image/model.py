"""The image gate's value types and the two services it is given (matching, secrets).

The gate never imports another gate (the ``scanners`` independence contract): OSV matching
and the secrets engine reach it through :class:`VulnerabilityMatcher` and
:class:`SecretScanner`, which :mod:`bastion.scanners.composed` implements with the sca and
secrets gates' public APIs. Tests pass small fakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bastion.scanners.finding import Severity

__all__ = [
    "InstalledPackage",
    "SecretHit",
    "SecretScanner",
    "VulnerabilityHit",
    "VulnerabilityMatcher",
]


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    """A package found in the image's final filesystem.

    ``ecosystem`` is OSV's name (``Debian:12``, ``Alpine:v3.19``, ``PyPI``, ``npm``, ``Go``,
    ``crates.io``, ``Maven``); ``source`` is the name advisories use when it differs (a Debian
    binary package's source package, an Alpine package's origin). ``path`` is where it was
    found (the status file, the binary, the jar).
    """

    ecosystem: str
    name: str
    version: str
    path: str
    source: str | None = None
    purl: str = ""

    @property
    def advisory_name(self) -> str:
        """The name OSV records use for this package."""
        return self.source or self.name


@dataclass(frozen=True, slots=True)
class VulnerabilityHit:
    """One vulnerability (aliases merged) affecting one installed package."""

    package: InstalledPackage
    primary_id: str
    ids: tuple[str, ...]
    severity: Severity
    summary: str
    fixed_in: str | None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SecretHit:
    """A credential found in some text; ``redacted`` never holds the value."""

    rule_id: str
    title: str
    severity: Severity
    redacted: str
    fingerprint_key: str  # a salted digest of the value, stable across images


class VulnerabilityMatcher(Protocol):
    """Judges installed packages against vulnerability data."""

    def match(self, packages: Sequence[InstalledPackage]) -> list[VulnerabilityHit]:
        """Every vulnerability affecting any of ``packages``."""
        ...

    def facts(self) -> dict[str, Any]:
        """Which data judged (source, date, ecosystems), for the report's facts."""
        ...


class SecretScanner(Protocol):
    """Finds credentials in bytes."""

    def scan(self, data: bytes) -> list[SecretHit]:
        """Every credential in ``data``."""
        ...
