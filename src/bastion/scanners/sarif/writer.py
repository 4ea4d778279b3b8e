"""Findings to a SARIF 2.1.0 log, ready for GitHub code scanning upload.

Choices, and why:

- One ``run`` per gate, each with its own ``automationDetails.id`` (``bastion/<gate>/``):
  GitHub keys alert tracking on tool and category and refuses two runs with the same pair.
  A gate that ran and found nothing still gets an empty run, so GitHub closes its old alerts.
- Every location is relative to ``%SRCROOT%`` (``uriBaseId``), and every run defines it in
  ``originalUriBaseIds``: the root's ``file:`` URI when the caller passes the root (``bastion
  scan`` does), else only a description, since an absolute host path would leak.
- :func:`write_sarif` streams the log, one compact line per result, instead of building one
  document and indenting it: Python's indenting encoder took seconds for thousands of results.
- ``partialFingerprints["bastion/v1"]`` carries our fingerprint, so the same finding keeps its
  identity across runs, branches and renames, in GitHub and in our own baselines. It is left
  as it is (suppressions and baselines name it), so findings that share it, such as one
  secret on several lines, would share every partial fingerprint and GitHub would fold them
  into one alert: ``bastion/v1-location`` hashes it with the place (path, line, column),
  which makes each result's set unique.
- Every run has ``invocations`` saying whether the gate decided (``executionSuccessful``);
  a gate that could not decide gets a run with no results and a ``toolExecutionNotifications``
  entry giving the reason, so an empty run never reads as a clean one.
- ``tool.driver.version`` is Bastion's version (the gates are Bastion's code); a gate that
  drives external tools lists them with their pinned versions in ``tool.extensions``.
- Rules carry ``help`` (the fix hint), ``helpUri`` when a gate gives one, CWE tags in GitHub's
  ``external/cwe/cwe-N`` form and ``security-severity`` (the worst severity seen for the rule).
- Findings accepted in ``.bastion/suppressions.yml`` carry a SARIF ``suppressions`` entry
  (``external``, ``accepted``, with the reason), so GitHub shows them as dismissed; one
  accepted by an inline marker (justification starting ``inline: ``) is ``inSource``; with a
  baseline, ``baselineState`` says ``new`` or ``unchanged``.
- Each result's ``properties.bastion`` holds what SARIF has no slot for (exact severity, fix,
  ids, commit, gate properties), so reading our own SARIF back gives the same findings.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bastion import __version__
from bastion.scanners.finding import Finding
from bastion.scanners.sarif.levels import FINGERPRINT_KEY, level_for, security_severity_for

__all__ = [
    "INLINE_JUSTIFICATION",
    "LOCATION_FINGERPRINT_KEY",
    "SARIF_SCHEMA_URI",
    "SRCROOT",
    "ToolInfo",
    "findings_to_sarif",
    "location_fingerprint",
    "write_sarif",
]

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
_BASTION_URI = "https://github.com/bastion-ci/bastion"
_CWE_NUMBER = re.compile(r"(?i)^(?:cwe-)?(\d+)$")
# How a caller marks the justification of an inline (in-source) suppression.
INLINE_JUSTIFICATION = "inline: "
# The secondary partial fingerprint: ours joined with the place (see the module docstring).
LOCATION_FINGERPRINT_KEY = "bastion/v1-location"


@dataclass(frozen=True, slots=True)
class ToolInfo:
    """The scanner behind a gate, as SARIF's ``tool.driver`` names it."""

    name: str
    version: str | None = None
    information_uri: str | None = None
    # External tools the gate drives, name to pinned version (SARIF ``tool.extensions``).
    extensions: Mapping[str, str] | None = None


