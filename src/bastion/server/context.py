"""What the app is built from: :class:`ServerServices` (passed in) and the domain services
:func:`build_context` makes over them, reachable from a request as ``request.app.state``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from starlette.requests import Request

from bastion.monitor import MonitorLoop
from bastion.server.accounts import Accounts
from bastion.server.auditing import AuditSink
from bastion.server.clock import Clock, system_clock
from bastion.server.launcher import Launcher
from bastion.server.repo_watch import RepoWatcher
from bastion.server.repositories import Repositories
from bastion.server.resources import ResourceServices
from bastion.server.sessions import Sessions
from bastion.server.settings import ServerSettings
from bastion.server.throttle import LoginThrottle
from bastion.server.tokens import ApiTokens
from bastion.server.totp import Totp
from bastion.store import Database
from bastion.vault import IdentityIssuer, IdentityRefusedError

__all__ = ["ServerContext", "ServerServices", "build_context", "context_of"]

logger = logging.getLogger("bastion.server")


@dataclass(frozen=True)
class ServerServices:
    """The collaborators a server runs with, built by its caller (``bastion serve``, a test).

    ``launcher`` carries out runs through the engine (None: this server starts no run and
    answers 503 to a trigger). ``identity`` is the job-identity issuer with its persisted
    keys (``open_services``); the launcher mints with the same one the app publishes.
    ``monitor`` evaluates the audit log and delivers alerts in the background while the app
    runs (``with_monitor``; None: alerts only from ``bastion alerts evaluate``).
    """

    db: Database
    audit: AuditSink
    clock: Clock = field(default=system_clock)
    resources: ResourceServices = field(default_factory=ResourceServices)
    launcher: Launcher | None = None
    identity: IdentityIssuer | None = None
    monitor: MonitorLoop | None = None


@dataclass(frozen=True)
class ServerContext:
    """Settings, services and the domain objects the routers call."""

    settings: ServerSettings
    services: ServerServices
    accounts: Accounts
    sessions: Sessions
    totp: Totp
    tokens: ApiTokens
    throttle: LoginThrottle
    repositories: Repositories
    watcher: RepoWatcher | None
    identity: IdentityIssuer | None


def _issuer(settings: ServerSettings, services: ServerServices) -> IdentityIssuer | None:
    """The services' issuer; without one (a test, an embedder), one with a key in memory
    only; None when the issuer URL is not https:// (no discovery, no token: fails closed)."""
    if services.identity is not None:
        return services.identity
    try:
        return IdentityIssuer(settings.issuer_url, issuing=settings.id_token_trust)
    except IdentityRefusedError as exc:
        logger.warning("no job identity tokens: %s", exc.message)
        return None


def build_context(settings: ServerSettings, services: ServerServices) -> ServerContext:
    """Domain services over one database and clock."""
    db, clock = services.db, services.clock
    repositories = Repositories(db, clock)
    launcher = services.launcher
    return ServerContext(
        settings,
        services,
        Accounts(db, settings, clock),
        Sessions(db, settings, clock),
        Totp(db, clock),
        ApiTokens(db, settings, clock),
        LoginThrottle(db, settings, clock),
        repositories,
        RepoWatcher(repositories, launcher) if launcher is not None else None,
        _issuer(settings, services),
    )


def context_of(request: Request) -> ServerContext:
    """The context of the app serving ``request``."""
    ctx: ServerContext = request.app.state.bastion
    return ctx
