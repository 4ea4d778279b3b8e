"""Passwords: argon2id hashes, and the strength every new password must have.

    >>> hashed = hash_password("correct horse battery staple")
    >>> verify_password(hashed, "correct horse battery staple")
    True

A new password is refused when it is shorter than :data:`MIN_LENGTH`, one of the most
common (breached) passwords bundled in ``common_passwords.txt`` (compared case-insensitively,
also with trailing digits and symbols removed), the account name, or made of fewer than
:data:`MIN_DISTINCT` characters. Length over composition rules, as NIST SP 800-63B advises.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bastion.server.errors import WeakPasswordError

__all__ = [
    "MAX_LENGTH",
    "MIN_DISTINCT",
    "MIN_LENGTH",
    "check_password_strength",
    "hash_password",
    "needs_rehash",
    "verify_password",
]

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; a bound keeps one request from costing a lot
MIN_DISTINCT = 6
_TAIL = re.compile(r"[\W\d_]+$")

# RFC 9106's second recommended option (64 MiB, 3 passes), argon2id.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1, type=Type.ID)
# A real hash of an unguessable value: verifying against it when the account does not
# exist costs the same time, so the answer's timing does not say which names exist.
_DUMMY_HASH = _HASHER.hash("bastion: no such account, never a password")


@functools.cache
def _common() -> frozenset[str]:
    text = resources.files("bastion.server").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def check_password_strength(password: str, account: str) -> None:
    """Return if ``password`` is acceptable for ``account``; WeakPasswordError saying why."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPasswordError(f"the password must have at most {MAX_LENGTH} characters")
    lower = password.lower()
    if account.lower() in lower:
        raise WeakPasswordError("the password must not contain the account name")
    if len(set(lower)) < MIN_DISTINCT:
        raise WeakPasswordError(f"the password must use at least {MIN_DISTINCT} characters")
    common = _common()
    if lower in common or _TAIL.sub("", lower) in common:
        raise WeakPasswordError("the password is among the most common (breached) passwords")


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of ``password``."""
    return _HASHER.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    """True if ``password`` matches ``hashed``; a missing hash costs the same and is False."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(hashed or _DUMMY_HASH, password) and hashed is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """True when ``hashed`` was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(hashed)
