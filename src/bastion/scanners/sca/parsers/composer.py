"""composer.lock: ``packages`` and ``packages-dev``; direct ones come from composer.json."""

from __future__ import annotations

import json
from pathlib import Path

from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.source import SourceFile
from bastion.scanners.sca.versions import normalize_name

__all__ = ["parse_composer_lock"]


def _declared(path: Path) -> set[str] | None:
    manifest = path.parent / "composer.json"
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # composer.json problems are not this lock file's; relation stays unknown
    if not isinstance(data, dict):
        return None
    return {n.lower() for f in ("require", "require-dev") for n in data.get(f, {})}


def parse_composer_lock(path: Path, rel: str) -> list[Dependency]:
    """Packages of a composer.lock."""
    source = SourceFile.read(path, rel)
    data = source.json()
    if not isinstance(data, dict) or not isinstance(data.get("packages"), list):
        raise source.error("expected an object with a 'packages' list", 1)
    declared = _declared(path)
    found: list[Dependency] = []
    offset = 0
    for package in [*data["packages"], *(data.get("packages-dev") or [])]:
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            raise source.error("a package entry has no 'name'", source.line_at(offset))
        name = package["name"]
        line, offset = source.find_line(f'"name": {json.dumps(name)}', offset)
        version = package.get("version")
        if not isinstance(version, str):
            raise source.error(f"package {name!r} has no version", line)
        relation = (
            Relation.UNKNOWN
            if declared is None
            else Relation.DIRECT
            if name.lower() in declared
            else Relation.TRANSITIVE
        )
        if version.startswith("dev-"):
            found.append(
                Dependency(
                    "Packagist",
                    normalize_name("Packagist", name),
                    rel,
                    line,
                    relation,
                    specifier=f"@ {version}",
                )
            )
        else:
            found.append(
                Dependency(
                    "Packagist",
                    normalize_name("Packagist", name),
                    rel,
                    line,
                    relation,
                    version=version.removeprefix("v"),
                )
            )
    return found
