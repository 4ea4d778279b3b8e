"""The stores the server's resource pages read: the audit log, the vault, the artifact store
and the trusted signing keys. Each is optional: a server built without one answers 503 on
that resource's routes (fails closed) instead of guessing a default location."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.audit import AuditLog
from bastion.errors import BastionError, StoreError
from bastion.server.errors import ServerError
from bastion.supplychain import BlobStore, TrustedKeys
from bastion.vault import Vault

__all__ = ["ResourceServices", "UnavailableError", "translate"]


class UnavailableError(ServerError):
    """The resource's store is not configured on this server, or cannot be read."""

    status = 503
    kind = "unavailable"


@dataclass(frozen=True)
class ResourceServices:
    """What the resource routes read and write; None: not available on this server."""

    audit_log: AuditLog | None = None
    vault: Vault | None = None
    artifacts: BlobStore | None = None
    trusted_keys: TrustedKeys | None = None

    def need_audit_log(self) -> AuditLog:
        """The audit log, or UnavailableError."""
        if self.audit_log is None:
            raise UnavailableError("this server has no audit log to show")
        return self.audit_log

    def need_vault(self) -> Vault:
        """The vault, or UnavailableError."""
        if self.vault is None:
            raise UnavailableError("this server has no vault")
        return self.vault

    def need_artifacts(self) -> BlobStore:
        """The artifact store, or UnavailableError."""
        if self.artifacts is None:
            raise UnavailableError("this server has no artifact store")
        return self.artifacts

    def need_trusted_keys(self) -> TrustedKeys:
        """The trusted-keys registry, or UnavailableError."""
        if self.trusted_keys is None:
            raise UnavailableError("this server has no trusted-keys registry")
        return self.trusted_keys


def translate(exc: BastionError, kind: type[ServerError] = UnavailableError) -> ServerError:
    """A lower package's error as a server error of ``kind`` (its message only, no trace)."""
    if isinstance(exc, ServerError):
        return exc
    # Only the state database's own error means "unavailable" (its message may quote the
    # driver: not for the caller). Its subclasses (a malformed artifact digest, a cache entry)
    # are the caller's input or the object's state, answered as ``kind``.
    if type(exc) is StoreError:
        return UnavailableError("the database is unavailable; nothing was changed")
    return kind(exc.message)
