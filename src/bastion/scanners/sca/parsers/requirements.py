"""pip requirements files: pins, ranges, hashes, ``-r``/``-c`` includes, markers and extras.

    >>> from pathlib import Path
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "requirements.txt").write_text("Flask[async]==2.0.1 ; python_version>'3'\\n")
    >>> [(d.name, d.version, d.line) for d in parse_requirements(root / "requirements.txt", root)]
    [('flask', '2.0.1', 1)]

Constraint files (``-c``) are followed too and their pins judged (relation unknown): they say
which version gets installed of any package that is, and naming the file is how a project
says so. Markers are not evaluated: the gate cannot know every interpreter the file will be
installed on, so a package behind a marker is judged like any other (a finding too many, never one
missed). Direct URL and path requirements carry no version and are reported as unjudged.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers.source import SourceFile
from bastion.scanners.sca.versions import normalize_name

__all__ = ["parse_requirements", "pin_of"]

_INCLUDE = re.compile(r"^(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+)(?P<file>\S+)$")
_COMMENT = re.compile(r"(^|\s+)#.*$")
# Per-requirement options pip allows after the requirement itself.
_LINE_OPTIONS = re.compile(
    r"\s+--(?:hash|config-settings|global-option|install-option)(?:=|\s+)\S+"
)
_MAX_DEPTH = 16


def pin_of(requirement: Requirement) -> str | None:
    """The exact version when the specifier is one ``==``/``===`` without a wildcard."""
    clauses = list(requirement.specifier)
    if len(clauses) == 1 and clauses[0].operator in ("==", "===") and "*" not in clauses[0].version:
        return clauses[0].version
    return None


def _logical_lines(source: SourceFile) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(source.text.splitlines(), start=1):
        if not buffer:
            start = number
        text = _COMMENT.sub("", raw)
        if text.endswith("\\"):
            buffer += text[:-1] + " "
            continue
        buffer += text
        if buffer.strip():
            lines.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        lines.append((start, buffer.strip()))
    return lines


def _include(source: SourceFile, root: Path, target: str, line: int) -> Path:
    path = (source.path.parent / target).resolve()
    if not path.is_relative_to(root.resolve()):
        raise source.error(
            f"include {target!r} points outside the repository",
            line,
            "vendor the file inside the tree",
        )
    if not path.is_file():
        raise source.error(f"included file {target!r} does not exist", line)
    return path


def _dependency(source: SourceFile, line: int, text: str, relation: Relation) -> Dependency:
    text = _LINE_OPTIONS.sub("", f" {text}").strip()
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise source.error(
            f"not a valid requirement: {exc}", line, "write it as PEP 508, e.g. 'name==1.2.3'"
        ) from exc
    name = normalize_name("PyPI", requirement.name)
    version = pin_of(requirement)
    if requirement.url:
        specifier: str | None = f"@ {requirement.url}"
    else:
        specifier = None if version else str(requirement.specifier)
    return Dependency(
        "PyPI", name, source.rel, line, relation, version=version, specifier=specifier
    )


def parse_requirements(
    path: Path,
    root: Path,
    *,
    relation: Relation = Relation.DIRECT,
    _seen: frozenset[Path] = frozenset(),
) -> list[Dependency]:
    """Every requirement of ``path`` and of the files it includes with ``-r`` or ``-c``."""
    resolved = path.resolve()
    rel = resolved.relative_to(root.resolve()).as_posix()
    source = SourceFile.read(path, rel)
    if resolved in _seen or len(_seen) > _MAX_DEPTH:
        raise source.error("requirement files include each other in a cycle (or too deeply)")
    found: list[Dependency] = []
    for line, text in _logical_lines(source):
        include = _INCLUDE.match(text)
        if include:
            target = _include(source, root, include.group("file"), line)
            # A constraint (-c) pins only packages required elsewhere: which, is unknown here.
            kind = relation if text.startswith(("-r", "--requirement")) else Relation.UNKNOWN
            found.extend(parse_requirements(target, root, relation=kind, _seen=_seen | {resolved}))
            continue
        if text.startswith("-e") or text.startswith("--editable"):
            continue  # a local checkout under development: the SAST gate's business
        if text.startswith("-"):
            continue  # index and install options (--index-url, --require-hashes, ...)
        if text.startswith((".", "/")) or "://" in text.split("@")[0]:
            found.append(Dependency("PyPI", text, rel, line, relation, specifier=f"@ {text}"))
            continue
        found.append(_dependency(source, line, text, relation))
    return found
