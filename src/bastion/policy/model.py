"""The policy's input and output: plain values, JSON-ready.

The policy package is a leaf (it imports nothing of Bastion but the root modules such as
errors and trust), so findings arrive as the dictionaries ``Finding.to_dict()`` makes, plus
three keys the engine adds:

- ``new``: true unless the fingerprint is in the baseline (no baseline: every finding is new);
- ``suppressed``: true when an active suppression covers it;
- ``where``: ``path:line`` for messages.

Every finding is given to the policy, suppressed and old ones included, so a policy may still
decide on them (for example: block on any secret even if it was in the baseline).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Re-exported: a decision is about the one run context every package speaks.
from bastion.trust import RunContext

__all__ = ["Decision", "PolicyInput", "Reason", "RunContext"]


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """``input`` of the Rego policy.

    ``gates`` maps each gate that ran to ``{"facts": {...}, "notes": [...], "error": str|null}``
    (facts such as the vulnerability database's age). ``suppressions`` lists the suppression
    notes (``{"status": "expired"|"active"|"unused", "owner", "reason", "expires", ...}``).
    """

    context: RunContext
    findings: Sequence[Mapping[str, Any]] = ()
    gates: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    suppressions: Sequence[Mapping[str, Any]] = ()

    def to_json(self) -> str:
        """The input document as JSON text."""
        return json.dumps(
            {
                "context": self.context.to_dict(),
                "findings": [dict(f) for f in self.findings],
                "gates": {name: dict(info) for name, info in self.gates.items()},
                "suppressions": [dict(s) for s in self.suppressions],
            },
            default=str,
        )


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision blocks (or warns): a message and the fingerprints it is about."""

    message: str
    fingerprints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """Pass (``allowed``) or block, with the reasons; ``warnings`` never block."""

    allowed: bool
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for reports."""
        return {
            "allowed": self.allowed,
            "reasons": [_reason_dict(r) for r in self.reasons],
            "warnings": [_reason_dict(r) for r in self.warnings],
            "notes": list(self.notes),
        }


def _reason_dict(reason: Reason) -> dict[str, Any]:
    return {"message": reason.message, "fingerprints": list(reason.fingerprints)}
