"""Maven versions, ordered as Maven's ``ComparableVersion`` orders them.

Written here because no Python library ports ComparableVersion; this follows Maven 3's
algorithm: the version splits at ``.``, ``-`` and digit/letter transitions into integers,
qualifiers and sub-lists; known qualifiers sort ``alpha < beta < milestone < rc < snapshot <
"" (release, ga, final) < sp``, unknown ones after them alphabetically; trailing "null" items
(0, "", empty lists) are dropped.

    >>> parse_maven("1.0-alpha1") < parse_maven("1.0-rc1") < parse_maven("1.0")
    True
    >>> parse_maven("1.0") < parse_maven("1.0-sp1")
    True
    >>> parse_maven("1.0.0") == parse_maven("1") == parse_maven("1-ga")
    True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from bastion.scanners.sca.errors import InvalidVersionError

__all__ = ["MavenVersion", "parse_maven"]

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE_INDEX = str(_QUALIFIERS.index(""))


def _qualifier_rank(value: str) -> str:
    # Maven compares these strings, so "7-foo" sorts after every known qualifier.
    if value in _QUALIFIERS:
        return str(_QUALIFIERS.index(value))
    return f"{len(_QUALIFIERS)}-{value}"


@dataclass(frozen=True, slots=True)
class _Int:
    value: int

    def is_null(self) -> bool:
        return self.value == 0


@dataclass(frozen=True, slots=True)
class _Str:
    value: str

    @classmethod
    def make(cls, value: str, followed_by_digit: bool) -> _Str:
        if followed_by_digit and len(value) == 1:
            value = {"a": "alpha", "b": "beta", "m": "milestone"}.get(value, value)
        return cls(_ALIASES.get(value, value))

    def is_null(self) -> bool:
        return self.value == ""


@dataclass(slots=True)
class _List:
    items: list[_Item]

    def is_null(self) -> bool:
        return not self.items

    def normalize(self) -> None:
        for index in range(len(self.items) - 1, -1, -1):
            item = self.items[index]
            if item.is_null():
                del self.items[index]
            elif not isinstance(item, _List):
                break


_Item = _Int | _Str | _List


def _cmp_values(left: int | str, right: int | str) -> int:
    return (left > right) - (left < right)  # type: ignore[operator]


def _compare(left: _Item | None, right: _Item | None) -> int:
    if left is None:
        return 0 if right is None else -_compare(right, None)
    if isinstance(left, _Int):
        if right is None:
            return 0 if left.value == 0 else 1
        if isinstance(right, _Int):
            return _cmp_values(left.value, right.value)
        return 1  # an integer is newer than a qualifier or a sub-list
    if isinstance(left, _Str):
        if right is None:
            return _cmp_values(_qualifier_rank(left.value), _RELEASE_INDEX)
        if isinstance(right, _Str):
            return _cmp_values(_qualifier_rank(left.value), _qualifier_rank(right.value))
        return -1
    # left is a list
    if right is None:
        return 0 if not left.items else _compare(left.items[0], None)
    if isinstance(right, _Int):
        return -1
    if isinstance(right, _Str):
        return 1
    for index in range(max(len(left.items), len(right.items))):
        lhs = left.items[index] if index < len(left.items) else None
        rhs = right.items[index] if index < len(right.items) else None
        result = _compare(lhs, rhs)
        if result:
            return result
    return 0


def _parse_item(is_digit: bool, text: str, followed_by_digit: bool = False) -> _Item:
    return _Int(int(text)) if is_digit else _Str.make(text, followed_by_digit)


def _parse(version: str) -> _List:
    text = version.lower()
    root = current = _List([])
    stack = [root]
    is_digit = False
    start = 0

    def push() -> _List:
        child = _List([])
        current.items.append(child)
        stack.append(child)
        return child

    for index, char in enumerate(text):
        if char in ".-":
            current.items.append(
                _Int(0) if index == start else _parse_item(is_digit, text[start:index])
            )
            start = index + 1
            if char == "-":
                current = push()
        elif char.isdigit():
            if not is_digit and index > start:
                current.items.append(_Str.make(text[start:index], followed_by_digit=True))
                start = index
                current = push()
            is_digit = True
        else:
            if is_digit and index > start:
                current.items.append(_parse_item(True, text[start:index]))
                start = index
                current = push()
            is_digit = False
    if len(text) > start:
        current.items.append(_parse_item(is_digit, text[start:]))
    while stack:
        stack.pop().normalize()
    return root


@functools.total_ordering
class MavenVersion:
    """A parsed Maven version; compare with ``<``, ``==``."""

    __slots__ = ("_items", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._items = _parse(text)

    def _cmp(self, other: MavenVersion) -> int:
        return _compare(self._items, other._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MavenVersion):
            return NotImplemented
        return self._cmp(other) == 0

    def __lt__(self, other: MavenVersion) -> bool:
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        # Different item trees can compare equal ("1-0.1" and "1-.1"), so no structural hash is
        # safe; versions are rarely hashed, and a constant keeps hash consistent with ==.
        return 0

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"MavenVersion({self.text!r})"


def parse_maven(text: str) -> MavenVersion:
    """Parse a Maven version; only empty text or whitespace inside is refused."""
    stripped = text.strip()
    if not stripped or any(c.isspace() for c in stripped):
        raise InvalidVersionError("Maven", text)
    return MavenVersion(stripped)
