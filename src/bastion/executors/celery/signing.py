"""Signed JSON messages between the server and a pool's workers, and sealed grants.

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

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.errors import VaultError, VerificationError
from bastion.executors.celery.pools import PoolKey

__all__ = [
    "CLOCK_SKEW",
    "ForgedMessage",
    "GrantedValues",
    "open_grant",
    "open_message",
    "seal_grant",
    "seal_message",
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


def _grant_data(key: PoolKey, task_id: str, worker: str) -> bytes:
    return f"bastion-celery/{_VERSION}/grant/{key.pool.value}/{task_id}/{worker}".encode()


@dataclass(frozen=True, slots=True)
class GrantedValues:
    """What one grant hands its job: released secrets as environment variables, and files
    for ``/run/bastion`` (the secrets again, and an ``id-token:`` job's identity token)."""

    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def masked(self) -> dict[str, str]:
        """Every value the worker must mask in the job's output: each secret, each file's
        text, and a signed token's signature alone (the part that makes it a bearer
        credential, recognisable without the header and claims before it)."""
        values = dict(self.env)
        for name, data in self.files.items():
            text = data.decode("utf-8", errors="replace").strip()
            values[f"file {name}"] = text
            parts = text.split(".")
            if len(parts) == 3 and all(parts):  # a compact JWS: header.claims.signature
                values[f"signature of file {name}"] = parts[2]
        return values


def seal_grant(
    key: PoolKey,
    task_id: str,
    worker: str,
    secrets: Mapping[str, str],
    files: Mapping[str, bytes] | None = None,
) -> str:
    """One job's released secrets and files for the worker granted ``task_id``: AES-GCM
    under the pool's secrets key, hex text for the grant message.

    The pool, task id and worker are the associated data: the sealed text opens only for
    that grant, on a worker of that pool (copied into another job's grant, it fails).
    """
    nonce = os.urandom(12)
    payload = {
        "env": dict(secrets),
        "files": {name: base64.b64encode(data).decode() for name, data in (files or {}).items()},
    }
    plain = json.dumps(payload, sort_keys=True).encode()
    sealed = AESGCM(key.secrets_key).encrypt(nonce, plain, _grant_data(key, task_id, worker))
    return (nonce + sealed).hex()


def open_grant(key: PoolKey, sealed: object, task_id: str, worker: str, job: str) -> GrantedValues:
    """The secrets and files sealed by :func:`seal_grant`; another pool's, another grant's
    or altered text raises :class:`~bastion.errors.VaultError` (the job then runs nothing)."""
    try:
        if not isinstance(sealed, str):
            raise ValueError("not sealed text")
        raw = bytes.fromhex(sealed)
        plain = AESGCM(key.secrets_key).decrypt(
            raw[:12], raw[12:], _grant_data(key, task_id, worker)
        )
        return _granted(json.loads(plain))
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise VaultError(
            f"the released secrets of job {job!r} cannot be read by the {key.pool} pool",
            hint="a worker only reads secrets released to its own pool, for the job it was granted",
        ) from exc


def _granted(payload: object) -> GrantedValues:
    if not isinstance(payload, dict):
        raise ValueError("not a mapping")
    env, files = payload.get("env"), payload.get("files")
    if not isinstance(env, dict) or not isinstance(files, dict):
        raise ValueError("no env or files mapping")
    return GrantedValues(
        {str(k): str(v) for k, v in env.items()},
        {str(k): base64.b64decode(str(v), validate=True) for k, v in files.items()},
    )
