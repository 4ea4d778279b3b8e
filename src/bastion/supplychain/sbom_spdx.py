"""SPDX 2.3 JSON documents, written as plain JSON per the SPDX 2.3 specification.

No maintained library writes SPDX 2.3 JSON without a heavy dependency tree, and the format
is a small, fixed shape; tests validate the output with the SPDX project's own
``spdx-tools`` parser and validator.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from bastion.supplychain.interface import ArtifactRecord
from bastion.supplychain.inventory import Package, PackageKind
from bastion.supplychain.provenance import rfc3339

__all__ = ["spdx_document"]

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


def _package(spdx_id: str, package: Package) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "SPDXID": spdx_id,
        "name": package.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": package.license or "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "FILE"
        if package.kind in {PackageKind.FILE, PackageKind.LAYER}
        else ("OPERATING-SYSTEM" if package.kind is PackageKind.OS_PACKAGE else "LIBRARY"),
        "comment": f"origin: {package.origin.value}"
        + ("" if package.inspected else "; contents not inspected"),
    }
    if package.version:
        entry["versionInfo"] = package.version
    if package.sha256:
        entry["checksums"] = [{"algorithm": "SHA256", "checksumValue": package.sha256}]
    if package.purl:
        entry["externalRefs"] = [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": package.purl,
            }
        ]
    return entry


def spdx_document(
    artifact: ArtifactRecord, packages: list[Package], *, timestamp: datetime
) -> dict[str, Any]:
    """The SPDX 2.3 document (as a JSON object) describing ``artifact``."""
    hex_digest = artifact.digest.split(":", 1)[1]
    root_id = "SPDXRef-Artifact"
    root = {
        "SPDXID": root_id,
        "name": artifact.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "checksums": [{"algorithm": "SHA256", "checksumValue": hex_digest}],
        "primaryPackagePurpose": "FILE",
    }
    entries = [root]
    relationships = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": root_id,
        }
    ]
    for index, package in enumerate(packages):
        spdx_id = f"SPDXRef-{index}-{_ID_UNSAFE.sub('-', package.name)[:60]}"
        entries.append(_package(spdx_id, package))
        relation = (
            "CONTAINS" if package.kind in {PackageKind.FILE, PackageKind.LAYER} else ("DEPENDS_ON")
        )
        relationships.append(
            {"spdxElementId": root_id, "relationshipType": relation, "relatedSpdxElement": spdx_id}
        )
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{artifact.name} ({artifact.digest})",
        "documentNamespace": f"https://bastion.invalid/spdx/{hex_digest}/{uuid.uuid4()}",
        "creationInfo": {"created": rfc3339(timestamp), "creators": ["Tool: bastion"]},
        "packages": entries,
        "relationships": relationships,
    }
