"""Alpine (apk) package versions, compared as apk-tools' ``apk_version_compare`` does.

Written here because no Python library implements apk's rules: ``1.2.3[letter][_suffix[N]]…
[-rN]``; numbers compare numerically (after the first, one with a leading zero compares as a
decimal fraction, i.e. as text); pre-release suffixes ``_alpha < _beta < _pre < _rc`` sort
before the bare version and ``_cvs < _svn < _git < _hg < _p`` after it.

    >>> parse_apk("1.2_rc1") < parse_apk("1.2") < parse_apk("1.2-r1") < parse_apk("1.2_p1")
    True
"""

from __future__ import annotations

import enum
import functools
import re

from bastion.scanners.sca.errors import InvalidVersionError

__all__ = ["ApkVersion", "parse_apk"]

_PATTERN = re.compile(
    r"^(?P<numbers>\d+(?:\.\d+)*)(?P<letter>[a-z])?"
    r"(?P<suffixes>(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)"
    r"(?:-r(?P<rev>\d+))?$"
)
_SUFFIX = re.compile(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)")
_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")
_SUFFIX_ORDER = ("alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p")


class _Tok(enum.IntEnum):
    # apk-tools' token order: a later token type at the same position means an older version.
    DIGIT = 1
    LETTER = 2
    SUFFIX = 3
    SUFFIX_NO = 4
    REVISION_NO = 5
    END = 6


_Token = tuple[_Tok, str | int]


def _tokens(match: re.Match[str]) -> list[_Token]:
    tokens: list[_Token] = [(_Tok.DIGIT, n) for n in match.group("numbers").split(".")]
    if match.group("letter"):
        tokens.append((_Tok.LETTER, match.group("letter")))
    for name, number in _SUFFIX.findall(match.group("suffixes")):
        tokens.append((_Tok.SUFFIX, _SUFFIX_ORDER.index(name)))
        if number:
            tokens.append((_Tok.SUFFIX_NO, int(number)))
    if match.group("rev") is not None:
        tokens.append((_Tok.REVISION_NO, int(match.group("rev"))))
    tokens.append((_Tok.END, 0))
    return tokens


def _cmp_digits(left: str, right: str, first: bool) -> int:
    if not first and (left.startswith("0") or right.startswith("0")):
        return (left > right) - (left < right)
    return (int(left) > int(right)) - (int(left) < int(right))


def _cmp_tokens(left: list[_Token], right: list[_Token]) -> int:
    for index, ((ltype, lval), (rtype, rval)) in enumerate(zip(left, right, strict=False)):
        if ltype != rtype:
            # The longer version is newer unless what it has more of is a pre-release suffix.
            if ltype == _Tok.SUFFIX and _SUFFIX_ORDER[int(lval)] in _PRE_SUFFIXES:
                return -1
            if rtype == _Tok.SUFFIX and _SUFFIX_ORDER[int(rval)] in _PRE_SUFFIXES:
                return 1
            return -1 if ltype > rtype else 1
        if ltype == _Tok.DIGIT:
            result = _cmp_digits(str(lval), str(rval), index == 0)
        else:
            result = (lval > rval) - (lval < rval)  # type: ignore[operator]
        if result:
            return result
    return 0


@functools.total_ordering
class ApkVersion:
    """A parsed apk version."""

    __slots__ = ("_tokens", "text")

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self._tokens = tokens

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApkVersion):
            return NotImplemented
        return _cmp_tokens(self._tokens, other._tokens) == 0

    def __lt__(self, other: ApkVersion) -> bool:
        return _cmp_tokens(self._tokens, other._tokens) < 0

    def __hash__(self) -> int:
        # "1.01" equals "1.010" under apk's fraction rule; hash only what equality keeps.
        return hash(int(str(self._tokens[0][1])))

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"ApkVersion({self.text!r})"


def parse_apk(text: str) -> ApkVersion:
    """Parse an apk version string."""
    match = _PATTERN.match(text.strip())
    if match is None:
        raise InvalidVersionError("Alpine", text)
    return ApkVersion(text, _tokens(match))
