"""SBOM completeness: how many artifacts carry an SBOM, and how complete their components are.

Artifacts are the attested digests (``monitor_artifact_facts``, one row per digest: the
time and repository of its first attestation). With an SBOM: an attestation of the digest
names a CycloneDX SBOM. Components: of each such artifact's newest CycloneDX document, every
component, and the complete ones (a non-empty ``version`` and ``purl``); read once from the
artifact store by :func:`record_sbom_components` (an SBOM the store does not have is marked
-1 and left out of the sums).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update

from bastion.monitor.deployed import newest_cyclonedx
from bastion.monitor.kpi.lookups import chunks
from bastion.monitor.models import ArtifactFactRecord
from bastion.store import Database
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
    """Read the SBOM of each artifact not read yet; how many were read."""
    f = ArtifactFactRecord
    with db.session() as session:
        missing = list(
            session.scalars(select(f.digest).where(f.has_sbom == 1, f.components.is_(None)))
        )
    read = 0
    for batch in chunks(missing):
        counts: dict[str, tuple[int, int]] = {}
        for digest in batch:
            document = newest_cyclonedx(store, Digest(digest))
            counts[digest] = component_counts(document) if document is not None else (-1, -1)
        with db.session() as session:
            for digest, (total, complete) in counts.items():
                session.execute(
                    update(f).where(f.digest == digest).values(components=total, complete=complete)
                )
        read += sum(1 for total, _ in counts.values() if total >= 0)
    return read


def sbom_completeness(db: Database, since: datetime | None, repo: str | None) -> SbomCompleteness:
    """The figures over the artifacts first attested since ``since`` (of ``repo``)."""
    f = ArtifactFactRecord
    was_read = f.components >= 0
    figures = select(
        func.count(),
        func.coalesce(func.sum(f.has_sbom), 0),
        func.coalesce(func.sum(case((was_read, 1), else_=0)), 0),
        func.coalesce(func.sum(case((was_read, f.components), else_=0)), 0),
        func.coalesce(func.sum(case((was_read, f.complete), else_=0)), 0),
    )
    if since is not None:
        figures = figures.where(f.first_at >= since)
    if repo is not None:
        figures = figures.where(f.repo == repo)
    with db.session() as session:
        artifacts, with_sbom, read, components, complete = session.execute(figures).one()
    return SbomCompleteness(
        int(artifacts), int(with_sbom), int(read), int(components), int(complete)
    )
