"""The planted secrets of examples/vulnerable-service, from its EXPECTED.md table.

Rows whose gate is ``secrets`` name the file, the rule and the ``# planted: <anchor>`` comment;
the secret is on the next line that is not a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "vulnerable-service"


@dataclass(frozen=True)
class Planted:
    """One planted secret: where, which rule must report it, and its line."""

    path: str
    rule_id: str
    line: int


def _target_line(path: Path, anchor: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, text in enumerate(lines, start=1):
        if re.search(rf"#\s*planted:\s*{re.escape(anchor)}\s*$", text):
            target = number + 1
            while lines[target - 1].lstrip().startswith("#"):
                target += 1
            return target
    raise AssertionError(f"no '# planted: {anchor}' marker in {path}")


def planted_secrets() -> list[Planted]:
    """Every ``secrets`` row of the example's EXPECTED.md, located."""
    out = []
    for line in (EXAMPLE / "EXPECTED.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().split("|")[1:-1]]
        if len(cells) == 5 and cells[0] == "secrets":
            out.append(Planted(cells[1], cells[2], _target_line(EXAMPLE / cells[1], cells[3])))
    return out
