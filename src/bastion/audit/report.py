"""The result of verifying an audit log: what was checked and every problem found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion.audit.interface import AuditTamperError, TamperKind

__all__ = ["AuditVerificationReport", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One finding: ``kind`` (reason code), the first event concerned and, for a range, its end."""

    kind: TamperKind
    message: str
    seq: int | None = None
    end: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "reason": self.kind.value,
            "seq": self.seq,
            "end": self.end,
            "message": self.message,
        }


@dataclass(frozen=True)
class AuditVerificationReport:
    """Whether the audit log is intact: ``size`` events hashing to ``root``, ``checkpoints``
    checked. (An artifact's signature and provenance are another report:
    :class:`bastion.supplychain.ArtifactVerificationReport`.)

    ``unsealed`` counts events newer than the newest valid checkpoint: they verify against
    their own hashes but no signature covers them yet. ``more`` counts problems left out.
    ``witness`` is where the checkpoints kept outside the database were read (None: not
    checked), ``witnessed`` how many it held.
    """

    size: int
    root: bytes
    checkpoints: int
    checkpoint_size: int | None
    unsealed: int
    problems: tuple[Problem, ...]
    more: int = 0
    witness: str | None = None
    witnessed: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise AuditTamperError naming the first problem, if any."""
        if not self.problems:
            return
        first = self.problems[0]
        rest = len(self.problems) - 1 + self.more
        extra = f" (and {rest} more problem{'s' if rest != 1 else ''})" if rest else ""
        raise AuditTamperError(
            first.message + extra,
            reason=first.kind,
            seq=first.seq,
            hint="restore the database from a backup or an export and investigate who changed it",
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "ok": self.ok,
            "size": self.size,
            "root_hash": self.root.hex(),
            "checkpoints": self.checkpoints,
            "checkpoint_size": self.checkpoint_size,
            "unsealed": self.unsealed,
            "problems": [p.to_json() for p in self.problems],
            "more_problems": self.more,
            "witness": self.witness,
            "witnessed": self.witnessed,
        }
