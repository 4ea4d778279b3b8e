"""go.mod and go.sum.

go.mod's ``require`` lines are the module graph's selected versions since Go 1.17 (with
``// indirect`` marking transitive ones); ``replace`` directives that swap in another version
are applied; the ``go`` directive is reported as the ``stdlib`` package, which the Go
vulnerability database covers. go.sum entries whose module content (not just its go.mod) was
hashed and that go.mod does not list are reported as transitive.
"""

from __future__ import annotations

import re
from pathlib import Path

from bastion.scanners.sca.errors import InvalidVersionError
from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.source import SourceFile
from bastion.scanners.sca.versions import parse_version

__all__ = ["parse_go_mod", "parse_go_sum"]

_REQUIRE = re.compile(r"^(?:require\s+)?(?P<module>\S+)\s+(?P<version>v\S+)(?P<rest>.*)$")
_REPLACE = re.compile(
    r"^(?:replace\s+)?(?P<old>\S+)(?:\s+(?P<oldv>v\S+))?\s+=>\s+(?P<new>\S+)(?:\s+(?P<newv>v\S+))?\s*$"
)
_GO = re.compile(r"^go\s+(?P<version>\d+\.\d+(?:\.\d+)?)\s*$")


def _check(source: SourceFile, version: str, line: int) -> None:
    if not version.startswith("v"):
        raise source.error(f"{version!r} is not a Go module version (they start with 'v')", line)
    try:
        parse_version("Go", version)
    except InvalidVersionError as exc:
        raise source.error(f"{version!r} is not a Go module version", line) from exc


def _statements(source: SourceFile) -> list[tuple[int, str, str]]:
    """(line, block keyword or "", statement without comment) for every go.mod statement."""
    out: list[tuple[int, str, str]] = []
    block = ""
    for number, raw in enumerate(source.text.splitlines(), start=1):
        text, _, comment = raw.partition("//")
        text = text.strip()
        if block:
            if text == ")":
                block = ""
            elif text:
                out.append((number, block, f"{text} //{comment}" if comment else text))
            continue
        keyword = text.split(" ", 1)[0] if text else ""
        if text.endswith("(") and keyword in (
            "require",
            "replace",
            "exclude",
            "retract",
            "tool",
            "godebug",
            "ignore",
        ):
            block = keyword
        elif text:
            out.append((number, keyword, f"{text} //{comment}" if comment else text))
    if block:
        raise source.error(f"'{block} (' block is never closed", len(source.text.splitlines()))
    return out


def parse_go_mod(path: Path, rel: str) -> list[Dependency]:
    """Modules required by ``go.mod``, after ``replace``; plus ``stdlib`` at the go version."""
    source = SourceFile.read(path, rel)
    required: dict[str, tuple[int, str, bool]] = {}
    replaced: dict[str, str] = {}
    found: list[Dependency] = []
    for line, block, statement in _statements(source):
        keyword = block or statement.split(" ", 1)[0]
        if keyword == "require":
            match = _REQUIRE.match(statement)
            if match is None:
                raise source.error(
                    f"cannot read require {statement!r}", line, "write 'require module vX.Y.Z'"
                )
            _check(source, match.group("version"), line)
            indirect = "// indirect" in match.group("rest")
            required[match.group("module")] = (line, match.group("version"), indirect)
        elif keyword == "replace":
            match = _REPLACE.match(statement)
            if match is None:
                raise source.error(f"cannot read replace {statement!r}", line)
            if match.group("newv") and not match.group("new").startswith((".", "/")):
                replaced[match.group("old")] = f"{match.group('new')} {match.group('newv')}"
        elif keyword == "go":
            go = _GO.match(statement)
            if go is None:
                raise source.error(f"cannot read go directive {statement!r}", line)
            version = go.group("version") + (".0" if go.group("version").count(".") == 1 else "")
            found.append(Dependency("Go", "stdlib", rel, line, Relation.DIRECT, version=version))
    for module, (line, version, indirect) in required.items():
        target_module, target_version = module, version
        if module in replaced:
            target_module, _, target_version = replaced[module].partition(" ")
        relation = Relation.TRANSITIVE if indirect else Relation.DIRECT
        found.append(Dependency("Go", target_module, rel, line, relation, version=target_version))
    return found


def parse_go_sum(path: Path, rel: str, known: frozenset[str]) -> list[Dependency]:
    """Modules whose content go.sum hashes and that are not in ``known`` (go.mod's list)."""
    source = SourceFile.read(path, rel)
    found: dict[tuple[str, str], Dependency] = {}
    for number, raw in enumerate(source.text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split()
        if len(parts) != 3 or not parts[2].startswith("h1:"):
            raise source.error("expected 'module version h1:hash'", number)
        module, version = parts[0], parts[1]
        if version.endswith("/go.mod") or module in known:
            continue
        _check(source, version, number)
        found.setdefault(
            (module, version),
            Dependency("Go", module, rel, number, Relation.TRANSITIVE, version=version),
        )
    return list(found.values())
