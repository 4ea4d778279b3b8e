"""``bastion secrets``: store, list, remove and rotate secrets, and rotate the vault key.

A value is never taken from the command line (it would land in shell history and in
``/proc/*/cmdline``): it is read from standard input when that is not a terminal, else
prompted for twice without echo.

Rotation schedules: ``set --max-age 90d`` gives a secret a maximum age; ``rotate`` replaces
its value (audited as ``secret.rotated``, never with the value); ``due`` lists the secrets
past their age and exits 1 if there are any; ``due --record`` also appends a
``secret.overdue`` event per secret to the user's audit log (``$BASTION_DATABASE_URL`` when
set, so the server's monitor raises its ``secret-past-max-age`` alert). Run it from cron.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bastion.audit import Action, AuditEvent, Outcome
from bastion.cli.console import err_console, out_console
from bastion.cli.secret_input import read_secret
from bastion.engine.audit_trail import record_actions, user_actor
from bastion.home import bastion_home
from bastion.vault import (
    OverdueSecret,
    Scope,
    SecretInfo,
    format_age,
    open_default_vault,
    overdue_secrets,
    parse_max_age,
    rotate_default_key,
)

__all__ = ["read_secret_value", "register"]

secrets_app = typer.Typer(
    help="Secrets in the built-in encrypted vault (values never shown).", no_args_is_help=True
)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Bastion home (default $BASTION_HOME or ~/.local/share/bastion)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Store a guessable value (common word, run, repetition) anyway; values "
        "under 8 characters are refused regardless, as they cannot be masked.",
    ),
]


def _home(home: Path | None) -> Path:
    return home or bastion_home(os.environ)


def read_secret_value(name: str, command: str = "set") -> str:
    """The value from all of stdin (one trailing newline dropped) or a no-echo prompt,
    confirmed; the hint when it is empty names ``bastion secrets <command>``."""
    hint = f"pipe it in, e.g.: bastion secrets {command} {name} < token.txt"
    return read_secret(f"value of {name}", hint=hint, whole_input=True, confirm=True)


def _scope_text(scope: Scope) -> str:
    parts = [f"trust={','.join(sorted(t.value for t in scope.trust))}"]
    for label, values in (
        ("repos", scope.repos),
        ("branches", scope.branches),
        ("tags", scope.tags),
        ("envs", scope.environments),
    ):
        if values:
            parts.append(f"{label}={','.join(values)}")
    return " ".join(parts)


def _info_json(info: SecretInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "scope": info.scope.to_json(),
        "version": info.version,
        "updated": info.updated,
        "rotated": info.rotated or info.updated,
        "max_age": None if info.max_age is None else format_age(info.max_age),
    }


@secrets_app.command("set")
def set_command(
    name: Annotated[str, typer.Argument(help="Secret name (A-Z, 0-9, _).")],
    repo: Annotated[list[str] | None, typer.Option("--repo", help="Repository glob.")] = None,
    branch: Annotated[list[str] | None, typer.Option("--branch", help="Branch glob.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag glob.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="Environment name.")] = None,
    trust: Annotated[
        list[str] | None,
        typer.Option(
            "--trust",
            help="internal, trusted, release, local or dirty (default trusted+release).",
        ),
    ] = None,
    force: ForceOption = False,
    max_age: Annotated[
        str | None,
        typer.Option("--max-age", help="Rotation schedule, e.g. 90d (kept when omitted)."),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a secret read from stdin or a prompt, bound to a scope."""
    schedule = None if max_age is None else parse_max_age(max_age)
    scope = Scope.build(
        repos=repo or (),
        branches=branch or (),
        tags=tag or (),
        environments=env or (),
        trust=trust or (),
    )
    vault = open_default_vault(_home(home), os.environ)
    info = vault.set(name, read_secret_value(name), scope, force=force, max_age=schedule)
    err_console.print(f"stored {info.name} (version {info.version})", highlight=False)
    if as_json:
        out_console.print_json(json.dumps(_info_json(info)))


@secrets_app.command("list")
def list_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Names, scopes and last change of every secret (never values)."""
    infos = open_default_vault(_home(home), os.environ).list()
    if as_json:
        out_console.print_json(json.dumps([_info_json(info) for info in infos]))
        return
    if not infos:
        err_console.print("no secrets stored")
        return
    table = Table(show_edge=False)
    for column in ("name", "scope", "version", "rotated", "max age"):
        table.add_column(column)
    for info in infos:
        schedule = "-" if info.max_age is None else format_age(info.max_age)
        rotated = info.rotated or info.updated
        table.add_row(info.name, _scope_text(info.scope), str(info.version), rotated, schedule)
    out_console.print(table)


@secrets_app.command("rm")
def rm_command(
    name: Annotated[str, typer.Argument(help="Secret name.")], home: HomeOption = None
) -> None:
    """Delete a secret."""
    open_default_vault(_home(home), os.environ).remove(name)
    err_console.print(f"removed {name}", highlight=False)


@secrets_app.command("rotate")
def rotate_command(
    name: Annotated[str, typer.Argument(help="Secret name.")],
    force: ForceOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a secret's value (stdin or prompt), keeping its scope and schedule; audited."""
    root = _home(home)
    info = open_default_vault(root, os.environ).rotate(
        name, read_secret_value(name, "rotate"), force=force
    )
    details = {"version": info.version, "rotated": info.rotated or info.updated}
    event = AuditEvent(
        user_actor(), Action.SECRET_ROTATED.value, f"secret/{name}", Outcome.SUCCESS, details
    )
    record_actions([event], home=root)
    err_console.print(f"rotated {info.name} (version {info.version})", highlight=False)
    if as_json:
        out_console.print_json(json.dumps(_info_json(info)))


def _overdue_event(item: OverdueSecret) -> AuditEvent:
    subject = f"secret/{item.name}"
    return AuditEvent(
        user_actor(), Action.SECRET_OVERDUE.value, subject, Outcome.FAILURE, item.to_json()
    )


@secrets_app.command("due")
def due_command(
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Append a secret.overdue audit event per secret (the monitor alerts on it).",
        ),
    ] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the secrets past their maximum age; exit 1 if there are any."""
    root = _home(home)
    due = overdue_secrets(open_default_vault(root, os.environ).list(), datetime.now(UTC))
    if record and due:
        record_actions([_overdue_event(item) for item in due], home=root)
    if as_json:
        out_console.print_json(json.dumps([item.to_json() for item in due]))
    else:
        for item in due:
            out_console.print(
                f"{item.name}: rotated {item.rotated}, {format_age(item.age)} old, "
                f"max age {format_age(item.max_age)}",
                highlight=False,
                markup=False,
            )
    err_console.print(f"{len(due)} secrets past their maximum age", highlight=False)
    if due:
        raise typer.Exit(1)


@secrets_app.command("rotate-key")
def rotate_key_command(home: HomeOption = None) -> None:
    """Re-seal every secret under a new vault key (values unchanged)."""
    key_id = rotate_default_key(_home(home), os.environ)
    err_console.print(f"the vault is now sealed by key {key_id}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``secrets`` command group to ``app``."""
    app.add_typer(secrets_app, name="secrets")
