"""``bastion users add|list|disable|reset-mfa``: accounts of the server, from its host."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bastion.cli.console import err_console
from bastion.server import (
    DEFAULT_BIND,
    Accounts,
    Role,
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


def _accounts(db: str | None, bind: str = DEFAULT_BIND) -> Accounts:
    settings = ServerSettings.from_options(bind=bind, db=db or default_server_database_url())
    services = open_services(settings.database_url)
    return Accounts(services.db, settings, services.clock)


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
    accounts = _accounts(db, bind)
    user, token = accounts.add(name, role)
    err_console.print(f"Added {user.name}; the holder sets a password at:", highlight=False)
    typer.echo(accounts.setup_link(token))


@users_app.command("list")
def list_users(
    db: DbOption = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List accounts."""
    users = _accounts(db).list()
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
    typer.echo(_line(_accounts(db).disable(name)))


@users_app.command("reset-mfa")
def reset_mfa(name: str, db: DbOption = None) -> None:
    """Forget an account's TOTP secret and recovery codes (it enrols again)."""
    typer.echo(_line(_accounts(db).reset_mfa(name)))


def register(app: typer.Typer) -> None:
    """Add ``users`` to the ``bastion`` command."""
    app.add_typer(users_app, name="users")
