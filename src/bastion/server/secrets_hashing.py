"""Random secrets and their stored form (SHA-256; a 256-bit random value needs no slow hash)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["digest", "new_secret", "same"]


def new_secret(prefix: str = "", nbytes: int = 32) -> str:
    """A URL-safe random string of ``nbytes`` random bytes, after ``prefix``."""
    return prefix + secrets.token_urlsafe(nbytes)


def digest(value: str) -> bytes:
    """What is stored of a secret: SHA-256 of its UTF-8."""
    return hashlib.sha256(value.encode("utf-8")).digest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