def findings_to_sarif(
    findings: Iterable[Finding],
    *,
    gates: Sequence[str] = (),
    tools: Mapping[str, ToolInfo] | None = None,
    source_root: Path | None = None,
    suppressed: Mapping[str, str] | None = None,
    new: Collection[str] | None = None,
    failures: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run per gate.

    ``gates`` lists gates that ran (so empty ones still get a run); gates of findings are
    added. ``tools`` names each gate's scanner (default: ``bastion/<gate>``).
    ``suppressed`` maps fingerprints to the reason they are accepted; ``new``, when given,
    holds the fingerprints not in the baseline. ``failures`` maps each gate that could not
    decide to the reason, said in its run's ``invocations``.
    """
    marks = _Marks(suppressed or {}, None if new is None else frozenset(new), failures or {})
    runs = [
        {**head, "results": list(results)}
        for head, results in _runs(findings, gates, tools, source_root, marks)
    ]
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": runs}


def write_sarif(
    handle: IO[str],
    findings: Iterable[Finding],
    *,
    gates: Sequence[str] = (),
    tools: Mapping[str, ToolInfo] | None = None,
    source_root: Path | None = None,
    suppressed: Mapping[str, str] | None = None,
    new: Collection[str] | None = None,
    failures: Mapping[str, str] | None = None,
) -> None:
    """Write the log :func:`findings_to_sarif` makes to ``handle``, result by result.

    The same JSON value, in compact form: each run's head on a line, then one line per
    result, so the text is still readable and diffable.
    """
    marks = _Marks(suppressed or {}, None if new is None else frozenset(new), failures or {})
    handle.write(f'{{"$schema": {json.dumps(SARIF_SCHEMA_URI)}, "version": "2.1.0", "runs": [')
    for number, (head, results) in enumerate(_runs(findings, gates, tools, source_root, marks)):
        # A run's head is a non-empty object: its text without the closing brace is open
        # for the results member, which SARIF places anywhere in the run.
        handle.write(("," if number else "") + "\n" + json.dumps(head)[:-1] + ', "results": [')
        for count, result in enumerate(results):
            handle.write(("," if count else "") + "\n" + json.dumps(result))
        handle.write("]}")
    handle.write("\n]}\n")


def _runs(
    findings: Iterable[Finding],
    gates: Sequence[str],
    tools: Mapping[str, ToolInfo] | None,
    source_root: Path | None,
    marks: _Marks,
) -> Iterator[tuple[dict[str, Any], Iterator[dict[str, Any]]]]:
    """Each run's head (everything but results) and its results, gates in name order."""
    by_gate: dict[str, list[Finding]] = {gate: [] for gate in [*gates, *marks.failures]}
    for finding in findings:
        by_gate.setdefault(finding.gate, []).append(finding)
    known_tools = tools or {}
    base = _base_ids(source_root)
    for gate in sorted(by_gate):
        yield _run(gate, by_gate[gate], known_tools.get(gate), base, marks)


@dataclass(frozen=True, slots=True)
class _Marks:
    """What the caller says about findings and gates beyond the findings themselves."""

    suppressed: Mapping[str, str]
    new: frozenset[str] | None
    failures: Mapping[str, str]


def _base_ids(root: Path | None) -> dict[str, Any]:
    """``originalUriBaseIds``: where ``%SRCROOT%`` is, or what it is when not to be said."""
    if root is None:
        return {SRCROOT: {"description": {"text": "The root of the scanned source tree."}}}
    return {SRCROOT: {"uri": root.resolve().as_uri() + "/"}}


def _run(
    gate: str,
    findings: list[Finding],
    tool: ToolInfo | None,
    base_ids: dict[str, Any],
    marks: _Marks,
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    ordered = sorted(findings, key=lambda f: (f.location.path, f.location.line or 0, f.rule_id))
    by_rule: dict[str, list[Finding]] = {}
    for finding in ordered:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    rule_ids = sorted(by_rule)  # grouped once: one pass per rule was quadratic for SCA
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    driver: dict[str, Any] = {
        "name": tool.name if tool else f"bastion/{gate}",
        "version": (tool.version if tool else None) or __version__,
        "informationUri": (tool.information_uri if tool else None) or _BASTION_URI,
        "rules": [_rule(rule_id, by_rule[rule_id]) for rule_id in rule_ids],
    }
    head: dict[str, Any] = {
        "tool": _tool(driver, tool),
        "invocations": [_invocation(marks.failures.get(gate))],
        "automationDetails": {"id": f"bastion/{gate}/"},
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": base_ids,
    }
    return head, (_result(f, index[f.rule_id], marks) for f in ordered)


def _tool(driver: dict[str, Any], tool: ToolInfo | None) -> dict[str, Any]:
    extensions = [
        {"name": name, "version": version}
        for name, version in sorted(((tool.extensions if tool else None) or {}).items())
    ]
    return {"driver": driver, **({"extensions": extensions} if extensions else {})}


def _invocation(failure: str | None) -> dict[str, Any]:
    """Whether the gate decided; when it could not, why (a run with no results is no pass)."""
    if failure is None:
        return {"executionSuccessful": True}
    return {
        "executionSuccessful": False,
        "toolExecutionNotifications": [
            {
                "level": "error",
                "message": {"text": f"the gate could not decide: {failure}"},
                "descriptor": {"id": "bastion/gate-could-not-decide"},
            }
        ],
    }


def _rule(rule_id: str, findings: list[Finding]) -> dict[str, Any]:
    first = findings[0]
    worst = max((f.severity for f in findings), key=lambda s: s.rank)
    tags = ["security", *(_cwe_tag(c) for c in _all(findings, "cwe"))]
    properties: dict[str, Any] = {"tags": tags}
    score = security_severity_for(worst)
    if score is not None:
        properties["security-severity"] = score
    rule: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": first.title or rule_id},
        "fullDescription": {"text": first.message},
        "defaultConfiguration": {"level": level_for(worst)},
        "properties": properties,
    }
    if first.fix:
        rule["help"] = {"text": first.fix, "markdown": first.fix}
    help_uri = first.properties.get("help_uri")
    if isinstance(help_uri, str) and help_uri:
        rule["helpUri"] = help_uri
    return rule


def _all(findings: list[Finding], field: str) -> list[str]:
    seen: dict[str, None] = {}
    for finding in findings:
        for value in getattr(finding, field):
            seen.setdefault(value, None)
    return list(seen)


def _cwe_tag(cwe: str) -> str:
    match = _CWE_NUMBER.match(cwe.strip())
    return f"external/cwe/cwe-{match.group(1)}" if match else cwe


def _result(finding: Finding, rule_index: int, marks: _Marks) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": level_for(finding.severity),
        "message": {"text": finding.message or finding.rule_id},
        "partialFingerprints": {
            FINGERPRINT_KEY: finding.fingerprint,
            LOCATION_FINGERPRINT_KEY: location_fingerprint(finding),
        },
        "properties": {"bastion": _extras(finding)},
    }
    if finding.location.path:
        result["locations"] = [{"physicalLocation": _physical(finding)}]
    reason = marks.suppressed.get(finding.fingerprint)
    if reason is not None:
        # A `# nosec` / `# nosemgrep` the gate recorded (bastion.scanners.sast.inline) and
        # the suppressions honoured is SARIF's in-source kind; a suppressions.yml entry is not.
        kind = "inSource" if reason.startswith(INLINE_JUSTIFICATION) else "external"
        result["suppressions"] = [{"kind": kind, "status": "accepted", "justification": reason}]
    if marks.new is not None:
        result["baselineState"] = "new" if finding.fingerprint in marks.new else "unchanged"
    return result


def location_fingerprint(finding: Finding) -> str:
    """The finding's fingerprint hashed with its place: unique per location, unlike it."""
    loc = finding.location
    place = (finding.fingerprint, loc.path, str(loc.line or ""), str(loc.column or ""))
    return hashlib.sha256("\x1f".join(place).encode()).hexdigest()[:32]


def _physical(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": urllib.parse.quote(loc.path), "uriBaseId": SRCROOT}
    }
    if loc.line is not None:
        region: dict[str, Any] = {"startLine": loc.line}
        if loc.column is not None and loc.column >= 1:
            region["startColumn"] = loc.column
        if loc.end_line is not None and loc.end_line >= loc.line:
            region["endLine"] = loc.end_line
        physical["region"] = region
    return physical


def _extras(finding: Finding) -> dict[str, Any]:
    extras: dict[str, Any] = {
        "gate": finding.gate,
        "severity": finding.severity.value,
        "title": finding.title,
        "cwe": list(finding.cwe),
        "ids": list(finding.ids),
        "fix": finding.fix,
        "commit": finding.location.commit,
        "properties": dict(finding.properties),
    }
    return extras
