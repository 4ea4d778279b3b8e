"""Whole-value placeholders: values that stand for a secret instead of being one.

A value is a placeholder only when it is one *as a whole*: ``1234``, ``changeme``,
``xxxx-xxxx``, ``<password>``, ``${VAR}``, ``REPLACE_ME_WITH_TOKEN``, ``sk_live_xxxxxxxx``.
A value that merely *contains* such a run is a real value: people pick passwords like
``Zq9#Lm2x1234Vt`` or ``Aa12345678``, and a substring test (what this module replaced) let
them through unreported (issue 23).

    >>> placeholder_reason(b"changeme")
    'placeholder value (changeme)'
    >>> placeholder_reason(b"Zq9#Lm2x1234Vt") is None
    True
"""

from __future__ import annotations

import itertools
import re

__all__ = ["placeholder_reason"]

# Templating and references: the value is an expression another tool fills in.
_TEMPLATE = re.compile(
    rb"\$\{|\{\{|\}\}|^\$[A-Za-z_]|^%\(|^<[^>]*>$|#\{|^\{[A-Za-z_]+\}$|<<[A-Za-z0-9_:]+>>"
)
# Words that, alone or together (``your_api_key_here``), make a value a stand-in.
_WORDS = frozenset(
    {
        b"example",
        b"sample",
        b"dummy",
        b"fake",
        b"placeholder",
        b"changeme",
        b"change",
        b"replace",
        b"me",
        b"with",
        b"your",
        b"my",
        b"here",
        b"goes",
        b"put",
        b"enter",
        b"insert",
        b"todo",
        b"fixme",
        b"redacted",
        b"secret",
        b"token",
        b"key",
        b"api",
        b"value",
        b"password",
    }
)
# The convention of AWS's documentation: every example credential ends so
# (``AKIAIOSFODNN7EXAMPLE``, ``wJalr.../bPxRfiCYEXAMPLEKEY``). A suffix, not a substring.
_DOC_SUFFIX = re.compile(rb"EXAMPLE(?:KEY)?$")
_SEGMENTS = re.compile(rb"[A-Za-z0-9]+")
_TOKENS = re.compile(rb"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SHORT = 4  # vendor prefixes (``sk``, ``live``, ``ghp``) beside a filler body
_MIN_RUN = 4


def _is_filler(token: bytes) -> bool:
    """One character repeated (``xxxx``, ``0000``) or a run in order (``1234``, ``abcdef``)."""
    lowered = token.lower()
    if len(lowered) < _MIN_RUN:
        return False
    if len(set(lowered)) == 1:
        return True
    return all(b - a == 1 for a, b in itertools.pairwise(lowered))


def _whole_value(secret: bytes) -> str | None:
    """The placeholder words or runs the value consists of, or None for a real value."""
    segments = _SEGMENTS.findall(secret)
    if not segments:
        return "no letters or digits"  # ``********``
    stand_ins: list[bytes] = []
    for segment in segments:
        tokens = _TOKENS.findall(segment)
        if all(_is_filler(t) or t.lower() in _WORDS for t in tokens):
            stand_ins += tokens
        elif len(segment) > _SHORT or not segment.isalpha():
            return None  # a real part: ``Aa12345678``, ``Lm2x1234Vt``
        # else a short vendor prefix beside a filler body: ``sk_live_xxxxxxxx``
    if not stand_ins:
        return None
    return "_".join(t.decode("ascii").lower() for t in stand_ins)


def placeholder_reason(secret: bytes) -> str | None:
    """Why ``secret`` is a placeholder as a whole, or None when it may be a real value."""
    if _TEMPLATE.search(secret):
        return "placeholder or template expression"
    if _DOC_SUFFIX.search(secret):
        return "documentation example value (ends in EXAMPLE)"
    what = _whole_value(secret)
    return None if what is None else f"placeholder value ({what})"
