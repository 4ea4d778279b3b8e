"""An installed Python environment: every distribution in a ``site-packages`` directory.

Reads the ``*.dist-info``/``*.egg-info`` metadata through :mod:`importlib.metadata` (no import
of the packages themselves). Which ones the project asked for is unknowable from the
environment alone, so the relation is ``unknown``.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from bastion.scanners.sca.errors import ManifestError
from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.versions import normalize_name

__all__ = ["find_site_packages", "parse_installed"]


def find_site_packages(path: Path) -> Path:
    """``path`` itself if it is a site-packages directory, else the one inside a venv."""
    if path.name == "site-packages" and path.is_dir():
        return path
    candidates = sorted(path.glob("lib/python3*/site-packages")) + sorted(
        path.glob("Lib/site-packages")
    )
    if len(candidates) != 1:
        raise ManifestError(
            "not a virtual environment or site-packages directory",
            path=str(path),
            hint="point 'installed' at a venv or at its site-packages directory",
        )
    return candidates[0]


def parse_installed(path: Path, rel: str) -> list[Dependency]:
    """Every distribution installed under ``path`` (a venv or a site-packages directory)."""
    site = find_site_packages(path)
    found: dict[str, Dependency] = {}
    for dist in metadata.distributions(path=[str(site)]):
        name, version = dist.metadata["Name"], dist.version
        if not name or not version:
            raise ManifestError("a distribution has no Name or Version metadata", path=rel)
        key = normalize_name("PyPI", name)
        found[key] = Dependency("PyPI", key, rel, None, Relation.UNKNOWN, version=version)
    return sorted(found.values(), key=lambda d: d.name)
