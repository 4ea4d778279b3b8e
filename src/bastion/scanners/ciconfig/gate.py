"""``uses: bastion/ciconfig``: the CI configuration itself, offline.

    >>> from pathlib import Path
    >>> from bastion.scanners.interface import ScanRequest
    >>> CiconfigGate().scan(ScanRequest(Path("/nonexistent"))).notes
    ('no CI configuration files found',)

Reads GitHub workflows and composite actions, GitLab CI (with its local includes) and
Bastion's own pipeline file. Every finding carries the exact line and column, a rule id,
a severity and a confidence (``properties["confidence"]``). A file that is not safe YAML
(tabs, duplicate keys, alias bombs, over the size limit) is an ``invalid-yaml`` finding at
its line, and the other files are still judged.

Options (``with:``): ``exclude`` (globs over repository-relative paths).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bastion.errors import UsageError
from bastion.home import bastion_home
from bastion.scanners.ciconfig.advisories import ActionAdvisories, installed_path
from bastion.scanners.ciconfig.bastion_file import check_bastion
from bastion.scanners.ciconfig.discover import CiFile, CiKind, ci_files, resolve_local_include
from bastion.scanners.ciconfig.gitlab import check_gitlab, local_includes
from bastion.scanners.ciconfig.rules import RULES, Hit
from bastion.scanners.ciconfig.workflow import check_action, check_workflow
from bastion.scanners.ciconfig.yamlsrc import YamlDocument, YamlProblem, load_document
from bastion.scanners.finding import Finding, Location
from bastion.scanners.interface import Gate, GateReport, ScanRequest

__all__ = ["GATE_NAME", "CiconfigGate", "scan_ciconfig"]

GATE_NAME = "ciconfig"
MAX_INCLUDES = 100


def _finding(file: CiFile, hit: Hit, occurrence: int) -> Finding:
    rule = RULES[hit.rule]
    return Finding.create(
        gate=GATE_NAME,
        rule_id=hit.rule,
        severity=hit.severity or rule.severity,
        message=hit.message,
        location=Location(file.name, hit.line, hit.column),
        # The file and what matched, not the line: moving a step keeps its identity.
        match_key=f"{file.name}\x1f{hit.key}\x1f{occurrence}",
        title=rule.title,
        cwe=(rule.cwe,),
        fix=rule.fix,
        properties={
            "confidence": (hit.confidence or rule.confidence).value,
            "kind": file.kind.value,
            "peer_class": rule.peer,
        },
    )


def _read(file: CiFile) -> YamlDocument | Hit:
    try:
        raw = file.path.read_bytes()
    except OSError as exc:
        return Hit("invalid-yaml", 1, 1, f"cannot read {file.name}: {exc.strerror}", "unreadable")
    try:
        return load_document(raw, file.name)
    except YamlProblem as exc:
        return Hit("invalid-yaml", exc.line, exc.column, f"{file.name}: {exc.message}", exc.message)


def _gitlab_files(
    root: Path, first: CiFile, notes: list[str]
) -> Iterator[tuple[CiFile, YamlDocument | Hit]]:
    """``.gitlab-ci.yml`` and every local include it reaches, each once, bounded."""
    queue, seen = [first], {first.name}
    while queue and len(seen) <= MAX_INCLUDES:
        file = queue.pop(0)
        parsed = _read(file)
        yield file, parsed
        if isinstance(parsed, Hit):
            continue
        for node in local_includes(parsed):
            resolved = resolve_local_include(root, node.text)
            if isinstance(resolved, str):
                notes.append(f"{file.name}:{node.line}: {resolved}")
                continue
            for included in resolved:
                if included.name not in seen:
                    seen.add(included.name)
                    queue.append(included)
    if queue:
        notes.append(f"stopped following GitLab includes after {MAX_INCLUDES} files")


def _judge(file: CiFile, doc: YamlDocument, advisories: ActionAdvisories) -> list[Hit]:
    match file.kind:
        case CiKind.WORKFLOW:
            return check_workflow(doc, advisories, file.name)
        case CiKind.ACTION:
            return check_action(doc, advisories)
        case CiKind.GITLAB:
            return check_gitlab(doc)
        case CiKind.BASTION:
            return check_bastion(doc)


def scan_ciconfig(
    root: Path, advisories: ActionAdvisories, exclude: tuple[str, ...] = ()
) -> tuple[list[Finding], list[str], list[str]]:
    """Findings, the files read, and notes for the CI files under ``root``."""
    findings: list[Finding] = []
    notes: list[str] = []
    files: list[str] = []
    for top in ci_files(root, exclude):
        parsed_files = (
            _gitlab_files(root, top, notes) if top.kind is CiKind.GITLAB else [(top, _read(top))]
        )
        for file, parsed in parsed_files:
            files.append(file.name)
            hits = [parsed] if isinstance(parsed, Hit) else _judge(file, parsed, advisories)
            findings += _findings(file, hits)
    return findings, files, notes


def _findings(file: CiFile, hits: list[Hit]) -> list[Finding]:
    out, seen, counts = [], set(), dict[str, int]()
    for hit in sorted(hits, key=lambda h: (h.line, h.column, h.rule)):
        if (hit.rule, hit.line, hit.column, hit.key) in seen:
            continue
        seen.add((hit.rule, hit.line, hit.column, hit.key))
        occurrence = counts.get(hit.rule + hit.key, 0)
        counts[hit.rule + hit.key] = occurrence + 1
        out.append(_finding(file, hit, occurrence))
    return out


class CiconfigGate(Gate):
    """Security rules over CI configuration: GitHub Actions, GitLab CI, Bastion pipelines."""

    name = GATE_NAME
    option_keys = frozenset({"exclude"})
    list_option_keys = frozenset({"exclude"})

    def __init__(self, home: Path | None = None) -> None:
        self._home = home

    def _advisory_dir(self) -> Path:
        return installed_path(self._home or bastion_home()).parent

    def required_binds(self) -> list[Path]:
        """The installed advisory list's directory, when one was installed."""
        directory = self._advisory_dir()
        return [directory] if directory.is_dir() else []

    def scan(self, request: ScanRequest) -> GateReport:
        """Read every CI file under ``request.root`` and report what the rules find."""
        self.check_options(request.options)
        exclude = _exclude(request.options)
        advisories = ActionAdvisories.newest(self._advisory_dir().parent)
        findings, files, notes = scan_ciconfig(request.root, advisories, exclude)
        if not files:
            notes.insert(0, "no CI configuration files found")
        facts = {"files": files, "advisories_updated": advisories.updated}
        return GateReport(gate=GATE_NAME, findings=tuple(findings), facts=facts, notes=tuple(notes))


def _exclude(options: Mapping[str, Any]) -> tuple[str, ...]:
    value = options.get("exclude", ())
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) and i for i in items):
        raise UsageError(
            "bastion/ciconfig: option `exclude` must be a list of glob strings",
            hint='write e.g. `exclude: ["tests/fixtures/**"]`',
        )
    return tuple(items)
