"""What went into an artifact, as a flat list of :class:`Package` for the SBOM writers.

Three sources: the dependencies the engine resolved from lock files, the packages installed
in the build environment (``importlib.metadata`` over given site-packages directories) and,
in :mod:`bastion.supplychain.contents`, what is inside wheels, sdists and container images.
"""

from __future__ import annotations

import email.message
import email.parser
import enum
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from license_expression import (  # type: ignore[import-untyped]
    ExpressionError,
    get_spdx_licensing,
)
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from bastion.supplychain.context import ResolvedDependency

__all__ = [
    "Origin",
    "Package",
    "PackageKind",
    "environment_packages",
    "lockfile_packages",
    "metadata_packages",
    "pypi_purl",
    "spdx_license",
]


class PackageKind(enum.Enum):
    """What an inventory entry is."""

    LIBRARY = "library"
    OS_PACKAGE = "os-package"
    FILE = "file"
    LAYER = "layer"


class Origin(enum.Enum):
    """Where an inventory entry was found."""

    LOCKFILE = "lockfile"
    ENVIRONMENT = "build-environment"
    ARTIFACT = "artifact"


@dataclass(frozen=True)
class Package:
    """One inventory entry: name, version, purl, sha256 hex and SPDX license when known."""

    name: str
    version: str | None
    kind: PackageKind
    origin: Origin
    purl: str | None = None
    sha256: str | None = None
    license: str | None = None
    inspected: bool = True


_LICENSING = get_spdx_licensing()


def spdx_license(text: str | None) -> str | None:
    """``text`` normalised as a valid SPDX license expression, or None when it is not one."""
    if not text or len(text) > 200 or "\n" in text.strip():
        return None
    try:
        info = _LICENSING.validate(text.strip(), strict=True)
    except ExpressionError:
        return None
    if info.errors or info.invalid_symbols or not info.normalized_expression:
        return None
    return str(info.normalized_expression)


def pypi_purl(name: str, version: str | None) -> str:
    """The package URL of a Python distribution."""
    return str(PackageURL(type="pypi", name=canonicalize_name(name), version=version).to_string())


def _license_of(meta: email.message.Message) -> str | None:
    return spdx_license(meta.get("License-Expression")) or spdx_license(meta.get("License"))


def metadata_packages(
    meta: email.message.Message, origin: Origin
) -> tuple[Package | None, list[Package]]:
    """The distribution a METADATA/PKG-INFO describes, and its Requires-Dist entries."""
    name, version = meta.get("Name"), meta.get("Version")
    if not name:
        return None, []
    main = Package(
        name=str(name),
        version=str(version) if version else None,
        kind=PackageKind.LIBRARY,
        origin=origin,
        purl=pypi_purl(str(name), str(version) if version else None),
        license=_license_of(meta),
    )
    requires = []
    for requirement in meta.get_all("Requires-Dist") or []:
        req_name = str(requirement).split(";")[0].strip()
        for stop in " [(<>=!~":
            req_name = req_name.split(stop)[0]
        if req_name:
            requires.append(
                Package(req_name, None, PackageKind.LIBRARY, origin, purl=pypi_purl(req_name, None))
            )
    return main, requires


def parse_metadata(text: str) -> email.message.Message:
    """Parse a core-metadata file (METADATA / PKG-INFO)."""
    return email.parser.Parser().parsestr(text, headersonly=True)


def lockfile_packages(dependencies: Iterable[ResolvedDependency]) -> list[Package]:
    """The engine's resolved dependencies as inventory entries."""
    return [
        Package(
            name=d.name,
            version=d.version,
            kind=PackageKind.LIBRARY,
            origin=Origin.LOCKFILE,
            purl=d.purl,
            sha256=d.sha256,
            license=spdx_license(d.license),
        )
        for d in dependencies
    ]


def environment_packages(site_dirs: Iterable[str | Path]) -> list[Package]:
    """Distributions installed in the given site-packages directories, sorted by name."""
    paths = [str(p) for p in site_dirs]
    if not paths:
        return []
    found: dict[tuple[str, str | None], Package] = {}
    for dist in importlib.metadata.distributions(path=paths):
        # At run time the metadata is an email Message; the protocol type hides .get().
        meta = cast(email.message.Message, dist.metadata)
        name = meta.get("Name")
        if not name:
            continue  # a broken dist-info without a name cannot be described
        version = meta.get("Version")
        key = (str(canonicalize_name(name)), version)
        found[key] = Package(
            name=str(name),
            version=version,
            kind=PackageKind.LIBRARY,
            origin=Origin.ENVIRONMENT,
            purl=pypi_purl(str(name), version),
            license=spdx_license(meta.get("License-Expression"))
            or spdx_license(meta.get("License")),
        )
    return [found[k] for k in sorted(found, key=lambda k: (k[0], k[1] or ""))]
