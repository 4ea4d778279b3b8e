"""Inline suppression markers (``# nosec``, ``# nosemgrep``) made explicit on findings.

Bastion runs Bandit with ``--ignore-nosec`` and Semgrep with ``--disable-nosem``, so neither
tool drops a marked finding silently. Instead the gate reads the finding's source lines and,
when a marker covers the finding, records it under ``properties["inline_suppression"]``
(``{"marker": "# nosec B602", "line": <source text>}``). The policy side
(``bastion.policy.suppressions``) then treats it as a suppression owned by ``inline`` with that
line as its reason, unless ``.bastion/suppressions.yml`` says ``inline_suppressions: false``:
then the finding is reported like any other.

What a marker covers, for both markers:

- bare (``# nosec``, ``# nosemgrep``): every SAST finding on that line; a project that
  triaged a line with Bandit's marker means the line, not one tool (issue 23);
- with ids (``# nosec B602, B607``, ``# nosemgrep: py-subprocess-shell``): only findings
  whose rule is one of them; for ``nosec`` a Semgrep finding counts when its rule lists
  that Bandit test as an equivalent (``metadata.bandit``).

The marker is looked for on the lines the finding spans; ``# nosemgrep`` also on a comment
line right above (Semgrep's own rule).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from bastion.scanners.finding import Finding
from bastion.scanners.tools.source import read_line

__all__ = ["INLINE_KEY", "covering_marker", "mark_inline_suppressions"]

INLINE_KEY = "inline_suppression"
_MARKER = re.compile(
    r"(?:#|//)\s*(?P<kind>nosec|nosemgrep)\b(?P<ids>(?:\s*:?\s*[\w.\-]+(?:\s*,\s*[\w.\-]+)*)?)",
    re.IGNORECASE,
)
_MAX_LINE = 200
_MAX_SPAN = 20  # a finding over more lines than this is a block; its first line decides


def _rule_names(finding: Finding, kind: str) -> set[str]:
    """The ids a marker of ``kind`` may name to cover ``finding``."""
    names = {finding.rule_id.lower()}
    if kind == "nosec":
        names |= {str(t).lower() for t in finding.properties.get("bandit_equivalents", ())}
    return {name.rsplit(".", 1)[-1] for name in names}


def covering_marker(text: str, finding: Finding, *, above: bool = False) -> str | None:
    """The marker in ``text`` that covers ``finding``, or None.

    ``above``: ``text`` is the line before the finding, where only a comment line holding
    ``# nosemgrep`` counts.
    """
    if above and not text.lstrip().startswith(("#", "//")):
        return None
    for match in _MARKER.finditer(text):
        kind = match.group("kind").lower()
        if above and kind != "nosemgrep":
            continue
        # A dotted id (``python.lang.rule``, how a rule path prefixes it) names its last part.
        ids = {i.lower().rsplit(".", 1)[-1] for i in re.split(r"[\s,:]+", match.group("ids")) if i}
        if not ids or ids & _rule_names(finding, kind):
            return match.group(0).strip()
    return None


def _marker_for(root: Path, finding: Finding) -> tuple[str, str] | None:
    """(marker, source line) when a marker covers ``finding``."""
    loc = finding.location
    if not loc.path or loc.line is None:
        return None
    last = loc.end_line if loc.end_line and loc.end_line - loc.line < _MAX_SPAN else loc.line
    for number in range(loc.line, last + 1):
        text = read_line(root, loc.path, number)
        if text and (marker := covering_marker(text, finding)):
            return marker, text
    if loc.line > 1:
        text = read_line(root, loc.path, loc.line - 1)
        if text and (marker := covering_marker(text, finding, above=True)):
            return marker, text
    return None


def mark_inline_suppressions(root: Path, findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` with the inline marker that covers each recorded (none dropped)."""
    marked: list[Finding] = []
    for finding in findings:
        found = _marker_for(root, finding)
        if found is not None:
            marker, text = found
            line = text.strip()[:_MAX_LINE]
            properties = {**finding.properties, INLINE_KEY: {"marker": marker, "line": line}}
            marked.append(dataclasses.replace(finding, properties=properties))
        else:
            marked.append(finding)
    return marked
