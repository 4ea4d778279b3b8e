"""Run Bandit from its tool environment and turn its JSON report into Findings.

Severity is Bandit's severity weighed by its confidence, because a HIGH-severity guess is
worth less than a HIGH-severity certainty:

    severity \\ confidence   HIGH      MEDIUM    LOW
    HIGH                    high      high      medium
    MEDIUM                  medium    medium    low
    LOW                     low       low       info
    (undefined)             info      info      info

CWE ids come from Bandit's own ``issue_cwe``. Bandit exits 0 (no issues) or 1 (issues);
anything else, or a report that is not Bandit's JSON, fails the gate closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bastion.errors import GateError
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.tools.process import ToolRun, tail
from bastion.scanners.tools.source import read_line, to_relative

__all__ = ["bandit_argv", "bandit_severity", "parse_bandit_report", "redact"]

# Bandit's hard-coded password tests quote the value in their message; Bastion never
# prints a secret, so the quoted part is withheld (the secrets gate owns credentials).
_QUOTES_SECRET = frozenset({"B105", "B106", "B107"})
_QUOTED = re.compile(r"""(['"]).*\1""")

_MATRIX: dict[tuple[str, str], Severity] = {
    ("HIGH", "HIGH"): Severity.HIGH,
    ("HIGH", "MEDIUM"): Severity.HIGH,
    ("HIGH", "LOW"): Severity.MEDIUM,
    ("MEDIUM", "HIGH"): Severity.MEDIUM,
    ("MEDIUM", "MEDIUM"): Severity.MEDIUM,
    ("MEDIUM", "LOW"): Severity.LOW,
    ("LOW", "HIGH"): Severity.LOW,
    ("LOW", "MEDIUM"): Severity.LOW,
    ("LOW", "LOW"): Severity.INFO,
}


def bandit_severity(severity: str, confidence: str) -> Severity:
    """Bandit's severity x confidence as one Bastion severity (table in the module doc)."""
    return _MATRIX.get((severity.upper(), confidence.upper()), Severity.INFO)


def redact(test_id: str, message: str) -> str:
    """``message`` without the quoted value when ``test_id`` reports a hard-coded secret."""
    if test_id in _QUOTES_SECRET:
        return _QUOTED.sub("<value withheld>", message)
    return message


def bandit_argv(executable: Path, report: Path, exclude: tuple[str, ...]) -> list[str]:
    """Bandit over the current directory, JSON to ``report``, ``exclude`` dirs skipped."""
    # Bandit matches -x entries as globs against each path it walks.
    patterns = ",".join(f"*/{name}/*,./{name}" for name in exclude)
    argv = [str(executable), "-r", ".", "-f", "json", "-o", str(report), "-q", "-x", patterns]
    # `# nosec` is judged by the gate (sast.inline), visibly, not dropped here.
    return [*argv, "--ignore-nosec"]


def _load(run: ToolRun, report: Path) -> Mapping[str, Any]:
    if run.exit_code not in (0, 1):
        raise GateError(
            f"Bandit crashed (exit {run.exit_code}); the gate fails closed:\n"
            f"{tail(run.stderr or run.stdout)}"
        )
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GateError(
            f"Bandit produced no readable report ({exc}); the gate fails closed:\n"
            f"{tail(run.stderr or run.stdout)}"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise GateError("Bandit's report has no results list; the gate fails closed")
    return data


def _finding(root: Path, item: Mapping[str, Any], fixes: Mapping[str, str]) -> Finding:
    path = to_relative(root, str(item["filename"]))
    line = int(item["line_number"])
    test_id = str(item["test_id"])
    cwe_id = (item.get("issue_cwe") or {}).get("id")
    text = read_line(root, path, line)
    more_info = str(item.get("more_info") or "")
    fix = fixes.get(test_id) or (f"See {more_info}" if more_info else None)
    return Finding.create(
        gate="sast",
        rule_id=test_id,
        title=str(item.get("test_name", test_id)),
        severity=bandit_severity(str(item["issue_severity"]), str(item["issue_confidence"])),
        message=redact(test_id, str(item["issue_text"])),
        location=Location(
            path,
            line,
            column=int(item.get("col_offset", 0)) + 1,
            end_line=max([line, *(int(n) for n in item.get("line_range") or ())]),
        ),
        match_key=text or f"{path}:{line}",
        cwe=(f"CWE-{int(cwe_id)}",) if cwe_id else (),
        fix=fix,
        properties={"tool": "bandit", "confidence": str(item["issue_confidence"]).lower()},
    )


def parse_bandit_report(
    run: ToolRun,
    report: Path,
    root: Path,
    *,
    skip: frozenset[str],
    fixes: Mapping[str, str],
) -> tuple[list[Finding], list[str]]:
    """Findings and notes from a finished Bandit run (``skip``: test ids not reported)."""
    data = _load(run, report)
    findings: list[Finding] = []
    for item in data["results"]:
        try:
            if str(item["test_id"]) in skip:
                continue
            findings.append(_finding(root, item, fixes))
        except (KeyError, TypeError, ValueError) as exc:
            raise GateError(f"Bandit reported a result Bastion cannot read: {exc}") from exc
    notes = [
        f"bandit could not analyse {to_relative(root, str(err.get('filename', '?')))}: "
        f"{str(err.get('reason', 'unknown error')).strip()}"
        for err in data.get("errors", [])
        if isinstance(err, dict)
    ]
    return findings, notes
