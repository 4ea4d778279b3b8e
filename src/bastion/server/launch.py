"""Open what ``bastion serve`` and ``bastion users`` need: the database (migrated), the
audit log signed with the key under ``$BASTION_HOME``, and the services bundle (with the
vault, artifact store and trusted keys of the same home); for ``bastion serve``, the run
launcher (:func:`with_launcher`) and the background monitor (:func:`with_monitor`) too."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from bastion.audit import open_local_log
from bastion.home import ensure_bastion_home
from bastion.monitor import (
    MONITOR_FILE,
    PlainText,
    TextMasker,
    VaultMasker,
    load_monitor_config,
    monitor_loop,
)
from bastion.server.approvals import Approvals
from bastion.server.auditing import LogAuditSink
from bastion.server.context import ServerServices
from bastion.server.launcher import RunLauncher
from bastion.server.repo_watch import reinstall_hooks
from bastion.server.repositories import Repositories
from bastion.server.resources import ResourceServices
from bastion.server.settings import ServerSettings
from bastion.server.totp import Totp
from bastion.server.triage import ServerSuppressions
from bastion.store import open_database
from bastion.supplychain import LocalBlobStore, TrustedKeys
from bastion.vault import (
    IdentityIssuer,
    IdentityRefusedError,
    open_default_vault,
    open_identity_issuer,
)

__all__ = ["Started", "open_identity", "open_services", "with_launcher", "with_monitor"]

logger = logging.getLogger("bastion.server")


def open_identity(home: Path, settings: ServerSettings) -> IdentityIssuer | None:
    """The job-identity issuer over the keys persisted under ``home``; None (logged, no job
    gets a token) when the issuer URL is not https:// or 127.0.0.1."""
    try:
        return open_identity_issuer(home, settings.issuer_url, issuing=settings.id_token_trust)
    except IdentityRefusedError as exc:
        logger.warning("no job identity tokens: %s", exc.message)
        return None


def open_services(database_url: str, *, settings: ServerSettings | None = None) -> ServerServices:
    """Services over ``database_url`` (migrated on open; StoreError if that fails); with
    ``settings``, the job-identity issuer too (:func:`open_identity`)."""
    home = ensure_bastion_home()
    identity = open_identity(home, settings) if settings is not None else None
    db = open_database(database_url)
    log, _created = open_local_log(db, home)
    resources = ResourceServices(
        audit_log=log,
        vault=open_default_vault(home, os.environ),
        artifacts=LocalBlobStore(home / "artifacts"),
        trusted_keys=TrustedKeys(home),
    )
    return ServerServices(db, LogAuditSink(log), resources=resources, identity=identity)


@dataclass(frozen=True)
class Started:
    """What getting the launcher ready did: runs a previous process left unfinished, now
    closed, and the repositories whose post-receive hook could not be written (why)."""

    recovered: list[int]
    hooks_refused: list[str]


def with_launcher(
    services: ServerServices, *, concurrency: int, broker: str | None = None
) -> tuple[ServerServices, Started]:
    """``services`` with a :class:`RunLauncher` of ``concurrency`` workers over its database
    and ``$BASTION_HOME``, after closing the runs a previous process left and writing the
    hook in every registered repository again. The caller closes the launcher (the app's
    shutdown does: the runs still going are cancelled and recorded). Jobs with
    ``environment:`` wait for the server's approvals, over the same database and audit.
    With ``broker``, jobs go to the Celery workers of each run's pool (leases in ``db``)."""
    db, clock = services.db, services.clock
    launcher = RunLauncher(
        db,
        ensure_bastion_home(),
        ServerSuppressions(db, clock),
        concurrency=concurrency,
        identity=services.identity,
        approvals=Approvals(db, clock, Totp(db, clock), services.audit),
        artifacts=services.resources.artifacts,
        broker=broker,
    )
    try:
        recovered = launcher.recover()
        refused = reinstall_hooks(Repositories(db, clock))
    except BaseException:
        launcher.close()
        raise
    return replace(services, launcher=launcher), Started(recovered, refused)


def with_monitor(services: ServerServices, home: Path | None = None) -> ServerServices:
    """``services`` with the monitor ``home/monitor.yml`` describes (``home`` defaults to
    ``$BASTION_HOME``; defaults without the file), masking with the services' vault.

    RuleFileError (file and line) if the file or its rule file does not parse, so the
    server refuses to start. Unchanged when the services have no audit log to read."""
    config = load_monitor_config((home or ensure_bastion_home()) / MONITOR_FILE)
    log = services.resources.audit_log
    if log is None:
        return services
    vault = services.resources.vault
    masker: TextMasker = VaultMasker(vault) if vault is not None else PlainText()
    return replace(services, monitor=monitor_loop(services.db, config, masker, log.entries))
