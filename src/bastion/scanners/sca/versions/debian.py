"""Debian package versions, compared with dpkg's algorithm (``[epoch:]upstream[-revision]``).

Written here because python-debian is a large dependency for one function; this is dpkg's
``verrevcmp``: non-digit runs compare character by character with ``~`` before everything
(even the end of the string) and letters before other symbols, digit runs numerically.

    >>> parse_debian("1.0~rc1") < parse_debian("1.0") < parse_debian("1.0-1")
    True
    >>> parse_debian("1.0-1") < parse_debian("1:0.9")
    True
"""

from __future__ import annotations

import functools
import re

from bastion.scanners.sca.errors import InvalidVersionError

__all__ = ["DebianVersion", "parse_debian", "verrevcmp"]

_UPSTREAM = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*$")
_REVISION = re.compile(r"^[A-Za-z0-9.+~]+$")


def _order(char: str) -> int:
    if char.isdigit():
        return 0
    if char.isalpha():
        return ord(char)
    if char == "~":
        return -1
    return ord(char) + 256


def verrevcmp(left: str, right: str) -> int:
    """dpkg's comparison of two upstream or revision strings: <0, 0 or >0."""
    i = j = 0
    while i < len(left) or j < len(right):
        while (i < len(left) and not left[i].isdigit()) or (
            j < len(right) and not right[j].isdigit()
        ):
            lc = _order(left[i]) if i < len(left) else 0
            rc = _order(right[j]) if j < len(right) else 0
            if lc != rc:
                return lc - rc
            i += 1
            j += 1
        while i < len(left) and left[i] == "0":
            i += 1
        while j < len(right) and right[j] == "0":
            j += 1
        first_diff = 0
        while i < len(left) and left[i].isdigit() and j < len(right) and right[j].isdigit():
            if not first_diff:
                first_diff = ord(left[i]) - ord(right[j])
            i += 1
            j += 1
        if i < len(left) and left[i].isdigit():
            return 1
        if j < len(right) and right[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


@functools.total_ordering
class DebianVersion:
    """A parsed Debian version: epoch, upstream version and revision."""

    __slots__ = ("epoch", "revision", "text", "upstream")

    def __init__(self, text: str, epoch: int, upstream: str, revision: str) -> None:
        self.text = text
        self.epoch = epoch
        self.upstream = upstream
        self.revision = revision

    def _cmp(self, other: DebianVersion) -> int:
        if self.epoch != other.epoch:
            return self.epoch - other.epoch
        return verrevcmp(self.upstream, other.upstream) or verrevcmp(self.revision, other.revision)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DebianVersion):
            return NotImplemented
        return self._cmp(other) == 0

    def __lt__(self, other: DebianVersion) -> bool:
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        # "1.0" equals "1.00" under dpkg; only the epoch is safe to hash.
        return hash(self.epoch)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"DebianVersion({self.text!r})"


def parse_debian(text: str) -> DebianVersion:
    """Parse ``[epoch:]upstream[-revision]`` (Debian Policy 5.6.12)."""
    body = text.strip()
    epoch = 0
    if ":" in body:
        head, _, body = body.partition(":")
        if not head.isdigit():
            raise InvalidVersionError("Debian", text)
        epoch = int(head)
    upstream, revision = body, ""
    if "-" in body:
        upstream, _, revision = body.rpartition("-")
        if not _REVISION.match(revision):
            raise InvalidVersionError("Debian", text)
    if not _UPSTREAM.match(upstream):
        raise InvalidVersionError("Debian", text)
    return DebianVersion(text, epoch, upstream, revision)
