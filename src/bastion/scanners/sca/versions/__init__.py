"""Version ordering and package-name normalisation for every ecosystem OSV names.

    >>> from bastion.scanners.sca.versions import parse_version
    >>> parse_version("PyPI", "2.0") < parse_version("PyPI", "10.0")
    True
    >>> parse_version("Go", "v1.2.3+incompatible") == parse_version("Go", "1.2.3")
    True

Each ecosystem's parser returns an object ordered by that ecosystem's rules; parsers raise
:class:`~bastion.scanners.sca.errors.InvalidVersionError` for text their ecosystem refuses.
OSV ecosystems with a release suffix (``Debian:12``, ``Alpine:v3.19``) use their base's rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bastion.scanners.sca.versions.alpine import parse_apk
from bastion.scanners.sca.versions.debian import parse_debian
from bastion.scanners.sca.versions.gomod import is_pseudo_version, parse_go
from bastion.scanners.sca.versions.maven import parse_maven
from bastion.scanners.sca.versions.pep440 import normalize_pypi_name, parse_pep440
from bastion.scanners.sca.versions.rubygems import parse_gem
from bastion.scanners.sca.versions.semver import parse_semver

__all__ = [
    "SUPPORTED_ECOSYSTEMS",
    "Comparable",
    "base_ecosystem",
    "is_pseudo_version",
    "normalize_name",
    "parse_version",
]


class Comparable(Protocol):
    """What every parsed version offers: a total order."""

    def __lt__(self, other: Any, /) -> bool: ...


def _strict_semver(ecosystem: str) -> Callable[[str], Comparable]:
    def parse(text: str) -> Comparable:
        return parse_semver(text, ecosystem=ecosystem, lenient=False)

    return parse


def _npm(text: str) -> Comparable:
    return parse_semver(text, ecosystem="npm")


def _packagist(text: str) -> Comparable:
    # Composer writes tags as "v1.2.3" and sometimes four parts ("1.2.3.4"); Composer's own
    # ordering of those is close to Maven's rules for numeric parts and -alpha/-beta/-RC.
    return parse_maven(text[1:] if text[:1] in "vV" else text)


_PARSERS: dict[str, Callable[[str], Comparable]] = {
    "PyPI": parse_pep440,
    "npm": _npm,
    "Go": parse_go,
    "crates.io": _strict_semver("crates.io"),
    "RubyGems": parse_gem,
    "Maven": parse_maven,
    "Packagist": _packagist,
    "Debian": parse_debian,
    "Ubuntu": parse_debian,
    "Alpine": parse_apk,
}

SUPPORTED_ECOSYSTEMS: tuple[str, ...] = tuple(_PARSERS)


def base_ecosystem(ecosystem: str) -> str:
    """``Debian:12`` → ``Debian``; plain names unchanged."""
    return ecosystem.partition(":")[0]


def parse_version(ecosystem: str, text: str) -> Comparable:
    """Parse ``text`` with the rules of ``ecosystem``; ``KeyError`` for an unknown ecosystem."""
    return _PARSERS[base_ecosystem(ecosystem)](text)


def normalize_name(ecosystem: str, name: str) -> str:
    """The key a package is looked up by: PEP 503 for PyPI, lower case where names fold."""
    base = base_ecosystem(ecosystem)
    if base == "PyPI":
        return normalize_pypi_name(name)
    if base in ("npm", "Packagist"):
        # npm names are lower case by rule (old mixed-case names are folded by the registry);
        # Composer package names are case-insensitive.
        return name.lower()
    return name
