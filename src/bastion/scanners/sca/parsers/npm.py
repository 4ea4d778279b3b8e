"""package-lock.json and npm-shrinkwrap.json, lockfileVersion 1, 2 and 3.

v2/v3 list every installed package under ``packages`` keyed by its ``node_modules/...`` path;
v1 nests ``dependencies``. Direct dependencies are those the root package (``""``) declares,
or in v1 the top-level entries not marked as brought in by another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.source import SourceFile
from bastion.scanners.sca.versions import normalize_name

__all__ = ["parse_package_lock"]

_DEP_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


def _name_from_key(key: str) -> str:
    return key.rpartition("node_modules/")[2]


def _v2(source: SourceFile, packages: dict[str, Any]) -> list[Dependency]:
    root = packages.get("", {})
    direct = {name for f in _DEP_FIELDS for name in root.get(f, {})}
    found: list[Dependency] = []
    offset = 0
    for key, entry in packages.items():
        if key == "" or not isinstance(entry, dict):
            continue
        line, offset = source.find_line(json.dumps(key), offset)
        if entry.get("link") or "node_modules/" not in key:
            continue  # workspace links and the workspace folders themselves
        version = entry.get("version")
        name = entry.get("name") or _name_from_key(key)
        if not isinstance(version, str):
            raise source.error(f"package {key!r} has no version", line)
        top_level = key.count("node_modules/") == 1
        relation = Relation.DIRECT if top_level and name in direct else Relation.TRANSITIVE
        found.append(
            Dependency(
                "npm", normalize_name("npm", name), source.rel, line, relation, version=version
            )
        )
    return found


def _walk_v1(deps: dict[str, Any], depth: int) -> Iterator[tuple[str, dict[str, Any], int]]:
    for name, entry in deps.items():
        if isinstance(entry, dict):
            yield name, entry, depth
            yield from _walk_v1(entry.get("dependencies", {}), depth + 1)


def _v1(source: SourceFile, deps: dict[str, Any], path: Path) -> list[Dependency]:
    manifest = path.parent / "package.json"
    declared: set[str] | None = None
    if manifest.is_file():
        data = SourceFile.read(manifest, "package.json").json()
        declared = (
            {n for f in _DEP_FIELDS for n in data.get(f, {})} if isinstance(data, dict) else None
        )
    found: list[Dependency] = []
    offset = 0
    for name, entry, depth in _walk_v1(deps, 0):
        line, offset = source.find_line(json.dumps(name), offset)
        version = entry.get("version")
        if not isinstance(version, str):
            raise source.error(f"dependency {name!r} has no version", line)
        if declared is not None:
            relation = Relation.DIRECT if depth == 0 and name in declared else Relation.TRANSITIVE
        else:
            relation = Relation.TRANSITIVE if depth else Relation.UNKNOWN
        if version.startswith(("file:", "git", "http", "link:")):
            found.append(
                Dependency("npm", name, source.rel, line, relation, specifier=f"@ {version}")
            )
        else:
            found.append(
                Dependency(
                    "npm", normalize_name("npm", name), source.rel, line, relation, version=version
                )
            )
    return found


def parse_package_lock(path: Path, rel: str) -> list[Dependency]:
    """Packages of an npm lock file of any lockfileVersion."""
    source = SourceFile.read(path, rel)
    data = source.json()
    if not isinstance(data, dict):
        raise source.error("expected a JSON object", 1)
    version = data.get("lockfileVersion", 1)
    if isinstance(data.get("packages"), dict) and version in (2, 3):
        return _v2(source, data["packages"])
    if version == 1 and isinstance(data.get("dependencies", {}), dict):
        return _v1(source, data.get("dependencies", {}), path)
    raise source.error(
        f"unsupported lockfileVersion {version!r}", 1, "regenerate it with npm 7 or later"
    )
