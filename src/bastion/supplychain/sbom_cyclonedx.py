"""CycloneDX 1.6 JSON SBOMs, built with cyclonedx-python-lib."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from bastion.supplychain.interface import ArtifactRecord
from bastion.supplychain.inventory import Package, PackageKind

__all__ = ["cyclonedx_document"]

_TYPES = {
    PackageKind.LIBRARY: ComponentType.LIBRARY,
    PackageKind.OS_PACKAGE: ComponentType.LIBRARY,
    PackageKind.FILE: ComponentType.FILE,
    PackageKind.LAYER: ComponentType.FILE,
}


def _component(index: int, package: Package) -> Component:
    properties = [
        Property(name="bastion:origin", value=package.origin.value),
        Property(name="bastion:kind", value=package.kind.value),
    ]
    if not package.inspected:
        properties.append(Property(name="bastion:inspected", value="false"))
    return Component(
        name=package.name,
        version=package.version,
        type=_TYPES[package.kind],
        bom_ref=f"component-{index}",
        purl=PackageURL.from_string(package.purl) if package.purl else None,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=package.sha256)]
        if package.sha256
        else None,
        licenses=[LicenseFactory().make_from_string(package.license)] if package.license else None,
        properties=properties,
    )


def cyclonedx_document(
    artifact: ArtifactRecord, packages: list[Package], *, timestamp: datetime
) -> dict[str, Any]:
    """The CycloneDX 1.6 document (as a JSON object) describing ``artifact``."""
    root = Component(
        name=artifact.name,
        type=ComponentType.FILE,
        bom_ref="artifact",
        # cyclonedx-python-lib 11 writes ``mimeType`` where the 1.6 schema says ``mime-type``.
        properties=[Property(name="bastion:media-type", value=artifact.media_type)],
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=artifact.digest.split(":", 1)[1])],
    )
    bom = Bom()
    bom.metadata.component = root
    bom.metadata.timestamp = timestamp
    bom.metadata.tools.components.add(
        Component(name="bastion", type=ComponentType.APPLICATION, group="bastion-ci")
    )
    components = [_component(i, p) for i, p in enumerate(packages)]
    for component in components:
        bom.components.add(component)
    # Registering the root's dependencies keeps the BOM graph complete (and the library quiet).
    bom.register_dependency(root, components)
    document: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    return document
