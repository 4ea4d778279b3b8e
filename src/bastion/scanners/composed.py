"""Gates assembled from other gates' public APIs: the image gate with OSV matching and secrets.

Why here: the ``scanners`` independence contract forbids ``scanners.image`` importing
``scanners.sca`` or ``scanners.secrets`` (directly or not), and moving the OSV index and the
secrets engine into a shared package would churn two gates others maintain. The image gate
instead declares what it needs (:class:`~bastion.scanners.image.VulnerabilityMatcher`,
:class:`~bastion.scanners.image.SecretScanner`); this module, outside the contract's modules,
adapts the sca and secrets packages' ``__all__`` to them. The registry names
:func:`image_gate`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bastion.scanners.finding import Severity
from bastion.scanners.image import (
    ImageGate,
    InstalledPackage,
    SecretHit,
    VulnerabilityHit,
)
from bastion.scanners.sca import Database, Dependency, Relation, match_dependency, osv_dir
from bastion.scanners.secrets import Engine, redact

__all__ = ["EngineSecrets", "OsvMatcher", "image_gate"]


class OsvMatcher:
    """Installed packages judged against the OSV index (``bastion db update/import``)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or osv_dir()
        self._facts: dict[str, Any] = {}

    def match(self, packages: Sequence[InstalledPackage]) -> list[VulnerabilityHit]:
        """Every vulnerability affecting ``packages``; ecosystems without data are noted."""
        database = Database.open(self.directory)
        try:
            return self._match(database, packages)
        finally:
            database.close()

    def _match(
        self, database: Database, packages: Sequence[InstalledPackage]
    ) -> list[VulnerabilityHit]:
        available = set(database.ecosystems())
        ecosystems = sorted({p.ecosystem for p in packages})
        judged = [e for e in ecosystems if e.split(":")[0] in available]
        not_judged = {
            e: f"no {e.split(':')[0]} vulnerability data in {database.directory}"
            for e in ecosystems
            if e not in judged
        }
        self._facts = {**database.describe(judged), "not_judged": not_judged}
        hits: list[VulnerabilityHit] = []
        cache: dict[tuple[str, str], list[Any]] = {}
        for package in packages:
            if package.ecosystem not in judged:
                continue
            key = (package.ecosystem, package.advisory_name)
            if key not in cache:
                cache[key] = database.index(package.ecosystem).lookup(*key)
            if not cache[key]:
                continue
            dependency = Dependency(
                package.ecosystem,
                package.advisory_name,
                package.path,
                None,
                Relation.UNKNOWN,
                version=package.version,
            )
            for match in match_dependency(dependency, cache[key]):
                hits.append(
                    VulnerabilityHit(
                        package,
                        match.primary_id,
                        match.ids,
                        match.severity.severity,
                        match.advisories[0].summary,
                        match.fixed_in,
                        {
                            "records": [a.id for a in match.advisories],
                            "affected_ranges": match.affected_ranges,
                            "severity_source": match.severity.source,
                        },
                    )
                )
        return hits

    def facts(self) -> dict[str, Any]:
        """Which data judged the last match, and which ecosystems it could not judge."""
        return dict(self._facts)


class EngineSecrets:
    """The secrets gate's engine (its built-in rules), compiled on first use."""

    def __init__(self) -> None:
        self._engine: Engine | None = None

    def scan(self, data: bytes) -> list[SecretHit]:
        """Credentials in ``data``, redacted; the key is a digest of the value, never it."""
        if self._engine is None:
            self._engine = Engine.default()
        return [
            SecretHit(
                c.rule.id,
                c.rule.title,
                Severity(c.rule.severity),
                redact(c.secret),
                hashlib.sha256(b"bastion-image-secret\0" + c.secret).hexdigest()[:32],
            )
            for c in self._engine.candidates(data)
        ]


def image_gate() -> ImageGate:
    """Registry factory: the image gate with the default OSV data and the secrets engine."""
    matcher = OsvMatcher()
    return ImageGate(matcher, EngineSecrets(), binds=(matcher.directory,))
