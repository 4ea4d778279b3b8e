"""What the audit log needs from outside (a note signer and verifiers) and the errors it raises.

Error tree (all under :class:`bastion.errors.AuditError`, exit code 1)::

    AuditError
    ├── NoteError           a signed note or key string is malformed or does not verify
    └── AuditTamperError    verification found the log changed; ``reason`` and ``seq`` say how
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable

from bastion.errors import AuditError

__all__ = [
    "AuditTamperError",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "TamperKind",
]


@runtime_checkable
class NoteVerifier(Protocol):
    """Checks C2SP signed-note signatures of one key (name + 4-byte key ID)."""

    @property
    def name(self) -> str:
        """The key name in signature lines."""
        ...

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID prefixed to each signature."""
        ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` (without the key ID) signs ``message``."""
        ...


@runtime_checkable
class NoteSigner(Protocol):
    """Signs note texts; an HSM or KMS can stand in for the default key file."""

    @property
    def name(self) -> str:
        """The key name in signature lines (also the log's origin by default)."""
        ...

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID prefixed to each signature."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The raw signature of ``message`` (without the key ID)."""
        ...

    def verifier(self) -> NoteVerifier:
        """The matching verifier."""
        ...


class TamperKind(StrEnum):
    """Machine-readable reason codes of a failed verification."""

    CHANGED = "changed"
    DELETED = "deleted"
    REORDERED = "reordered"
    INSERTED = "inserted"
    CHECKPOINT = "checkpoint"
    INCONSISTENT = "inconsistent"
    INDEX = "index"
    WITNESS = "witness"
    UNSEALED = "unsealed"


class NoteError(AuditError):
    """A signed note, checkpoint or key string is malformed or fails to verify."""


class AuditTamperError(AuditError):
    """The audit log does not verify; ``reason`` names how, ``seq`` the first event concerned."""

    def __init__(
        self, message: str, *, reason: TamperKind, seq: int | None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
        self.seq = seq
