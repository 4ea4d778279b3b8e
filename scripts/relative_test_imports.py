#!/usr/bin/env python3
"""Turn `from helper import x` between test modules into package-relative imports.

Tests are packages (each folder has __init__.py) so mypy sees unique module names; a test
that imports a sibling helper must then import it relatively.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"

for folder in [TESTS, *(p for p in TESTS.rglob("*") if p.is_dir())]:
    if "__pycache__" in folder.parts or "data" in folder.relative_to(TESTS).parts[:1]:
        continue
    (folder / "__init__.py").touch()
    local = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    for module in folder.glob("*.py"):
        text = module.read_text()
        new = re.sub(
            r"^from ([a-z_][a-z0-9_]*) import",
            lambda m, names=frozenset(local): f"from .{m[1]} import" if m[1] in names else m[0],
            text,
            flags=re.M,
        )
        if new != text:
            module.write_text(new)
