"""Continuous re-scan: what each environment runs, matched again against the vulnerability
database after ``bastion db update`` or ``bastion db import``.

    >>> report = rescan_deployed(db, LocalBlobStore(home / "artifacts"),
    ...                          sca.Database.open(), masker, sinks=["webhook"])  # doctest: +SKIP

The artifact an environment runs is its latest promotion; its packages are the components
(with a package URL) of its newest CycloneDX SBOM in the artifact store. A vulnerability
that affects one of them is a post-deployment finding (``monitor_deployed_findings``, once
per environment, digest, package, version and vulnerability) and opens a
``post-deployment-vulnerability`` alert naming the environment and the digest, queued for
every sink. Ecosystems the database has no data for are listed in the report, not guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.monitor.alerts import AlertStore
from bastion.monitor.interface import Severity, Signal, TextMasker
from bastion.monitor.models import DeployedFindingRecord
from bastion.scanners.sca import Database as VulnerabilityDatabase
from bastion.scanners.sca import Dependency, Match, Relation, match_dependency
from bastion.store import Database
from bastion.supplychain import AttestationKind, BlobStore, Digest, Envelope

__all__ = [
    "POST_DEPLOYMENT_RULE",
    "DeployedPackage",
    "RescanReport",
    "deployed_artifacts",
    "newest_cyclonedx",
    "rescan_deployed",
    "sbom_packages",
]

POST_DEPLOYMENT_RULE = "post-deployment-vulnerability"
# Package URL type → OSV ecosystem (purl-spec's registered types).
_ECOSYSTEMS = {
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "composer": "Packagist",
    "maven": "Maven",
    "nuget": "NuGet",
}
_SEVERITIES = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "unknown": Severity.HIGH,  # not yet scored is not harmless
    "medium": Severity.MEDIUM,
}


@dataclass(frozen=True, slots=True)
class DeployedPackage:
    """One package an SBOM lists: OSV ecosystem, name as OSV spells it, exact version."""

    ecosystem: str
    name: str
    version: str


@dataclass(frozen=True)
class RescanReport:
    """What a re-scan read and found (``opened``: ids of the alerts it opened)."""

    artifacts: int
    packages: int
    new_findings: int
    opened: tuple[int, ...]
    unjudged_ecosystems: tuple[str, ...]


def _package(purl_text: str) -> DeployedPackage | None:
    try:
        purl = PackageURL.from_string(purl_text)
    except ValueError:
        return None
    ecosystem = _ECOSYSTEMS.get(purl.type)
    if ecosystem is None or not purl.version:
        return None
    name = purl.name
    if purl.namespace:
        name = f"{purl.namespace}:{name}" if ecosystem == "Maven" else f"{purl.namespace}/{name}"
    return DeployedPackage(ecosystem, name, purl.version)


def sbom_packages(document: dict[str, Any]) -> list[DeployedPackage]:
    """The packages of a CycloneDX document's components that carry a known package URL."""
    found: dict[DeployedPackage, None] = {}
    for component in document.get("components") or []:
        purl = component.get("purl") if isinstance(component, dict) else None
        package = _package(purl) if isinstance(purl, str) else None
        if package is not None:
            found[package] = None
    return list(found)


def deployed_artifacts(store: BlobStore) -> list[tuple[str, Digest]]:
    """(environment, digest) of what each environment received last."""
    out: list[tuple[str, Digest]] = []
    for environment in store.environments():
        promotions = store.promotions(environment)
        if promotions:
            out.append((environment, promotions[-1].digest))
    return out


def newest_cyclonedx(store: BlobStore, digest: Digest) -> dict[str, Any] | None:
    """The newest CycloneDX document stored for ``digest`` (None without one)."""
    for bundle in store.bundles(digest):
        data = store.get_attestation(digest, bundle, AttestationKind.CYCLONEDX)
        if data is not None:
            statement = json.loads(Envelope.from_json(data).payload)
            predicate = statement.get("predicate") if isinstance(statement, dict) else None
            return predicate if isinstance(predicate, dict) else {}
    return None


