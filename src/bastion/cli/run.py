"""``bastion run``: run the project's pipeline locally, every job in its own sandbox."""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from bastion.cli.console import err_console, out_console
from bastion.cli.findings_view import blocking_findings, render_blocking
from bastion.cli.progress import STATE_STYLE, LineProgress, LiveProgress
from bastion.engine import PreparedRun, RunServices, celery_executor, recover_interrupted_runs
from bastion.engine.attestation import BUILDER_ID
from bastion.engine.local_run import LocalRunOptions, prepare_run, run_local
from bastion.engine.model import RunResult, RunState
from bastion.engine.services import local_services
from bastion.errors import UsageError
from bastion.executors.celery import end_interrupted_leases
from bastion.home import ensure_bastion_home
from bastion.scanners.sca import OFFLINE_ENV
from bastion.store import open_database
from bastion.trust import Trust

__all__ = ["register"]

_NOTES_PER_GATE = 5


def _summary(result: RunResult) -> Table:
    table = Table(title=f"run {result.run_id}: {result.state.value}", title_justify="left")
    table.add_column("job")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for job, state in result.jobs.items():
        table.add_row(
            job,
            Text(state.value, style=STATE_STYLE.get(state.value, "")),
            result.reasons.get(job, ""),
        )
    return table


def _as_json(result: RunResult) -> dict[str, object]:
    return {
        "attestations": [dict(item) for item in result.attestations],
        "run_id": result.run_id,
        "state": result.state.value,
        "exit_code": result.state.exit_code,
        "jobs": {
            job: {
                "state": state.value,
                "reason": result.reasons.get(job),
                "artifacts": list(result.artifacts.get(job, ())),
                "verdict": (
                    {
                        "passed": result.verdicts[job].passed,
                        "reasons": list(result.verdicts[job].reasons),
                        "summary": result.verdicts[job].to_summary(),
                    }
                    if job in result.verdicts
                    else None
                ),
            }
            for job, state in result.jobs.items()
        },
    }


class ExecutorKind(enum.StrEnum):
    """``--executor``: threads on this machine, or the run's Celery worker pool."""

    LOCAL = "local"
    CELERY = "celery"


def _with_executor(
    services: RunServices, kind: ExecutorKind, broker: str | None, trust: Trust
) -> RunServices:
    """``services`` with the executor asked for (the state stays in the run's database)."""
    if kind is ExecutorKind.LOCAL:
        if broker is not None:
            raise UsageError("--broker is only for --executor celery")
        return services
    if broker is None:
        raise UsageError("--executor celery needs --broker URL", hint="e.g. redis://host:6379/0")
    executor = celery_executor(broker, services.home, trust, services.store)
    return dataclasses.replace(services, executor=executor)


_DATABASE_SCHEMES = ("postgresql", "sqlite")


def _with_database(prepared: PreparedRun, url: str | None) -> PreparedRun:
    """``prepared`` keeping its runs, jobs and leases in ``url`` (``--db``), e.g. a
    PostgreSQL that ``bastion workers`` and a server read too; None: the project's SQLite."""
    if url is None:
        return prepared
    if not url.startswith(_DATABASE_SCHEMES):
        raise UsageError(
            f"--db {url.split('://', 1)[0]}://…: not a database URL Bastion can keep its state in",
            hint="e.g. --db postgresql+psycopg://user@/bastion?host=/var/run/postgresql, or "
            "leave it out for the project's SQLite",
        )
    shared = open_database(url)
    prepared.db.dispose()
    return dataclasses.replace(prepared, db=shared, shared_db=True)


def _close_interrupted(prepared: PreparedRun, services: RunServices) -> None:
    """Close the runs a killed ``bastion run`` left open, and end their worker leases as
    interrupted, as a restarted server does (the run's recovery would close the runs and
    leave their leases ``running`` in ``bastion workers`` for ever)."""
    recovered = recover_interrupted_runs(
        services.store, prepared.state, lambda: services.audit()[0], shared=prepared.shared_db
    )
    for stale in recovered:  # as the engine's notice says it (plain text, never markup)
        err_console.print(
            f"run {stale} was interrupted (its Bastion process stopped); marked as error",
            highlight=False,
            markup=False,
        )
    end_interrupted_leases(services.store, recovered, now=time.time())


