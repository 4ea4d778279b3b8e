"""The policy's ``input`` as one compact JSON text, holding only what the policy reads.

Why: rego-cpp turns every value of the input into nodes and walks them per rule; with one
object per finding a scan of 4,000 findings spent seconds there. So the input always carries
``finding_groups``, the findings grouped by what Bastion's own rules decide on (gate,
severity, new, suppressed) with their fingerprints, and carries the full ``findings`` list
only when some module reads it. Bastion's ``default.rego`` reads the groups; a user's module
that names ``input`` other than through ``input.context``, ``input.gates``,
``input.suppressions`` or ``input.finding_groups`` (``input.findings``, ``input[x]``,
``walk(input, ...)``, ``with input as ...``) gets every finding exactly as before. The check
reads the code with its strings and comments removed and errs towards giving the findings:
a module wrongly judged to need them costs time, never a decision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bastion.policy.interpreter import RegoModule
from bastion.policy.model import PolicyInput

__all__ = ["GROUP_KEYS", "finding_groups", "input_json", "reads_findings"]

GROUP_KEYS = ("gate", "severity", "new", "suppressed")
_SEVERITY_ORDER = {
    name: rank for rank, name in enumerate(("critical", "high", "unknown", "medium", "low"))
}
# ``input`` followed by anything but one of the paths that never hold findings.
_FINDINGS_USE = re.compile(r"\binput\b(?!\s*\.\s*(?:context|gates|suppressions|finding_groups)\b)")
_CODE_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`|#[^\n]*')


def reads_findings(modules: Iterable[RegoModule]) -> bool:
    """True when any module may read ``input.findings`` (see the module docstring)."""
    return any(_FINDINGS_USE.search(_code_only(m.source)) for m in modules)


def _code_only(source: str) -> str:
    """``source`` with string literals emptied and comments removed.

    A ``#`` inside a string does not start a comment, so strings and comments are matched
    by one pattern from left to right. (A module with an unterminated string does not
    compile, so it never decides.)
    """

    def blank(match: re.Match[str]) -> str:
        token = match.group(0)
        return "" if token.startswith("#") else '""'

    return _CODE_TOKEN.sub(blank, source)


def finding_groups(findings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Findings grouped by :data:`GROUP_KEYS`, worst severity first, fingerprints in order."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for finding in findings:
        key = tuple(finding.get(name) for name in GROUP_KEYS)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {**dict(zip(GROUP_KEYS, key, strict=True)), "fingerprints": []}
        group["fingerprints"].append(finding.get("fingerprint"))
    ordered = sorted(groups.values(), key=_group_order)
    for group in ordered:
        group["count"] = len(group["fingerprints"])
    return ordered


def _group_order(group: Mapping[str, Any]) -> tuple[int, str, str, bool, bool]:
    # Worst first, so a reason that lists fingerprints names the worst findings first.
    severity = str(group["severity"])
    rank = _SEVERITY_ORDER.get(severity, len(_SEVERITY_ORDER))
    return (rank, severity, str(group["gate"]), not group["new"], bool(group["suppressed"]))


def input_json(policy_input: PolicyInput, *, with_findings: bool) -> str:
    """The input document as compact JSON; ``findings`` only ``with_findings``."""
    document: dict[str, Any] = {
        "context": policy_input.context.to_dict(),
        "finding_groups": finding_groups(policy_input.findings),
        "gates": {name: dict(info) for name, info in policy_input.gates.items()},
        "suppressions": [dict(s) for s in policy_input.suppressions],
    }
    if with_findings:
        document["findings"] = [dict(f) for f in policy_input.findings]
    return json.dumps(document, separators=(",", ":"), default=str)
