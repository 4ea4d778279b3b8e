"""``bastion users add|list|disable|reset-mfa``: accounts of the server, from its host."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from bastion.audit import AuditEvent, Outcome
from bastion.cli.console import err_console
from bastion.server import (
    DEFAULT_BIND,
    Accounts,
    Role,
    ServerAction,
    ServerServices,
    ServerSettings,
    User,
    default_server_database_url,
    open_services,
)

__all__ = ["register"]

users_app = typer.Typer(help="Manage the server's accounts.", no_args_is_help=True)
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL of the server.")]
BindOption = Annotated[
    str, typer.Option("--bind", help="The server's HOST:PORT, for the setup link.")
]


@contextmanager
def _accounts(
    db: str | None, bind: str = DEFAULT_BIND
) -> Iterator[tuple[Accounts, ServerServices]]:
    """The server's accounts and services; the audit sink is sealed and the database closed
    when the command is done."""
    settings = ServerSettings.from_options(bind=bind, db=db or default_server_database_url())
    services = open_services(settings.database_url)
    try:
        yield Accounts(services.db, settings, services.clock), services
    finally:
        services.audit.close()
        services.db.dispose()


def _audit(services: ServerServices, action: ServerAction, user: User, **details: str) -> None:
    """One event per change made from the host: the actor is the host account, not a user
    of the server (``host:`` keeps the two apart)."""
    actor = f"host:{getpass.getuser()}"
    subject, facts = f"user/{user.name}", {"address": "local", **details}
    services.audit.record(AuditEvent(actor, action.value, subject, Outcome.SUCCESS, facts))


def _line(user: User) -> str:
    roles = ",".join(f"{g.role}@{g.scope}{':' + g.name if g.name else ''}" for g in user.grants)
    state = "disabled" if user.disabled else "enabled"
    return f"{user.name}\t{state}\tmfa={'yes' if user.mfa else 'no'}\t{roles or '-'}"


@users_app.command("add")
def add(
    name: str,
    role: Annotated[Role | None, typer.Option("--role", help="Role on the instance.")] = None,
    db: DbOption = None,
    bind: BindOption = DEFAULT_BIND,
) -> None:
    """Add an account; prints its one-time setup link."""
    with _accounts(db, bind) as (accounts, services):
        user, token = accounts.add(name, role)
        _audit(
            services, ServerAction.USER_CREATED, user, role=role.value if role else "", via="cli"
        )
    err_console.print(f"Added {user.name}; the holder sets a password at:", highlight=False)
    typer.echo(accounts.setup_link(token))


@users_app.command("list")
def list_users(
    db: DbOption = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List accounts."""
    with _accounts(db) as (accounts, _services):
        users = accounts.list()
    if as_json:
        rows = [
            {
                "name": u.name,
                "disabled": u.disabled,
                "mfa": u.mfa,
                "grants": [{"role": g.role, "scope": g.scope, "name": g.name} for g in u.grants],
            }
            for u in users
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for user in users:
        typer.echo(_line(user))


@users_app.command("disable")
def disable(name: str, db: DbOption = None) -> None:
    """Disable an account and end its sessions."""
    with _accounts(db) as (accounts, services):
        user = accounts.disable(name)
        _audit(services, ServerAction.USER_DISABLED, user, via="cli")
    typer.echo(_line(user))


@users_app.command("reset-mfa")
def reset_mfa(name: str, db: DbOption = None) -> None:
    """Forget an account's TOTP secret and recovery codes (it enrols again)."""
    with _accounts(db) as (accounts, services):
        user = accounts.reset_mfa(name)
        _audit(services, ServerAction.MFA_RESET, user, via="cli")
    typer.echo(_line(user))


def register(app: typer.Typer) -> None:
    """Add ``users`` to the ``bastion`` command."""
    app.add_typer(users_app, name="users")
