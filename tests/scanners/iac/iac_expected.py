"""The ``iac`` rows of examples/vulnerable-service/EXPECTED.md."""

from __future__ import annotations

import re
from pathlib import Path

EXAMPLE = Path(__file__).parents[3] / "examples" / "vulnerable-service"


def iac_rows() -> list[tuple[str, str, str]]:
    """(file, Checkov check id, resource) for every planted IaC flaw."""
    rows: list[tuple[str, str, str]] = []
    for line in (EXAMPLE / "EXPECTED.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 5 and cells[0] == "iac":
            rows.append((cells[1], cells[2], cells[3]))
    return rows
