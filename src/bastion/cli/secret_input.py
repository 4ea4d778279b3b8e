"""Reading a secret for a command: from stdin, or a no-echo prompt on a terminal.

A secret is never a command-line argument: arguments land in shell history and in
``/proc/*/cmdline``, where other users see them (``ps``). Every command that takes a secret
(``secrets set|rotate``, ``webhooks set``, an approval's TOTP code) reads it through
:func:`read_secret`, so they refuse the same things with the same words.
"""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from bastion.errors import UsageError

__all__ = ["MAX_SECRET_CHARS", "read_secret"]

# Bounds what one read holds in memory (`bastion secrets set X < /dev/zero` must not eat
# it): the vault refuses values over 64 KiB and the server webhook secrets over 1 KiB, so
# nothing longer is a secret Bastion keeps.
MAX_SECRET_CHARS = 64 * 1024
# One more character than the longest value with its "\r\n" shows a longer input.
_READ_CHARS = MAX_SECRET_CHARS + len("\r\n") + 1


def read_secret(what: str, *, hint: str, whole_input: bool = False, confirm: bool = False) -> str:
    """``what`` from stdin, or from a no-echo prompt (``"<what>: "``) when stdin is a terminal.

    From stdin, its first line, or all of it with ``whole_input`` (a value that spans lines,
    such as a PEM key); one trailing newline (``\\n`` or ``\\r\\n``) is dropped. With
    ``confirm`` the prompt asks twice. UsageError when the value is empty (with ``hint``, the
    way to give it), longer than :data:`MAX_SECRET_CHARS`, not text, or the two answers differ.
    """
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        value, source = _prompt(what, confirm=confirm), "given"
    else:
        value, source = _from_stdin(stdin, what, whole_input=whole_input), "on stdin"
    if not value:
        raise UsageError(f"no {what} {source}", hint=hint)
    if len(value) > MAX_SECRET_CHARS:
        raise UsageError(
            f"the {what} {source} is longer than {MAX_SECRET_CHARS} characters",
            hint="give only the secret itself",
        )
    return value


def _prompt(what: str, *, confirm: bool) -> str:
    """The answer at a no-echo prompt; with ``confirm``, the same answer twice."""
    value = getpass.getpass(f"{what}: ")
    if confirm and getpass.getpass(f"{what} again: ") != value:
        raise UsageError("the two values differ; nothing was stored")
    return value


def _from_stdin(stdin: TextIO | None, what: str, *, whole_input: bool) -> str:
    """The first line of stdin (or all of it), one trailing newline dropped; bounded."""
    if stdin is None:  # closed (`<&-`): nothing was given
        return ""
    try:
        text = stdin.read(_READ_CHARS) if whole_input else stdin.readline(_READ_CHARS)
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the {what} on stdin is not {stdin.encoding} text",
            hint="pipe in the secret's text, not a binary file",
        ) from exc
    return text.removesuffix("\n").removesuffix("\r")
