"""Read examples/vulnerable-service/EXPECTED.md: the planted flaws each gate must report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

EXAMPLE = Path(__file__).parents[3] / "examples" / "vulnerable-service"
_MARKER = re.compile(r"#\s*planted:\s*(.+?)\s*$")


@dataclass(frozen=True)
class Expected:
    """One row of the table."""

    gate: str
    path: str
    rule: str
    anchor: str
    flaw: str


def expected_rows() -> list[Expected]:
    """Every row of EXPECTED.md's table."""
    rows: list[Expected] = []
    for line in (EXAMPLE / "EXPECTED.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 5 and cells[0] not in {"Gate", ""} and not cells[0].startswith("-"):
            rows.append(Expected(*cells))
    return rows


def planted_markers() -> dict[tuple[str, str], int]:
    """(path, marker text) -> the 1-based line of the code the marker points at."""
    markers: dict[tuple[str, str], int] = {}
    for path in sorted(EXAMPLE.rglob("*")):
        if not path.is_file() or path.name == "EXPECTED.md":
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, text in enumerate(lines, start=1):
            match = _MARKER.search(text)
            if match is None or "`" in text:
                continue  # not a marker, or prose that mentions the convention
            code_before = text[: match.start()].strip()
            target = number if code_before else number + 1
            # Several planted comments may stack above one line of code.
            while (
                not code_before
                and target <= len(lines)
                and lines[target - 1].lstrip().startswith("#")
            ):
                target += 1
            markers[(path.relative_to(EXAMPLE).as_posix(), match.group(1))] = target
    return markers
