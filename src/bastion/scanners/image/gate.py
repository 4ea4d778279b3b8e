"""The image gate: a container image's packages, configuration and layers, judged.

    >>> gate = ImageGate(matcher=fake_matcher, secrets=None)  # doctest: +SKIP
    >>> request = ScanRequest(root=Path("."), options={"image": "build/layout"})
    >>> report = gate.scan(request)  # doctest: +SKIP

Option (``with:``): ``image``, the OCI layout directory, OCI archive or ``docker save`` tar
to judge, relative to the scanned tree. An image that cannot be read safely raises
:class:`bastion.oci.ImageError` (a ``GateError``) with the reason: the gate fails closed.
Packages of an ecosystem the vulnerability data does not cover are one finding of severity
``unknown`` per ecosystem (the default policy blocks it), never a silent pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bastion.errors import UsageError
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.image.checks import config_issues
from bastion.scanners.image.inventory import ImageInventory, image_inventory
from bastion.scanners.image.model import SecretScanner, VulnerabilityHit, VulnerabilityMatcher
from bastion.scanners.interface import Gate, GateReport, ScanRequest

__all__ = ["GATE_NAME", "ImageGate"]

GATE_NAME = "image"


def _image_path(root: Path, options: Mapping[str, Any]) -> tuple[str, Path]:
    value = options.get("image")
    if not isinstance(value, str) or not value:
        raise UsageError(
            "the image gate needs the 'image' option: the image to judge",
            hint="e.g. with: {image: build/layout} (OCI layout, OCI archive or docker save tar)",
        )
    path = (root / value).resolve()
    if not path.exists():
        raise UsageError(f"the image gate's 'image' {value!r} does not exist under {root}")
    return value, path


def _vulnerability(hit: VulnerabilityHit, image: str) -> Finding:
    pkg = hit.package
    message = (
        f"{pkg.name} {pkg.version} ({pkg.ecosystem}) in the image is affected by {hit.primary_id}"
    )
    others = [i for i in hit.ids if i != hit.primary_id]
    if others:
        message += f" (also {', '.join(others)})"
    if hit.summary:
        message += f": {hit.summary}"
    if not hit.fixed_in:
        message += "; no fixed version is known"
    return Finding.create(
        gate=GATE_NAME,
        rule_id=hit.primary_id,
        severity=hit.severity,
        message=message,
        location=Location(f"{image}!/{pkg.path}", None),
        match_key="|".join((hit.primary_id, pkg.ecosystem, pkg.name, pkg.version)),
        title=hit.summary or hit.primary_id,
        ids=hit.ids,
        fix=f"upgrade {pkg.name} to {hit.fixed_in}" if hit.fixed_in else None,
        properties={
            "ecosystem": pkg.ecosystem,
            "package": pkg.name,
            "version": pkg.version,
            "source_package": pkg.source,
            "purl": pkg.purl,
            "fixed_version": hit.fixed_in,
            **hit.properties,
        },
    )


def _layer_secrets(inventory: ImageInventory, image: str) -> list[Finding]:
    findings = []
    for found in inventory.secrets:
        hit = found.hit
        removed = found.path not in inventory.walk.entries
        note = " (deleted by a later layer, still in the image's bytes)" if removed else ""
        findings.append(
            Finding.create(
                gate=GATE_NAME,
                rule_id=f"image-secret-{hit.rule_id}",
                severity=hit.severity,
                message=f"{hit.title} in /{found.path} of layer {found.layer}{note}: "
                + hit.redacted,
                location=Location(f"{image}!/{found.path}", None),
                match_key=f"layer|{found.path}|{hit.fingerprint_key}",
                title=hit.title,
                properties={"layer": found.layer, "removed_later": removed},
            )
        )
    return findings


class ImageGate(Gate):
    """Judges one container image: vulnerable packages, configuration, secrets in layers."""

    name = GATE_NAME
    option_keys = frozenset({"image"})

    def __init__(
        self,
        matcher: VulnerabilityMatcher,
        secrets: SecretScanner | None,
        binds: tuple[Path, ...] = (),
    ) -> None:
        self.matcher, self.secrets, self._binds = matcher, secrets, binds

    def required_binds(self) -> list[Path]:
        """The vulnerability data directory, when the matcher has one on disk."""
        return [b for b in self._binds if b.is_dir()]

    def scan(self, request: ScanRequest) -> GateReport:
        """Read the image once, judge its packages and configuration, report findings."""
        self.check_options(request.options)
        shown, path = _image_path(request.root, request.options)
        inventory = image_inventory(path, self.secrets)
        hits = self.matcher.match(inventory.packages)
        findings = [_vulnerability(h, shown) for h in hits]
        findings += _layer_secrets(inventory, shown)
        for issue in config_issues(inventory, self.secrets):
            findings.append(
                Finding.create(
                    gate=GATE_NAME,
                    rule_id=issue.rule_id,
                    severity=issue.severity,
                    message=issue.message,
                    location=Location(f"{shown}!/{issue.where}", None),
                    match_key=issue.match_key,
                )
            )
        facts = self._facts(inventory)
        facts.update(self.matcher.facts())
        findings += self._not_judged(facts, inventory, shown)
        notes = [f"skipped {s}" for s in inventory.walk.skipped]
        notes += [
            f"symlink escapes the image root (not followed): {s}"
            for s in inventory.walk.escaping_links
        ]
        return GateReport(
            gate=GATE_NAME,
            findings=tuple(findings),
            facts=facts,
            notes=tuple(notes),
            notices=tuple(notes[:20]),
        )

    @staticmethod
    def _facts(inventory: ImageInventory) -> dict[str, Any]:
        counts = Counter(p.ecosystem for p in inventory.packages)
        return {
            "image_kind": inventory.kind,
            "layers": inventory.layers,
            "layer_bytes": inventory.walk.layer_bytes,
            "distribution": "/".join(inventory.distribution) if inventory.distribution else None,
            "packages": len(inventory.packages),
            "packages_by_ecosystem": dict(sorted(counts.items())),
            "skipped_files": list(inventory.walk.skipped),
            "escaping_links": list(inventory.walk.escaping_links),
        }

    @staticmethod
    def _not_judged(
        facts: Mapping[str, Any], inventory: ImageInventory, image: str
    ) -> list[Finding]:
        findings = []
        for ecosystem, reason in sorted(facts.get("not_judged", {}).items()):
            count = sum(1 for p in inventory.packages if p.ecosystem == ecosystem)
            findings.append(
                Finding.create(
                    gate=GATE_NAME,
                    rule_id="image-packages-not-judged",
                    severity=Severity.UNKNOWN,
                    message=f"{count} {ecosystem} packages were not judged: {reason}",
                    location=Location(image, None),
                    match_key=f"not-judged|{ecosystem}",
                    fix=f"run `bastion db update --ecosystem {ecosystem.split(':')[0]}`",
                )
            )
        return findings
