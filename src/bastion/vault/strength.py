"""Refuse secret values that cannot be masked safely.

A masked value is replaced by ``***`` wherever it appears in a log. A short value or an
ordinary word would be "found" all over the log (and the masking itself would tell a reader
what it is), and a guessable value is no secret. So ``bastion secrets set`` refuses values
that are under :data:`MIN_LENGTH` characters, a common word (optionally with digits or
symbols around it, or with l33t substitutions), a repetition, a keyboard or alphabet run,
only digits and shorter than 16, or with fewer than 5 distinct characters.

The word list is our own (``common_words.txt``: common English words and password stems,
about a thousand), shipped in the package because a dictionary on the host is not reliable.
"""

from __future__ import annotations

import functools
import itertools
import re
from importlib import resources

from bastion.errors import VaultError

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "check_secret_value"]

MIN_LENGTH = 8
MAX_LENGTH = 64 * 1024
_MIN_DISTINCT = 5
_MIN_DIGITS_ONLY = 16
_LEET = str.maketrans("013457@$", "oieastas")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_RUNS = ("qwertyuiopasdfghjklzxcvbnm", "1234567890", "abcdefghijklmnopqrstuvwxyz")
_HINT = "use a long random value, e.g. from: openssl rand -base64 32"


@functools.cache
def _words() -> frozenset[str]:
    text = resources.files("bastion.vault").joinpath("common_words.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _refuse(name: str, why: str) -> VaultError:
    return VaultError(f"refusing secret {name}: {why}", hint=_HINT)


def _is_repetition(value: str) -> bool:
    return (value + value).find(value, 1) < len(value)


def _is_run(value: str) -> bool:
    lower = value.lower()
    if any(lower in run or lower in run[::-1] for run in _RUNS):
        return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(lower)}
    return steps in ({1}, {-1}, {0})


def _common_word(value: str) -> str | None:
    lower = value.lower()
    words = _words()
    core = _EDGES.sub("", lower)
    for candidate in (lower, lower.translate(_LEET), core, core.translate(_LEET)):
        if len(candidate) >= 4 and candidate in words:
            return candidate
    return None


def check_secret_value(name: str, value: str, *, force: bool = False) -> None:
    """Raise :class:`VaultError` explaining why ``value`` cannot be stored as ``name``.

    The message names the rule, never the value. ``force`` (``secrets set --force``) skips
    the guessability rules, never the length ones: a value under :data:`MIN_LENGTH` cannot
    be masked at all (the masker refuses it, so every job given it would fail).
    """
    if "\0" in value:
        raise _refuse(name, "it contains a NUL byte, which no environment variable can carry")
    if len(value) < MIN_LENGTH:
        raise _refuse(
            name,
            f"it is {len(value)} characters long; values under {MIN_LENGTH} characters "
            "would be masked in unrelated log text and are easy to guess (--force does not "
            "lift this: such a value cannot be masked)",
        )
    if len(value.encode("utf-8", errors="surrogateescape")) > MAX_LENGTH:
        raise _refuse(name, f"it is larger than {MAX_LENGTH} bytes; store a file reference")
    if not force:
        _check_guessable(name, value)


def _check_guessable(name: str, value: str) -> None:
    """The rules ``--force`` lifts: values easy to guess or common in ordinary logs."""
    if len(set(value)) < _MIN_DISTINCT:
        raise _refuse(name, f"it uses fewer than {_MIN_DISTINCT} distinct characters")
    if _is_repetition(value):
        raise _refuse(name, "it is a short sequence repeated")
    if _is_run(value):
        raise _refuse(name, "it is a keyboard or alphabet run")
    if value.isdigit() and len(value) < _MIN_DIGITS_ONLY:
        raise _refuse(
            name,
            f"it is only digits and shorter than {_MIN_DIGITS_ONLY}: such numbers (dates, "
            "ids, counters) appear in ordinary logs and would be masked there",
        )
    if _common_word(value) is not None:
        raise _refuse(
            name,
            "it is a common word or password (possibly with digits, symbols or look-alike "
            "letters): it is easy to guess and appears in ordinary logs",
        )
