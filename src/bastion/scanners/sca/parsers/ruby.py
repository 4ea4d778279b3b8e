"""Gemfile.lock: the ``specs:`` of its GEM (and GIT/PATH) sections; DEPENDENCIES are direct.

Platform-specific gems (``nokogiri (1.15.4-x86_64-linux)``) are judged at their version.
"""

from __future__ import annotations

import re
from pathlib import Path

from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.source import SourceFile

__all__ = ["parse_gemfile_lock"]

_SPEC = re.compile(r"^ {4}(?P<name>[A-Za-z0-9._-]+) \((?P<version>[^)\s]+)\)$")
_DEPENDENCY = re.compile(r"^ {2}(?P<name>[A-Za-z0-9._-]+)")
_PLATFORM = re.compile(r"-(?:x86|x64|arm|aarch|universal|java|mingw|mswin|darwin|linux|ruby).*$")


def parse_gemfile_lock(path: Path, rel: str) -> list[Dependency]:
    """Gems of a Gemfile.lock."""
    source = SourceFile.read(path, rel)
    section = ""
    specs: list[tuple[int, str, str, bool]] = []
    direct: set[str] = set()
    for number, line in enumerate(source.text.splitlines(), start=1):
        if line and not line[0].isspace():
            section = line.strip()
            continue
        if section in ("GEM", "GIT", "PATH"):
            spec = _SPEC.match(line)
            if spec:
                registry = section == "GEM"
                specs.append(
                    (number, spec.group("name"), _PLATFORM.sub("", spec.group("version")), registry)
                )
            elif line.startswith("    ") and not line.startswith("      ") and line.strip():
                raise source.error(
                    f"cannot read gem spec {line.strip()!r}", number, "expected 'name (version)'"
                )
        elif section == "DEPENDENCIES":
            dependency = _DEPENDENCY.match(line)
            if dependency:
                direct.add(dependency.group("name"))
    if not specs and "GEM" not in source.text:
        raise source.error("no GEM section: not a Gemfile.lock", 1)
    return [
        Dependency(
            "RubyGems",
            name,
            rel,
            number,
            Relation.DIRECT if name in direct else Relation.TRANSITIVE,
            version=version if registry else None,
            specifier=None if registry else "@ git or path source",
        )
        for number, name, version, registry in specs
    ]
