"""``bastion serve``: the web UI and REST API on uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastion.audit import AuditEvent, Outcome
from bastion.cli.console import err_console
from bastion.cli.run import ExecutorKind
from bastion.deploy import DriftWatch
from bastion.errors import UsageError
from bastion.executors.celery import Pool, check_broker, make_app
from bastion.home import ensure_bastion_home
from bastion.server import (
    DEFAULT_BIND,
    FIRST_ADMIN,
    Accounts,
    ServerAction,
    ServerServices,
    ServerSettings,
    Started,
    create_app,
    open_services,
    seal_plain_secrets,
    with_launcher,
    with_monitor,
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
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Runs carried out at once.")
    ] = 2,
    oidc_issuer: Annotated[
        str | None,
        typer.Option(
            "--oidc-issuer",
            help="Public https:// URL of this server for job identity tokens (default: "
            "the bind address; tokens are only issued for https:// or 127.0.0.1).",
        ),
    ] = None,
    log_viewers: Annotated[
        str | None,
        typer.Option(
            "--log-viewers",
            metavar="PER_CALLER/TOTAL",
            help="Live logs open at once, per caller and in all (default 4/64).",
        ),
    ] = None,
    executor: Annotated[
        ExecutorKind,
        typer.Option("--executor", help="Where jobs run: here, or the Celery workers."),
    ] = ExecutorKind.LOCAL,
    broker: Annotated[
        str | None,
        typer.Option("--broker", help="Celery broker URL (with --executor celery)."),
    ] = None,
    drift_interval: Annotated[
        float,
        typer.Option(
            "--drift-interval",
            min=0,
            help="Seconds between drift checks of the deployed environments (0: none).",
        ),
    ] = 300.0,
) -> None:
    """Serve the web UI and REST API (migrates the database first) and carry out runs.

    At start the runs an earlier process left unfinished are closed and every registered
    repository's post-receive hook is written again; the monitor evaluates the audit log and
    delivers alerts every interval ($BASTION_HOME/monitor.yml); every --drift-interval seconds
    each deployed environment is checked for drift (an alert when it differs). SIGTERM or
    Ctrl-C cancels the runs still going (recorded as cancelled) and seals the audit log.
    """
    import uvicorn

    _check_executor(executor, broker)
    settings = ServerSettings.from_options(
        bind=bind,
        db=db,
        tls_cert=tls_cert,
        tls_key=tls_key,
        oidc_issuer=oidc_issuer,
        log_viewers=log_viewers,
    )
    services = open_services(settings.database_url, settings=settings)
    drift: DriftWatch | None = None
    try:
        # First: a monitor.yml that does not parse refuses the start (file and line).
        services = with_monitor(services)
        # A missing key with sealed secrets refuses the start; plain text left is sealed.
        sealing = seal_plain_secrets(services.db, ensure_bastion_home())
        if sealing.sealed:
            err_console.print(f"Sealed plain-text webhook secrets: {', '.join(sealing.sealed)}")
        for repo in sealing.unusable:
            err_console.print(f"Webhook secret does not open (set it again): {repo}")
        _bootstrap(settings, services)
        services, started = with_launcher(services, concurrency=concurrency, broker=broker)
        _report_start(started)
        # Its shutdown stops the watcher, cancels and waits for the runs, seals the audit sink.
        app = create_app(settings, services)
        err_console.print(f"Bastion serving on {settings.base_url}", highlight=False)
        drift = _start_drift_watch(services, drift_interval)
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
        if drift is not None:
            drift.stop()
            services.audit.close()  # seal what a last drift pass wrote after the app's own seal
        if services.launcher is not None:
            services.launcher.close()  # idempotent: the app's shutdown closed it already
        services.db.dispose()


def _start_drift_watch(services: ServerServices, interval: float) -> DriftWatch | None:
    """Drift checks of $BASTION_HOME's environments every ``interval`` s, into the server's
    audit log, where the monitor's deploy-drift rule raises the alert; None when 0."""
    if interval == 0:
        return None
    watch = DriftWatch(ensure_bastion_home(), services.audit.record, interval)
    watch.start()
    return watch


def _check_executor(kind: ExecutorKind, broker: str | None) -> None:
    """``--broker`` goes with ``--executor celery`` only, and must answer before we serve
    (BrokerUnavailable, exit 3, within seconds: not a server whose every run would fail)."""
    if kind is ExecutorKind.LOCAL:
        if broker is not None:
            raise UsageError("--broker is only for --executor celery")
        return
    if broker is None:
        raise UsageError("--executor celery needs --broker URL", hint="e.g. redis://host:6379/0")
    check_broker(make_app(broker, Pool.TRUSTED), timeout=8.0)


def _report_start(started: Started) -> None:
    """Tell the operator what start-up repaired or could not."""
    if started.recovered:
        listed = ", ".join(str(run) for run in started.recovered)
        err_console.print(f"Closed runs an earlier server left unfinished: {listed}")
    for refused in started.hooks_refused:
        err_console.print(f"No post-receive hook (polling only): {refused}", highlight=False)


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
