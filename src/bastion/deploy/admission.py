"""Admission: ``bastion verify`` on the exact digest, with the environment's rules.

Signature, provenance, SBOMs present, builder and source (repository, ref) as the
environment allows, and the policy: every check must pass or the deploy is refused with the
first failed check's reason code, before anything in the environment changes.

What a deploy then records of its source (:func:`deployed_source`) comes from the same
verified provenance, never from the deployer's say-so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bastion.audit import AuditEvent, Outcome
from bastion.deploy.interface import AuditSink, DeployRefusedError, EnvironmentConfig
from bastion.supplychain import (
    ArtifactVerificationReport,
    BlobStore,
    Digest,
    Expectations,
    TrustedKey,
    verify_artifact,
)
from bastion.trust import Trust

__all__ = ["admit", "deployed_source"]


def admit(
    store: BlobStore,
    trusted: Sequence[TrustedKey],
    config: EnvironmentConfig,
    digest: Digest,
    audit: AuditSink,
    actor: str,
) -> ArtifactVerificationReport:
    """Verify ``digest`` for ``config``'s environment; DeployRefusedError (audited) if not."""
    expect = Expectations(
        builder_id=config.builder,
        repository=config.repository,
        ref=config.ref,
        allow_local=config.allow_local,
    )
    report = verify_artifact(store, digest, trusted, expect, config.policy)
    failed = [c for c in report.checks if not c.ok]
    reason = failed[0].reason if failed else ("ok" if report.ok else "no-checks")
    details = {
        "environment": config.name,
        "verified": report.ok,
        "reason": reason,
        "failed": [{"check": c.name, "reason": c.reason} for c in failed],
    }
    outcome = Outcome.SUCCESS if report.ok else Outcome.DENIED
    audit(AuditEvent(actor, "deploy.verified", digest, outcome, details))
    if not report.ok:
        detail = failed[0].detail if failed else "nothing was checked"
        raise DeployRefusedError(
            f"deploy of {digest} to {config.name} refused: {reason}: {detail}", reason=reason
        )
    return report


def deployed_source(report: ArtifactVerificationReport) -> dict[str, Any]:
    """What ``deploy.started`` says of the source: repository, ref, commit, trust, protected.

    Taken from the verified provenance of the exact digest. ``protected`` is read from the
    trust the builder signed: the server grants ``trusted`` only to a protected branch's head
    and ``release`` only to a signed release tag, while the deploy package holds no list of
    protected branches it could check a ref against. Any other trust (a local build deployed
    with ``allow_local``) is not known to come from a protected ref, so it is not protected.
    """
    facts = report.provenance
    if facts is None:  # admit() never passes such a report; say nothing rather than guess
        return {}
    try:
        protected = Trust(facts.trust).deploys_protected
    except ValueError:  # a trust name this version does not know proves nothing
        protected = False
    return {
        "repo": facts.repository,
        "ref": facts.ref,
        "commit": facts.commit,
        "trust": facts.trust,
        "protected": protected,
    }
