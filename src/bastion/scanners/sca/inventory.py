"""What a tree's lock files pin, as neutral inventory items for SBOMs and provenance.

    >>> from pathlib import Path
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "requirements.txt").write_text("requests==2.19.1\\n")
    >>> [(i.name, i.version, i.purl) for i in dependency_inventory(root)]
    [('requests', '2.19.1', 'pkg:pypi/requests@2.19.1')]

The engine asks this, not the parsers, for what a build resolved: the parsers and their
:class:`~bastion.scanners.sca.model.Dependency` stay the SCA gate's own. Only pinned
dependencies are listed (a range says nothing of what was installed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bastion.scanners.sca.model import Dependency
from bastion.scanners.sca.parsers import discover, parse_manifest

__all__ = ["InventoryItem", "dependency_inventory", "manifest_inventory"]

# OSV ecosystem name → package URL type (purl-spec's registered types).
_PURL_TYPES = {
    "PyPI": "pypi",
    "npm": "npm",
    "Go": "golang",
    "crates.io": "cargo",
    "RubyGems": "gem",
    "Packagist": "composer",
    "Maven": "maven",
}


@dataclass(frozen=True, slots=True)
class InventoryItem:
    """One pinned package: name, exact version, ecosystem (OSV's name) and package URL
    (None for an ecosystem without a registered purl type)."""

    name: str
    version: str
    ecosystem: str
    purl: str | None


def dependency_inventory(
    tree: Path, *, exclude: tuple[str, ...] = (".bastion/**",)
) -> list[InventoryItem]:
    """Every dependency pinned by a lock file or manifest under ``tree``, each once, sorted
    by name, version and ecosystem.

    Raises :class:`~bastion.scanners.sca.errors.ManifestError` for a malformed manifest
    (never an empty list in its place).
    """
    return _pinned(discover(tree, exclude=exclude).dependencies)


def manifest_inventory(tree: Path, manifest: str) -> list[InventoryItem]:
    """What the one manifest ``manifest`` (relative to ``tree``, its includes read from
    there) pins, each once, sorted. Raises ManifestError for a malformed one, ValueError for
    a file no parser reads."""
    return _pinned(parse_manifest(tree / manifest, tree))


def _pinned(dependencies: list[Dependency]) -> list[InventoryItem]:
    items: dict[tuple[str, str, str], InventoryItem] = {}
    for dep in dependencies:
        if dep.version is None:
            continue
        kind = _PURL_TYPES.get(dep.ecosystem)
        purl = f"pkg:{kind}/{dep.name}@{dep.version}" if kind else None
        items[(dep.name, dep.version, dep.ecosystem)] = InventoryItem(
            dep.name, dep.version, dep.ecosystem, purl
        )
    return [items[key] for key in sorted(items)]
