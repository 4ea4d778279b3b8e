"""pnpm-lock.yaml, lockfile versions 5, 6 and 9.

Package keys are ``/name/1.2.3`` (v5), ``/name@1.2.3`` (v6) or ``name@1.2.3`` (v9), with peer
suffixes (``_react@18.2.0`` or ``(react@18.2.0)``) that are not part of the version. Direct
dependencies are those the importers (the workspace's projects) list.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.source import SourceFile
from bastion.scanners.sca.versions import normalize_name

__all__ = ["parse_pnpm_lock", "split_pnpm_key"]

_PEER = re.compile(r"(\(.*\)|_.*)$")
_NAME = r"(?P<name>(?:@[^/@]+/)?[^/@]+)"
_V5_KEY = re.compile(rf"^{_NAME}/(?P<version>\d[^/]*)$")
_V6_KEY = re.compile(rf"^{_NAME}@(?P<version>\d.*)$")


def split_pnpm_key(key: str) -> tuple[str, str] | None:
    """``/@scope/name@1.2.3(peer@1)`` → ``("@scope/name", "1.2.3")``; None if not a package."""
    body = key.lstrip("/")
    match = _V5_KEY.match(body) or _V6_KEY.match(body)
    if match is None:
        return None
    return match.group("name"), _PEER.sub("", match.group("version"))


def _importer_names(data: dict[str, Any]) -> set[str]:
    importers = data.get("importers") or {".": data}
    names: set[str] = set()
    for importer in importers.values():
        if isinstance(importer, dict):
            for field in ("dependencies", "devDependencies", "optionalDependencies"):
                names.update(importer.get(field) or {})
    return names


def parse_pnpm_lock(path: Path, rel: str) -> list[Dependency]:
    """Packages of a pnpm-lock.yaml."""
    source = SourceFile.read(path, rel)
    try:
        node = yaml.compose(source.text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source.text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise source.error(f"malformed YAML: {exc}", mark.line + 1 if mark else None) from exc
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise source.error("expected a mapping with 'lockfileVersion' and 'packages'", 1)
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        if key_node.value == "packages" and isinstance(value_node, yaml.MappingNode):
            lines = {k.value: k.start_mark.line + 1 for k, _ in value_node.value}
    direct = _importer_names(data)
    found: list[Dependency] = []
    for key in data.get("packages") or {}:
        parsed = split_pnpm_key(str(key))
        if parsed is None:
            raise source.error(f"cannot read package key {key!r}", lines.get(str(key)))
        name, version = parsed
        relation = Relation.DIRECT if name in direct else Relation.TRANSITIVE
        found.append(
            Dependency(
                "npm",
                normalize_name("npm", name),
                rel,
                lines.get(str(key)),
                relation,
                version=version,
            )
        )
    return found
