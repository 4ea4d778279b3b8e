"""yarn.lock, both the classic (v1) format and Berry's (v2+, YAML).

Both list blocks whose header names the descriptors (``"lodash@^4.17.0", lodash@^4.17.21:``)
and whose body holds ``version``; one line-based reader handles both. Berry's ``workspace:``
entries are the project itself and are left out. yarn.lock does not say which packages the
project asked for, so the relation comes from package.json beside it when there is one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.source import SourceFile
from bastion.scanners.sca.versions import normalize_name

__all__ = ["parse_yarn_lock"]

_VERSION = re.compile(r"""^\s+version:?\s+["']?(?P<version>[^"'\s]+)["']?\s*$""")
_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


def _descriptor_name(descriptor: str) -> str:
    descriptor = descriptor.strip().strip('"').strip("'")
    at = descriptor.find("@", 1)  # a scoped name starts with "@"
    return descriptor if at < 0 else descriptor[:at]


def _declared(path: Path) -> set[str] | None:
    manifest = path.parent / "package.json"
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # package.json problems are not this lock file's; relation stays unknown
    return {n for f in _FIELDS for n in data.get(f, {})} if isinstance(data, dict) else None


def parse_yarn_lock(path: Path, rel: str) -> list[Dependency]:
    """Packages of a yarn.lock (classic or Berry)."""
    source = SourceFile.read(path, rel)
    declared = _declared(path)
    found: list[Dependency] = []
    header: tuple[int, str] | None = None
    for number, line in enumerate(source.text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            if not line.rstrip().endswith(":"):
                raise source.error("expected a block header ending in ':'", number)
            header = (number, line.rstrip()[:-1])
            continue
        match = _VERSION.match(line)
        if match is None or header is None:
            continue
        start, descriptors = header
        header = None
        if descriptors in ("__metadata",) or "@workspace:" in descriptors:
            continue
        name = _descriptor_name(descriptors.split(",")[0])
        if "@patch:" in descriptors:
            continue  # Berry's patched copy of a package that is listed on its own too
        if declared is None:
            relation = Relation.UNKNOWN
        else:
            relation = Relation.DIRECT if name in declared else Relation.TRANSITIVE
        found.append(
            Dependency(
                "npm",
                normalize_name("npm", name),
                rel,
                start,
                relation,
                version=match.group("version"),
            )
        )
    if header is not None:
        raise source.error(f"block {header[1]!r} has no version", header[0])
    return found
