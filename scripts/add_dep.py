#!/usr/bin/env python3
"""Add a dependency to pyproject.toml, re-lock with hashes and install it into .venv.

Run under a lock so concurrent edits do not collide:
    flock /tmp/bastion-deps.lock .venv/bin/python scripts/add_dep.py 'name>=1.0' [--dev]
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--dev"]
    dev = "--dev" in sys.argv
    pyproject = ROOT / "pyproject.toml"
    text = pyproject.read_text()
    anchor = "dev = [\n" if dev else "dependencies = [\n"
    for spec in args:
        name = re.split(r"[<>=\[ ;]", spec, maxsplit=1)[0].lower()
        if re.search(rf'^  "{re.escape(name)}[<>=\[ ;"]', text, re.M | re.I):
            print(f"{name} already listed")
            continue
        text = text.replace(anchor, f'{anchor}  "{spec}",\n', 1)
    pyproject.write_text(text)
    uv = ROOT / ".venv/bin/uv"
    subprocess.run(
        [
            str(uv),
            "pip",
            "compile",
            "pyproject.toml",
            "--extra",
            "dev",
            "--generate-hashes",
            "--python-version",
            "3.11",
            "-q",
            "-o",
            "requirements.lock",
        ],
        cwd=ROOT,
        check=True,
    )
    subprocess.run(
        [
            str(ROOT / ".venv/bin/pip"),
            "install",
            "-q",
            "--require-hashes",
            "-r",
            "requirements.lock",
        ],
        cwd=ROOT,
        check=True,
    )


if __name__ == "__main__":
    main()
