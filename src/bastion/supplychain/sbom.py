"""Gather what went into an artifact and write both SBOMs for it.

Inventory sources, in order: the engine's resolved dependencies (lock files), the build
environment's installed packages (``BuildContext.site_packages``), and what is inside the
artifact itself when it is a wheel, an sdist or a container image tarball.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bastion.supplychain.contents import sdist_packages, wheel_packages
from bastion.supplychain.context import BuildContext
from bastion.supplychain.image import image_packages, is_image_archive
from bastion.supplychain.interface import ArtifactRecord
from bastion.supplychain.inventory import (
    Package,
    environment_packages,
    lockfile_packages,
)
from bastion.supplychain.sbom_cyclonedx import cyclonedx_document
from bastion.supplychain.sbom_spdx import spdx_document

__all__ = ["Sboms", "artifact_packages", "build_sboms", "collect_packages"]


def artifact_packages(path: Path) -> list[Package]:
    """What is inside the artifact at ``path`` ([] for a file type we do not open)."""
    name = path.name.lower()
    if name.endswith(".whl"):
        return wheel_packages(path)
    if name.endswith((".tar.gz", ".tgz")) and not is_image_archive(path):
        return sdist_packages(path)
    if name.endswith((".tar", ".tar.gz", ".tgz", ".oci")) and is_image_archive(path):
        return image_packages(path)
    return []


def collect_packages(path: Path, context: BuildContext) -> list[Package]:
    """Every inventory entry for the artifact at ``path`` built in ``context``."""
    return [
        *lockfile_packages(context.dependencies),
        *environment_packages(context.site_packages),
        *artifact_packages(path),
    ]


@dataclass(frozen=True)
class Sboms:
    """The two SBOM documents of one artifact, as JSON objects."""

    cyclonedx: dict[str, Any]
    spdx: dict[str, Any]


def build_sboms(artifact: ArtifactRecord, packages: list[Package], *, timestamp: datetime) -> Sboms:
    """CycloneDX 1.6 and SPDX 2.3 documents for ``artifact``."""
    return Sboms(
        cyclonedx=cyclonedx_document(artifact, packages, timestamp=timestamp),
        spdx=spdx_document(artifact, packages, timestamp=timestamp),
    )
