"""Wall time of Bastion's SAST and IaC gates against running their tools directly.

    .venv/bin/python benchmarks/gates.py [PATH ...] [--runs 3]

For each tree (default ``examples/``): the median of ``--runs`` runs of

* Bandit, Semgrep (Bastion's rules, 2 jobs) and Checkov run directly from their tool
  environments with the same flags the gates use (the peers), one after another;
* ``bastion scan --gate sast --gate iac PATH``: the product path (CLI start-up, each gate in
  its own bubblewrap sandbox with its tool environments bound read-only, then the policy);
* "gates concurrently": the engine's ``run_gate_sandboxed`` for both gates at once, which
  is what ``bastion scan`` costs once its gate runner runs gates in parallel.

It prints each median and Bastion's ratio to the slowest tool. Target: at most 1.10 (the
gates run concurrently where the cores allow, so Bastion pays roughly its slowest tool plus
parsing, the sandbox and the policy). Both sides scan the same copy of the tree.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running this file puts benchmarks/ first on sys.path, where a sibling script may bear a
# standard-library module's name (benchmarks/secrets.py shadows ``secrets``): drop it.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bastion.engine.gates import run_gate_sandboxed
from bastion.sandbox import BubblewrapSandbox, Limits, check_sandbox_available
from bastion.scanners.iac import DEFAULT_FRAMEWORKS, IacGate
from bastion.scanners.iac.checkov import OFFLINE_ENV, checkov_argv
from bastion.scanners.sast import SastGate
from bastion.scanners.sast.ruleset import rules_dir
from bastion.scanners.sast.semgrep import semgrep_argv
from bastion.scanners.tools import Tool, ToolEnvironment, bastion_home
from bastion.scanners.tools.options import DEFAULT_EXCLUDES

__all__ = ["main", "measure_tree"]


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _direct(argv: list[str], tree: Path, env: dict[str, str]) -> Callable[[], object]:
    def run() -> None:
        with tempfile.TemporaryDirectory() as home:
            full_env = {"PATH": "/usr/bin:/bin", "HOME": home, **env}
            proc = subprocess.run(argv, cwd=tree, env=full_env, capture_output=True, check=False)
            if proc.returncode not in (0, 1):
                raise RuntimeError(f"{argv[0]} failed: {proc.stderr.decode()[-400:]}")

    return run


def _peers(tree: Path) -> dict[str, Callable[[], object]]:
    home = bastion_home()
    exe = {tool: ToolEnvironment.for_tool(tool, home).executable() for tool in Tool}
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        bandit_out = handle.name
    semgrep = semgrep_argv(exe[Tool.SEMGREP], [rules_dir()], DEFAULT_EXCLUDES, jobs=2)
    checkov = checkov_argv(exe[Tool.CHECKOV], DEFAULT_FRAMEWORKS, DEFAULT_EXCLUDES)
    bandit = [str(exe[Tool.BANDIT]), "-r", ".", "-f", "json", "-o", bandit_out, "-q"]
    return {
        "bandit": _direct(bandit, tree, {}),
        "semgrep": _direct(semgrep, tree, {"SEMGREP_SEND_METRICS": "off"}),
        "checkov": _direct(checkov, tree, OFFLINE_ENV),
    }


def _bastion_scan(workspace: Path) -> Callable[[], object]:
    """``bastion scan --gate sast --gate iac``: the product path, CLI start-up included."""
    argv = [sys.executable, "-m", "bastion.cli.main", "scan", "--gate", "sast", "--gate", "iac"]
    argv += ["--format", "json", str(workspace)]

    def run() -> None:
        proc = subprocess.run(argv, capture_output=True, check=False)
        if proc.returncode not in (0, 1):  # 1: blocked by findings, as expected
            raise RuntimeError(f"bastion scan failed: {proc.stderr.decode()[-800:]}")

    return run


def _gates_concurrently(workspace: Path) -> Callable[[], object]:
    """The engine's own ``run_gate_sandboxed`` for both gates at once, one thread each.

    Each gate gets its own copy of the tree, as each job gets its own workspace (a
    workspace belongs to the job's uid); the copies are made once, outside the timing.
    """
    sandbox = BubblewrapSandbox()
    copies = {}
    for name in ("sast", "iac"):
        copies[name] = workspace.with_name(f"{workspace.name}-{name}")
        shutil.copytree(workspace, copies[name], symlinks=True)

    def one(name: str) -> None:
        run_gate_sandboxed(sandbox, name, copies[name], limits=Limits(timeout_seconds=1800))

    def run() -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(one, copies))

    return run


def measure_tree(tree: Path, runs: int) -> dict[str, float]:
    """Median seconds for each peer tool and for Bastion's two gates on ``tree``.

    Runs are interleaved (each round runs every peer, then Bastion) so load changes on a
    shared machine hit both sides alike.
    """
    with tempfile.TemporaryDirectory(prefix="bastion-bench-") as tmp:
        workspace = Path(tmp) / "workspace"
        shutil.copytree(tree, workspace, symlinks=True)
        for gate in (SastGate(), IacGate()):
            gate.prepare()  # first use installs; not part of a scan's steady-state cost
        actions = dict(_peers(workspace))
        actions["bastion scan"] = _bastion_scan(workspace)
        actions["gates concurrently"] = _gates_concurrently(workspace)
        actions["bastion scan"]()  # warm up: sandbox probe, first-use checks
        samples: dict[str, list[float]] = {name: [] for name in actions}
        for _ in range(runs):
            for name, action in actions.items():
                samples[name].append(_seconds(action))
    return {name: statistics.median(values) for name, values in samples.items()}


def _lines(tree: Path) -> int:
    return sum(
        len(path.read_bytes().splitlines())
        for path in tree.rglob("*.py")
        if not any(part in DEFAULT_EXCLUDES for part in path.relative_to(tree).parts)
    )


def main(argv: list[str] | None = None) -> int:
    """Print peer and Bastion medians side by side for each tree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("examples")])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    check_sandbox_available()
    for tree in args.paths:
        figures = measure_tree(tree.resolve(), args.runs)
        slowest = max(figures[name] for name in ("bandit", "semgrep", "checkov"))
        print(f"{tree}  ({_lines(tree)} Python lines, median of {args.runs})")
        for name in ("bandit", "semgrep", "checkov"):
            print(f"  {name:<28} {figures[name]:7.2f} s")
        for name in ("bastion scan", "gates concurrently"):
            ratio = figures[name] / slowest
            print(f"  {name:<28} {figures[name]:7.2f} s  {ratio:5.2f} x slowest (target 1.10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
