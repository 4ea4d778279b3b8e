"""``bastion workers list|jobs|drain|revoke``: the Celery workers seen, the jobs each
executed, and what they may do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.audit import open_local_log
from bastion.cli.console import err_console, out_console
from bastion.engine.audit_trail import user_actor
from bastion.executors.celery import LeaseStore, WorkerState, change_worker
from bastion.home import ensure_bastion_home
from bastion.store import Database, default_database_url, find_repo_root, open_database

__all__ = ["register"]

workers_app = typer.Typer(help="Celery workers: list, drain, revoke.", no_args_is_help=True)
ProjectOption = Annotated[Path, typer.Option("-C", "--project", help="Project directory.")]
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default the project's).")]
NameArgument = Annotated[str, typer.Argument(help="The worker's name, as `list` shows it.")]


def _db(project: Path, url: str | None) -> Database:
    return open_database(url or default_database_url(find_repo_root(project)))


@workers_app.command("list")
def list_command(
    project: ProjectOption = Path(),
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Pools, workers, their state, last heartbeat (server time) and current jobs."""
    workers = LeaseStore(_db(project, db)).workers()
    if as_json:
        out_console.print_json(json.dumps([w.to_dict() for w in workers]))
        return
    if not workers:
        err_console.print("no workers have claimed a job yet")
        return
    table = Table(show_edge=False)
    for column in ("pool", "worker", "state", "last heartbeat", "current"):
        table.add_column(column)
    for w in workers:
        when = w.last_heartbeat.isoformat(timespec="seconds")
        table.add_row(w.pool, w.name, w.state.value, when, ", ".join(w.current) or "-")
    out_console.print(table)


@workers_app.command("jobs")
def jobs_command(
    name: NameArgument,
    project: ProjectOption = Path(),
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every job attempt the worker was granted, oldest first (from the leases table)."""
    leases = LeaseStore(_db(project, db)).leases_of(name)
    if as_json:
        out_console.print_json(json.dumps([lease.to_dict() for lease in leases]))
        return
    if not leases:
        err_console.print(f"worker {name} was granted no job", highlight=False)
        return
    table = Table(show_edge=False)
    for column in ("run", "job", "attempt", "state", "claimed"):
        table.add_column(column)
    for lease in leases:
        claimed = lease.claimed_at.isoformat(timespec="seconds")
        table.add_row(str(lease.run_id), lease.job, str(lease.attempt), lease.state, claimed)
    out_console.print(table)


def _change(project: Path, url: str | None, name: str, state: WorkerState) -> None:
    database = _db(project, url)
    log, _created = open_local_log(database, ensure_bastion_home())
    change_worker(LeaseStore(database), log.append, name, state, actor=user_actor())
    err_console.print(f"worker {name}: {state.value}")


@workers_app.command("drain")
def drain_command(name: NameArgument, project: ProjectOption = Path(), db: DbOption = None) -> None:
    """Grant the worker no new job; what it runs now finishes."""
    _change(project, db, name, WorkerState.DRAINING)


@workers_app.command("revoke")
def revoke_command(
    name: NameArgument, project: ProjectOption = Path(), db: DbOption = None
) -> None:
    """Refuse the worker's heartbeats and results; its job goes to another worker."""
    _change(project, db, name, WorkerState.REVOKED)


def register(app: typer.Typer) -> None:
    """Add ``bastion workers`` to the app."""
    app.add_typer(workers_app, name="workers")