def run_command(
    project: Annotated[
        Path, typer.Option("-C", "--project", help="Project directory (default: here).")
    ] = Path(),
    commit: Annotated[
        str | None, typer.Option("--commit", help="Build a clean tree of this commit.")
    ] = None,
    pipeline_file: Annotated[
        Path | None, typer.Option("--pipeline", help="Use this pipeline file.")
    ] = None,
    job: Annotated[
        list[str] | None, typer.Option("--job", "-j", help="Run only this job (and its needs).")
    ] = None,
    no_fail_fast: Annotated[
        bool, typer.Option("--no-fail-fast", help="Keep running independent jobs after a failure.")
    ] = False,
    parallel: Annotated[
        int | None, typer.Option("--parallel", min=1, help="Jobs at once (default: cores).")
    ] = None,
    unsafe_no_sandbox: Annotated[
        bool,
        typer.Option(
            "--unsafe-no-sandbox", help="Run jobs on the host WITHOUT isolation. Never on CI."
        ),
    ] = False,
    learn_egress: Annotated[
        bool,
        typer.Option("--learn-egress", help="Let jobs reach public hosts; print the allow-list."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="Download no vulnerability data (also BASTION_OFFLINE=1)."),
    ] = False,
    show_all: Annotated[
        bool,
        typer.Option("--all", "-v", help="List low and info findings too (always counted)."),
    ] = False,
    executor: Annotated[
        ExecutorKind, typer.Option("--executor", help="Where jobs run: here, or Celery workers.")
    ] = ExecutorKind.LOCAL,
    broker: Annotated[
        str | None, typer.Option("--broker", help="Celery broker URL (with --executor celery).")
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="State database URL for runs, jobs and worker leases, e.g. a shared "
            "postgresql+psycopg://… (default: the project's SQLite).",
        ),
    ] = None,
) -> None:
    """Run the pipeline (or the built-in secure default) with each job sandboxed."""
    if offline:  # read by the SCA gate's host-side fetch, wherever the run prepares it
        os.environ[OFFLINE_ENV] = "1"
    options = LocalRunOptions(
        project=project,
        commit=commit,
        pipeline_file=pipeline_file,
        fail_fast=not no_fail_fast,
        max_parallel=parallel,
        unsafe_no_sandbox=unsafe_no_sandbox,
        jobs=tuple(job or ()),
        learn_egress=learn_egress,
    )
    progress = LiveProgress(err_console) if err_console.is_terminal else LineProgress(err_console)
    cancel = threading.Event()

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        err_console.print("cancelling: stopping every job and cleaning its sandbox…")
        cancel.set()

    # The CLI builds the run's services (the server and a worker will build theirs).
    prepared = _with_database(prepare_run(options), database)
    services = local_services(prepared, options, home=ensure_bastion_home())
    services = _with_executor(services, executor, broker, prepared.context.trust)
    _close_interrupted(prepared, services)
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = run_local(
            options, observers=[progress], cancel=cancel, prepared=prepared, services=services
        )
    finally:
        progress.stop()
        signal.signal(signal.SIGINT, previous)
        services.store.dispose()
    if as_json:
        out_console.print_json(json.dumps(_as_json(result)))
    err_console.print(_summary(result))
    if result.state is RunState.BLOCKED:
        found = blocking_findings(result.jobs, result.verdicts)
        render_blocking(err_console, result.run_id, found, show_all=show_all)
    for gate_job, verdict in result.verdicts.items():
        for gate_note in verdict.gate_notes[:_NOTES_PER_GATE]:
            err_console.print(f"{gate_job}: {gate_note}", highlight=False, markup=False)
    shown: set[tuple[str, str]] = set()
    for item in result.attestations:
        key = (str(item["digest"]), str(item["name"]))
        if key in shown:
            continue  # the same bytes from two jobs: one line
        shown.add(key)
        if item["signed"]:
            advice = (
                f"signed; check it with: bastion verify {item['digest']} --builder {BUILDER_ID}"
                f" --repo {prepared.context.repo} --allow-local"
            )
        else:
            advice = "UNSIGNED (uncommitted changes: trust dirty); commit for a signed build"
        err_console.print(
            f"artifact {item['digest']} {item['name']} ({item['size']} bytes): SBOM, "
            f"provenance, {advice}",
            highlight=False,
            markup=False,
        )
    raise typer.Exit(result.state.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``bastion run``."""
    app.command("run")(run_command)
