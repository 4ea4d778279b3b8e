"""The one check for names taken from requests (users, tokens, repositories in a scope)."""

from __future__ import annotations

import unicodedata

from bastion.server.errors import BadRequestError

__all__ = ["MAX_NAME_LENGTH", "check_name"]

MAX_NAME_LENGTH = 128


def check_name(value: str, what: str) -> str:
    """``value`` unchanged, or BadRequestError for '/', '..', NUL, controls, empty or long.

    Names end up in paths, audit subjects and log lines: a separator or a control character
    there could walk a directory or forge a line, so they are refused, never cleaned.
    """
    if not value or len(value) > MAX_NAME_LENGTH:
        raise BadRequestError(f"{what} must be 1 to {MAX_NAME_LENGTH} characters")
    if "/" in value or "\\" in value or ".." in value:
        raise BadRequestError(f"{what} must not contain '/', '\\' or '..'")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise BadRequestError(f"{what} must not contain NUL or control characters")
    if value != value.strip():
        raise BadRequestError(f"{what} must not start or end with white space")
    return value
