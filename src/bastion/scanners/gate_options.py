"""Which option keys a gate accepts, checked the same way for ``--option`` and ``with:``.

    >>> try:
    ...     check_option_keys("sca", {"excludes": ["t"]}, frozenset({"exclude", "database"}))
    ... except UnknownOptionError as exc:
    ...     print(exc.message)
    ...     print(exc.hint)
    bastion/sca: unknown option 'excludes'
    did you mean 'exclude'? (options of bastion/sca: database, exclude)

An unknown key is refused, never ignored: a misspelt ``exclude`` that is silently dropped
scans what the user meant to leave out (or the reverse), and nothing says so.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from bastion.errors import UsageError

__all__ = ["UnknownOptionError", "check_option_keys", "did_you_mean"]


class UnknownOptionError(UsageError):
    """A gate was given an option key it does not know; ``key`` names it."""

    def __init__(self, gate: str, key: str, known: Iterable[str]) -> None:
        self.gate = gate
        self.key = key
        self.known = tuple(sorted(known))
        listed = ", ".join(self.known) or "none"
        guess = did_you_mean(key, self.known)
        hint = f"{guess} (options of bastion/{gate}: {listed})" if guess else None
        super().__init__(
            f"bastion/{gate}: unknown option {key!r}",
            hint=hint or f"options of bastion/{gate}: {listed}",
        )


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``"did you mean 'x'?"`` for the closest of ``choices``, or None when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def check_option_keys(gate: str, options: Mapping[str, Any], known: frozenset[str]) -> None:
    """Raise :class:`UnknownOptionError` for the first key (sorted) not in ``known``."""
    unknown = sorted(set(options) - known)
    if unknown:
        raise UnknownOptionError(gate, unknown[0], known)
