"""SBOM completeness: how many artifacts carry an SBOM, and how complete their components are.

Artifacts are the distinct digests of the ``attestations`` rows (created since the start of
the period, of the repository if one is asked for). With an SBOM: at least one row of the
digest has a CycloneDX reference. Components: from ``monitor_sbom_components``, one summary
row per digest of its newest CycloneDX document (every component, and the complete ones:
a non-empty ``version`` and ``purl``), filled by :func:`record_sbom_components` from the
artifact store for digests not read before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, distinct, func, select

from bastion.monitor.deployed import newest_cyclonedx
from bastion.monitor.kpi.lookups import chunks
from bastion.monitor.models import SbomComponentsRecord
from bastion.store import AttestationRecord, Database
from bastion.supplychain import BlobStore, Digest

__all__ = ["SbomCompleteness", "component_counts", "record_sbom_components", "sbom_completeness"]


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


@dataclass(frozen=True)
class SbomCompleteness:
    """Artifacts, those with an SBOM, those whose SBOM was read, and their components."""

    artifacts: int = 0
    with_sbom: int = 0
    read: int = 0
    components: int = 0
    complete: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "artifacts": self.artifacts,
            "with_sbom": self.with_sbom,
            "with_sbom_percent": _pct(self.with_sbom, self.artifacts),
            "sboms_read": self.read,
            "components": self.components,
            "complete_components": self.complete,
            "complete_components_percent": _pct(self.complete, self.components),
        }


def component_counts(document: Mapping[str, Any]) -> tuple[int, int]:
    """(components, components with both a version and a package URL) of a CycloneDX doc."""
    listed = [c for c in document.get("components") or [] if isinstance(c, dict)]
    complete = sum(1 for c in listed if c.get("version") and c.get("purl"))
    return len(listed), complete


def record_sbom_components(db: Database, store: BlobStore) -> int:
    """Read the SBOM of each attested digest not summarised yet; how many were added."""
    a, s = AttestationRecord, SbomComponentsRecord
    with db.session() as session:
        missing = list(
            session.scalars(
                select(a.digest)
                .distinct()
                .where(a.cyclonedx_ref != "")
                .where(~a.digest.in_(select(s.digest)))
            )
        )
    added = 0
    for batch in chunks(missing):
        rows = []
        for digest in batch:
            document = newest_cyclonedx(store, Digest(digest))
            if document is not None:
                total, complete = component_counts(document)
                rows.append(
                    SbomComponentsRecord(digest=digest, components=total, complete=complete)
                )
        with db.session() as session:
            session.add_all(rows)
        added += len(rows)
    return added


def sbom_completeness(db: Database, since: datetime | None, repo: str | None) -> SbomCompleteness:
    """The figures over the artifacts attested since ``since`` (of ``repo``)."""
    a, s = AttestationRecord, SbomComponentsRecord
    scope = select(a.digest)
    if since is not None:
        scope = scope.where(a.created_at >= since)
    if repo is not None:
        scope = scope.where(a.repo == repo)
    sbom_digest = case((a.cyclonedx_ref != "", a.digest))
    counted = select(func.count(distinct(a.digest)), func.count(distinct(sbom_digest)))
    if since is not None:
        counted = counted.where(a.created_at >= since)
    if repo is not None:
        counted = counted.where(a.repo == repo)
    summary = select(
        func.count(),
        func.coalesce(func.sum(s.components), 0),
        func.coalesce(func.sum(s.complete), 0),
    ).where(s.digest.in_(scope))
    with db.session() as session:
        artifacts, with_sbom = session.execute(counted).one()
        read, components, complete = session.execute(summary).one()
    return SbomCompleteness(artifacts, with_sbom, read, int(components), int(complete))
