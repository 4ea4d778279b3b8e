"""An image's packages: the layer walk's facts assembled into one list, distribution known.

>>> from pathlib import Path
>>> result = image_inventory(Path("layout"), secrets=None)  # doctest: +SKIP
>>> sorted({p.ecosystem for p in result.packages})  # doctest: +SKIP
['Debian:12', 'PyPI']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bastion.oci import Image, Walk, open_image, walk_image
from bastion.scanners.image.collect import ImageCollector, LayerSecret, RawDatabase
from bastion.scanners.image.model import InstalledPackage, SecretScanner
from bastion.scanners.image.packages import apk_packages, distribution, dpkg_packages

__all__ = ["ImageInventory", "image_inventory", "os_ecosystem"]


@dataclass(frozen=True, slots=True)
class ImageInventory:
    """Everything the gate judges: configuration, final tree, packages and layer secrets."""

    config: dict[str, object]
    annotations: dict[str, str]
    walk: Walk
    packages: tuple[InstalledPackage, ...]
    secrets: tuple[LayerSecret, ...]
    distribution: tuple[str, str] | None
    kind: str
    layers: int


def os_ecosystem(dist: tuple[str, str] | None, default: str) -> str:
    """OSV's ecosystem for a distribution: ``Debian:12``, ``Alpine:v3.19``, else ``default``."""
    if dist is None:
        return default
    name, version = dist
    if name == "debian" and version:
        return f"Debian:{version.split('.')[0]}"
    if name == "alpine" and version:
        return "Alpine:v" + ".".join(version.split(".")[:2])
    if name == "ubuntu" and version:
        return f"Ubuntu:{version}"
    return default


def _assemble(walk: Walk) -> tuple[list[InstalledPackage], tuple[str, str] | None]:
    raws = {path: f for path, f in walk.facts.items() if isinstance(f, RawDatabase)}
    release = next((r.text for r in raws.values() if r.kind == "os-release"), "")
    dist = distribution(release)
    packages: list[InstalledPackage] = []
    for path in sorted(raws):
        raw = raws[path]
        if raw.kind in ("dpkg", "dpkg-status.d"):
            packages.extend(dpkg_packages(raw.text, path, os_ecosystem(dist, "Debian")))
        elif raw.kind == "apk":
            packages.extend(apk_packages(raw.text, path, os_ecosystem(dist, "Alpine")))
    for path in sorted(walk.facts):
        fact = walk.facts[path]
        if isinstance(fact, list):
            packages.extend(p for p in fact if isinstance(p, InstalledPackage))
    return packages, dist


def _annotations(image: Image) -> dict[str, str]:
    found = image.manifest.get("annotations", {})
    labels = image.config.get("config", {})
    labels = labels.get("Labels") if isinstance(labels, dict) else None
    merged = {
        **(labels if isinstance(labels, dict) else {}),
        **(found if isinstance(found, dict) else {}),
    }
    return {str(k): str(v) for k, v in merged.items()}


def image_inventory(path: Path, secrets: SecretScanner | None) -> ImageInventory:
    """Open the image at ``path``, read each layer once, and assemble what it holds."""
    with open_image(path) as image:
        collector = ImageCollector(secrets)
        walk = walk_image(image, collector)
        packages, dist = _assemble(walk)
        return ImageInventory(
            config=image.config,
            annotations=_annotations(image),
            walk=walk,
            packages=tuple(dict.fromkeys(packages)),
            secrets=tuple(collector.found_secrets),
            distribution=dist,
            kind=image.kind,
            layers=len(image.layers),
        )
