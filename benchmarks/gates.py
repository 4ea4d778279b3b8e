"""Wall time of Bastion's SAST and IaC gates against running their tools directly.

    .venv/bin/python benchmarks/gates.py [PATH ...] [--runs 3]

For each tree (default ``examples/``): the median of ``--runs`` runs of

* Bandit, Semgrep (Bastion's rules, 2 jobs) and Checkov run directly from their tool
  environments with the same flags the gates use (the peers), one after another;
* Bastion: the ``sast`` and ``iac`` gates run concurrently, each in its own bubblewrap
  sandbox with its tool environments bound read-only, as the engine runs them (until the
  engine's gate runner lands, this drives ``load_gate(...).scan`` inside
  ``BubblewrapSandbox`` directly, which is the same work minus the runner's bookkeeping).

It prints each median and Bastion's ratio to the slowest tool. Target: at most 1.10 (the
gates run concurrently where the cores allow, so Bastion pays roughly its slowest tool plus
parsing and the sandbox). The workspace copy the engine makes for a job is done once, before
timing, for both sides alike.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bastion.sandbox import (
    BubblewrapSandbox,
    Limits,
    SandboxSpec,
    bastion_runtime_binds,
    check_sandbox_available,
)
from bastion.scanners.iac import DEFAULT_FRAMEWORKS, IacGate
from bastion.scanners.iac.checkov import OFFLINE_ENV, checkov_argv
from bastion.scanners.sast import SastGate
from bastion.scanners.sast.ruleset import rules_dir
from bastion.scanners.sast.semgrep import semgrep_argv
from bastion.scanners.tools import Tool, ToolEnvironment, bastion_home
from bastion.scanners.tools.options import DEFAULT_EXCLUDES

__all__ = ["main", "measure_tree"]

_INNER = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from bastion.scanners.interface import ScanRequest\n"
    "from bastion.scanners.registry import load_gate\n"
    "report = load_gate(sys.argv[1]).scan(ScanRequest(Path('/workspace')))\n"
    "print(json.dumps({'findings': len(report.findings)}))\n"
)


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


def _bastion(workspace: Path) -> Callable[[], object]:
    sandbox = BubblewrapSandbox()
    gates: dict[str, SastGate | IacGate] = {"sast": SastGate(), "iac": IacGate()}
    for gate in gates.values():
        gate.prepare()

    def one(name: str) -> None:
        binds = [*bastion_runtime_binds(), *gates[name].required_binds()]
        spec = SandboxSpec(
            # -I: the tree under scan must never shadow modules (no cwd on sys.path).
            argv=[sys.executable, "-I", "-c", _INNER, name],
            workspace=workspace,
            env={"BASTION_HOME": str(bastion_home()), "PATH": "/usr/bin:/bin"},
            read_only_binds=list(dict.fromkeys(binds)),
            # semgrep-core reserves far more address space than it uses: no RLIMIT_AS.
            limits=Limits(timeout_seconds=900, memory_bytes=None),
        )
        output: list[bytes] = []
        result = sandbox.run(spec, output.append)
        if result.exit_code != 0:
            raise RuntimeError(f"gate {name} failed: {b''.join(output).decode()[-800:]}")

    def run() -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(one, gates))

    return run


def measure_tree(tree: Path, runs: int) -> dict[str, float]:
    """Median seconds for each peer tool and for Bastion's two gates on ``tree``.

    Runs are interleaved (each round runs every peer, then Bastion) so load changes on a
    shared machine hit both sides alike.
    """
    with tempfile.TemporaryDirectory(prefix="bastion-bench-") as tmp:
        workspace = Path(tmp) / "workspace"
        shutil.copytree(tree, workspace, symlinks=True)
        actions = dict(_peers(workspace))
        actions["bastion"] = _bastion(workspace)
        actions["bastion"]()  # warm up: sandbox probe, first-use checks
        samples: dict[str, list[float]] = {name: [] for name in actions}
        for _ in range(runs):
            for name, action in actions.items():
                samples[name].append(_seconds(action))
    return {name: statistics.median(values) for name, values in samples.items()}


def _lines(tree: Path) -> int:
    return sum(
        len(path.read_bytes().splitlines())
        for path in tree.rglob("*.py")
        if not any(part in DEFAULT_EXCLUDES for part in path.parts)
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
        print(f"  {'bastion sast+iac (sandboxed)':<28} {figures['bastion']:7.2f} s")
        print(
            f"  ratio to slowest tool         {figures['bastion'] / slowest:7.2f}  (target <= 1.10)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
