"""``bastion serve``: the web UI and REST API on uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastion.audit import AuditEvent, Outcome
from bastion.cli.console import err_console
from bastion.server import (
    DEFAULT_BIND,
    FIRST_ADMIN,
    Accounts,
    ServerAction,
    ServerServices,
    ServerSettings,
    create_app,
    open_services,
)

__all__ = ["register", "serve"]


def serve(
    bind: Annotated[str, typer.Option("--bind", help="HOST:PORT to listen on.")] = DEFAULT_BIND,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database URL (default: $BASTION_HOME/server.db; postgresql+psycopg://…)."
        ),
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key.")] = None,
) -> None:
    """Serve the web UI and REST API (migrates the database first)."""
    import uvicorn

    settings = ServerSettings.from_options(bind=bind, db=db, tls_cert=tls_cert, tls_key=tls_key)
    services = open_services(settings.database_url)
    try:
        _bootstrap(settings, services)
        app = create_app(settings, services)  # its shutdown seals the audit sink
        err_console.print(f"Bastion serving on {settings.base_url}", highlight=False)
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
            ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
            server_header=False,
            proxy_headers=False,
            log_level="warning",
        )
    finally:
        services.db.dispose()


def _bootstrap(settings: ServerSettings, services: ServerServices) -> None:
    """With no account yet: the first admin, its one-time link on stderr, an audit event."""
    accounts = Accounts(services.db, settings, services.clock)
    token = accounts.bootstrap_admin()
    if token is None:
        return
    details = {"address": "local", "role": "admin", "via": "bootstrap"}
    event = AuditEvent(
        "system:serve",
        ServerAction.USER_CREATED.value,
        f"user/{FIRST_ADMIN}",
        Outcome.SUCCESS,
        details,
    )
    services.audit.record(event)
    err_console.print(
        "No account yet: the first admin sets a password at this one-time link "
        f"(valid {settings.setup_link_lifetime}):\n  {accounts.setup_link(token)}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``bastion`` command."""
    app.command("serve")(serve)
