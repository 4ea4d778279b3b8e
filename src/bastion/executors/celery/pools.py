"""Worker pools per trust level, and each pool's token (its message and secrets keys).

>>> from bastion.trust import Trust
>>> pool_for(Trust.UNTRUSTED), pool_for(Trust.LOCAL)
(<Pool.UNTRUSTED: 'untrusted'>, <Pool.TRUSTED: 'trusted'>)

A job goes only to the queue of its run's pool, and every message is signed with that pool's
key: a worker of one pool neither receives another pool's jobs nor accepts them, nor can it
decrypt another pool's released secrets (:mod:`~bastion.executors.celery.signing`).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bastion.atomic import replacing
from bastion.errors import UsageError
from bastion.trust import Trust

__all__ = ["TOKEN_ENV", "Pool", "PoolKey", "load_pool_key", "pool_for"]

TOKEN_ENV = "BASTION_WORKER_TOKEN"  # noqa: S105 (a variable name, not a value)
"""A pool's token given in the environment instead of ``BASTION_HOME/keys/workers/<pool>``."""

_MIN_TOKEN_BYTES = 32


class Pool(enum.StrEnum):
    """The worker pools; each has its own queue, broker prefix, token and workers."""

    UNTRUSTED = "untrusted"
    TRUSTED = "trusted"
    RELEASE = "release"

    @property
    def queue(self) -> str:
        """The one queue this pool's jobs are sent to."""
        return f"bastion.jobs.{self.value}"

    @property
    def key_prefix(self) -> str:
        """The Redis key prefix of this pool (RabbitMQ pools use their own vhost)."""
        return f"bastion.{self.value}."


# Exhaustive (tests walk every Trust): `internal` and a developer's `dirty` tree hold
# scoped secrets, so they never go to the untrusted pool, whose workers get none.
_POOL_OF: dict[Trust, Pool] = {
    Trust.UNTRUSTED: Pool.UNTRUSTED,
    Trust.INTERNAL: Pool.TRUSTED,
    Trust.TRUSTED: Pool.TRUSTED,
    Trust.LOCAL: Pool.TRUSTED,
    Trust.DIRTY: Pool.TRUSTED,
    Trust.RELEASE: Pool.RELEASE,
}


def pool_for(trust: Trust) -> Pool:
    """The pool whose workers may run jobs of a run of ``trust``."""
    return _POOL_OF[trust]


@dataclass(frozen=True, slots=True)
class PoolKey:
    """A pool's token, from which its message key and its secrets key are derived."""

    pool: Pool
    token: bytes

    def __post_init__(self) -> None:
        if len(self.token) < _MIN_TOKEN_BYTES:
            raise UsageError(
                f"the {self.pool} pool's worker token is shorter than {_MIN_TOKEN_BYTES} bytes",
                hint="use a random token, e.g. `openssl rand -hex 32`",
            )

    def _derive(self, purpose: str) -> bytes:
        label = f"bastion-celery-v1/{self.pool.value}/{purpose}".encode()
        return hmac.new(self.token, label, hashlib.sha256).digest()

    @property
    def message_key(self) -> bytes:
        """HMAC-SHA256 key of this pool's task, event and grant messages."""
        return self._derive("messages")

    @property
    def secrets_key(self) -> bytes:
        """AES-256-GCM key of this pool's released-secrets files."""
        return self._derive("secrets")


def load_pool_key(home: Path, pool: Pool, *, create: bool = False) -> PoolKey:
    """The pool's token from ``$BASTION_WORKER_TOKEN`` or ``home/keys/workers/<pool>.token``.

    ``create`` makes a random one (mode 0600) when there is none: a workstation's first
    ``bastion worker`` and ``bastion run --executor celery`` then share it.
    """
    given = os.environ.get(TOKEN_ENV)
    if given:
        return PoolKey(pool, given.strip().encode())
    path = home / "keys" / "workers" / f"{pool.value}.token"
    if not path.exists():
        if not create:
            raise UsageError(
                f"no worker token for the {pool} pool at {path}",
                hint=f"start `bastion worker --pool {pool}` once on this machine, or set "
                f"${TOKEN_ENV}",
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with replacing(path) as out:  # mode 0600
            out.write(secrets.token_hex(32).encode())
    return PoolKey(pool, path.read_bytes().strip())
