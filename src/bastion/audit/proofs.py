"""Inclusion and consistency proofs as self-contained values an outsider can check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bastion.audit.interface import AuditTamperError, NoteVerifier, TamperKind
from bastion.audit.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from bastion.audit.note import Checkpoint

__all__ = ["ConsistencyProof", "InclusionProof"]


@dataclass(frozen=True)
class InclusionProof:
    """Event ``seq`` (its exact ``body``) is leaf ``seq`` of the tree signed in ``checkpoint``."""

    seq: int
    body: str
    path: tuple[bytes, ...]
    checkpoint: Checkpoint

    @property
    def leaf_hash(self) -> bytes:
        """``SHA-256(0x00 || body)``."""
        return leaf_hash(self.body.encode())

    def verify(self, verifiers: Sequence[NoteVerifier]) -> None:
        """Check the checkpoint's signature and the audit path; AuditError if either fails."""
        checkpoint = Checkpoint.open(self.checkpoint.note, verifiers)
        try:
            verify_inclusion(self.seq, checkpoint.size, self.leaf_hash, self.path, checkpoint.root)
        except ProofError as exc:
            raise AuditTamperError(
                f"event {self.seq} is not in the checkpoint of size {checkpoint.size}: {exc}",
                reason=TamperKind.CHANGED,
                seq=self.seq,
            ) from exc

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (hashes in hex)."""
        return {
            "seq": self.seq,
            "tree_size": self.checkpoint.size,
            "leaf_hash": self.leaf_hash.hex(),
            "path": [p.hex() for p in self.path],
            "root_hash": self.checkpoint.root.hex(),
            "body": self.body,
            "checkpoint": self.checkpoint.note,
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree signed in ``old`` is a prefix of the tree signed in ``new``."""

    old: Checkpoint
    new: Checkpoint
    path: tuple[bytes, ...]

    def verify(self, verifiers: Sequence[NoteVerifier]) -> None:
        """Check both signatures and the proof; AuditError if any fails."""
        old = Checkpoint.open(self.old.note, verifiers)
        new = Checkpoint.open(self.new.note, verifiers, origin=old.origin)
        try:
            verify_consistency(old.size, new.size, self.path, old.root, new.root)
        except ProofError as exc:
            raise AuditTamperError(
                f"checkpoint of size {old.size} is not consistent with size {new.size}: {exc}",
                reason=TamperKind.INCONSISTENT,
                seq=old.size,
            ) from exc

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (hashes in hex)."""
        return {
            "old_size": self.old.size,
            "new_size": self.new.size,
            "path": [p.hex() for p in self.path],
            "old_checkpoint": self.old.note,
            "new_checkpoint": self.new.note,
        }
