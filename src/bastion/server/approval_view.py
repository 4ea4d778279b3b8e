"""What an approver is shown before voting: each shipped artifact's digest and
``bastion verify``'s result for it, the SBOM diff against what the environment runs now
(new dependencies, removed, upgraded, otherwise changed), the run's open findings worst
first, the pipeline-file changes since the last deploy, and the people behind the commits.

Read-only; an artifact that cannot be verified here is shown as not verifying, with why
(fails closed: the page never says "verified" for something it did not check).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from bastion.errors import BastionError
from bastion.server import artifacts_view
from bastion.server.approval_records import ApprovalRequestRecord
from bastion.server.environments import Environments
from bastion.server.findings import FindingView, run_findings
from bastion.server.release_facts import SbomDiff, sbom_diff
from bastion.server.resources import ResourceServices
from bastion.server.triage import Accepted
from bastion.store import Database
from bastion.supplychain import ArtifactVerificationReport, parse_digest

__all__ = ["ApprovalFacts", "ShippedArtifact", "approval_facts"]

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


@dataclass(frozen=True)
class ShippedArtifact:
    """One artifact the job receives: its digest and verification (or why there is none)."""

    path: str
    digest: str
    report: ArtifactVerificationReport | None
    error: str | None = None

    @property
    def verified(self) -> bool:
        """Only a report whose every check passed."""
        return self.report is not None and self.report.ok


@dataclass(frozen=True)
class ApprovalFacts:
    """Everything the approval page shows about what ships."""

    artifacts: tuple[ShippedArtifact, ...]
    diff: SbomDiff
    first_deploy: bool
    findings: tuple[FindingView, ...]
    config_changes: tuple[str, ...] | None
    people: tuple[str, ...] | None
    deployed_commit: str | None


def _verify(
    resources: ResourceServices, row: ApprovalRequestRecord, path: str, digest: str
) -> ShippedArtifact:
    """``bastion verify``'s checks of one shipped digest, expecting the run's repository."""
    try:
        parsed = parse_digest(digest)
        item = artifacts_view.Produced(parsed, path, row.repo, row.run_id, row.job)
        store, keys = resources.need_artifacts(), resources.need_trusted_keys()
        return ShippedArtifact(path, digest, artifacts_view.verify(store, keys, item))
    except BastionError as exc:
        return ShippedArtifact(path, digest, None, exc.message)


def _artifacts(shipped: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = []
    for pair in shipped.get("artifacts") or []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            found.append((str(pair[0]), str(pair[1])))
    return found


def _strings(value: object) -> tuple[str, ...] | None:
    return tuple(str(v) for v in value) if isinstance(value, list) else None


def approval_facts(
    db: Database,
    resources: ResourceServices,
    row: ApprovalRequestRecord,
    accepted: Collection[Accepted],
    today: dt.date,
) -> ApprovalFacts:
    """The facts of request ``row`` as its page shows them."""
    shipped = dict(row.shipped)
    _digest, deployed_commit, deployed = Environments(db).deployed(row.environment)
    components = shipped.get("components")
    shipping = {str(k): str(v) for k, v in (components or {}).items()}
    findings = [f for f in run_findings(db, row.run_id, accepted, today) if f.open]
    findings.sort(key=lambda f: (_SEVERITY_ORDER.get(f.severity, 5), f.path, f.line or 0))
    return ApprovalFacts(
        artifacts=tuple(_verify(resources, row, p, d) for p, d in _artifacts(shipped)),
        diff=sbom_diff({str(k): str(v) for k, v in deployed.items()}, shipping),
        first_deploy=deployed_commit is None,
        findings=tuple(findings),
        config_changes=_strings(shipped.get("config_changes")),
        people=_strings(shipped.get("people")),
        deployed_commit=deployed_commit,
    )
