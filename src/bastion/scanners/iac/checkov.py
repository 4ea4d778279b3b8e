"""Run Checkov offline over a tree and turn its JSON report into Findings.

Offline: ``--skip-download`` (no guidelines, severities or policies fetched),
``BC_SKIP_MAPPING=TRUE`` (no mapping download), ``CKV_SKIP_PACKAGE_UPDATE_CHECK=true`` (no
version check), no API key (no platform upload), Terraform modules never downloaded.

Checkov exits 0 when every check passed and 1 when some failed; both are normal. A report
that is not Checkov's JSON (a traceback, a half-written document) fails the gate closed.
With one framework Checkov prints one report object, with several a list, and with nothing
to scan a bare summary; all three are understood.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bastion.errors import GateError
from bastion.scanners.finding import Finding, Location
from bastion.scanners.iac.severity import check_info
from bastion.scanners.tools.process import ToolRun, tail
from bastion.scanners.tools.source import to_relative

__all__ = ["OFFLINE_ENV", "checkov_argv", "parse_checkov_output"]

OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "CHECKOV_EXPERIMENTAL_IMAGE_REFERENCING": "false",
    "ANONYMOUS_TELEMETRY": "false",
}


def checkov_argv(executable: Path, frameworks: Sequence[str], exclude: Sequence[str]) -> list[str]:
    """Checkov over the current directory, JSON on stdout, nothing fetched."""
    argv = [str(executable), "-d", ".", "--output", "json", "--quiet", "--compact"]
    argv += ["--skip-download", "--download-external-modules", "false"]
    argv += ["--framework", *frameworks]
    for name in exclude:
        # --skip-path takes a regular expression matched against relative paths.
        argv += ["--skip-path", rf"(^|/){re.escape(name)}(/|$)"]
    return argv


def _reports(run: ToolRun) -> list[Mapping[str, Any]]:
    try:
        data: Any = json.loads(run.stdout)
    except ValueError:
        data = None
    if isinstance(data, dict):
        data = [data]
    if run.exit_code not in (0, 1) or not isinstance(data, list):
        raise GateError(
            f"Checkov crashed (exit {run.exit_code}) without a JSON report; the gate fails "
            f"closed:\n{tail(run.stderr or run.stdout)}"
        )
    return [report for report in data if isinstance(report, dict)]


def _path(root: Path, reported: str) -> str:
    """Checkov writes repository paths with a leading "/" and some absolute paths."""
    if Path(reported).is_absolute() and Path(reported).is_relative_to(root):
        return to_relative(root, reported)
    return to_relative(root, reported.lstrip("/"))


def _finding(root: Path, framework: str, item: Mapping[str, Any]) -> Finding:
    check_id = str(item["check_id"])
    name = str(item.get("check_name") or check_id)
    info = check_info(check_id, name)
    path = _path(root, str(item["file_path"]))
    lines = item.get("file_line_range") or [None, None]
    first = int(lines[0]) if lines[0] else None
    last = int(lines[1]) if len(lines) > 1 and lines[1] else None
    resource = str(item.get("resource") or path)
    return Finding.create(
        gate="iac",
        rule_id=check_id,
        title=name,
        severity=info.severity,
        message=f"{resource}: {name}",
        location=Location(path, first if first and first > 0 else None, end_line=last),
        # The resource address keeps its identity when the file's lines move.
        match_key=f"{framework}|{resource}",
        cwe=info.cwe,
        fix=info.fix or name,
        properties={"tool": "checkov", "framework": framework, "resource": resource},
    )


def parse_checkov_output(run: ToolRun, root: Path) -> tuple[list[Finding], list[str], int]:
    """Findings, notes (files Checkov could not parse) and the number of resources checked."""
    findings: list[Finding] = []
    notes: list[str] = []
    resources = 0
    for report in _reports(run):
        framework = str(report.get("check_type", "unknown"))
        summary = report.get("summary", report)
        resources += int(summary.get("resource_count", 0) or 0)
        if "results" not in report:
            continue  # a bare summary: nothing Checkov knows how to check in the tree
        results = report["results"]
        try:
            findings.extend(_finding(root, framework, item) for item in results["failed_checks"])
        except (KeyError, TypeError, ValueError) as exc:
            raise GateError(f"Checkov reported a result Bastion cannot read: {exc}") from exc
        for path in results.get("parsing_errors", []) or []:
            notes.append(f"checkov could not parse {_path(root, str(path))} ({framework})")
    findings.sort(key=lambda f: (f.location.path, f.location.line or 0, f.rule_id))
    return findings, notes, resources
