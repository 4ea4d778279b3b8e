#!/usr/bin/env python3
"""Regenerate Bastion's hashed lock files from what the project declares.

    .venv/bin/python scripts/lock.py            # keep every pin that still fits, add what is new
    .venv/bin/python scripts/lock.py --upgrade  # move every pin to the newest release

Writes ``requirements.lock`` (from ``pyproject.toml``, the ``dev`` extra included) and each
scanner tool's set, ``src/bastion/scanners/tools/requirements/<tool>.txt`` (from ``<tool>.in``),
with ``uv pip compile --generate-hashes`` for Python 3.11 on this platform. uv itself is pinned
in the lock. Each file holds the full closure: installs from it use ``pip --no-deps`` and never
resolve again, so the result cannot change on a later day; ``tests/test_requirements_lock.py``
and ``pip check`` prove the closure is complete. Changing a tool's set changes its digest, so
``bastion tools install`` builds a new environment for it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL_SETS = ROOT / "src" / "bastion" / "scanners" / "tools" / "requirements"
PYTHON_VERSION = "3.11"


def _compile(sources: list[str], output: Path, *, cwd: Path, upgrade: bool, header: bool) -> None:
    """``uv pip compile``; the existing ``output`` is read first, so its pins are kept."""
    uv = Path(sys.prefix) / "bin" / "uv"
    argv = [str(uv), "pip", "compile", *sources, "--generate-hashes", "-q"]
    argv += ["--python-version", PYTHON_VERSION, "-o", output.name]
    if not header:
        argv.append("--no-header")  # the tool sets' digests name the environments
    if upgrade:
        argv.append("--upgrade")
    print("+", " ".join(argv[1:]), f"(in {cwd.relative_to(ROOT) or '.'})", file=sys.stderr)
    subprocess.run(argv, cwd=cwd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="move every pin to its newest")
    args = parser.parse_args(argv)
    lock = ROOT / "requirements.lock"
    _compile(
        ["pyproject.toml", "--extra", "dev"], lock, cwd=ROOT, upgrade=args.upgrade, header=True
    )
    for source in sorted(TOOL_SETS.glob("*.in")):
        output = source.with_suffix(".txt")
        _compile([source.name], output, cwd=TOOL_SETS, upgrade=args.upgrade, header=False)
    print("done: run `make test` (it installs with --no-deps and runs pip check)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
