"""Wall time of Bastion's SAST and IaC gates against running their tools directly.

    .venv/bin/python benchmarks/gates.py [PATH ...] [--runs 3]

For each tree (default ``examples/``): the median of ``--runs`` runs of

* Bandit, Semgrep (Bastion's rules, 2 jobs) and Checkov run directly from their tool
  environments with the same flags the gates use (the peers), one after another;
* ``bastion scan --gate sast --gate iac PATH``: the product path (CLI start-up, each gate in
  its own bubblewrap sandbox with its tool environments bound read-only, then the policy);
* "gates concurrently": the engine's ``run_gate_sandboxed`` for both gates at once on copies
  made beforehand, without the CLI: what ``bastion scan`` costs minus its start-up, survey
  of the tree and policy (``bastion scan`` shows the tree to its gates read-only and runs
  them concurrently). Both let the gate expected to take longest go first for the CPU
  (``bastion.engine.gate_priority``), from the CPU figures of the warm-up scan.

It prints each median and Bastion's ratio to the slowest tool. Target: at most 1.10 (the
gates run concurrently where the cores allow, so Bastion pays roughly its slowest tool plus
parsing, the sandbox and the policy). Both sides scan the same copy of the tree.

It also prints the "core floor": the peers' CPU seconds (user + system, median) over the
cores this process may use. No schedule of the same tools runs faster than that floor or
than the slowest tool, so ``max(slowest, floor)`` is the best any runner could do here; when
the floor is above the slowest tool, the 1.10 target is out of reach on this machine and the
ratio to the floor says how much Bastion itself adds.
"""

# ruff: noqa: E402 - the imports after the sys.path fix below must come after it
from __future__ import annotations

import os
import sys

# First thing, before any other import: running this file puts benchmarks/ on sys.path (as
# the script's directory, or as "" when run from there), where benchmarks/secrets.py would
# shadow the standard library's ``secrets`` that the engine imports.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]

import argparse
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bastion.engine.gate_priority import GateCpuHistory, limits_by_gate
from bastion.engine.gates import run_gate_sandboxed
from bastion.home import bastion_home
from bastion.sandbox import BubblewrapSandbox, Limits, check_sandbox_available
from bastion.scanners.iac import DEFAULT_FRAMEWORKS, IacGate
from bastion.scanners.iac.checkov import OFFLINE_ENV, checkov_argv
from bastion.scanners.sast import SastGate
from bastion.scanners.sast.ruleset import rules_dir
from bastion.scanners.sast.semgrep import semgrep_argv
from bastion.scanners.tools import Tool, ToolEnvironment
from bastion.scanners.tools.options import DEFAULT_EXCLUDES

__all__ = ["main", "measure_tree"]


def _seconds(action: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (of the child processes waited for) of ``action``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    action()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


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
        # The same priorities as ``bastion scan`` (it ran first and left its CPU figures).
        expected = GateCpuHistory.in_home(bastion_home()).expected(workspace)
        limits = limits_by_gate(list(copies), expected, Limits(timeout_seconds=1800))
        run_gate_sandboxed(sandbox, name, copies[name], limits=limits[name])

    def run() -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(one, copies))

    return run


def measure_tree(tree: Path, runs: int) -> dict[str, float]:
    """Median seconds for each peer tool and for Bastion's two gates on ``tree``.

    ``peers cpu`` is the median over rounds of the peers' summed CPU seconds; ``host cpu``
    that of the ``bastion scan`` process itself and ``gates cpu`` what its sandboxed gates
    reported using (runner and tools), read back from the CPU history the scan keeps.

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
        samples: dict[str, list[float]] = {
            name: [] for name in (*actions, "peers cpu", "host cpu", "gates cpu")
        }
        peers = set(_peers_names())
        for _ in range(runs):
            cpu = 0.0
            for name, action in actions.items():
                wall, used = _seconds(action)
                samples[name].append(wall)
                if name == "bastion scan":
                    # The sandboxes are reaped inside their own pid namespaces, so the host
                    # only counts its own process; the gates report theirs.
                    samples["host cpu"].append(used)
                    reported = GateCpuHistory.in_home(bastion_home()).expected(workspace)
                    samples["gates cpu"].append(sum(reported.values()))
                cpu += used if name in peers else 0.0
            samples["peers cpu"].append(cpu)
    return {name: statistics.median(values) for name, values in samples.items()}


def _peers_names() -> tuple[str, ...]:
    return ("bandit", "semgrep", "checkov")


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
        slowest = max(figures[name] for name in _peers_names())
        cores = len(os.sched_getaffinity(0))
        floor = max(slowest, figures["peers cpu"] / cores)
        print(f"{tree}  ({_lines(tree)} Python lines, median of {args.runs})")
        for name in _peers_names():
            print(f"  {name:<28} {figures[name]:7.2f} s")
        print(
            f"  {'core floor':<28} {floor:7.2f} s  (peers' CPU {figures['peers cpu']:.2f} s "
            f"over {cores} cores, or the slowest tool)"
        )
        gates_extra = figures["gates cpu"] - figures["peers cpu"]
        print(
            f"  {'bastion scan CPU':<28} {figures['host cpu'] + figures['gates cpu']:7.2f} s  "
            f"(command {figures['host cpu']:.2f} s, gates {figures['gates cpu']:.2f} s = "
            f"peers {gates_extra:+.2f} s; less noisy than wall time)"
        )
        for name in ("bastion scan", "gates concurrently"):
            ratio = figures[name] / slowest
            print(
                f"  {name:<28} {figures[name]:7.2f} s  {ratio:5.2f} x slowest (target 1.10)"
                f"  {figures[name] / floor:5.2f} x floor"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