def _sbom(store: BlobStore, digest: Digest) -> list[DeployedPackage]:
    """The packages of the newest CycloneDX SBOM stored for ``digest`` ([] without one)."""
    document = newest_cyclonedx(store, digest)
    return sbom_packages(document) if document else []


def _matches(
    vulns: VulnerabilityDatabase, package: DeployedPackage, unjudged: set[str]
) -> list[Match]:
    if package.ecosystem not in vulns.ecosystems():
        unjudged.add(package.ecosystem)
        return []
    dependency = Dependency(
        package.ecosystem, package.name, "sbom", None, Relation.UNKNOWN, version=package.version
    )
    advisories = vulns.index(package.ecosystem).lookup(package.ecosystem, package.name)
    return match_dependency(dependency, advisories)


def _signal(environment: str, digest: Digest, package: DeployedPackage, match: Match) -> Signal:
    fix = f"; fixed in {match.fixed_in}" if match.fixed_in else "; no fixed version yet"
    return Signal(
        rule=POST_DEPLOYMENT_RULE,
        severity=_SEVERITIES.get(match.severity.severity.value, Severity.LOW),
        title=f"{match.primary_id} in {package.name}@{package.version} deployed to {environment}",
        detail=f"environment {environment}, artifact {digest}: {package.ecosystem} package "
        f"{package.name} {package.version} is affected ({match.affected_ranges}){fix}; "
        f"ids {', '.join(match.ids)}",
        key=f"{environment}:{digest}:{match.primary_id}",
    )


def _record(
    session: Session, environment: str, digest: Digest, package: DeployedPackage, match: Match
) -> DeployedFindingRecord | None:
    """A new finding row (None when this one was recorded before)."""
    existing = session.scalars(
        select(DeployedFindingRecord.id).where(
            DeployedFindingRecord.environment == environment,
            DeployedFindingRecord.digest == digest,
            DeployedFindingRecord.ecosystem == package.ecosystem,
            DeployedFindingRecord.package == package.name,
            DeployedFindingRecord.version == package.version,
            DeployedFindingRecord.vulnerability == match.primary_id,
        )
    ).first()
    if existing is not None:
        return None
    row = DeployedFindingRecord(
        environment=environment, digest=digest, ecosystem=package.ecosystem,
        package=package.name, version=package.version, vulnerability=match.primary_id,
        aliases=" ".join(match.ids), severity=match.severity.severity.value,
        fixed_in=match.fixed_in,
    )  # fmt: skip
    session.add(row)
    return row


def _hits(
    store: BlobStore, vulns: VulnerabilityDatabase, unjudged: set[str], counts: list[int]
) -> Iterator[tuple[str, Digest, DeployedPackage, Match]]:
    for environment, digest in deployed_artifacts(store):
        counts[0] += 1
        for package in _sbom(store, digest):
            counts[1] += 1
            for match in _matches(vulns, package, unjudged):
                yield environment, digest, package, match


def rescan_deployed(
    db: Database,
    store: BlobStore,
    vulns: VulnerabilityDatabase,
    masker: TextMasker,
    sinks: Sequence[str] = (),
) -> RescanReport:
    """Match what every environment runs against ``vulns``; record what is new and alert."""
    alerts = AlertStore(db)
    unjudged: set[str] = set()
    counts = [0, 0]
    new, opened = 0, []
    with db.session() as session:
        for environment, digest, package, match in _hits(store, vulns, unjudged, counts):
            row = _record(session, environment, digest, package, match)
            if row is None:
                continue
            new += 1
            signal = _signal(environment, digest, package, match)
            ids = alerts.open_signals(session, [signal], masker, sinks)
            opened += ids
            session.flush()
            row.alert_id = ids[0] if ids else None
    return RescanReport(counts[0], counts[1], new, tuple(opened), tuple(sorted(unjudged)))
