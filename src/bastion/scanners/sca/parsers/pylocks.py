"""Python lock files: poetry.lock, pdm.lock, uv.lock (TOML) and Pipfile.lock (JSON).

A lock entry is direct when the project's manifest beside it (pyproject.toml, Pipfile)
declares it, or, in uv.lock, when the project's own package entry depends on it; with no
manifest to ask, the relation is ``unknown`` rather than a guess.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.pyproject import direct_names
from bastion.scanners.sca.parsers.source import SourceFile
from bastion.scanners.sca.versions import normalize_name

__all__ = ["parse_pipfile_lock", "parse_toml_lock"]


def _relation(name: str, direct: frozenset[str] | None) -> Relation:
    if direct is None:
        return Relation.UNKNOWN
    return Relation.DIRECT if name in direct else Relation.TRANSITIVE


def _pyproject_direct(path: Path, rel: str) -> frozenset[str] | None:
    manifest = path.parent / "pyproject.toml"
    if not manifest.is_file():
        return None
    return direct_names(manifest, str(Path(rel).parent / "pyproject.toml").removeprefix("./"))


def _is_project(package: dict[str, Any]) -> bool:
    # uv marks the project (and workspace members) with an editable/virtual source.
    source = package.get("source", {})
    return isinstance(source, dict) and bool({"editable", "virtual"} & set(source))


def parse_toml_lock(path: Path, rel: str) -> list[Dependency]:
    """Packages of poetry.lock, pdm.lock or uv.lock (all ``[[package]]`` with name/version)."""
    source = SourceFile.read(path, rel)
    data = source.toml()
    packages = data.get("package", [])
    lines = source.header_lines("[[package]]")
    if not isinstance(packages, list) or len(lines) != len(packages):
        raise source.error("expected [[package]] tables with 'name' and 'version'")
    direct = _pyproject_direct(path, rel)
    project_deps = {
        normalize_name("PyPI", dep["name"])
        for package in packages
        if isinstance(package, dict) and _is_project(package)
        for dep in package.get("dependencies", [])
        if isinstance(dep, dict) and "name" in dep
    }
    if project_deps:
        direct = frozenset(project_deps | (direct or frozenset()))
    found: list[Dependency] = []
    for line, package in zip(lines, packages, strict=True):
        name, version = package.get("name"), package.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            raise source.error("a [[package]] table lacks a string 'name' or 'version'", line)
        if _is_project(package):
            continue
        key = normalize_name("PyPI", name)
        found.append(Dependency("PyPI", key, rel, line, _relation(key, direct), version=version))
    return found


def _pipfile_direct(path: Path, rel: str) -> frozenset[str] | None:
    manifest = path.parent / "Pipfile"
    if not manifest.is_file():
        return None
    data = SourceFile.read(manifest, str(Path(rel).parent / "Pipfile").removeprefix("./")).toml()
    names = [*data.get("packages", {}), *data.get("dev-packages", {})]
    return frozenset(normalize_name("PyPI", n) for n in names)


def parse_pipfile_lock(path: Path, rel: str) -> list[Dependency]:
    """Packages of a Pipfile.lock (``default`` and ``develop`` sections)."""
    source = SourceFile.read(path, rel)
    data = source.json()
    if not isinstance(data, dict) or not isinstance(data.get("default", {}), dict):
        raise source.error("expected an object with 'default' and 'develop' sections", 1)
    direct = _pipfile_direct(path, rel)
    found: list[Dependency] = []
    offset = 0
    for section in ("default", "develop"):
        for name, entry in data.get(section, {}).items():
            line, offset = source.find_line(f'"{name}"', offset)
            key = normalize_name("PyPI", name)
            version = entry.get("version") if isinstance(entry, dict) else None
            if isinstance(version, str) and version.startswith("=="):
                found.append(
                    Dependency("PyPI", key, rel, line, _relation(key, direct), version=version[2:])
                )
            else:
                # git/path entries have no version: reported as unjudged, never dropped.
                found.append(
                    Dependency(
                        "PyPI",
                        key,
                        rel,
                        line,
                        _relation(key, direct),
                        specifier="@ non-registry source",
                    )
                )
    return found
