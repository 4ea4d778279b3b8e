"""Cargo.lock: every ``[[package]]``; crates without a ``source`` are the workspace's own.

Direct dependencies are those the workspace members' entries list.
"""

from __future__ import annotations

from pathlib import Path

from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.source import SourceFile

__all__ = ["parse_cargo_lock"]


def parse_cargo_lock(path: Path, rel: str) -> list[Dependency]:
    """Registry and git crates of a Cargo.lock (v1 to v4)."""
    source = SourceFile.read(path, rel)
    data = source.toml()
    packages = data.get("package", [])
    lines = source.header_lines("[[package]]")
    if not isinstance(packages, list) or len(lines) != len(packages):
        raise source.error("expected [[package]] tables")
    direct: set[str] = set()
    for package in packages:
        if isinstance(package, dict) and "source" not in package:
            # "name version" or "name" entries; the first word is the crate name.
            direct.update(str(dep).split(" ")[0] for dep in package.get("dependencies", []))
    found: list[Dependency] = []
    for line, package in zip(lines, packages, strict=True):
        name, version = package.get("name"), package.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            raise source.error("a [[package]] table lacks 'name' or 'version'", line)
        if "source" not in package:
            continue
        relation = Relation.DIRECT if name in direct else Relation.TRANSITIVE
        found.append(Dependency("crates.io", name, rel, line, relation, version=version))
    return found
