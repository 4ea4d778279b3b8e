"""Go module versions: semantic versions with a ``v``, pseudo-versions and ``+incompatible``.

Pseudo-versions (``v0.0.0-20191109021931-daa7c04131f5``) are SemVer pre-releases by design, so
SemVer precedence orders them correctly against tagged releases; ``+incompatible`` is build
metadata and takes no part in precedence. OSV's Go records write versions without the ``v``.

    >>> parse_go("v1.2.4-0.20191109021931-daa7c04131f5") > parse_go("1.2.3")
    True
    >>> is_pseudo_version("v0.0.0-20191109021931-daa7c04131f5")
    True
"""

from __future__ import annotations

import re

from bastion.scanners.sca.errors import InvalidVersionError
from bastion.scanners.sca.versions.semver import SemVer, parse_semver

__all__ = ["is_pseudo_version", "parse_go"]

# The three pseudo-version forms of `go help modules`: vX.0.0-yyyymmddhhmmss-abcdefabcdef,
# vX.Y.Z-pre.0.yyyymmddhhmmss-abcdefabcdef and vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdefabcdef.
_PSEUDO = re.compile(r"^v?\d+\.\d+\.\d+-(?:.*\.)?(?:0\.)?\d{14}-[0-9a-f]{12}(?:\+incompatible)?$")


def parse_go(text: str) -> SemVer:
    """Parse a Go module version (with or without the leading ``v``)."""
    body = text[1:] if text.startswith("v") else text
    if body.endswith("+incompatible"):
        body = body[: -len("+incompatible")]
        if "+" in body:
            raise InvalidVersionError("Go", text)
    elif "+" in body:
        # Go accepts no build metadata other than +incompatible.
        raise InvalidVersionError("Go", text)
    # Go's stdlib versions in OSV are plain SemVer too ("1.21.5"); "go1.21" is not.
    return parse_semver(body, ecosystem="Go", lenient=False)


def is_pseudo_version(text: str) -> bool:
    """True when ``text`` names an untagged commit rather than a release."""
    return _PSEUDO.match(text) is not None
