"""RubyGems versions, compared as ``Gem::Version#<=>`` does.

Written here because no Python library implements Gem::Version; the rules are RubyGems'
``lib/rubygems/version.rb``: a version splits into numeric and alphabetic segments, a ``-``
means ``.pre.``, trailing zeros do not count, letters sort before numbers (so ``1.0.a`` is a
pre-release of ``1.0``) and a missing segment counts as ``0``.

    >>> parse_gem("1.0.a") < parse_gem("1.0") == parse_gem("1.0.0") < parse_gem("1.0.1")
    True
"""

from __future__ import annotations

import functools
import re

from bastion.scanners.sca.errors import InvalidVersionError

__all__ = ["GemVersion", "parse_gem"]

_VALID = re.compile(r"^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE)

Segment = int | str


def _canonical(text: str) -> tuple[Segment, ...]:
    body = text.replace("-", ".pre.")
    segments: list[Segment] = [int(s) if s.isdigit() else s for s in _SEGMENT.findall(body)]
    first_str = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    numeric, strings = segments[:first_str], segments[first_str:]
    # Trailing zeros of each part are dropped, exactly as Gem::Version#canonical_segments does.
    while numeric and numeric[-1] == 0:
        numeric.pop()
    while strings and strings[-1] == 0:
        strings.pop()
    return tuple(numeric + strings)


def _compare(left: tuple[Segment, ...], right: tuple[Segment, ...]) -> int:
    for index in range(max(len(left), len(right))):
        lhs: Segment = left[index] if index < len(left) else 0
        rhs: Segment = right[index] if index < len(right) else 0
        if lhs == rhs:
            continue
        if isinstance(lhs, str) and isinstance(rhs, int):
            return -1
        if isinstance(lhs, int) and isinstance(rhs, str):
            return 1
        return -1 if lhs < rhs else 1  # type: ignore[operator]
    return 0


@functools.total_ordering
class GemVersion:
    """A parsed RubyGems version."""

    __slots__ = ("segments", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.segments = _canonical(text)

    @property
    def prerelease(self) -> bool:
        """True when any segment is alphabetic (``1.0.rc1``, ``2.0-beta``)."""
        return any(isinstance(s, str) for s in self.segments)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GemVersion):
            return NotImplemented
        return _compare(self.segments, other.segments) == 0

    def __lt__(self, other: GemVersion) -> bool:
        return _compare(self.segments, other.segments) < 0

    def __hash__(self) -> int:
        return hash(self.segments)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"GemVersion({self.text!r})"


def parse_gem(text: str) -> GemVersion:
    """Parse a RubyGems version string (``Gem::Version.correct?`` rules)."""
    stripped = text.strip()
    if not _VALID.match(stripped):
        raise InvalidVersionError("RubyGems", text)
    return GemVersion(stripped)
