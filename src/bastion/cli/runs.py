"""``bastion runs list|show|cancel|trigger`` and ``bastion logs``: read runs back, stop a live
one; with ``--server URL`` list, show and trigger go to a server's API
(:mod:`bastion.cli.runs_remote`) and render the same."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from bastion.audit import open_local_log
from bastion.cli.attestations_view import render_attestations
from bastion.cli.console import err_console, out_console
from bastion.cli.findings_view import render_findings
from bastion.cli.progress import STATE_STYLE
from bastion.cli.runs_remote import TOKEN_ENV, RemoteRuns
from bastion.engine import get_findings
from bastion.engine.history import get_run, list_runs, read_log
from bastion.engine.recovery import recover_interrupted_runs
from bastion.engine.run_cancel import RunStopped, cancel_run
from bastion.errors import UsageError
from bastion.store import (
    Database,
    bastion_home,
    default_database_url,
    find_repo_root,
    open_database,
    state_dir,
)

__all__ = ["register"]

runs_app = typer.Typer(help="Past runs of this project.", no_args_is_help=True)
ProjectOption = Annotated[Path, typer.Option("-C", "--project", help="Project directory.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="BASTION_SERVER",
        help=f"A Bastion server's URL: ask its API (token from ${TOKEN_ENV} or --token-file).",
    ),
]
_T = TypeVar("_T")
TokenFileOption = Annotated[
    Path | None, typer.Option("--token-file", help="A file holding the API token (--server).")
]


def _db(project: Path) -> Database:
    root = find_repo_root(project)
    db = open_database(default_database_url(root))
    # Runs whose process died show as `error` (interrupted), not forever `running`.
    recover_interrupted_runs(db, state_dir(root), lambda: open_local_log(db, bastion_home())[0])
    return db


@contextmanager
def _remote(server: str, token_file: Path | None) -> Iterator[RemoteRuns]:
    client = RemoteRuns.connect(server, token_file=token_file)
    try:
        yield client
    finally:
        client.close()


def _read(
    server: str | None,
    token_file: Path | None,
    local: Callable[[], _T],
    remote: Callable[[RemoteRuns], _T],
) -> _T:
    """``remote`` over the API of ``server`` if one is given, else ``local``."""
    if server is None:
        return local()
    with _remote(server, token_file) as client:
        return remote(client)


@runs_app.command("list")
def list_command(
    project: ProjectOption = Path(),
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    as_json: JsonOption = False,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
) -> None:
    """The newest runs first."""
    runs = _read(
        server, token_file, lambda: list_runs(_db(project), limit), lambda c: c.list_runs(limit)
    )
    if as_json:
        out_console.print_json(json.dumps(runs))
        return
    table = Table(show_edge=False)
    for column in ("id", "status", "commit", "trust", "pipeline", "started", "duration"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            str(run["id"]),
            Text(run["status"], style=STATE_STYLE.get(run["status"], "")),
            (run["commit"] or "-")[:12],
            run["trust"],
            run["pipeline"],
            (run["started_at"] or "-")[:19],
            f"{run.get('duration_seconds', 0):.1f}s" if "duration_seconds" in run else "-",
        )
    out_console.print(table)


@runs_app.command("show")
def show_command(
    run_id: int,
    project: ProjectOption = Path(),
    as_json: JsonOption = False,
    findings: Annotated[
        bool, typer.Option("--findings", help="List the findings its gate jobs were judged on.")
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", "-v", help="With --findings: list low and info too.")
    ] = False,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
) -> None:
    """One run with its jobs and steps (or, with --findings, its gates' findings)."""
    if findings:
        if server is not None:
            raise UsageError(
                "--findings reads the local record", hint="on a server, open its Findings page"
            )
        _show_findings(_db(project), run_id, as_json=as_json, show_all=show_all)
        return
    run = _read(
        server, token_file, lambda: get_run(_db(project), run_id), lambda c: c.get_run(run_id)
    )
    if as_json:
        out_console.print_json(json.dumps(run))
        return
    out_console.print(
        f"run {run['id']} [{STATE_STYLE.get(run['status'], '')}]{run['status']}[/] "
        f"{run['pipeline']} commit {run['commit'] or '-'} trust {run['trust']}"
    )
    if run["reason"]:
        out_console.print(f"  {run['reason']}", markup=False)
    table = Table(show_edge=False)
    for column in ("job", "status", "steps", "time", "detail"):
        table.add_column(column)
    for job in run["jobs"]:
        steps = ", ".join(f"{s['name']}={s['exit_code']}" for s in job["steps"])
        took = f"{job['duration_seconds']:.1f}s" if job["duration_seconds"] is not None else "-"
        table.add_row(
            job["name"],
            Text(job["status"], style=STATE_STYLE.get(job["status"], "")),
            Text(steps),
            took,
            Text(job["reason"] or ""),
        )
    out_console.print(table)
    render_attestations(out_console, run["attestations"])
    for item in run.get("artifacts", []):
        signature = f"signed by {item['signed_by']}" if item["signed_by"] else "UNSIGNED"
        line = f"  artifact {item['digest']} {item['name']} job {item['job']}, {signature}"
        out_console.print(line, markup=False, highlight=False)


@runs_app.command("trigger")
def trigger_command(
    repo: Annotated[str, typer.Argument(help="A repository registered on the server.")],
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    branch: Annotated[str | None, typer.Option("--branch", help="Its head is run.")] = None,
    commit: Annotated[str | None, typer.Option("--commit", help="This commit is run.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Start a run of a repository on a Bastion server (--server); prints the run's id."""
    if server is None:
        raise UsageError("trigger needs --server URL", hint="a local run is `bastion run`")
    with _remote(server, token_file) as client:
        started = client.trigger(repo, branch, commit)
    if as_json:
        out_console.print_json(json.dumps(started))
        return
    err_console.print(f"run {started['id']} {started['status']} on {server}", highlight=False)
    out_console.print(str(started["id"]), highlight=False)


def _show_findings(db: Database, run_id: int, *, as_json: bool, show_all: bool) -> None:
    """The run's findings from its record: every one in JSON, low/info counted otherwise."""
    found = get_findings(db, run_id)
    if as_json:
        rows = [{"job": job, **finding.to_dict()} for job, finding in found]
        out_console.print_json(json.dumps({"run_id": run_id, "findings": rows}))
        return
    render_findings(out_console, run_id, found, show_all=show_all)


@runs_app.command("cancel")
def cancel_command(
    run_id: int,
    project: ProjectOption = Path(),
    grace: Annotated[
        float, typer.Option("--grace", min=0.0, help="Seconds to wait after SIGINT.")
    ] = 10.0,
) -> None:
    """Stop a running run: SIGINT to its process (as Ctrl-C), SIGTERM after --grace seconds."""
    root = find_repo_root(project)
    outcome = cancel_run(_db(project), state_dir(root), run_id, grace=grace)
    if outcome.stopped is RunStopped.CANCELLED:
        err_console.print(f"run {run_id} cancelled (process {outcome.pid} stopped every job)")
    else:
        err_console.print(
            f"run {run_id}: process {outcome.pid} ignored SIGINT for {grace:g} s and was "
            "terminated; it shows as interrupted"
        )


def logs_command(
    run_id: int,
    job: Annotated[str | None, typer.Argument(help="One job; all jobs if omitted.")] = None,
    project: ProjectOption = Path(),
) -> None:
    """Print the logs of a run (as recorded, secrets already masked)."""
    for name, path in read_log(_db(project), run_id, job):
        if job is None:
            err_console.print(f"── {name} ──", highlight=False)
        if path.is_file():
            sys.stdout.buffer.write(path.read_bytes())
            sys.stdout.buffer.flush()


def register(app: typer.Typer) -> None:
    """Add ``runs`` and ``logs``."""
    app.add_typer(runs_app, name="runs")
    app.command("logs")(logs_command)
