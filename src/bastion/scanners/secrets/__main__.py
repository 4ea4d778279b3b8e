"""``python -m bastion.scanners.secrets PATH [--history | --staged | --since REF]``.

A minimal entry point for the benchmark and for debugging without the full CLI: prints the
gate report as JSON (findings redacted, as always) and exits 1 when there are findings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bastion.errors import BastionError
from bastion.scanners.secrets.gate import scan_secrets
from bastion.scanners.secrets.mode import ScanMode

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the gate once; 0 no findings, 1 findings, 2 usage, 3 could not operate."""
    parser = argparse.ArgumentParser(prog="python -m bastion.scanners.secrets")
    parser.add_argument("path", type=Path)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--history", action="store_true", help="every commit of the repository")
    group.add_argument("--staged", action="store_true", help="the staged changes")
    group.add_argument("--since", metavar="REF", help="commits in REF..HEAD")
    parser.add_argument("--jobs", type=int, default=0, help="workers (0: one per core)")
    args = parser.parse_args(argv)
    mode = ScanMode.TREE
    if args.history:
        mode = ScanMode.HISTORY
    elif args.staged:
        mode = ScanMode.STAGED
    elif args.since:
        mode = ScanMode.SINCE
    try:
        report = scan_secrets(args.path, mode=mode, since=args.since, options={"jobs": args.jobs})
    except BastionError as exc:
        print(f"error: {exc.diagnostics()}", file=sys.stderr)
        return exc.exit_code
    payload = {
        "gate": report.gate,
        "findings": [finding.to_dict() for finding in report.findings],
        "facts": dict(report.facts),
        "notes": list(report.notes),
    }
    json.dump(payload, sys.stdout)
    sys.stdout.write("\n")
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
