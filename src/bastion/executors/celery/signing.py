"""Signed JSON messages between the server and a pool's workers, and sealed secrets files.

>>> from bastion.executors.celery.pools import Pool, PoolKey
>>> key = PoolKey(Pool.TRUSTED, b"t" * 32)
>>> open_message(key, seal_message(key, {"type": "job"}), "job")["type"]
'job'

A message is ``{"v": 1, "pool": ..., "body": "<JSON text>", "sig": "<hex>"}``: the
HMAC-SHA256 (the pool's message key) covers the exact body bytes together with the pool and
the version, and the body is parsed only after the signature verifies. Nothing is pickled.
Anyone who can write to the broker but holds no pool token cannot make a message a worker
accepts; a message of another pool fails its signature. Every failure raises
:class:`ForgedMessage` (a :class:`~bastion.errors.VerificationError`, reason ``forged``,
``expired``, ``wrong-pool`` or ``malformed``).

Expiry is stamped with the sender's clock and checked with the receiver's, so it allows
:data:`CLOCK_SKEW` of difference either way: a worker whose clock is minutes off still takes
its jobs. The expiry is only a first filter; the server decides every claim by its own
clock (a job it has given up on is never granted).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.atomic import replacing
from bastion.errors import VaultError, VerificationError
from bastion.executors.celery.pools import PoolKey

__all__ = [
    "CLOCK_SKEW",
    "ForgedMessage",
    "open_message",
    "open_secrets",
    "seal_message",
    "seal_secrets",
]

_VERSION = 1

CLOCK_SKEW = 600.0
"""Seconds a receiver's clock may differ from the sender's before expiry misjudges."""


class ForgedMessage(VerificationError):
    """A message that was not signed with this pool's key, or is stale or malformed."""


def _mac(key: PoolKey, body: bytes) -> str:
    header = f"bastion-celery/{_VERSION}/{key.pool.value}\n".encode()
    return hmac.new(key.message_key, header + body, hashlib.sha256).hexdigest()


def seal_message(key: PoolKey, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as signed JSON text; ``body["type"]`` says what it is."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return {"v": _VERSION, "pool": key.pool.value, "body": text, "sig": _mac(key, text.encode())}


def open_message(
    key: PoolKey, message: object, *kinds: str, now: float | None = None
) -> dict[str, Any]:
    """The body of ``message`` once its signature, pool, type (one of ``kinds``) and
    expiry (``now``: the receiver's clock, give or take :data:`CLOCK_SKEW`) check out."""
    if not isinstance(message, dict) or not all(
        isinstance(message.get(f), str) for f in ("pool", "body", "sig")
    ):
        raise ForgedMessage("not a Bastion message", reason="malformed")
    if message.get("v") != _VERSION or message["pool"] != key.pool.value:
        raise ForgedMessage(
            f"a message for pool {message['pool']!r} reached the {key.pool} pool",
            reason="wrong-pool",
        )
    body_bytes = message["body"].encode()
    if not hmac.compare_digest(_mac(key, body_bytes), message["sig"]):
        raise ForgedMessage("the message's signature does not verify", reason="forged")
    body = json.loads(body_bytes)
    if not isinstance(body, dict) or body.get("type") not in kinds:
        raise ForgedMessage(f"expected a {' or '.join(kinds)} message", reason="malformed")
    expires = body.get("expires_at")
    now = time.time() if now is None else now
    if isinstance(expires, (int, float)) and expires + CLOCK_SKEW < now:
        raise ForgedMessage("the message has expired", reason="expired")
    return body


def seal_secrets(key: PoolKey, path: Path, secrets: Mapping[str, Mapping[str, str]]) -> None:
    """Write each job's released secrets to ``path`` (0600), AES-GCM under the pool's key.

    The file name is the associated data: a file copied elsewhere does not decrypt.
    """
    nonce = os.urandom(12)
    plain = json.dumps({job: dict(v) for job, v in secrets.items()}).encode()
    sealed = AESGCM(key.secrets_key).encrypt(nonce, plain, path.name.encode())
    with replacing(path) as out:
        out.write(nonce + sealed)


def open_secrets(key: PoolKey, path: Path, job: str) -> dict[str, str]:
    """The secrets released to ``job``; a file of another pool or altered raises VaultError."""
    try:
        raw = path.read_bytes()
        plain = AESGCM(key.secrets_key).decrypt(raw[:12], raw[12:], path.name.encode())
    except (OSError, InvalidTag, ValueError) as exc:
        raise VaultError(
            f"the released secrets of job {job!r} cannot be read by the {key.pool} pool",
            hint="a worker only reads secrets released to its own pool",
        ) from exc
    values = json.loads(plain).get(job, {})
    return {str(k): str(v) for k, v in values.items()}
