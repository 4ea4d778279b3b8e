"""Run Semgrep offline with local rule files and turn its JSON into Findings.

Offline by construction: rules come only from directories on disk (Bastion's shipped set and
any the repository names), never a registry (``auto``, ``p/...``, URLs are refused);
``--metrics=off --disable-version-check``. Semgrep's built-in ignore list skips ``test/``
folders, so Bastion turns ``.semgrepignore`` handling off and passes its own ``--exclude``
list instead: test helpers are code that runs on CI machines too.

Severity is the rule's ``metadata.bastion-severity`` when present, else Semgrep's level
(ERROR high, WARNING medium, INFO low). Exit code 0 is success with or without matches;
anything else, a rule error, or output that is not Semgrep's JSON fails the gate closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bastion.errors import GateError, UsageError
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.tools.process import ToolRun, tail
from bastion.scanners.tools.source import read_line, to_relative

__all__ = ["parse_semgrep_output", "repository_rules", "semgrep_argv"]

_LEVELS = {"ERROR": Severity.HIGH, "WARNING": Severity.MEDIUM, "INFO": Severity.LOW}
_CWE = re.compile(r"CWE-\d+")
_REGISTRY = re.compile(r"^(auto|r/|p/|s/|https?://|[a-z]+:)", re.IGNORECASE)


def repository_rules(gate: str, root: Path, entries: Sequence[str]) -> list[Path]:
    """Extra rule paths from the ``rules:`` option: local files or folders inside ``root``."""
    paths: list[Path] = []
    for entry in entries:
        if _REGISTRY.match(entry):
            raise UsageError(
                f"bastion/{gate}: rule source {entry!r} is a registry or URL; Bastion runs "
                "Semgrep offline",
                hint="commit the rule files to the repository and name their path",
            )
        candidate = (root / entry).resolve()
        if not candidate.is_relative_to(root.resolve()) or not candidate.exists():
            raise UsageError(
                f"bastion/{gate}: rule path {entry!r} does not exist inside the repository",
                hint="name a rule file or folder relative to the repository root",
            )
        paths.append(candidate)
    return paths


def semgrep_argv(
    executable: Path, configs: Sequence[Path], exclude: Sequence[str], jobs: int
) -> list[str]:
    """Semgrep over the current directory with local ``configs`` only."""
    argv = [str(executable), "scan", "--json", "--quiet", "--metrics=off"]
    argv += ["--disable-version-check", "--no-rewrite-rule-ids", "--no-git-ignore"]
    # Semgrep's default ignore list skips test folders; Bastion passes its own excludes.
    argv += ["--x-ignore-semgrepignore-files", f"--jobs={jobs}"]
    # `# nosemgrep` is judged by the gate (sast.inline), visibly, not dropped here.
    argv += ["--disable-nosem"]
    for config in configs:
        argv += ["--config", str(config)]
    for name in exclude:
        argv += ["--exclude", name]
    return [*argv, "."]


def _severity(extra: Mapping[str, Any]) -> Severity:
    declared = extra.get("metadata", {}).get("bastion-severity")
    if isinstance(declared, str):
        try:
            return Severity.parse(declared)
        except ValueError:
            pass
    return _LEVELS.get(str(extra.get("severity", "")).upper(), Severity.MEDIUM)


def _cwe(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    raw = metadata.get("cwe", [])
    texts = [raw] if isinstance(raw, str) else [str(item) for item in raw]
    found: list[str] = []
    for text in texts:
        found.extend(match for match in _CWE.findall(text) if match not in found)
    return tuple(found)


def _finding(root: Path, item: Mapping[str, Any]) -> Finding:
    extra = item["extra"]
    metadata = extra.get("metadata", {})
    path = to_relative(root, str(item["path"]))
    line = int(item["start"]["line"])
    text = read_line(root, path, line)
    fix = metadata.get("fix")
    return Finding.create(
        gate="sast",
        rule_id=str(item["check_id"]),
        title=str(item["check_id"]),
        severity=_severity(extra),
        message=" ".join(str(extra["message"]).split()),
        location=Location(
            path, line, column=int(item["start"].get("col", 1)), end_line=item["end"]["line"]
        ),
        match_key=text or f"{path}:{line}",
        cwe=_cwe(metadata),
        fix=" ".join(str(fix).split()) if fix else None,
        properties={
            "tool": "semgrep",
            "bandit_equivalents": [str(t) for t in metadata.get("bandit", [])],
        },
    )


def _load(run: ToolRun) -> Mapping[str, Any]:
    try:
        data = json.loads(run.stdout)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise GateError(
            f"Semgrep crashed (exit {run.exit_code}) without a JSON report; the gate fails "
            f"closed:\n{tail(run.stderr or run.stdout)}"
        )
    return data


def _problems(root: Path, errors: Sequence[Any]) -> tuple[list[str], list[str]]:
    """Split Semgrep's errors into fatal ones (rule or engine) and per-file notes."""
    fatal: list[str] = []
    notes: list[str] = []
    for err in errors:
        if not isinstance(err, dict):
            continue
        message = " ".join(str(err.get("message", err.get("type", "error"))).split())
        path = err.get("path")
        try:
            shown = to_relative(root, str(path)) if path else None
        except GateError:
            shown = None  # a rule file, not a scanned file: the rule set is broken
        if shown is not None:
            # A file it could not parse or that timed out: the rest of the tree was scanned.
            notes.append(f"semgrep could not fully analyse {shown}: {message[:200]}")
        else:
            fatal.append(message[:500])
    return fatal, notes


def parse_semgrep_output(run: ToolRun, root: Path) -> tuple[list[Finding], list[str], int]:
    """Findings, notes and the number of files scanned from a finished Semgrep run."""
    data = _load(run)
    fatal, notes = _problems(root, data.get("errors", []))
    if fatal or run.exit_code != 0:
        detail = "\n".join(fatal) or tail(run.stderr)
        raise GateError(f"Semgrep failed (exit {run.exit_code}); the gate fails closed:\n{detail}")
    try:
        findings = [_finding(root, item) for item in data["results"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise GateError(f"Semgrep reported a result Bastion cannot read: {exc}") from exc
    scanned = data.get("paths", {}).get("scanned", [])
    return findings, notes, len(scanned) if isinstance(scanned, list) else 0
