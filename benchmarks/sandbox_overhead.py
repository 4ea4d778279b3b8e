"""Per-step cost of the sandbox: a bubblewrap-sandboxed ``true`` against a bare ``true``.

    .venv/bin/python benchmarks/sandbox_overhead.py [-n 200]

The peer is a bare ``subprocess.run(["true"])``: what running a step costs with no isolation
at all. The sandboxed figure is everything ``BubblewrapSandbox.run`` does per step (uid lock,
workspace ownership, prlimit, bwrap namespaces and mounts, setpriv, supervision). Target: a
median overhead of at most 10 ms. Each measurement is a function so further ones (the
engine's) can join ``main``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bastion.sandbox import BubblewrapSandbox, SandboxSpec, check_sandbox_available

__all__ = ["main", "measure_sandbox_overhead"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _median_ms(action: Callable[[], object], n: int, cpu: list[float]) -> float:
    """Median wall ms of ``n`` calls; appends the mean child CPU ms per call to ``cpu``."""
    samples = []
    cpu_start = _children_cpu()
    for _ in range(n):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    cpu.append((_children_cpu() - cpu_start) * 1000 / n)
    return statistics.median(samples)


def measure_sandbox_overhead(n: int = 200) -> dict[str, float]:
    """Median wall times (ms) of a bare and a sandboxed ``true``, interleaved in rounds."""
    check_sandbox_available()
    sandbox = BubblewrapSandbox()
    with tempfile.TemporaryDirectory(prefix="bastion-bench-") as tmp:
        spec = SandboxSpec(argv=["true"], workspace=Path(tmp))

        def bare() -> None:
            subprocess.run(["true"], check=True)

        def sandboxed() -> None:
            if sandbox.run(spec, lambda _: None).exit_code != 0:
                raise RuntimeError("sandboxed true failed")

        sandboxed()  # warm up: availability probe, /etc scan
        # Interleave in rounds so load changes on a shared machine hit both sides alike.
        rounds = 10
        bare_ms: list[float] = []
        sandbox_ms: list[float] = []
        bare_cpu: list[float] = []
        sandbox_cpu: list[float] = []
        for _ in range(rounds):
            bare_ms.append(_median_ms(bare, max(1, n // rounds), bare_cpu))
            sandbox_ms.append(_median_ms(sandboxed, max(1, n // rounds), sandbox_cpu))
    bare_median = statistics.median(bare_ms)
    sandbox_median = statistics.median(sandbox_ms)
    return {
        "bare_ms": bare_median,
        "sandboxed_ms": sandbox_median,
        "overhead_ms": sandbox_median - bare_median,
        "ratio": sandbox_median / bare_median,
        # CPU the child processes burn per step: far less sensitive to a loaded machine.
        "bare_cpu_ms": statistics.median(bare_cpu),
        "sandboxed_cpu_ms": statistics.median(sandbox_cpu),
        "load_average": os.getloadavg()[0],
    }


# ── engine half: scheduling overhead of a 500-job DAG ────────────────────────────────────


class _NoopSandbox:
    """A sandbox that runs nothing: what remains is the engine's own cost per job."""

    def run(self, spec: Any, on_output: Any, cancel: Any = None) -> Any:
        from bastion.sandbox.interface import SandboxResult

        return SandboxResult(exit_code=0, duration_seconds=0.0)


def _dag_pipeline(jobs: int, width: int) -> str:
    """``jobs`` jobs of one `true` step in layers of ``width``; each needs one job above."""
    lines = ["jobs:"]
    for index in range(jobs):
        lines.append(f"  j{index}:")
        if index >= width:
            lines.append(f"    needs: [j{index - width}]")
        lines.append("    steps: [{run: 'true'}]")
    return "\n".join(lines) + "\n"


def measure_engine_overhead(jobs: int = 500, width: int = 10, sandboxed: bool = False) -> float:
    """Wall seconds of a whole ``jobs``-job run (state recorded in SQLite) on the local executor."""
    import tempfile
    import threading

    from bastion.engine.model import RunContext, RunId, Trust
    from bastion.engine.recorder import Recorder, create_run
    from bastion.engine.scheduler import Scheduler, SchedulerConfig
    from bastion.executors import JobSpec, LocalExecutor, StepSpec, WorkspaceSource
    from bastion.pipeline import parse_pipeline, plan_pipeline
    from bastion.sandbox import BubblewrapSandbox
    from bastion.store import open_database

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        (root / "src/app.py").write_text("print('hi')\n")
        (root / "scratch").mkdir()
        plan = plan_pipeline(parse_pipeline(_dag_pipeline(jobs, width), source="bench").pipeline)
        db = open_database(f"sqlite:///{root / 'state.db'}")
        context = RunContext("bench", None, None, "local", Trust.DIRTY)
        run_id = create_run(db, context, "bench", "")
        step = StepSpec("true", ("true",))

        def build(name: str) -> JobSpec:
            return JobSpec(
                run_id=run_id, job=name, steps=(step,), source=WorkspaceSource(str(root / "src"))
            )

        sandbox = BubblewrapSandbox() if sandboxed else _NoopSandbox()
        executor = LocalExecutor(sandbox, root / "scratch", max_parallel=2)  # type: ignore[arg-type]
        started = time.perf_counter()
        Scheduler(
            run_id=RunId(run_id),
            plan=plan,
            context=context,
            executor=executor,
            build_spec=build,
            gate_evaluator=None,
            observers=[Recorder(db, root / "logs")],
            config=SchedulerConfig(),
            cancel=threading.Event(),
        ).execute()
        elapsed = time.perf_counter() - started
        executor.shutdown()
        db.dispose()
    return elapsed


def main() -> None:
    """Print the medians side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="runs per side")
    parser.add_argument("--jobs", type=int, default=500, help="jobs in the DAG")
    args = parser.parse_args()
    result = measure_sandbox_overhead(args.n)
    print(f"{'step':<28}{'median ms':>12}")
    print(f"{'bare subprocess true':<28}{result['bare_ms']:>12.2f}")
    print(f"{'bubblewrap sandbox true':<28}{result['sandboxed_ms']:>12.2f}")
    print(f"{'overhead per step':<28}{result['overhead_ms']:>12.2f}   (target <= 10 ms)")
    print(f"{'ratio':<28}{result['ratio']:>12.1f}x")
    print(f"{'child CPU, bare true':<28}{result['bare_cpu_ms']:>12.2f}")
    print(f"{'child CPU, sandboxed true':<28}{result['sandboxed_cpu_ms']:>12.2f}")
    print(f"{'load average (1 min)':<28}{result['load_average']:>12.2f}   (2 cores)")
    jobs = args.jobs
    engine_only = [measure_engine_overhead(jobs) for _ in range(3)]
    full = [measure_engine_overhead(jobs, sandboxed=True) for _ in range(3)]
    engine_ms = statistics.median(engine_only) / jobs * 1000
    full_ms = statistics.median(full) / jobs * 1000
    print()
    print(f"{jobs}-job DAG of `true` steps, local executor (2 at once), state in SQLite")
    print(f"{'engine overhead per job':<28}{engine_ms:>12.2f}   (no-op sandbox; target <= 5 ms)")
    print(f"{'whole run per job':<28}{full_ms:>12.2f}   (bubblewrap, wall / jobs)")


if __name__ == "__main__":
    main()
