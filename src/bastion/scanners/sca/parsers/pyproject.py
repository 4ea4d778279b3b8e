"""pyproject.toml: PEP 621 ``[project]`` dependencies and Poetry's ``[tool.poetry]`` tables.

Poetry's ``^`` and ``~`` constraints are translated to PEP 440 ranges (Poetry's documented
meaning) so an unpinned range can be judged like any other.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.requirements import pin_of
from bastion.scanners.sca.parsers.source import SourceFile
from bastion.scanners.sca.versions import normalize_name

__all__ = ["direct_names", "parse_pyproject", "poetry_constraint"]

_POETRY_OP = re.compile(r"^(?P<op>\^|~(?!=))\s*(?P<version>[0-9][0-9a-zA-Z.]*)$")


def poetry_constraint(text: str) -> str:
    """Poetry constraint → PEP 440 specifier (``^1.2.3`` → ``>=1.2.3,<2.0.0``)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    out: list[str] = []
    for part in parts:
        match = _POETRY_OP.match(part)
        if part == "*":
            continue
        if match is None:
            out.append(part if part[0] in "<>=!~" else f"=={part}")
            continue
        numbers = [int(n) for n in re.findall(r"\d+", match.group("version"))[:3]]
        if match.group("op") == "^":
            index = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
        else:
            index = 1 if len(numbers) > 1 else 0
        upper = [*numbers[:index], numbers[index] + 1]
        out.append(f">={match.group('version')},<{'.'.join(map(str, upper))}")
    return ",".join(out)


def _line_of(source: SourceFile, name: str) -> int | None:
    # A PEP 508 string ("name>=1") anywhere, else a TOML key at a line start (Poetry tables).
    tail = r"""(?=[\s\[<>=!~;"'@,])"""
    for pattern in (rf"""["']{re.escape(name)}{tail}""", rf"^\s*{re.escape(name)}{tail}"):
        match = re.search(pattern, source.text, re.IGNORECASE | re.MULTILINE)
        if match:
            return source.line_at(match.start())
    return None


def _pep508(source: SourceFile, text: str) -> Dependency:
    line = _line_of(source, re.split(r"[\s\[<>=!~;@]", text.strip(), maxsplit=1)[0])
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise source.error(f"not a valid PEP 508 dependency {text!r}: {exc}", line) from exc
    name = normalize_name("PyPI", requirement.name)
    version = pin_of(requirement)
    if requirement.url:
        return Dependency(
            "PyPI", name, source.rel, line, Relation.DIRECT, specifier=f"@ {requirement.url}"
        )
    spec = None if version else str(requirement.specifier)
    return Dependency(
        "PyPI", name, source.rel, line, Relation.DIRECT, version=version, specifier=spec
    )


def _poetry(source: SourceFile, name: str, value: Any) -> Dependency | None:
    if name.lower() == "python":
        return None
    constraint = value.get("version") if isinstance(value, dict) else value
    line = _line_of(source, name)
    if not isinstance(constraint, str):
        # git, path and url dependencies carry no version to judge.
        return Dependency(
            "PyPI",
            normalize_name("PyPI", name),
            source.rel,
            line,
            Relation.DIRECT,
            specifier="@ non-registry source",
        )
    try:
        spec = SpecifierSet(poetry_constraint(constraint))
    except InvalidSpecifier as exc:
        raise source.error(
            f"not a valid Poetry constraint {constraint!r} for {name}", line
        ) from exc
    pins = [s.version for s in spec if s.operator in ("==", "===") and "*" not in s.version]
    version = pins[0] if len(list(spec)) == 1 and pins else None
    return Dependency(
        "PyPI",
        normalize_name("PyPI", name),
        source.rel,
        line,
        Relation.DIRECT,
        version=version,
        specifier=None if version else str(spec),
    )


def parse_pyproject(path: Path, rel: str) -> list[Dependency]:
    """Direct dependencies declared in ``pyproject.toml``."""
    source = SourceFile.read(path, rel)
    data = source.toml()
    found: list[Dependency] = []
    project = data.get("project", {})
    groups = [project.get("dependencies", []), *project.get("optional-dependencies", {}).values()]
    groups.extend(data.get("dependency-groups", {}).values())
    for group in groups:
        found.extend(_pep508(source, text) for text in group if isinstance(text, str))
    poetry = data.get("tool", {}).get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
    tables.extend(g.get("dependencies", {}) for g in poetry.get("group", {}).values())
    for table in tables:
        for name, value in table.items():
            dependency = _poetry(source, name, value)
            if dependency is not None:
                found.append(dependency)
    return found


def direct_names(path: Path, rel: str) -> frozenset[str]:
    """Normalised names a ``pyproject.toml`` declares directly (for marking lock entries)."""
    return frozenset(d.name for d in parse_pyproject(path, rel))
