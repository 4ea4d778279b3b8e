"""Celery workers against the local executor on the same short sandboxed jobs (issue 15).

    unshare --net -- /bin/sh -c 'ip link set lo up && exec "$0" "$@"' \\
        .venv/bin/python -m benchmarks.workers [--jobs 1000] [--brokers redis,rabbitmq]

For each private broker (started like the test fixtures, on loopback in a temporary
directory): two real ``bastion worker`` processes of the trusted pool (bubblewrap, one job
at a time each) run ``--jobs`` one-step ``true`` jobs sent by a :class:`CeleryExecutor`
(leases in SQLite); the local executor (two threads, bubblewrap) runs the same jobs in the
same process. Jobs are submitted as slots free up (two in flight, one per worker), so
*dispatch* (queued → started: submit to the job's ``started`` event reaching the submitter)
is what the system adds, not time spent waiting behind other jobs. Goals: Celery ≥ 70 % of
the local throughput, dispatch p99 ≤ 50 ms, on each broker.

Then the scheduling cost per job of a 500-job DAG (``--dag-jobs``): the engine's scheduler
and recorder over the Celery executor with two workers running a no-op sandbox (this module
run as ``--noop-worker BROKER``), wall / jobs, beside the same DAG on the local executor
(``benchmarks/sandbox_overhead.py``'s figure, 1.6 ms/job when it was written).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path

from tests.executors.celery.brokers import TOKENS, rabbitmq_server, redis_server, start_worker
from tests.executors.celery.brokers import stop as stop_process

from bastion.executors import (
    JobEvent,
    JobEventKind,
    JobSpec,
    JobState,
    LocalExecutor,
    StepSpec,
    WorkspaceSource,
)
from bastion.executors.celery import CeleryConfig, CeleryExecutor, LeaseStore, Pool, PoolKey
from bastion.executors.interface import Executor
from bastion.sandbox import BubblewrapSandbox, check_sandbox_available
from bastion.store import Database, open_database, sqlite_url

__all__ = ["Figures", "main", "measure_dag", "measure_jobs"]

KEY = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())
WORKERS = 2
ROUNDS = 3
"""Rounds of the DAG per executor; the median is reported."""
JOB_TIMEOUT = 120.0
"""Seconds any one job may take before the benchmark gives up (every wait is bounded)."""
BROKERS: dict[str, Callable[[Path], AbstractContextManager[str]]] = {
    "redis": redis_server,
    "rabbitmq": rabbitmq_server,
}


@dataclass(frozen=True, slots=True)
class Figures:
    """One executor over one batch of jobs."""

    jobs: int
    seconds: float
    dispatch_ms: list[float]
    failed: int

    @property
    def per_second(self) -> float:
        return self.jobs / self.seconds

    def dispatch(self, q: float) -> float:
        ordered = sorted(self.dispatch_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _spec(source: Path, run_id: int, index: int) -> JobSpec:
    step = StepSpec("true", ("true",), timeout_seconds=60)
    return JobSpec(
        run_id=run_id, job=f"j{index}", steps=(step,), source=WorkspaceSource(str(source))
    )


def measure_jobs(executor: Executor, source: Path, run_id: int, jobs: int) -> Figures:
    """Run ``jobs`` jobs, at most ``WORKERS`` in flight; throughput and dispatch latency."""
    slots = threading.Semaphore(WORKERS)
    done = threading.Semaphore(0)
    submitted: dict[str, float] = {}
    dispatch: list[float] = []
    failed: list[str] = []

    def sink(event: JobEvent) -> None:
        now = time.perf_counter()
        if event.kind is JobEventKind.STARTED:
            dispatch.append((now - submitted[event.job]) * 1000)
        elif event.kind is JobEventKind.FINISHED:
            if event.outcome is None or event.outcome.status is not JobState.PASSED:
                failed.append(event.job)
            slots.release()
            done.release()

    started = time.perf_counter()
    for index in range(jobs):
        if not slots.acquire(timeout=JOB_TIMEOUT):
            raise TimeoutError(f"no job finished within {JOB_TIMEOUT:g} s")
        spec = _spec(source, run_id, index)
        submitted[spec.job] = time.perf_counter()
        executor.submit(spec, sink)
    for _ in range(jobs):
        if not done.acquire(timeout=JOB_TIMEOUT):
            raise TimeoutError(f"a job did not finish within {JOB_TIMEOUT:g} s")
    return Figures(jobs, time.perf_counter() - started, dispatch, len(failed))


def measure_queued(executor: Executor, source: Path, run_id: int, jobs: int) -> float:
    """Jobs per second with all ``jobs`` queued at once (a pipeline stage of many parallel
    jobs): a worker takes its next job as it acks the last, not after the submitter heard
    it finished, as in :func:`measure_jobs`. Dispatch is not measured here (it would be
    time spent waiting in the queue)."""
    done = threading.Semaphore(0)
    failed: list[str] = []

    def sink(event: JobEvent) -> None:
        if event.kind is JobEventKind.FINISHED:
            if event.outcome is None or event.outcome.status is not JobState.PASSED:
                failed.append(event.job)
            done.release()

    started = time.perf_counter()
    for index in range(jobs):
        executor.submit(_spec(source, run_id, index), sink)
    for _ in range(jobs):
        if not done.acquire(timeout=JOB_TIMEOUT):
            raise TimeoutError(f"a job did not finish within {JOB_TIMEOUT:g} s")
    if failed:
        raise RuntimeError(f"{len(failed)} jobs failed, the first {failed[0]}")
    return jobs / (time.perf_counter() - started)


def _celery(broker: str, state: Path) -> CeleryExecutor:
    leases = LeaseStore(open_database(sqlite_url(state)))
    config = CeleryConfig(broker, KEY, leases=leases, queue_timeout_seconds=JOB_TIMEOUT)
    return CeleryExecutor(config, secrets_for={})


def _workers(stack: ExitStack, broker: str, root: Path, noop: bool) -> None:
    for n in range(WORKERS):
        home = root / f"worker{n}{'-noop' if noop else ''}"
        if noop:
            process = _start_noop_worker(broker, home)
        else:
            process = start_worker(broker, "trusted", home)
        stack.callback(stop_process, process)


def _start_noop_worker(broker: str, home: Path) -> subprocess.Popen[bytes]:
    home.mkdir(parents=True, exist_ok=True)
    with (home / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "benchmarks.workers", "--noop-worker", broker],
            env={**os.environ, "BASTION_HOME": str(home)},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def _serve_noop(broker: str) -> None:
    """A real Celery worker of the trusted pool whose sandbox runs nothing."""
    from benchmarks.sandbox_overhead import _NoopSandbox

    from bastion.executors.celery import WorkerOptions, WorkerRuntime, serve_worker, worker_name
    from bastion.executors.secret_guard import NoMasking

    scratch = Path(tempfile.mkdtemp(prefix="bastion-bench-noop-"))

    def runtime_for(app: object) -> WorkerRuntime:
        return WorkerRuntime(
            app=app,
            key=KEY,
            sandbox=_NoopSandbox(),
            workspace_parent=scratch,
            masking=lambda _values: NoMasking(),
            name=worker_name(Pool.TRUSTED),
        )

    serve_worker(WorkerOptions(pool=Pool.TRUSTED, broker=broker), runtime_for)


def measure_dag(
    executor: Executor, db: Database, root: Path, source: Path, jobs: int, width: int = 10
) -> float:
    """Wall seconds of a whole ``jobs``-job DAG run (state in ``db``) on ``executor``.

    Keep one ``db`` for all the rounds on one executor: a fresh database numbers its first
    run 1 again, and a job of the same run and name is a duplicate to the executor's
    leases (granted once, so a second round would wait for a job nobody may run)."""
    from benchmarks.sandbox_overhead import _dag_pipeline

    from bastion.engine.model import RunContext, RunId, Trust
    from bastion.engine.recorder import Recorder, create_run
    from bastion.engine.scheduler import Scheduler, SchedulerConfig
    from bastion.pipeline import parse_pipeline, plan_pipeline

    plan = plan_pipeline(parse_pipeline(_dag_pipeline(jobs, width), source="bench").pipeline)
    context = RunContext("bench", None, None, "local", Trust.DIRTY)
    run_id = create_run(db, context, "bench", "")
    step = StepSpec("true", ("true",))

    def build(name: str) -> JobSpec:
        return JobSpec(run_id=run_id, job=name, steps=(step,), source=WorkspaceSource(str(source)))

    started = time.perf_counter()
    result = Scheduler(
        run_id=RunId(run_id),
        plan=plan,
        context=context,
        executor=executor,
        build_spec=build,
        gate_evaluator=None,
        observers=[Recorder(db, root / f"logs-{run_id}-{time.monotonic_ns()}")],
        config=SchedulerConfig(),
        cancel=threading.Event(),
    ).execute()
    elapsed = time.perf_counter() - started
    if result.state.value != "passed":
        reasons = sorted(set(result.reasons.values()))[:3]
        raise RuntimeError(f"the DAG run ended {result.state.value}: {reasons}")
    return elapsed


def _row(label: str, figures: Figures, local: Figures | None) -> str:
    share = "" if local is None else f"{figures.per_second / local.per_second:>10.0%}"
    return (
        f"{label:<20}{figures.jobs:>6}{figures.per_second:>10.1f}{share:>10}"
        f"{statistics.median(figures.dispatch_ms):>9.1f}{figures.dispatch(0.99):>9.1f}"
        f"{figures.failed:>7}"
    )


def _batch(args: argparse.Namespace, root: Path, source: Path) -> None:
    sandbox = BubblewrapSandbox()
    print(f"{'executor':<20}{'jobs':>6}{'jobs/s':>10}{'of local':>10}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'failed':>7}")  # fmt: skip
    queued: list[tuple[str, float, float]] = []
    for name in args.brokers:
        with ExitStack() as stack:
            (root / name).mkdir()
            broker = stack.enter_context(BROKERS[name](root / name))
            _workers(stack, broker, root, noop=False)
            celery = _celery(broker, root / f"{name}.db")
            stack.callback(celery.shutdown)
            local = LocalExecutor(sandbox, root / "scratch", max_parallel=WORKERS)
            stack.callback(local.shutdown)
            measure_jobs(celery, source, 1, 2 * WORKERS)  # warm up: both workers connected
            measure_jobs(local, source, 2, 2 * WORKERS)
            local_figures = measure_jobs(local, source, 3, args.jobs)
            celery_figures = measure_jobs(celery, source, 4, args.jobs)
            print(_row("local (2 threads)", local_figures, None))
            print(_row(f"celery {name}", celery_figures, local_figures), flush=True)
            local_queued = measure_queued(local, source, 5, args.jobs)
            celery_queued = measure_queued(celery, source, 6, args.jobs)
            queued.append((name, local_queued, celery_queued))
    print(f"\nall {args.jobs} jobs queued at once: jobs/s")
    for name, local_rate, celery_rate in queued:
        print(f"{'local (2 threads)':<20}{args.jobs:>6}{local_rate:>10.1f}")
        share = f"{celery_rate / local_rate:>10.0%}"
        print(f"{'celery ' + name:<20}{args.jobs:>6}{celery_rate:>10.1f}{share}", flush=True)


def _dag(args: argparse.Namespace, root: Path, source: Path) -> None:
    from benchmarks.sandbox_overhead import _NoopSandbox

    local = LocalExecutor(_NoopSandbox(), root / "scratch", max_parallel=WORKERS)
    db = open_database(sqlite_url(root / "dag-local.db"))
    local_s = statistics.median(
        measure_dag(local, db, root, source, args.dag_jobs) for _ in range(ROUNDS)
    )
    local.shutdown()
    db.dispose()
    print(f"\n{args.dag_jobs}-job DAG, no-op sandbox, 2 at once, state in SQLite: ms per job")
    print(f"{'local':<20}{local_s / args.dag_jobs * 1000:>10.2f}")
    for name in args.brokers:
        with ExitStack() as stack:
            (root / f"{name}-dag").mkdir()
            broker = stack.enter_context(BROKERS[name](root / f"{name}-dag"))
            _workers(stack, broker, root, noop=True)
            celery = _celery(broker, root / f"{name}-dag.db")
            stack.callback(celery.shutdown)
            measure_jobs(celery, source, 0, 2 * WORKERS)  # warm up (run 0: no DAG run's id)
            db = open_database(sqlite_url(root / f"dag-{name}.db"))
            stack.callback(db.dispose)
            wall = statistics.median(
                measure_dag(celery, db, root, source, args.dag_jobs) for _ in range(ROUNDS)
            )
            print(f"{'celery ' + name:<20}{wall / args.dag_jobs * 1000:>10.2f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Print the batch table, then the DAG figures, with the load average."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per executor")
    parser.add_argument("--dag-jobs", type=int, default=500, help="jobs in the DAG (0: none)")
    parser.add_argument("--brokers", type=lambda s: s.split(","), default=list(BROKERS))
    parser.add_argument("--noop-worker", metavar="BROKER", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.noop_worker:
        _serve_noop(args.noop_worker)
        return
    check_sandbox_available()
    print(f"load average before: {os.getloadavg()}  ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="bastion-bench-workers-") as tmp:
        root = Path(tmp)
        source = root / "src"
        source.mkdir()
        (source / "app.txt").write_text("hello\n")
        (root / "scratch").mkdir()
        _batch(args, root, source)
        if args.dag_jobs:
            _dag(args, root, source)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
