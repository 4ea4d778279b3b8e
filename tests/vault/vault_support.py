"""Helpers for the vault tests: contexts and values that pass the strength rules."""

from __future__ import annotations

from bastion.trust import Trust
from bastion.vault import RequestContext

VALUE = "kT9vQ2xLmP4wZ8rN-test-value"
OTHER_VALUE = "Zq7Rw3Ys8Vt2Ux6P-other"


def context(
    *,
    repo: str = "acme/api",
    ref: str | None = "refs/heads/main",
    environment: str | None = None,
    trust: Trust = Trust.TRUSTED,
) -> RequestContext:
    """A job asking for secrets, with changeable dimensions."""
    return RequestContext(
        repo=repo, ref=ref, environment=environment, trust=trust, job="deploy", run="run-1"
    )
