"""CI configuration gate benchmark: Bastion's ``ciconfig`` beside zizmor, same files.

    .venv/bin/python benchmarks/ciconfig.py [--zizmor /tmp/zizmor/bin/zizmor] [--copies 40]

The corpus is ``benchmarks/ciconfig_corpus`` (written for Bastion: realistic workflows, each
vulnerable one with a fixed twin). zizmor reads only GitHub files, so both tools are given
the GitHub workflows and actions of each tree; Bastion's GitLab and Bastion-pipeline rules
are counted apart. Reported: findings per rule class (Bastion's rules mapped onto zizmor's
audit names where they mean the same), and wall time, end to end (a fresh process each,
as a CI job runs them) and over ``--copies`` copies of the corpus (throughput). zizmor runs
``--offline --no-config`` (its online audits are out of scope for an offline gate).
Install the peer outside the lock: ``python3 -m venv /tmp/zizmor && /tmp/zizmor/bin/pip
install zizmor``.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bastion.scanners.ciconfig import RULES, ActionAdvisories, scan_ciconfig

CORPUS = Path(__file__).resolve().parent / "ciconfig_corpus"
_GITHUB = (".github",)
_OURS = (
    "import sys; from pathlib import Path; "
    "from bastion.scanners.ciconfig import ActionAdvisories, scan_ciconfig; "
    "print(len(scan_ciconfig(Path(sys.argv[1]), ActionAdvisories.bundled())[0]))"
)


def _github_only(tree: Path, target: Path) -> Path:
    """Copy the GitHub part of ``tree`` to ``target`` (what both tools are given)."""
    for part in _GITHUB:
        shutil.copytree(tree / part, target / part, dirs_exist_ok=True)
    return target


def _copies(tree: Path, target: Path, copies: int) -> Path:
    """One tree holding ``copies`` renamed copies of every workflow and action of ``tree``."""
    workflows = target / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for i in range(copies):
        for path in (tree / ".github" / "workflows").iterdir():
            shutil.copy(path, workflows / f"{path.stem}-{i}{path.suffix}")
        for action in tree.rglob("action.yml"):
            destination = target / "actions" / f"{action.parent.name}-{i}" / "action.yml"
            destination.parent.mkdir(parents=True)
            shutil.copy(action, destination)
    return target


def ours(tree: Path) -> collections.Counter[str]:
    """Bastion's findings in ``tree`` per class (zizmor's name where one matches)."""
    findings, _, _ = scan_ciconfig(tree, ActionAdvisories.bundled())
    return collections.Counter(RULES[f.rule_id].peer or f.rule_id for f in findings)


def zizmor(binary: str, tree: Path) -> collections.Counter[str]:
    """zizmor's findings in ``tree`` per audit class."""
    done = subprocess.run(
        [binary, "--offline", "--no-config", "--format", "json", str(tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in {0, 10, 11, 12, 13, 14}:  # 1x: findings at some severity
        sys.exit(f"zizmor failed ({done.returncode}): {done.stderr[-500:]}")
    return collections.Counter(item["ident"] for item in json.loads(done.stdout or "[]"))


def wall(argv: list[str], repeat: int) -> float:
    """Median wall seconds of running ``argv`` to completion ``repeat`` times."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _table(rows: dict[str, tuple[int, int, int, int]]) -> None:
    print(f"| {'rule class':34} | ours vuln | zizmor vuln | ours fixed | zizmor fixed |")
    print(f"|{'-' * 36}|-----------|-------------|------------|--------------|")
    for name, (ov, zv, of, zf) in sorted(rows.items()):
        print(f"| {name:34} | {ov:9} | {zv:11} | {of:10} | {zf:12} |")


def main() -> None:
    """Run both tools, print the table and the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The peer's own venv, outside the lock (the brief's install command).
    parser.add_argument("--zizmor", default="/tmp/zizmor/bin/zizmor")  # noqa: S108
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        trees = {k: _github_only(CORPUS / k, base / k) for k in ("vulnerable", "fixed")}
        counts = {
            (tool, kind): run(tree)
            for kind, tree in trees.items()
            for tool, run in (("ours", ours), ("zizmor", lambda t: zizmor(args.zizmor, t)))
        }
        names = set().union(*counts.values())
        rows = {
            n: tuple(counts[(t, k)][n] for k in ("vulnerable", "fixed") for t in ("ours", "zizmor"))
            for n in names
        }
        _table({n: (r[0], r[1], r[2], r[3]) for n, r in rows.items()})
        other = ours(CORPUS / "vulnerable") - counts[("ours", "vulnerable")]
        print(f"\nBastion-only formats (GitLab, Bastion pipeline), vulnerable tree: {dict(other)}")
        fixed_other = ours(CORPUS / "fixed") - ours(trees["fixed"])
        print(f"Bastion-only formats, fixed tree: {dict(fixed_other)}")
        big = _copies(trees["vulnerable"], base / "big", args.copies)
        for label, tree in (("corpus", trees["vulnerable"]), (f"{args.copies} copies", big)):
            files = sum(1 for p in tree.rglob("*.y*ml"))
            t_ours = wall([sys.executable, "-I", "-c", _OURS, str(tree)], args.repeat)
            t_peer = wall([args.zizmor, "--offline", "--no-config", "--format", "json",
                           str(tree)], args.repeat)  # fmt: skip
            print(f"\nwall time, {label} ({files} files): ours {t_ours:.3f} s, zizmor "
                  f"{t_peer:.3f} s, ratio {t_ours / t_peer:.2f}x (target <= 3x)")  # fmt: skip


if __name__ == "__main__":
    main()
