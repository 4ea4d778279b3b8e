"""How far a run is trusted, what each level may do, and what a run is about.

>>> from bastion.trust import RunContext, Trust
>>> Trust.RELEASE.signs, Trust.UNTRUSTED.receives_secrets
(True, False)
>>> RunContext("demo", "c0ffee", "refs/heads/main", "push", Trust.TRUSTED).to_dict()["trust"]
'trusted'

The one :class:`Trust` enum and the one :class:`RunContext` (ARCHITECTURE.md, "Seams"): the
engine, the vault, the supply chain and the policy all speak these, so nothing converts one
package's trust level into another's. Like :mod:`bastion.errors`, this root module may be
imported by every package, leaf packages included; it imports no package itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["RunContext", "Trust"]


class Trust(enum.StrEnum):
    """Trust levels of the trust model (ARCHITECTURE.md) plus the two local ones.

    ``local`` and ``dirty`` are ``bastion run`` on a developer's machine: a clean committed
    tree, and uncommitted changes. The string values are what run records, provenance,
    vault files and audit events store; they never change.
    """

    UNTRUSTED = "untrusted"
    INTERNAL = "internal"
    TRUSTED = "trusted"
    RELEASE = "release"
    LOCAL = "local"
    DIRTY = "dirty"

    @property
    def signs(self) -> bool:
        """Whether runs of this trust sign their attestations (unsigned ones say so)."""
        return self in _SIGNING

    @property
    def receives_secrets(self) -> bool:
        """Whether a secret's scope may name this level at all: untrusted runs (fork pull
        requests, changed pipeline files) never receive secrets, whatever a scope says."""
        return self is not Trust.UNTRUSTED

    @property
    def deploys_protected(self) -> bool:
        """Whether runs of this trust may deploy to a protected environment (after approval)."""
        return self in _DEPLOYING


# A clean local tree signs with the developer's own key, so `bastion verify` can tell a local
# build from a tampered one; dirty trees and untrusted or internal runs never sign.
_SIGNING = frozenset({Trust.TRUSTED, Trust.RELEASE, Trust.LOCAL})
_DEPLOYING = frozenset({Trust.TRUSTED, Trust.RELEASE})


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a run builds: repository, commit, ref, the triggering event and its trust.

    ``commit`` is None for an uncommitted tree, ``ref`` for a detached commit. ``trust`` is
    parsed on construction, so a level's name (``"trusted"``) becomes a :class:`Trust` and an
    unknown one is refused.
    """

    repo: str
    commit: str | None
    ref: str | None
    event: str
    trust: Trust

    def __post_init__(self) -> None:
        # Parse, don't validate: a name read from a record or a test becomes the enum member.
        object.__setattr__(self, "trust", Trust(self.trust))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``input.context`` of a Rego policy.

        ``ref`` is always a string there (empty when the run has none), as policies were
        written against.
        """
        return {
            "repo": self.repo,
            "ref": self.ref or "",
            "trust": str(self.trust),
            "event": self.event,
            "commit": self.commit,
        }
