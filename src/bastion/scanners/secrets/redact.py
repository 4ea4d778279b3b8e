"""Never print a secret: the redacted form and the keyed digest that stand in for it.

``redact`` keeps a few leading characters (at most a quarter of the value, never more than
four) and the length, enough for a person to recognise which credential it is. ``digest`` is
what fingerprints are built from: PBKDF2 over the value with a fixed Bastion salt, so that a
report or a database of findings does not hold a plain hash a dictionary attack could invert
cheaply for short passwords, while the same secret still gets the same fingerprint everywhere.
"""

from __future__ import annotations

import hashlib

__all__ = ["digest", "redact"]

_SALT = b"bastion/secrets/v1"
# Enough to slow a dictionary attack on a leaked report; cheap for the few findings a scan has.
_ITERATIONS = 2_000
_PEM_PREFIX = "-----BEGIN "


def redact(secret: bytes | str) -> str:
    """``'ghp_…(40 chars)'``: a few leading characters and the length, never the value."""
    text = secret.decode("latin-1") if isinstance(secret, bytes) else secret
    if text.startswith(_PEM_PREFIX):
        header = text.split("-----", 2)[1]
        return f"-----{header}-----…({len(text)} chars)"
    shown = min(4, len(text) // 4)
    return f"{text[:shown]}…({len(text)} chars)"


def digest(rule_id: str, secret: bytes) -> str:
    """A stable, salted, slow hash of ``secret`` under ``rule_id`` (hex, 32 chars)."""
    key = hashlib.pbkdf2_hmac("sha256", secret, _SALT + rule_id.encode(), _ITERATIONS)
    return key.hex()[:32]
