"""Semantic Versioning 2.0.0 precedence, as npm, Cargo and the OSV ``SEMVER`` range type use it.

Written here (not a library) because the candidates on PyPI either do not implement npm's
lenient spellings (``v1.2.3``, ``=1.2.3``) or are unmaintained; precedence is a page of spec.

    >>> parse_semver("1.0.0-alpha.1") < parse_semver("1.0.0-alpha.beta") < parse_semver("1.0.0")
    True
    >>> parse_semver("1.0.0+build.1") == parse_semver("1.0.0+build.2")
    True

Build metadata takes no part in precedence (spec item 10), so two versions that differ only in
build metadata compare equal; ``str()`` keeps the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bastion.scanners.sca.errors import InvalidVersionError

__all__ = ["SemVer", "parse_semver"]

_SEMVER = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)

# A pre-release identifier sorts numerically when all digits, else in ASCII order, and
# numeric identifiers sort before alphanumeric ones (spec item 11.4).
_PreId = tuple[int, int, str]


def _pre_key(pre: str) -> tuple[_PreId, ...]:
    ids: list[_PreId] = []
    for part in pre.split("."):
        if part.isdigit():
            if len(part) > 1 and part.startswith("0"):
                raise ValueError("numeric pre-release identifiers must not have leading zeros")
            ids.append((0, int(part), ""))
        else:
            ids.append((1, 0, part))
    return tuple(ids)


@dataclass(frozen=True, slots=True, order=True)
class SemVer:
    """A parsed version; ordering and equality follow SemVer precedence."""

    major: int
    minor: int
    patch: int
    # (1, ()) for a release, (0, ids) for a pre-release: a pre-release sorts before its release.
    pre_key: tuple[int, tuple[_PreId, ...]]
    text: str = field(compare=False)

    @property
    def prerelease(self) -> bool:
        """True for ``1.0.0-rc.1`` and the like."""
        return self.pre_key[0] == 0

    def __str__(self) -> str:
        return self.text


def parse_semver(text: str, *, ecosystem: str = "SemVer", lenient: bool = True) -> SemVer:
    """Parse ``text``; ``lenient`` accepts npm's leading ``v``/``=`` and surrounding spaces."""
    core = text.strip() if lenient else text
    if lenient:
        core = core.lstrip("=").lstrip("vV") if core[:1] in "=vV" else core
    match = _SEMVER.match(core)
    if match is None:
        raise InvalidVersionError(ecosystem, text)
    pre = match.group("pre")
    try:
        pre_key: tuple[int, tuple[_PreId, ...]] = (0, _pre_key(pre)) if pre else (1, ())
    except ValueError:
        raise InvalidVersionError(ecosystem, text) from None
    return SemVer(
        int(match.group("major")),
        int(match.group("minor")),
        int(match.group("patch")),
        pre_key,
        text,
    )
